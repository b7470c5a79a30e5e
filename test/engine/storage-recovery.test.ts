/**
 * Recovery of a data dir on opening: segment files cut at every offset of
 * their last blocks (a torn write), single bytes flipped (a corrupt tail, a
 * corrupt block in the middle) and a damaged state.json.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, suite, test } from "node:test";
import { readBlockHeader, SEGMENT_HEADER_BYTES } from "../../src/engine/storage/block-codec.ts";
import type { StorageProblem } from "../../src/engine/storage/disk-record-store.ts";
import { createManualClock } from "./helpers.ts";
import {
  openEngine,
  recordsNamed,
  segmentFiles,
  streamDir,
  temporaryDir,
  text,
} from "./storage-helpers.ts";

const SHARD = "shardId-000000000000";
const BLOCKS = 5;
const RECORDS_PER_BLOCK = 3;

interface Pristine {
  readonly dir: string;
  /** The segment file, relative to the data dir. */
  readonly segment: string;
  readonly bytes: Buffer;
  /** Each block's start offset and end offset in the segment, and the data of its records. */
  readonly blocks: { start: number; end: number; data: string[]; sequenceNumbers: bigint[] }[];
}

/**
 * A data dir with one stream of one shard whose segment holds BLOCKS blocks
 * (one stored call each), closed cleanly or left as a crash leaves it.
 */
async function makePristine(clean: boolean): Promise<Pristine> {
  const dir = temporaryDir();
  const clock = createManualClock(Date.now());
  const { engine } = openEngine(dir, { now: clock.now }, { fsync: false });
  engine.createStream({ streamName: "s", shardCount: 1 });
  const written: { data: string[]; sequenceNumbers: bigint[] }[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const records = recordsNamed(`block${b}`, RECORDS_PER_BLOCK);
    const output = await engine.putRecordsStored({ streamName: "s", records });
    assert.equal(output.failedRecordCount, 0);
    written.push({
      data: records.map((r) => text(r.data)),
      sequenceNumbers: output.records.map((r) => BigInt(r.sequenceNumber!)),
    });
    clock.advance(10);
  }
  if (clean) engine.close();
  const stream = streamDir(dir);
  const files = segmentFiles(stream);
  assert.equal(files.length, 1);
  const segment = join(stream, files[0]!).slice(dir.length + 1);
  const bytes = readFileSync(join(dir, segment));
  const blocks: Pristine["blocks"] = [];
  let offset = SEGMENT_HEADER_BYTES;
  while (offset < bytes.byteLength) {
    const header = readBlockHeader(bytes, offset);
    assert.ok(header !== undefined, `a block at ${offset}`);
    assert.equal(header.recordCount, RECORDS_PER_BLOCK, "one stored call is one block");
    blocks.push({ start: offset, end: offset + header.length, ...written[blocks.length]! });
    offset += header.length;
  }
  assert.equal(blocks.length, BLOCKS);
  return { dir, segment, bytes, blocks };
}

/** A copy of the pristine data dir whose segment `damage` changed. */
function damagedCopy(pristine: Pristine, work: string, damage: (file: string) => void): string {
  rmSync(work, { recursive: true, force: true });
  cpSync(pristine.dir, work, { recursive: true });
  damage(join(work, pristine.segment));
  return work;
}

const dataOf = (engine: ReturnType<typeof openEngine>["engine"]) =>
  engine.readRecords({ streamName: "s" }, SHARD).map((record) => text(record.data));

const describeProblems = (problems: { problem: StorageProblem }[]) =>
  JSON.stringify(problems.map((p) => p.problem));

