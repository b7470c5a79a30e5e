/**
 * The durable engine's storage choice, measured on its workload: a segmented
 * log of our own against SQLite (`node:sqlite`, built into Node 24) and LMDB
 * (the `lmdb` package, native code, not a dependency of the project; `lmdb`
 * puts keys in order, `lmdb-append` also tells LMDB so with MDB_APPEND).
 *
 *   npx node bench/storage-compare.ts
 *
 * Environment: STORAGE_SECONDS (write phase, default 4), STORAGE_RUNS
 * (default 3; medians are printed), STORAGE_ONLY=none,log,sqlite,lmdb,lmdb-append,
 * STORAGE_DIR (default bench/results/, refused on tmpfs), LMDB_MODULE (the
 * path of an installed `lmdb` package, e.g. after
 * `npm install --prefix /tmp/lmdb-prefix lmdb`: /tmp/lmdb-prefix/node_modules/lmdb).
 *
 * Workload: 8 writers in one process, each appending batches of 500 records
 * × 1 KiB spread over 4 shards, back to back; with fsync on a batch is
 * answered only once it is on disk. Then one shard is read from its middle,
 * 10,000 records a call, and the oldest 25 % of every shard is dropped as
 * retention would. Each (store, fsync) runs in a process of its own, so CPU
 * and resident memory are its own. `none` stores nothing: the harness's own
 * CPU (building records and sequence numbers), to subtract.
 *
 * "log" is the engine's own store (src/engine/storage/, opened through a data
 * dir as the engine opens it): per flush one checksummed block per shard, one
 * write, a group commit (one fdatasync shared by every call waiting), 64 MiB
 * segment files, an in-memory index of blocks, reads by pread of whole
 * blocks, retention by deleting segment files.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, statfsSync } from "node:fs";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { DEFAULT_RETENTION_HOURS, type StoredRecord } from "../src/engine/record-store.ts";
import { createShardSequencer, formatSequenceNumber } from "../src/engine/sequence-number.ts";
import {
  BLOCK_HEADER_BYTES,
  decodeRecords,
  encodeBlock,
  encodedRecordBytes,
  readBlockHeader,
} from "../src/engine/storage/block-codec.ts";
import { openDataDir } from "../src/engine/storage/data-dir.ts";

const SHARDS = 4;
const WRITERS = 8;
const BATCH = 500;
const DATA_BYTES = 1024;
const READ_LIMIT = 10_000;
const READ_CALLS = 20;
const CREATED_SECONDS = Math.floor(Date.now() / 1000);
const TMPFS_MAGIC = 0x01021994;

/** One PutRecords call's records, grouped by shard; counters are consecutive within a shard. */
type Batch = { shard: number; firstCounter: number; records: StoredRecord[] }[];

interface Store {
  append(batch: Batch): Promise<void>;
  /** Up to `limit` records of `shard` from `fromCounter` on. */
  read(shard: number, fromCounter: number, limit: number): Promise<StoredRecord[]>;
  /**
   * Retention: drops what arrived before `cutoffMs`, which is each shard's
   * records below `counters[shard]`; returns how many records went.
   */
  dropBefore(cutoffMs: number, counters: readonly number[]): Promise<number>;
  /** What it takes to give freed space back to the filesystem, if anything. */
  reclaim?(): Promise<void>;
  close(): Promise<void>;
}

// --- (a) the log: the engine's own store ----------------------------------------------------

