/**
 * Open files: a stream's segment files are many (a new one each hour, kept
 * for its retention, up to a year), so only the one taking writes stays open
 * — at the default limit of 1,024 files a process may open, a data dir of
 * more segments than that must still start, and reading them all must not
 * keep them open.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createEngine, type Engine, openDataDir } from "../../../src/engine/index.ts";

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

const HOUR_MS = 3_600_000;
const openFiles = () => readdirSync("/proc/self/fd").length;

void test("segment files are not held open: not on opening, not after reading them all", async () => {
  const path = mkdtempSync(join(tmpdir(), "kg-open-files-"));
  roots.push(path);
  const hours = 200;
  let nowMs = Date.now() - (hours + 1) * HOUR_MS;
  const open = (): Engine =>
    createEngine({
      storage: openDataDir({ path, fsync: false }),
      throttle: false,
      now: () => nowMs,
    });
  let engine = open();
  engine.createStream({ streamName: "s", shardCount: 1 });
  engine.increaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 8760 });
  for (let hour = 0; hour < hours; hour++) {
    await engine.putRecordStored({
      streamName: "s",
      partitionKey: "k",
      data: Buffer.from(`${hour}`),
    });
    nowMs += HOUR_MS + 1000; // each record in a segment of its own
  }
  const whileWriting = openFiles();
  engine.close();
  const streams = join(path, "streams");
  const segments = readdirSync(join(streams, readdirSync(streams)[0]!)).filter((name) =>
    name.endsWith(".log"),
  );
  assert.equal(segments.length, hours);

  const before = openFiles();
  engine = open();
  const afterOpening = openFiles();
  let shardIterator: string | undefined = engine.getShardIterator({
    streamName: "s",
    shardId: "shardId-000000000000",
    shardIteratorType: "TRIM_HORIZON",
  }).shardIterator;
  let read = 0;
  while (shardIterator !== undefined && read < hours) {
    const output = engine.getRecords({ shardIterator, limit: 10_000 });
    read += output.records.length;
    shardIterator = output.nextShardIterator;
  }
  const afterReading = openFiles();
  engine.close();
  assert.equal(read, hours);
  assert.ok(whileWriting - before < 10, `${whileWriting - before} files open while writing`);
  assert.ok(afterOpening - before < 10, `${afterOpening - before} files open after opening`);
  assert.ok(afterReading - before < 10, `${afterReading - before} files open after reading`);
});
