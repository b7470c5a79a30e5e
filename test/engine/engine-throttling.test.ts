import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { createEngine, type Engine } from "../../src/engine/engine.ts";
import { splitHashKeySpace } from "../../src/engine/shard-ranges.ts";
import { KinesisError } from "../../src/kinesis/errors.ts";
import type { PutRecordsOutput, PutRecordsRequestEntry } from "../../src/kinesis/types.ts";
import { bytes, createManualClock } from "./helpers.ts";

const KiB = 1024;
const throttledMessage = (shard: number, stream = "s") =>
  `Rate exceeded for shard shardId-00000000000${shard} in stream ${stream} under account 000000000000.`;

function records(count: number, size = 1, partitionKey = "k"): PutRecordsRequestEntry[] {
  return Array.from({ length: count }, () => ({ data: bytes(size), partitionKey }));
}

/** Puts `count` one-byte records in batches of at most 500 and returns every result. */
function putMany(engine: Engine, count: number, partitionKey = "k"): PutRecordsOutput["records"] {
  const results: PutRecordsOutput["records"] = [];
  for (let left = count; left > 0; left -= 500) {
    results.push(
      ...engine.putRecords({
        streamName: "s",
        records: records(Math.min(500, left), 1, partitionKey),
      }).records,
    );
  }
  return results;
}

function setUp(options: Parameters<typeof createEngine>[0] = {}, shardCount = 1) {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now, ...options });
  engine.createStream({ streamName: "s", shardCount });
  return { clock, engine };
}

suite("engine write throttling", () => {
  test("accepts 1,000 records in one instant and throttles the 1,001st with AWS's text", () => {
    const { engine } = setUp();
    const accepted = putMany(engine, 1000);
    assert.ok(accepted.every((r) => r.sequenceNumber !== undefined));
    const output = engine.putRecords({ streamName: "s", records: records(1) });
    assert.equal(output.failedRecordCount, 1);
    assert.deepEqual(output.records, [
      { errorCode: "ProvisionedThroughputExceededException", errorMessage: throttledMessage(0) },
    ]);
  });

  test("throttles on bytes: a second 600 KiB record in the same instant fails", () => {
    const { engine } = setUp();
    const output = engine.putRecords({ streamName: "s", records: records(2, 600 * KiB) });
    assert.equal(output.failedRecordCount, 1);
    assert.ok(output.records[0]!.sequenceNumber);
    assert.equal(output.records[1]!.errorCode, "ProvisionedThroughputExceededException");
  });

  test("counts the partition key's UTF-8 bytes toward the bytes limit", () => {
    const { engine } = setUp({ shardWriteBytesPerSecond: 10 });
    // 8 data bytes + "ü" (2 UTF-8 bytes) fills the 10-byte bucket exactly.
    assert.equal(
      engine.putRecords({ streamName: "s", records: records(1, 8, "ü") }).failedRecordCount,
      0,
    );
    assert.equal(
      engine.putRecords({ streamName: "s", records: records(1, 0, "k") }).failedRecordCount,
      1,
    );
  });

  test("refills with time: 500 ms later, 500 more records pass", () => {
    const { clock, engine } = setUp();
    putMany(engine, 1000);
    clock.advance(500);
    const results = putMany(engine, 501);
    assert.equal(results.filter((r) => r.sequenceNumber).length, 500);
    assert.equal(results[500]!.errorCode, "ProvisionedThroughputExceededException");
  });

  test("throttled records mid-batch keep request order and are counted, and later records still pass", () => {
    const { engine } = setUp();
    const batch: PutRecordsRequestEntry[] = [
      { data: bytes(10), partitionKey: "a" },
      { data: bytes(600 * KiB), partitionKey: "b" },
      { data: bytes(600 * KiB), partitionKey: "c" },
      { data: bytes(10), partitionKey: "d" },
      { data: bytes(600 * KiB), partitionKey: "e" },
    ];
    const output = engine.putRecords({ streamName: "s", records: batch });
    assert.deepEqual(
      output.records.map((r) => r.errorCode ?? "ok"),
      [
        "ok",
        "ok",
        "ProvisionedThroughputExceededException",
        "ok",
        "ProvisionedThroughputExceededException",
      ],
    );
    assert.equal(output.failedRecordCount, 2);
    const stored = engine.readRecords({ streamName: "s" }, "shardId-000000000000");
    assert.deepEqual(
      stored.map((r) => r.partitionKey),
      ["a", "b", "d"],
    );
  });

  test("throttles each shard on its own", () => {
    const { engine } = setUp({}, 2);
    putMany(engine, 1000, "a"); // "a" → shard 0
    const output = engine.putRecords({
      streamName: "s",
      records: [
        { data: bytes(1), partitionKey: "a" },
        { data: bytes(1), partitionKey: "b" }, // "b" → shard 1
        { data: bytes(1), partitionKey: "a" },
      ],
    });
    assert.deepEqual(
      output.records.map((r) => r.errorMessage ?? r.shardId),
      [throttledMessage(0), "shardId-000000000001", throttledMessage(0)],
    );
    assert.equal(output.failedRecordCount, 2);
  });

  test("throttle: false accepts everything", () => {
    const { engine } = setUp({ throttle: false });
    const results = putMany(engine, 5000);
    assert.ok(results.every((r) => r.sequenceNumber !== undefined));
    const big = engine.putRecords({ streamName: "s", records: records(5, 1000 * KiB) });
    assert.equal(big.failedRecordCount, 0);
  });

  test("honours configured rates and burst", () => {
    const { clock, engine } = setUp({ shardWriteRecordsPerSecond: 10, burstSeconds: 2 });
    assert.equal(engine.putRecords({ streamName: "s", records: records(21) }).failedRecordCount, 1);
    clock.advance(100);
    assert.equal(engine.putRecords({ streamName: "s", records: records(2) }).failedRecordCount, 1);
  });

  test("an on-demand stream takes 4,000 records per second spread over its shards, not more", () => {
    const clock = createManualClock();
    const engine = createEngine({ now: clock.now });
    engine.createStream({ streamName: "s", streamMode: "ON_DEMAND" });
    const starts = splitHashKeySpace(4).map((span) => span.startingHashKey.toString());
    const spread = (count: number): PutRecordsRequestEntry[] =>
      Array.from({ length: count }, (_, i) => ({
        data: bytes(1),
        partitionKey: "k",
        explicitHashKey: starts[i % 4],
      }));
    let failed = 0;
    for (let i = 0; i < 8; i++)
      failed += engine.putRecords({ streamName: "s", records: spread(500) }).failedRecordCount;
    assert.equal(failed, 0);
    assert.equal(engine.putRecords({ streamName: "s", records: spread(4) }).failedRecordCount, 4);
  });

  test("a throttled PutRecord throws ProvisionedThroughputExceededException and stores nothing", () => {
    const { engine } = setUp();
    putMany(engine, 1000);
    assert.throws(
      () => engine.putRecord({ streamName: "s", data: bytes(1), partitionKey: "k" }),
      (error: unknown) =>
        error instanceof KinesisError &&
        error.type === "ProvisionedThroughputExceededException" &&
        error.message === throttledMessage(0),
    );
    assert.equal(engine.readRecords({ streamName: "s" }, "shardId-000000000000").length, 1000);
  });
});

