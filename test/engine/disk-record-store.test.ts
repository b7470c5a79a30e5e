/**
 * The disk record store against the in-memory one: the same appends and
 * reads, in a seeded random order, give the same records — before and after
 * the files are closed and opened again.
 */
import assert from "node:assert/strict";
import fs, { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  createMemoryRecordStore,
  type ReadStart,
  type StoredRecord,
} from "../../src/engine/index.ts";
import { formatSequenceNumber } from "../../src/engine/sequence-number.ts";
import {
  type DiskRecordStore,
  openDiskRecordStore,
} from "../../src/engine/storage/disk-record-store.ts";
import { seededRandom } from "../helpers/seeded-random.ts";

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const root = mkdtempSync(join(tmpdir(), "kg-disk-store-"));
  roots.push(root);
  return join(root, "stream");
}

function openStore(dir: string, now: () => number, commits: DiskRecordStore[]): DiskRecordStore {
  return openDiskRecordStore({
    dir,
    fsync: false,
    now,
    requestCommit: (store) => commits.push(store),
    segmentBytes: 64 * 1024, // many segments, so reads cross them
  });
}

const plain = (records: StoredRecord[]) =>
  records.map((r) => ({ ...r, data: Buffer.from(r.data).toString("base64") }));

void test("the disk store reads back what the memory store does, across flushes, segments and a reopening", async () => {
  const seed = Number(process.env.DISK_STORE_SEED ?? 17);
  const next = seededRandom(seed);
  let nowMs = Date.UTC(2026, 0, 1);
  const now = () => nowMs;
  const dir = tempDir();
  const commits: DiskRecordStore[] = [];
  let disk = openStore(dir, now, commits);
  const memory = createMemoryRecordStore({ now, maxBytes: Number.MAX_SAFE_INTEGER });
  const counters = [0, 0, 0];
  const written: StoredRecord[][] = [[], [], []];

  function append(): void {
    const shard = Math.floor(next() * 3);
    const data = Buffer.alloc(Math.floor(next() * 3000), Math.floor(next() * 256));
    const partitionKey = `key-${Math.floor(next() * 50)}-é`;
    counters[shard]!++;
    const record: StoredRecord = {
      sequenceNumber: formatSequenceNumber({
        shardCreatedSeconds: 1_700_000_000,
        shardIndex: shard,
        counter: BigInt(counters[shard]!),
        recordSeconds: Math.floor(nowMs / 1000),
      }),
      data,
      partitionKey,
      explicitHashKey: next() < 0.1 ? String(Math.floor(next() * 1e15)) : undefined,
      approximateArrivalTimestamp: nowMs,
      sizeBytes: data.byteLength + Buffer.byteLength(partitionKey),
    };
    disk.append(shard, record);
    memory.append(shard, record);
    written[shard]!.push(record);
  }

  function someStart(shard: number): ReadStart {
    const records = written[shard]!;
    const pick = records[Math.floor(next() * records.length)];
    const choice = next();
    if (pick === undefined || choice < 0.2) return { type: "TRIM_HORIZON" };
    if (choice < 0.5) return { type: "AT_SEQUENCE_NUMBER", sequenceNumber: pick.sequenceNumber };
    if (choice < 0.8) return { type: "AFTER_SEQUENCE_NUMBER", sequenceNumber: pick.sequenceNumber };
    return { type: "AT_TIMESTAMP", timestampMs: pick.approximateArrivalTimestamp - 1 };
  }

  function compareReads(rounds: number): void {
    for (let i = 0; i < rounds; i++) {
      const shard = Math.floor(next() * 3);
      const from = someStart(shard);
      const limit = 1 + Math.floor(next() * 200);
      const expected = memory.read(shard, { from, limit });
      assert.deepEqual(
        plain(disk.read(shard, { from, limit })),
        plain(expected),
        JSON.stringify({ seed, shard, from, limit }),
      );
      // With a byte bound: a prefix, one record past the bound at most, and one more to say that more follows.
      const maxBytes = Math.floor(next() * 20_000);
      const bounded = disk.read(shard, { from, limit, maxBytes });
      assert.deepEqual(plain(bounded), plain(expected.slice(0, bounded.length)));
      const crossing = bounded.findIndex(
        (_, j) => bounded.slice(0, j + 1).reduce((sum, r) => sum + r.sizeBytes, 0) > maxBytes,
      );
      if (crossing >= 0)
        assert.ok(bounded.length <= crossing + 2, "stops one record after the crossing one");
      else assert.equal(bounded.length, expected.length);
    }
  }

  for (let step = 0; step < 3000; step++) {
    append();
    if (next() < 0.3) nowMs += Math.floor(next() * 50);
    if (next() < 0.02) compareReads(5);
    if (next() < 0.05) {
      for (const store of commits.splice(0)) await store.commit();
    }
  }
  compareReads(50);
  assert.equal(disk.recordCount, memory.recordCount);
  assert.ok(readdirSync(dir).filter((name) => name.endsWith(".log")).length > 10, "many segments");

  disk.close();
  disk = openStore(dir, now, commits);
  compareReads(100);
  assert.equal(disk.recordCount, memory.recordCount);
  assert.deepEqual(
    [...disk.highWater()].sort(([a], [b]) => a - b).map(([shard, mark]) => [shard, mark.counter]),
    counters.map((counter, shard) => [shard, counter]),
  );
  disk.close();
});