/** The real thing: a data dir's store of one stream, with its group commit. */
function createLog(dir: string, fsync: boolean): Store {
  const dataDir = openDataDir({ path: dir, fsync });
  const log = dataDir.openStore("1-bench", {});
  // The engine's sequence numbers count from 1: counter c of this harness is the log's c + 1.
  const sequenceNumberOf = (shard: number, counter: number) =>
    formatSequenceNumber({
      shardCreatedSeconds: CREATED_SECONDS,
      shardIndex: shard,
      counter: BigInt(counter + 1),
      recordSeconds: CREATED_SECONDS,
    });
  return {
    append(batch) {
      for (const { shard, records } of batch) for (const r of records) log.append(shard, r);
      return log.stored();
    },
    async read(shard, fromCounter, limit) {
      const sequenceNumber = sequenceNumberOf(shard, fromCounter);
      return log.read(shard, { from: { type: "AT_SEQUENCE_NUMBER", sequenceNumber }, limit });
    },
    async dropBefore(cutoffMs) {
      // Whole segment files whose newest record is older than the cutoff, as retention does.
      const before = log.recordCount;
      log.trimExpired(cutoffMs + DEFAULT_RETENTION_HOURS * 3_600_000);
      return before - log.recordCount;
    },
    async close() {
      dataDir.close();
    },
  };
}

// --- (b) SQLite ------------------------------------------------------------------------------

function createSqlite(dir: string, fsync: boolean): Store {
  const db = new DatabaseSync(join(dir, "records.db"));
  db.exec("PRAGMA journal_mode = WAL");
  // OFF, like the log's --fsync off: written to the OS at commit, never synced.
  db.exec(`PRAGMA synchronous = ${fsync ? "FULL" : "OFF"}`);
  db.exec(`CREATE TABLE records (
    stream TEXT NOT NULL, shard INTEGER NOT NULL, counter INTEGER NOT NULL,
    arrival REAL NOT NULL, key TEXT NOT NULL, ehk TEXT, data BLOB NOT NULL,
    PRIMARY KEY (shard, counter))`);
  const insert = db.prepare("INSERT INTO records VALUES ('bench', ?, ?, ?, ?, ?, ?)");
  const select = db.prepare(
    "SELECT counter, arrival, key, ehk, data FROM records WHERE shard = ? AND counter >= ? ORDER BY counter LIMIT ?",
  );
  const remove = db.prepare("DELETE FROM records WHERE shard = ? AND counter < ?");
  return {
    // One transaction per batch; node:sqlite is synchronous, so a commit's
    // fsync holds the event loop and every other writer waits behind it.
    async append(batch) {
      db.exec("BEGIN");
      for (const { shard, firstCounter, records } of batch) {
        for (let i = 0; i < records.length; i++) {
          const r = records[i]!;
          const { approximateArrivalTimestamp: arrival, partitionKey, data } = r;
          insert.run(
            shard,
            firstCounter + i,
            arrival,
            partitionKey,
            r.explicitHashKey ?? null,
            data,
          );
        }
      }
      db.exec("COMMIT");
    },
    async read(shard, fromCounter, limit) {
      // The sequence number is not stored: it would be rebuilt from the counter (not done here).
      return select.all(shard, fromCounter, limit).map((row) => ({
        sequenceNumber: "",
        data: row.data as Uint8Array,
        partitionKey: row.key as string,
        explicitHashKey: (row.ehk as string | null) ?? undefined,
        approximateArrivalTimestamp: row.arrival as number,
        sizeBytes: (row.data as Uint8Array).byteLength,
      }));
    },
    async dropBefore(_cutoffMs, counters) {
      let dropped = 0;
      db.exec("BEGIN");
      counters.forEach((below, shard) => {
        dropped += Number(remove.run(shard, below).changes);
      });
      db.exec("COMMIT");
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      return dropped;
    },
    async reclaim() {
      db.exec("VACUUM");
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    },
    async close() {
      db.close();
    },
  };
}

// --- (c) LMDB --------------------------------------------------------------------------------

/** The part of lmdb-js used here. */
interface LmdbDatabase {
  put(key: Buffer, value: Buffer, options: { append: boolean }): Promise<boolean>;
  removeSync(key: Buffer): boolean;
  transactionSync<T>(action: () => T): T;
  getRange(options: { start: Buffer; limit: number }): Iterable<{ value: Buffer }>;
  openDB(name: string, options: Record<string, unknown>): LmdbDatabase;
  readonly flushed: Promise<void>;
  close(): Promise<void>;
}
type LmdbOpen = (options: Record<string, unknown>) => LmdbDatabase;