suite("engine retention", () => {
  test("drops records once they are older than the retention period", () => {
    const { clock, engine } = setUp({ retentionHours: 1 });
    engine.putRecords({ streamName: "s", records: records(3) });
    clock.advance(30 * 60_000);
    engine.putRecord({ streamName: "s", data: bytes(1), partitionKey: "late" });
    clock.advance(30 * 60_000 + 1);
    const kept = engine.readRecords({ streamName: "s" }, "shardId-000000000000");
    assert.deepEqual(
      kept.map((r) => r.partitionKey),
      ["late"],
    );
  });

  test("keeps a stream's records under its byte cap by dropping the oldest", () => {
    const { engine } = setUp({ maxStreamBytes: 200 * KiB, throttle: false }, 2);
    for (let i = 0; i < 300; i++) {
      // 1 KiB each: 1020 data bytes and a 4-byte key.
      engine.putRecord({
        streamName: "s",
        data: bytes(KiB - 4),
        partitionKey: `k${String(i).padStart(3, "0")}`,
      });
    }
    const kept = [0, 1]
      .flatMap((shard) => engine.readRecords({ streamName: "s" }, `shardId-00000000000${shard}`))
      .map((r) => r.partitionKey)
      .sort();
    // 200 KiB holds fewer than 200: each record's bookkeeping, and each shard's, counts too.
    assert.ok(kept.length >= 50 && kept.length < 200, `${kept.length} kept`);
    assert.deepEqual(
      kept,
      Array.from(
        { length: kept.length },
        (_, i) => `k${String(300 - kept.length + i).padStart(3, "0")}`,
      ),
      "the newest are kept",
    );
  });
});