for (const clean of [true, false]) {
  suite(`a segment cut at every offset of its last two blocks (${clean ? "after a clean shutdown" : "after a crash"})`, () => {
    let pristine: Pristine;
    before(async () => {
      pristine = await makePristine(clean);
    });

    /** The cuts after which a new record got a number handed out before. */
    const reused: string[] = [];

    test("keeps the intact blocks before the cut, drops the rest, truncates the file and reports it", async () => {
      const work = join(temporaryDir(), "dir");
      const { blocks } = pristine;
      const highest = blocks.at(-1)!.sequenceNumbers.at(-1)!;
      const clock = createManualClock(Date.now() + 60_000);
      for (let cut = blocks.at(-2)!.start; cut < pristine.bytes.byteLength; cut++) {
        const dir = damagedCopy(pristine, work, (file) => truncateSync(file, cut));
        const { engine, problems } = openEngine(dir, { now: clock.now }, { fsync: false });
        const intact = blocks.filter((block) => block.end <= cut);
        const intactEnd = intact.at(-1)?.end ?? 0;
        const at = `cut at ${cut}`;

        assert.deepEqual(
          dataOf(engine),
          intact.flatMap((block) => block.data),
          at,
        );
        assert.equal(statSync(join(dir, pristine.segment)).size, intactEnd, at);
        if (cut === intactEnd) {
          assert.deepEqual(problems, [], `${at}: nothing to cut, nothing to report`);
        } else {
          assert.equal(problems.length, 1, `${at}: ${describeProblems(problems)}`);
          const { problem } = problems[0]!;
          assert.match(problem.message, /torn or corrupt tail cut off/, at);
          assert.equal(problem.segment, pristine.segment.split("/").at(-1), at);
          assert.equal(problem.offset, intactEnd, at);
          assert.equal(problem.bytes, cut - intactEnd, at);
        }

        const output = await engine.putRecordsStored({
          streamName: "s",
          records: recordsNamed("after", 1),
        });
        assert.equal(output.failedRecordCount, 0, at);
        const next = BigInt(output.records[0]!.sequenceNumber!);
        if (next <= highest) reused.push(`${at}: ${next} is not above ${highest}`);
        assert.deepEqual(
          dataOf(engine),
          [...intact.flatMap((block) => block.data), text(recordsNamed("after", 1)[0]!.data)],
          at,
        );
        engine.close();
      }
    });

    test("a record written after the cut gets a number above every one handed out before it", () => {
      assert.deepEqual(reused.slice(0, 3), [], `${reused.length} cuts reused numbers`);
    });
  });
}

suite("a flipped byte", () => {
  let pristine: Pristine;
  before(async () => {
    pristine = await makePristine(true);
  });
  const flip = (offset: number) => (file: string) => {
    const bytes = readFileSync(file);
    bytes[offset]! ^= 0xff;
    writeFileSync(file, bytes);
  };

  test("anywhere in the last block cuts that block off as a torn tail", async () => {
    const work = join(temporaryDir(), "dir");
    const { blocks } = pristine;
    const last = blocks.at(-1)!;
    for (let offset = last.start; offset < last.end; offset++) {
      const dir = damagedCopy(pristine, work, flip(offset));
      const { engine, problems } = openEngine(dir, {}, { fsync: false });
      const at = `byte ${offset} flipped`;
      assert.deepEqual(
        dataOf(engine),
        blocks.slice(0, -1).flatMap((block) => block.data),
        at,
      );
      assert.equal(statSync(join(dir, pristine.segment)).size, last.start, at);
      assert.equal(problems.length, 1, `${at}: ${describeProblems(problems)}`);
      assert.match(problems[0]!.problem.message, /torn or corrupt tail cut off/, at);
      assert.equal(problems[0]!.problem.offset, last.start, at);
      assert.equal(problems[0]!.problem.bytes, last.end - last.start, at);
      engine.close();
    }
  });

  test("anywhere in a block followed by intact ones skips only that block, reports it and keeps the rest", async () => {
    const work = join(temporaryDir(), "dir");
    const { blocks } = pristine;
    const damaged = blocks[2]!;
    const kept = blocks.filter((block) => block !== damaged);
    for (let offset = damaged.start; offset < damaged.end; offset++) {
      const dir = damagedCopy(pristine, work, flip(offset));
      const { engine, problems } = openEngine(dir, {}, { fsync: false });
      const at = `byte ${offset} flipped`;
      assert.deepEqual(
        dataOf(engine),
        kept.flatMap((block) => block.data),
        at,
      );
      // Nothing intact is cut away.
      assert.equal(statSync(join(dir, pristine.segment)).size, pristine.bytes.byteLength, at);
      assert.equal(problems.length, 1, `${at}: ${describeProblems(problems)}`);
      const { problem } = problems[0]!;
      assert.match(
        problem.message,
        /corrupt blocks skipped; the intact blocks after them are kept/,
        at,
      );
      assert.equal(problem.offset, damaged.start, at);
      assert.equal(problem.bytes, damaged.end - damaged.start, at);
      // A reader that had the block before the damaged one goes on after it.
      const afterPrevious = engine.readRecords({ streamName: "s" }, SHARD, {
        from: {
          type: "AFTER_SEQUENCE_NUMBER",
          sequenceNumber: blocks[1]!.sequenceNumbers.at(-1)!.toString(),
        },
      });
      assert.deepEqual(
        afterPrevious.map((record) => text(record.data)),
        blocks.slice(3).flatMap((block) => block.data),
        at,
      );
      engine.close();
    }
  });
});