function counterKey(counter: number): Buffer {
  const key = Buffer.allocUnsafe(8);
  key.writeBigUInt64BE(BigInt(counter));
  return key;
}

/**
 * One LMDB database (B+tree) per shard, keyed by the counter (big-endian).
 * With `append`, every put is an MDB_APPEND: a full page is not split in
 * half, as LMDB splits pages for keys that come in order, so pages stay full.
 */
function createLmdb(openLmdb: LmdbOpen, dir: string, fsync: boolean, append: boolean): Store {
  const options = { keyEncoding: "binary", encoding: "binary", compression: false };
  const root = openLmdb({ ...options, path: join(dir, "records.mdb"), noSync: !fsync });
  const shards = Array.from({ length: SHARDS }, (_, s) => root.openDB(`shard-${s}`, options));
  return {
    // Every put of an event turn goes into one transaction, committed on
    // lmdb-js's own thread; `flushed` is shared by all batches of that commit.
    async append(batch) {
      let last: Promise<boolean> | undefined;
      for (const { shard, firstCounter, records } of batch) {
        for (let i = 0; i < records.length; i++) {
          const record = records[i]!;
          // The record as a block of one, in the log's format.
          const bytes = encodedRecordBytes(record);
          const value = Buffer.allocUnsafe(BLOCK_HEADER_BYTES + bytes);
          encodeBlock(value, 0, shard, [record], bytes);
          last = shards[shard]!.put(counterKey(firstCounter + i), value, { append });
        }
      }
      await last;
      if (fsync) await root.flushed;
    },
    async read(shard, fromCounter, limit) {
      const out: StoredRecord[] = [];
      const range = shards[shard]!.getRange({ start: counterKey(fromCounter), limit });
      for (const { value } of range)
        out.push(...decodeRecords(value, 0, readBlockHeader(value, 0)!));
      return out;
    },
    async dropBefore(_cutoffMs, counters) {
      let dropped = 0;
      root.transactionSync(() => {
        counters.forEach((below, shard) => {
          for (let c = 0; c < below; c++) {
            if (shards[shard]!.removeSync(counterKey(c))) dropped++;
          }
        });
      });
      await root.flushed;
      return dropped;
    },
    close: () => root.close(),
  };
}

function createNone(): Store {
  return {
    append: async () => {},
    read: async () => [],
    dropBefore: async () => 0,
    close: async () => {},
  };
}

// --- one measured run (a child process) ------------------------------------------------------

/** Blocks allocated to the files under `dir`, as du counts them. */
async function diskBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir, { recursive: true })) {
    const file = await stat(join(dir, name));
    if (file.isFile()) total += file.blocks * 512;
  }
  return total;
}