void test("records are stored only once stored() resolves, and a store reopened without close keeps what was flushed", async () => {
  const dir = tempDir();
  const commits: DiskRecordStore[] = [];
  const store = openStore(dir, Date.now, commits);
  const record = (counter: number): StoredRecord => ({
    sequenceNumber: formatSequenceNumber({
      shardCreatedSeconds: 1_700_000_000,
      shardIndex: 0,
      counter: BigInt(counter),
      recordSeconds: 1_700_000_001,
    }),
    data: Buffer.from(`record ${counter}`),
    partitionKey: "k",
    approximateArrivalTimestamp: Date.now(),
    sizeBytes: 9,
  });
  store.append(0, record(1));
  let stored = false;
  const done = store.stored().then(() => {
    stored = true;
  });
  assert.ok(commits.includes(store), "the store asked for a commit");
  await Promise.resolve();
  assert.equal(stored, false, "not before the commit ran");
  await commits[0]!.commit();
  await done;
  assert.equal(stored, true);
  // No close: as after a kill, the files hold what was flushed.
  const reopened = openStore(dir, Date.now, []);
  assert.deepEqual(
    reopened.read(0).map((r) => Buffer.from(r.data).toString()),
    ["record 1"],
  );
  reopened.close();
  store.close();
});

void test("a flush that cannot encode its records still answers the calls waiting for them", async () => {
  const commits: DiskRecordStore[] = [];
  const store = openStore(tempDir(), Date.now, commits);
  store.append(0, {
    sequenceNumber: formatSequenceNumber({
      shardCreatedSeconds: 1_700_000_000,
      shardIndex: 0,
      counter: 1n,
      recordSeconds: 1_700_000_001,
    }),
    data: Buffer.from("data"),
    partitionKey: "k",
    approximateArrivalTimestamp: Date.now(),
    sizeBytes: 1, // less than its data: no block can say so
  });
  const stored = store.stored();
  await commits[0]!.commit();
  await assert.rejects(stored);
  assert.deepEqual(store.read(0), [], "nothing of it is kept");
  store.close();
});

/** A store of tiny segments (one record each) and a shard-0 record maker, for the failure cases. */
function failureStore(dir: string, fsync: boolean) {
  let counter = 0n;
  const record = (): StoredRecord => {
    counter++;
    return {
      sequenceNumber: formatSequenceNumber({
        shardCreatedSeconds: 1_700_000_000,
        shardIndex: 0,
        counter,
        recordSeconds: 1_700_000_100,
      }),
      data: new Uint8Array(200),
      partitionKey: "k",
      approximateArrivalTimestamp: Date.now(),
      sizeBytes: 201,
    };
  };
  const store = openDiskRecordStore({
    dir,
    fsync,
    requestCommit: () => {},
    segmentBytes: 300,
    maxBytes: Number.MAX_SAFE_INTEGER,
  });
  return { store, record };
}

void test("a sync that fails on a segment just begun takes the segment whole, and what is acknowledged after it reads back after a restart", async (t) => {
  const dir = tempDir();
  const { store, record } = failureStore(dir, true);
  store.append(0, record());
  let stored = store.stored();
  await store.commit();
  await stored;
  // The next record begins a new segment; its sync fails (a real disk does not fail on demand).
  const real = fs.fdatasync;
  t.after(() => {
    (fs as { fdatasync: typeof fs.fdatasync }).fdatasync = real;
    syncBuiltinESMExports();
  });
  (fs as { fdatasync: unknown }).fdatasync = (_fd: number, callback: (error: Error) => void) =>
    callback(Object.assign(new Error("EIO: i/o error"), { code: "EIO" }));
  syncBuiltinESMExports();
  store.append(0, record());
  const refused = assert.rejects(store.stored());
  await store.commit();
  await refused;
  (fs as { fdatasync: typeof fs.fdatasync }).fdatasync = real;
  syncBuiltinESMExports();
  store.append(0, record());
  stored = store.stored();
  await store.commit();
  await stored;
  assert.equal(store.read(0).length, 2, "the first and the third");
  store.close();
  const problems: string[] = [];
  const reopened = openDiskRecordStore({
    dir,
    fsync: true,
    requestCommit: () => {},
    onProblem: (problem) => problems.push(problem.message),
  });
  assert.deepEqual(problems, []);
  assert.equal(reopened.read(0).length, 2, "both acknowledged records after the restart");
  reopened.close();
});