suite("a damaged JSON file of the data dir", () => {
  for (const [damage, change] of [
    ["cut in half", (content: string) => content.slice(0, content.length >> 1)],
    ["overwritten with zeros", (content: string) => "\0".repeat(content.length)],
    ["empty", () => ""],
  ] as const) {
    test(`state.json ${damage}: refuses to start with an error naming the file`, async () => {
      const dir = temporaryDir();
      const { engine } = openEngine(dir);
      engine.createStream({ streamName: "s", shardCount: 1 });
      await engine.putRecordsStored({ streamName: "s", records: recordsNamed("r", 2) });
      engine.close();
      const file = join(dir, "state.json");
      writeFileSync(file, change(readFileSync(file, "utf8")));
      assert.throws(
        () => openEngine(dir),
        (error: Error) => {
          assert.ok(error.message.includes(file), `the message names ${file}: ${error.message}`);
          return true;
        },
      );
    });
  }

  test("high-water.json cut in half: refuses to start with an error naming the file", async () => {
    const dir = temporaryDir();
    const clock = createManualClock();
    const { engine } = openEngine(dir, { now: clock.now });
    engine.createStream({ streamName: "s", shardCount: 1 });
    await engine.putRecordsStored({ streamName: "s", records: recordsNamed("r", 2) });
    // Retention drops the segment: the shard's high water is kept in the file.
    clock.advance(25 * 3_600_000);
    assert.deepEqual(dataOf(engine), []);
    engine.close();
    const file = join(streamDir(dir), "high-water.json");
    const content = readFileSync(file, "utf8");
    assert.match(content, /counter/);
    writeFileSync(file, content.slice(0, content.length >> 1));
    assert.throws(
      () => openEngine(dir, { now: clock.now }),
      (error: Error) => {
        assert.ok(error.message.includes(file), `the message names ${file}: ${error.message}`);
        return true;
      },
    );
  });
});

suite("damage in an earlier segment", () => {
  /** Two segments (a segment takes blocks for an hour), two blocks each. */
  async function twoSegments() {
    const dir = temporaryDir();
    const clock = createManualClock();
    const { engine } = openEngine(dir, { now: clock.now });
    engine.createStream({ streamName: "s", shardCount: 1 });
    const data: string[][] = [];
    for (const name of ["a", "b", "c", "d"]) {
      const records = recordsNamed(name, 2);
      await engine.putRecordsStored({ streamName: "s", records });
      data.push(records.map((r) => text(r.data)));
      if (name === "b") clock.advance(2 * 3_600_000);
    }
    engine.close();
    const files = segmentFiles(streamDir(dir)).map((name) => join(streamDir(dir), name));
    assert.equal(files.length, 2);
    return { dir, clock, data, files };
  }

  test("a flipped byte in its last block is reported and the later segment is kept", async () => {
    const { dir, clock, data, files } = await twoSegments();
    const bytes = readFileSync(files[0]!);
    // Two blocks of the same size after the segment's header.
    const lastBlock = SEGMENT_HEADER_BYTES + (bytes.byteLength - SEGMENT_HEADER_BYTES) / 2;
    bytes[bytes.byteLength - 5]! ^= 0x01;
    writeFileSync(files[0]!, bytes);
    const { engine, problems } = openEngine(dir, { now: clock.now });
    assert.deepEqual(dataOf(engine), [...data[0]!, ...data[2]!, ...data[3]!]);
    assert.equal(problems.length, 1, describeProblems(problems));
    assert.match(problems[0]!.problem.message, /corrupt end of an earlier segment skipped/);
    assert.equal(problems[0]!.problem.offset, lastBlock);
    assert.equal(statSync(files[0]!).size, bytes.byteLength, "an earlier segment is not cut");
    const [next] = (
      await engine.putRecordsStored({ streamName: "s", records: recordsNamed("e", 1) })
    ).records;
    assert.equal(next!.errorCode, undefined);
    assert.deepEqual(dataOf(engine).at(-1), text(recordsNamed("e", 1)[0]!.data));
    engine.close();
  });

  test("an earlier segment cut short loses only what was cut", async () => {
    const { dir, clock, data, files } = await twoSegments();
    const size = statSync(files[0]!).size;
    truncateSync(files[0]!, size - 7);
    const { engine, problems } = openEngine(dir, { now: clock.now });
    assert.deepEqual(dataOf(engine), [...data[0]!, ...data[2]!, ...data[3]!]);
    assert.equal(problems.length, 1, describeProblems(problems));
    assert.equal(
      problems[0]!.problem.offset,
      SEGMENT_HEADER_BYTES + (size - SEGMENT_HEADER_BYTES) / 2,
    );
    engine.close();
  });
});