function writeBytesSoFar(): number {
  const line = readFileSync("/proc/self/io", "utf8").match(/^write_bytes: (\d+)$/m);
  return line ? Number(line[1]) : Number.NaN;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

async function measure(storeName: string, fsync: boolean, baseDir: string, seconds: number) {
  const dir = await mkdtemp(join(baseDir, `storage-${storeName}-`));
  let store: Store;
  if (storeName === "log") store = createLog(dir, fsync);
  else if (storeName === "sqlite") store = createSqlite(dir, fsync);
  else if (storeName.startsWith("lmdb")) {
    const module = createRequire(import.meta.url)(process.env.LMDB_MODULE!) as { open: LmdbOpen };
    store = createLmdb(module.open, dir, fsync, storeName === "lmdb-append");
  } else store = createNone();

  const pool = Array.from({ length: 64 }, () => randomBytes(DATA_BYTES));
  const sequencers = Array.from({ length: SHARDS }, (_, s) =>
    createShardSequencer(CREATED_SECONDS, s),
  );
  const counts = new Array<number>(SHARDS).fill(0);
  /** Each batch's arrival time and the counters before it, to find where retention cuts. */
  const arrivals: { now: number; counters: number[] }[] = [];
  function nextBatch(): Batch {
    const now = Date.now();
    arrivals.push({ now, counters: [...counts] });
    const seconds = Math.floor(now / 1000);
    return counts.map((firstCounter, shard) => {
      const records: StoredRecord[] = [];
      for (let i = 0; i < BATCH / SHARDS; i++) {
        const partitionKey = `pk-${shard}-${firstCounter + i}`;
        records.push({
          sequenceNumber: sequencers[shard]!.next(seconds),
          data: pool[(firstCounter + i) % pool.length]!,
          partitionKey,
          explicitHashKey: undefined,
          approximateArrivalTimestamp: now,
          sizeBytes: DATA_BYTES + partitionKey.length,
        });
      }
      counts[shard] = firstCounter + records.length;
      return { shard, firstCounter, records };
    });
  }

  const latencies: number[] = [];
  let records = 0;
  let bytes = 0;
  const cpuBefore = process.cpuUsage();
  const ioBefore = writeBytesSoFar();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (performance.now() < deadline) {
        const batch = nextBatch();
        const t0 = performance.now();
        await store.append(batch);
        latencies.push(performance.now() - t0);
        for (const { records: rs } of batch) {
          records += rs.length;
          for (const r of rs) bytes += r.sizeBytes;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const ioBytes = writeBytesSoFar() - ioBefore;
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  latencies.sort((a, b) => a - b);
  const diskAfterWrite = await diskBytes(dir);

  // Reads: shard 0 from its middle, READ_LIMIT records a call.
  let readRecords = 0;
  let from = Math.floor(counts[0]! / 2);
  const readStart = performance.now();
  for (let call = 0; call < READ_CALLS && from < counts[0]!; call++) {
    const got = await store.read(0, from, READ_LIMIT);
    if (storeName !== "none" && got[0]?.partitionKey !== `pk-0-${from}`)
      throw new Error(`read at ${from} returned ${got[0]?.partitionKey}`);
    readRecords += got.length;
    from += got.length;
  }
  const readSeconds = (performance.now() - readStart) / 1000;

  const dropStart = performance.now();
  // Retention's cutoff where the oldest 25 % of the records end.
  const totalCounted = counts.reduce((a, b) => a + b, 0);
  const cut = arrivals.find((a) => a.counters.reduce((x, y) => x + y, 0) >= totalCounted / 4)!;
  const dropped = await store.dropBefore(cut.now, cut.counters);
  const dropSeconds = (performance.now() - dropStart) / 1000;
  const diskAfterDrop = await diskBytes(dir);
  let reclaimSeconds: number | undefined;
  let diskAfterReclaim: number | undefined;
  if (store.reclaim) {
    const t0 = performance.now();
    await store.reclaim();
    reclaimSeconds = (performance.now() - t0) / 1000;
    diskAfterReclaim = await diskBytes(dir);
  }
  await store.close();
  await rm(dir, { recursive: true, force: true });

  return {
    recordsPerSecond: records / elapsed,
    mibPerSecond: bytes / 2 ** 20 / elapsed,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    cpuUsPerRecord: (cpu.user + cpu.system) / records,
    rssMiB,
    diskBytesPerRecord: diskAfterWrite / records,
    // Linux counts a page when it turns dirty: without fsync a page rewritten
    // before writeback counts once, so the figure says little then.
    ioBytesPerRecord: fsync ? ioBytes / records : undefined,
    readRecordsPerSecond: readRecords / readSeconds,
    droppedShare: dropped / records,
    dropMs: dropSeconds * 1000,
    diskFreedShare: Math.max(0, 1 - diskAfterDrop / diskAfterWrite),
    reclaimMs: reclaimSeconds === undefined ? undefined : reclaimSeconds * 1000,
    diskFreedShareAfterReclaim:
      diskAfterReclaim === undefined
        ? undefined
        : Math.max(0, 1 - diskAfterReclaim / diskAfterWrite),
  };
}

// --- the driver --------------------------------------------------------------------------------

type Result = Awaited<ReturnType<typeof measure>>;

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

function main(): void {
  const runs = Number(process.env.STORAGE_RUNS ?? 3);
  const seconds = Number(process.env.STORAGE_SECONDS ?? 4);
  const baseDir = process.env.STORAGE_DIR ?? join(import.meta.dirname, "results");
  const only = (process.env.STORAGE_ONLY ?? "none,log,sqlite,lmdb,lmdb-append").split(",");
  spawnSync("mkdir", ["-p", baseDir]);
  if (statfsSync(baseDir).type === TMPFS_MAGIC) {
    throw new Error(`${baseDir} is tmpfs: fsync costs nothing there; set STORAGE_DIR to a disk`);
  }
  const stores = only.filter((name) => {
    if (!name.startsWith("lmdb") || process.env.LMDB_MODULE) return true;
    console.error(
      "!!! lmdb SKIPPED: set LMDB_MODULE to an installed lmdb package" +
        " (npm install --prefix /tmp/lmdb-prefix lmdb; LMDB_MODULE=/tmp/lmdb-prefix/node_modules/lmdb)",
    );
    return false;
  });
  console.error(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const results = new Map<string, Result[]>();
  for (let run = 0; run < runs; run++) {
    for (const store of stores) {
      for (const fsync of ["on", "off"]) {
        const child = spawnSync(
          process.execPath,
          [import.meta.filename, "--child", store, fsync, baseDir, String(seconds)],
          { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
        );
        if (child.status !== 0) throw new Error(`${store} fsync ${fsync} failed`);
        const result = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as Result;
        const key = `${store} fsync ${fsync}`;
        results.set(key, [...(results.get(key) ?? []), result]);
        console.error(`run ${run + 1}: ${key}: ${Math.round(result.recordsPerSecond)} records/s`);
      }
    }
  }
  const columns: [string, (r: Result) => number | undefined, number][] = [
    ["records/s", (r) => r.recordsPerSecond, 0],
    ["MiB/s", (r) => r.mibPerSecond, 1],
    ["batch p50 ms", (r) => r.p50Ms, 1],
    ["batch p99 ms", (r) => r.p99Ms, 1],
    ["CPU µs/record", (r) => r.cpuUsPerRecord, 1],
    ["RSS MiB", (r) => r.rssMiB, 0],
    ["disk B/record", (r) => r.diskBytesPerRecord, 0],
    ["written B/record (fsync on)", (r) => r.ioBytesPerRecord, 0],
    ["read records/s", (r) => r.readRecordsPerSecond, 0],
    ["dropped %", (r) => r.droppedShare * 100, 0],
    ["drop ms", (r) => r.dropMs, 0],
    ["disk freed %", (r) => r.diskFreedShare * 100, 0],
    ["VACUUM ms", (r) => r.reclaimMs, 0],
    ["freed after VACUUM %", (r) => (r.diskFreedShareAfterReclaim ?? Number.NaN) * 100, 0],
  ];
  const format = (v: number, digits: number) =>
    Number.isFinite(v)
      ? v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
      : "";
  console.log(`medians of ${runs} runs × ${seconds} s; ${WRITERS} writers × ${BATCH} × 1 KiB\n`);
  console.log(`| store | ${columns.map(([name]) => name).join(" | ")} |`);
  console.log(`| --- | ${columns.map(() => "---").join(" | ")} |`);
  for (const [key, rs] of results) {
    const cells = columns.map(([, pick, digits]) =>
      format(median(rs.map((r) => pick(r) ?? Number.NaN)), digits),
    );
    console.log(`| ${key} | ${cells.join(" | ")} |`);
  }
}

if (process.argv[2] === "--child") {
  const [, , , store, fsync, baseDir, seconds] = process.argv;
  const result = await measure(store!, fsync === "on", baseDir!, Number(seconds));
  console.log(JSON.stringify(result));
} else {
  main();
}
