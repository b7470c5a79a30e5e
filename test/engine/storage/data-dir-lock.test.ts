/**
 * The data dir's lock across places: a pid written by a process in another
 * pid namespace (another container on the same volume, where both are pid 1)
 * or on another host cannot be asked whether it lives; its holder touching the
 * lock says so instead. And a holder frozen long enough for another to take
 * the lock over finds out when it wakes, before it writes.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createEngine, openDataDir } from "../../../src/engine/index.ts";

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const root = mkdtempSync(join(tmpdir(), "kg-data-dir-lock-"));
  roots.push(root);
  return root;
}

/** The lock a gateway of another container leaves: pid 1 there, which here is someone else. */
const foreignLock = `${process.pid} elsewhere/pid:[1]`;

void test("a lock of another container that its holder keeps touching: the start refuses", async () => {
  const path = tempDir();
  const lock = join(path, "lock");
  writeFileSync(lock, foreignLock);
  const toucher = spawn(
    process.execPath,
    [
      "-e",
      `const fs = require("node:fs"); setInterval(() => fs.utimesSync(${JSON.stringify(lock)}, new Date(), new Date()), 200); setTimeout(() => process.exit(), 20000);`,
    ],
    { stdio: "ignore" },
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.throws(() => openDataDir({ path, fsync: false }), /is in use by process/);
    assert.equal(readFileSync(lock, "utf8"), foreignLock, "the holder's lock stays");
  } finally {
    toucher.kill();
  }
});

void test("a lock of another container left untouched (its holder was killed): taken over", () => {
  const path = tempDir();
  const lock = join(path, "lock");
  writeFileSync(lock, foreignLock);
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  const storage = openDataDir({ path, fsync: false });
  assert.match(readFileSync(lock, "utf8"), new RegExp(`^${process.pid} `));
  storage.close();
});

void test("a holder whose lock was taken over while it was frozen writes nothing more, acknowledges nothing, and is told", async () => {
  const path = tempDir();
  const lock = join(path, "lock");
  const lost: string[] = [];
  const health: (string | undefined)[] = [];
  const storage = openDataDir({
    path,
    fsync: false,
    onLockLost: (holder) => lost.push(holder),
    onWriteHealth: (error) => health.push(error?.message),
  });
  const engine = createEngine({ throttle: false, storage });
  engine.createStream({ streamName: "s", shardCount: 1 });
  const put = (data: string) =>
    engine.putRecordsStored({
      streamName: "s",
      records: [{ data: new TextEncoder().encode(data), partitionKey: "k" }],
    });
  assert.equal((await put("before")).failedRecordCount, 0);
  const stored = () => segmentSizes(path);
  const sizesBefore = stored();

  // What a gateway of another container does once this one's lock went untouched for 5 s.
  writeFileSync(lock, foreignLock);
  // The lock's refresher finds out within a second, before anything is written.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.deepEqual(lost, [foreignLock]);
  assert.equal(engine.storageProblem(), "writes to the data dir fail (its lock was taken over)");
  const refused = await put("after");
  assert.equal(refused.failedRecordCount, 1);
  assert.equal(refused.records[0]?.errorCode, "InternalFailure");
  assert.deepEqual(stored(), sizesBefore, "not a byte more in the files");
  assert.deepEqual(lost, [foreignLock]);
  assert.match(
    health.at(-1) ?? "",
    /lock was taken over by .*elsewhere\/pid:\[1\].*writes are refused/,
  );
  assert.equal(
    engine.storageProblem(),
    "writes to the data dir fail (its lock was taken over)",
    "not ready",
  );
  assert.equal((await put("again")).failedRecordCount, 1);
  assert.equal(lost.length, 1, "told once");

  engine.close();
  assert.equal(readFileSync(lock, "utf8"), foreignLock, "the new holder's lock stays");
  assert.ok(!existsSync(join(path, "clean")), "no clean mark in a dir that is not its own");
});

/** The size of every segment file under a data dir's streams, by path. */
function segmentSizes(path: string): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const entry of readdirSync(join(path, "streams"), {
    recursive: true,
    withFileTypes: true,
  })) {
    if (entry.isFile() && entry.name.endsWith(".log")) {
      const file = join(entry.parentPath, entry.name);
      sizes[file] = statSync(file).size;
    }
  }
  return sizes;
}