void test("a flush that fails rejects only the calls whose records it held, not those a read flushed before", async () => {
  const dir = tempDir();
  const { store, record } = failureStore(dir, true);
  store.append(0, record());
  const first = store.stored();
  store.read(0); // flushes the first record into the first segment
  store.append(0, record());
  const second = store.stored();
  // The second record's segment cannot be made: a directory stands where its file would.
  const [segment] = readdirSync(dir).filter((name) => name.endsWith(".log"));
  const next = String(statSync(join(dir, segment!)).size).padStart(20, "0");
  mkdirSync(join(dir, `${next}.log`));
  const refused = assert.rejects(second);
  await store.commit();
  await refused;
  rmSync(join(dir, `${next}.log`), { recursive: true });
  await store.commit();
  await first; // written before the failure, stored by the next sync
  assert.equal(store.read(0).length, 1);
  store.close();
});

void test("shrinking to a memory bound keeps the segment being written", () => {
  const { store, record } = failureStore(tempDir(), false);
  for (let i = 0; i < 50; i++) {
    store.append(0, record());
    store.flush();
  }
  store.shrinkTo(0);
  assert.ok(store.recordCount >= 1, "the last segment's records stay");
  store.close();
});

void test("a small cap on disk drops an eighth of it at a time, not the stream", () => {
  const dir = tempDir();
  const cap = 1024 * 1024;
  const store = openDiskRecordStore({ dir, fsync: false, requestCommit: () => {}, maxBytes: cap });
  const onDisk = () =>
    readdirSync(dir)
      .filter((name) => name.endsWith(".log"))
      .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  let counter = 0n;
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 60; i++) {
    counter++;
    store.append(0, {
      sequenceNumber: formatSequenceNumber({
        shardCreatedSeconds: 1_700_000_000,
        shardIndex: 0,
        counter,
        recordSeconds: 1_700_000_100,
      }),
      data: new Uint8Array(50_000),
      partitionKey: "k",
      approximateArrivalTimestamp: Date.now(),
      sizeBytes: 50_001,
    });
    store.flush();
    const bytes = onDisk();
    assert.ok(bytes <= cap, `${bytes} bytes within the cap`);
    if (i >= 30) least = Math.min(least, bytes); // once the cap has filled
  }
  assert.ok(
    least >= (cap * 3) / 4,
    `at least ${least} bytes kept at every moment: most of the cap`,
  );
  store.close();
});

void test("the index follows the bytes kept, not the commits that wrote them: stored segments' entries are merged", async () => {
  const dir = tempDir();
  const commits: DiskRecordStore[] = [];
  const store = openStore(dir, Date.now, commits);
  const counters = [0n, 0n, 0n, 0n];
  const written: string[][] = [[], [], [], []];
  for (let i = 0; i < 4000; i++) {
    const shard = i % 4;
    counters[shard]!++;
    const data = Buffer.from(`record ${i}`);
    store.append(shard, {
      sequenceNumber: formatSequenceNumber({
        shardCreatedSeconds: 1_700_000_000,
        shardIndex: shard,
        counter: counters[shard]!,
        recordSeconds: 1_700_000_100,
      }),
      data,
      partitionKey: "k",
      approximateArrivalTimestamp: Date.now(),
      sizeBytes: data.byteLength + 1,
    });
    written[shard]!.push(data.toString());
    await store.commit(); // one block per record: the worst case for an index of blocks
  }
  assert.ok(readdirSync(dir).filter((name) => name.endsWith(".log")).length > 5, "many segments");
  // Unmerged, 4,000 blocks would take 4,000 entries of 56 bytes; merged, a few per segment.
  assert.ok(store.heldBytes < (4000 * 56) / 8, `${store.heldBytes} bytes of index`);
  for (let shard = 0; shard < 4; shard++) {
    assert.deepEqual(
      store.read(shard).map((r) => Buffer.from(r.data).toString()),
      written[shard],
    );
  }
  store.close();
  const reopened = openStore(dir, Date.now, []);
  assert.ok(reopened.heldBytes < (4000 * 56) / 8, "merged on opening too");
  assert.deepEqual(
    reopened
      .read(2, {
        from: {
          type: "AFTER_SEQUENCE_NUMBER",
          sequenceNumber: formatSequenceNumber({
            shardCreatedSeconds: 1_700_000_000,
            shardIndex: 2,
            counter: 500n,
            recordSeconds: 1_700_000_100,
          }),
        },
        limit: 3,
      })
      .map((r) => Buffer.from(r.data).toString()),
    written[2]!.slice(500, 503),
  );
  reopened.close();
});
