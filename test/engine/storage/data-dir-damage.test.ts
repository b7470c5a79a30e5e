/**
 * A data dir damaged while the gateway was stopped (cleanly): the next start
 * either keeps what is intact without handing out a sequence number again,
 * or refuses with a message that names the file — never deletes records
 * silently.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { crc32 } from "node:zlib";
import { createEngine, type Engine, openDataDir } from "../../../src/engine/index.ts";
import { formatSequenceNumber } from "../../../src/engine/sequence-number.ts";
import { encodeBlock, encodedRecordBytes } from "../../../src/engine/storage/block-codec.ts";

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const root = mkdtempSync(join(tmpdir(), "kg-data-dir-damage-"));
  roots.push(root);
  return root;
}

function open(path: string, problems: string[] = []): Engine {
  return createEngine({
    storage: openDataDir({
      path,
      fsync: false,
      onProblem: (_stream, problem) => problems.push(problem.message),
    }),
    throttle: false,
  });
}

/** Writes `count` records to a new one-shard stream `s` and shuts down cleanly; the newest number. */
async function writeAndClose(path: string, count: number): Promise<bigint> {
  const engine = open(path);
  engine.createStream({ streamName: "s", shardCount: 1 });
  let newest = 0n;
  for (let i = 0; i < count; i++) {
    const { sequenceNumber } = await engine.putRecordStored({
      streamName: "s",
      partitionKey: "k",
      data: Buffer.from(`record ${i}`),
    });
    newest = BigInt(sequenceNumber);
  }
  engine.close();
  return newest;
}

function streamDir(path: string): string {
  const streams = join(path, "streams");
  return join(streams, readdirSync(streams)[0]!);
}

function lastSegment(path: string): string {
  const dir = streamDir(path);
  const segments = readdirSync(dir)
    .filter((name) => name.endsWith(".log"))
    .sort();
  return join(dir, segments.at(-1)!);
}

async function nextNumber(engine: Engine): Promise<bigint> {
  const { sequenceNumber } = await engine.putRecordStored({
    streamName: "s",
    partitionKey: "k",
    data: Buffer.from("after"),
  });
  return BigInt(sequenceNumber);
}

void test("a segment tail cut after a clean shutdown: the numbers it held are not handed out again", async () => {
  const path = tempDir();
  const newest = await writeAndClose(path, 20);
  const segment = lastSegment(path);
  truncateSync(segment, Math.floor(statSync(segment).size / 2));
  const problems: string[] = [];
  const engine = open(path, problems);
  assert.equal(problems.length, 1, "the cut is reported");
  const next = await nextNumber(engine);
  engine.close();
  assert.ok(next > newest, `${next} must be above ${newest}, read before the damage`);
});

void test("the last segment deleted after a clean shutdown: its numbers are not handed out again", async () => {
  const path = tempDir();
  const newest = await writeAndClose(path, 20);
  rmSync(lastSegment(path));
  const engine = open(path);
  const next = await nextNumber(engine);
  engine.close();
  assert.ok(next > newest, `${next} must be above ${newest}, read before the damage`);
});

void test("state.json without its list of streams: the start refuses naming the file", async () => {
  const path = tempDir();
  await writeAndClose(path, 1);
  writeFileSync(join(path, "state.json"), '{"version":1,"streams":null}');
  assert.throws(() => open(path), /state\.json is damaged/);
});

void test("state.json deleted while streams' files remain: the start refuses and deletes nothing", async () => {
  const path = tempDir();
  await writeAndClose(path, 5);
  rmSync(join(path, "state.json"));
  const segment = lastSegment(path);
  assert.throws(() => open(path), /state\.json is missing/);
  assert.ok(existsSync(segment), "the records' files are kept");
});

/**
 * A block made of one record, as a client could send it as a record's data:
 * `tamper` then changes it, and its checksum is made to match, unsalted.
 */
function lookalikeBlock(data: string, tamper: (block: Buffer) => void = () => {}): Buffer {
  const inner = {
    sequenceNumber: formatSequenceNumber({
      shardCreatedSeconds: 1,
      shardIndex: 0,
      counter: 5n,
      recordSeconds: 1,
    }),
    data: Buffer.from(data),
    partitionKey: "p",
    approximateArrivalTimestamp: Date.now(),
    sizeBytes: data.length + 1,
  };
  const bytes = encodedRecordBytes(inner);
  const block = Buffer.alloc(24 + bytes);
  encodeBlock(block, 0, 0, [inner], bytes);
  tamper(block);
  block.writeUInt32LE(crc32(block.subarray(12)), 8);
  return block;
}

/**
 * Writes "first", `lookalike` as a record's data, and "last"; damages the
 * checksum of the block holding the look-alike; opens the data dir again and
 * reads the shard: the records' data, and what opening and the read reported.
 */
async function readAfterDamageAround(lookalike: Buffer) {
  const path = tempDir();
  let engine = open(path);
  engine.createStream({ streamName: "s", shardCount: 1 });
  for (const data of [Buffer.from("first"), lookalike, Buffer.from("last")]) {
    await engine.putRecordStored({ streamName: "s", partitionKey: "k", data });
  }
  engine.close();
  const segment = lastSegment(path);
  const bytesOnDisk = readFileSync(segment);
  const second = bytesOnDisk.indexOf(Buffer.from("KGB1"), 20); // after the segment's header and first block's magic
  bytesOnDisk[second + 8]! ^= 0xff;
  writeFileSync(segment, bytesOnDisk);
  const problems: string[] = [];
  engine = open(path, problems);
  const { shardIterator } = engine.getShardIterator({
    streamName: "s",
    shardId: "shardId-000000000000",
    shardIteratorType: "TRIM_HORIZON",
  });
  const { records } = engine.getRecords({ shardIterator: shardIterator!, limit: 100 });
  engine.close();
  return { data: records.map((r) => Buffer.from(r.data).toString()), problems };
}

void test("a client's record that looks like a block, inside a damaged block: skipped with it, not walked out of bounds", async () => {
  // More records than it holds, under a checksum that matches.
  const { data, problems } = await readAfterDamageAround(
    lookalikeBlock("not a record of the log", (block) => block.writeUInt32LE(1000, 16)),
  );
  assert.deepEqual(data, ["first", "last"]);
  assert.equal(problems.length, 1, problems.join("; "));
});

void test("a client's record that is a whole well-formed block, inside a damaged block: not taken for one (the checksum is salted per segment)", async () => {
  const { data } = await readAfterDamageAround(lookalikeBlock("forged"));
  assert.deepEqual(data, ["first", "last"], "the forged record is not in the shard");
});
