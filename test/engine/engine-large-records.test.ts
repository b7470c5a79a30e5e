/**
 * Large records in the engine: a stream's maximum record size, and the burst
 * AWS describes for them: a shard's write capacity is a reservoir refilled at
 * the steady 1 MiB/s, which one record of up to 10 MiB may drain, after which
 * the shard takes nothing until it has recovered.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { createEngine } from "../../src/engine/engine.ts";
import { createWriteLimiter } from "../../src/engine/write-limiter.ts";
import type { PutRecordsRequestEntry } from "../../src/kinesis/types.ts";
import { bytes, createManualClock, kinesisError } from "./helpers.ts";

const MiB = 1024 * 1024;
const ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
const throttled =
  "Rate exceeded for shard shardId-000000000000 in stream s under account 000000000000.";

/** A record of `size` bytes in all, data and its one-character key. */
const record = (size: number): PutRecordsRequestEntry => ({
  data: bytes(size - 1),
  partitionKey: "k",
});

function setUp(maxRecordSizeInKiB?: number) {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now });
  engine.createStream({ streamName: "s", shardCount: 1, maxRecordSizeInKiB });
  return { clock, engine };
}

suite("write burst of large records", () => {
  test("an idle shard takes a 10 MiB record, then refuses everything until its debt is paid at 1 MiB/s", () => {
    const clock = createManualClock();
    const limiter = createWriteLimiter({ now: clock.now });
    assert.equal(limiter.tryAdmit(10 * MiB), true);
    assert.equal(limiter.tryAdmit(1), false);
    assert.equal(limiter.utilization(), 1);
    // 9 MiB of debt: paid off after nine seconds, and one byte a moment later.
    clock.advance(9_000);
    assert.equal(limiter.tryAdmit(1), false);
    clock.advance(1);
    assert.equal(limiter.tryAdmit(1), true);
  });

  test("a record larger than the bucket needs it full: a few bytes spent, and it waits for their refill", () => {
    const clock = createManualClock();
    const limiter = createWriteLimiter({ now: clock.now });
    assert.equal(limiter.tryAdmit(1024), true);
    assert.equal(limiter.tryAdmit(2 * MiB), false);
    clock.advance(1); // 1 MiB/s refills 1,048 bytes a millisecond: full again
    assert.equal(limiter.tryAdmit(2 * MiB), true);
  });

  test("records no larger than the bucket are admitted as before: only while that much is left", () => {
    const clock = createManualClock();
    const limiter = createWriteLimiter({ now: clock.now });
    assert.equal(limiter.tryAdmit(MiB / 2), true);
    assert.equal(limiter.tryAdmit(MiB / 2 + 1), false);
    assert.equal(limiter.tryAdmit(MiB / 2), true);
    assert.equal(limiter.tryAdmit(1), false);
  });

  test("in one PutRecords, the first large record drains the shard and the rest are throttled", () => {
    const { engine, clock } = setUp(10240);
    const out = engine.putRecords({
      streamName: "s",
      records: [record(3 * MiB), record(3 * MiB), record(10)],
    });
    assert.equal(out.failedRecordCount, 2);
    assert.match(out.records[0]!.sequenceNumber ?? "", /^\d{56}$/);
    for (const r of out.records.slice(1)) {
      assert.deepEqual(r, {
        errorCode: "ProvisionedThroughputExceededException",
        errorMessage: throttled,
      });
    }
    // 2 MiB of debt and the bucket's 1 MiB to fill again: three seconds.
    clock.advance(2_999);
    assert.throws(
      () => engine.putRecord({ streamName: "s", ...record(3 * MiB) }),
      kinesisError("ProvisionedThroughputExceededException", throttled),
    );
    clock.advance(1);
    assert.match(
      engine.putRecord({ streamName: "s", ...record(3 * MiB) }).sequenceNumber,
      /^\d{56}$/,
    );
  });

  test("a 10 MiB read leaves the shard's 2 MiB/s read budget in debt: the next read waits four seconds", () => {
    const { engine, clock } = setUp(10240);
    engine.putRecord({ streamName: "s", ...record(10 * MiB) });
    const { shardIterator } = engine.getShardIterator({
      streamName: "s",
      shardId: "shardId-000000000000",
      shardIteratorType: "TRIM_HORIZON",
    });
    const first = engine.getRecords({ shardIterator });
    assert.equal(first.records.length, 1);
    assert.equal(first.records[0]!.data.length, 10 * MiB - 1);
    clock.advance(3_999);
    assert.throws(
      () => engine.getRecords({ shardIterator: first.nextShardIterator! }),
      kinesisError(
        "ProvisionedThroughputExceededException",
        "Rate exceeded for Shard - 000000000000/s/shardId-000000000000",
      ),
    );
    clock.advance(2);
    assert.equal(engine.getRecords({ shardIterator: first.nextShardIterator! }).records.length, 0);
  });
});