test("a block found corrupt when read is reported and skipped, the others read", async () => {
  const pristine = await makePristine(false);
  const work = join(temporaryDir(), "dir");
  const dir = damagedCopy(pristine, work, () => {});
  const { engine, problems } = openEngine(dir, {}, { fsync: false });
  const damaged = pristine.blocks[1]!;
  const file = join(dir, pristine.segment);
  const bytes = readFileSync(file);
  bytes[damaged.end - 1]! ^= 0x80;
  writeFileSync(file, bytes);
  const kept = pristine.blocks.filter((block) => block !== damaged);
  assert.deepEqual(
    dataOf(engine),
    kept.flatMap((block) => block.data),
  );
  assert.equal(problems.length, 1, describeProblems(problems));
  assert.match(
    problems[0]!.problem.message,
    /a block read back is corrupt; its records are skipped/,
  );
  assert.equal(problems[0]!.problem.offset, damaged.start);
  // Reported once: the block is gone from the index.
  assert.deepEqual(
    dataOf(engine),
    kept.flatMap((block) => block.data),
  );
  assert.equal(problems.length, 1);
  engine.close();
});

void test("damage found on opening moves the numbers on even when the high water is gone with it", async () => {
  // A clean shutdown, then the tail and high-water.json both lost: only the damage says numbers were handed out past the files.
  const pristine = await makePristine(true);
  const work = join(temporaryDir(), "dir");
  const highest = pristine.blocks.at(-1)!.sequenceNumbers.at(-1)!;
  const dir = damagedCopy(pristine, work, (file) => {
    truncateSync(file, pristine.blocks.at(-1)!.end - 1);
    rmSync(join(file, "..", "high-water.json"), { force: true });
  });
  const { engine, problems } = openEngine(dir, {}, { fsync: false });
  assert.equal(problems.length, 1, "the cut tail is reported");
  const output = await engine.putRecordsStored({
    streamName: "s",
    records: recordsNamed("after", 1),
  });
  assert.ok(BigInt(output.records[0]!.sequenceNumber!) > highest, "above every number handed out");
  engine.close();
});

void test("a segment torn as it was made (no whole header) is removed and reported, and writes go on", async () => {
  const pristine = await makePristine(true);
  const work = join(temporaryDir(), "dir");
  const highest = pristine.blocks.at(-1)!.sequenceNumbers.at(-1)!;
  const dir = damagedCopy(pristine, work, (file) => truncateSync(file, SEGMENT_HEADER_BYTES - 3));
  const { engine, problems } = openEngine(dir, {}, { fsync: false });
  assert.equal(problems.length, 1, describeProblems(problems));
  assert.match(problems[0]!.problem.message, /torn as it was made/);
  assert.deepEqual(dataOf(engine), []);
  const output = await engine.putRecordsStored({
    streamName: "s",
    records: recordsNamed("after", 1),
  });
  assert.ok(BigInt(output.records[0]!.sequenceNumber!) > highest);
  assert.deepEqual(dataOf(engine), [text(recordsNamed("after", 1)[0]!.data)]);
  engine.close();
});
