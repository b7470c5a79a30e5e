/**
 * Retention frees the disk of a stream nobody writes or reads: its expired
 * segment files go by themselves, not only when the next call touches it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createEngine, openDataDir } from "../../../src/engine/index.ts";

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

void test("an idle stream's expired segment files are deleted without a write or read", async () => {
  const path = mkdtempSync(join(tmpdir(), "kg-retention-sweep-"));
  roots.push(path);
  let nowMs = Date.now();
  const engine = createEngine({
    storage: openDataDir({ path, fsync: false, sweepMs: 50 }),
    throttle: false,
    now: () => nowMs,
  });
  engine.createStream({ streamName: "idle", shardCount: 1 });
  await engine.putRecordStored({ streamName: "idle", partitionKey: "k", data: Buffer.from("x") });
  const streams = join(path, "streams");
  const dir = join(streams, readdirSync(streams)[0]!);
  const segments = () => readdirSync(dir).filter((name) => name.endsWith(".log"));
  assert.equal(segments().length, 1);

  nowMs += 25 * 3_600_000; // past the 24 hours of retention
  await sleep(300);
  const left = segments();
  engine.close();
  assert.deepEqual(left, [], "the expired segment is deleted by itself");
});