suite("a stream's maximum record size", () => {
  test("is 1,024 KiB unless CreateStream says otherwise, and DescribeStreamSummary shows it", () => {
    assert.equal(
      setUp().engine.describeStreamSummary({ streamName: "s" }).maxRecordSizeInKiB,
      1024,
    );
    assert.equal(
      setUp(8192).engine.describeStreamSummary({ streamName: "s" }).maxRecordSizeInKiB,
      8192,
    );
  });

  test("UpdateMaxRecordSize changes it at once, the stream staying ACTIVE", () => {
    const { engine } = setUp();
    engine.updateMaxRecordSize({ streamArn: ARN, maxRecordSizeInKiB: 10240 });
    const summary = engine.describeStreamSummary({ streamName: "s" });
    assert.equal(summary.maxRecordSizeInKiB, 10240);
    assert.equal(summary.streamStatus, "ACTIVE");
    assert.match(
      engine.putRecord({ streamName: "s", ...record(10 * MiB) }).sequenceNumber,
      /^\d{56}$/,
    );
  });

  test("refuses a record one byte over it, whole request, before anything is written", () => {
    const { engine } = setUp(2048);
    assert.throws(
      () => engine.putRecords({ streamName: "s", records: [record(10), record(2 * MiB + 1)] }),
      kinesisError(
        "InvalidArgumentException",
        `Record size of ${2 * MiB + 1} bytes (data plus partition key) exceeds the limit of ${2 * MiB} bytes.`,
      ),
    );
    assert.throws(
      () =>
        engine.putRecords({
          streamName: "s",
          records: [{ data: bytes(2 * MiB + 1), partitionKey: "k" }],
        }),
      kinesisError(
        "ValidationException",
        `1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=${2 * MiB + 1} cap=${2 * MiB + 1}]' at 'records.1.member.data' failed to satisfy constraint: Member must have length less than or equal to ${2 * MiB}`,
      ),
    );
    assert.equal(engine.readRecords({ streamName: "s" }, "shardId-000000000000").length, 0);
    assert.match(
      engine.putRecord({ streamName: "s", ...record(2 * MiB) }).sequenceNumber,
      /^\d{56}$/,
    );
  });

  test("records already stored stay readable after it is lowered", () => {
    const { engine } = setUp(4096);
    engine.putRecord({ streamName: "s", ...record(3 * MiB) });
    engine.updateMaxRecordSize({ streamArn: ARN, maxRecordSizeInKiB: 1024 });
    const stored = engine.readRecords({ streamName: "s" }, "shardId-000000000000");
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.data.length, 3 * MiB - 1);
  });

  test("a stream not ACTIVE keeps it: ResourceInUseException", () => {
    const clock = createManualClock();
    const engine = createEngine({ now: clock.now, transitionDelayMs: 500 });
    engine.createStream({ streamName: "s", shardCount: 1 });
    const inUse = kinesisError(
      "ResourceInUseException",
      "Stream s under account 000000000000 is not currently ACTIVE.",
    );
    assert.throws(
      () => engine.updateMaxRecordSize({ streamArn: ARN, maxRecordSizeInKiB: 2048 }),
      inUse,
    );
    clock.advance(500);
    engine.startStreamEncryption({ streamName: "s", encryptionType: "KMS", keyId: "k" });
    assert.throws(
      () => engine.updateMaxRecordSize({ streamArn: ARN, maxRecordSizeInKiB: 2048 }),
      inUse,
    );
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).maxRecordSizeInKiB, 1024);
  });
});
