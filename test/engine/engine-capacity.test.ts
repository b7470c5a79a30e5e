/**
 * The engine's stream modes, capacity, account settings and page token
 * expiry, with a clock that moves only when told to.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createEngine, type Engine } from "../../src/engine/index.ts";
import { bytes, createManualClock, kinesisError } from "./helpers.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const KiB = 1024;

/**
 * Writes 1 KiB records (data and key) to one shard (one partition key) until
 * it refuses one; how many it took. The records bucket is the bound: 1,000
 * records of 1 KiB are less than 1 MiB.
 */
function recordsAdmitted(engine: Engine, streamName: string, tries = 20_000): number {
  let admitted = 0;
  for (let i = 0; i < tries; i += 500) {
    const records = Array.from({ length: 500 }, () => ({
      data: bytes(KiB - 1),
      partitionKey: "k",
    }));
    const out = engine.putRecords({ streamName, records });
    admitted += 500 - out.failedRecordCount;
    if (out.failedRecordCount > 0) return admitted;
  }
  return admitted;
}

const arnOf = (engine: Engine, streamName: string) =>
  engine.describeStreamSummary({ streamName }).streamArn;

void test("a 1-shard stream switched to ON_DEMAND writes 4 MiB/s on its one shard, and 1 MiB/s again once PROVISIONED", () => {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now });
  engine.createStream({ streamName: "s", shardCount: 1 });
  const streamArn = arnOf(engine, "s");
  assert.equal(recordsAdmitted(engine, "s"), 1000);

  clock.advance(1000);
  engine.updateStreamMode({ streamArn, streamMode: "ON_DEMAND" });
  const summary = engine.describeStreamSummary({ streamName: "s" });
  assert.equal(summary.streamMode, "ON_DEMAND");
  assert.equal(summary.openShardCount, 1, "it keeps its shards");
  assert.equal(
    recordsAdmitted(engine, "s"),
    4000,
    "4,000 records/s: the records bucket is the bound",
  );
  assert.equal(engine.describeLimits().onDemandStreamCount, 1);

  clock.advance(1000);
  engine.updateStreamMode({ streamArn, streamMode: "PROVISIONED" });
  assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamMode, "PROVISIONED");
  assert.equal(recordsAdmitted(engine, "s"), 1000);
});

/**
 * Writes four records of 1 MiB (data and key), one a second, then reads them
 * in one GetRecords; whether the shard takes another call at once.
 */
function readsAgainAfter4MiB(engine: Engine, clock: { advance(ms: number): void }, name: string) {
  for (let i = 0; i < 4; i++) {
    clock.advance(1000);
    engine.putRecord({ streamName: name, data: bytes(1024 * KiB - 1), partitionKey: "k" });
  }
  const { shardIterator } = engine.getShardIterator({
    streamName: name,
    shardId: "shardId-000000000000",
    shardIteratorType: "TRIM_HORIZON",
  });
  const first = engine.getRecords({ shardIterator });
  assert.equal(first.records.length, 4);
  try {
    engine.getRecords({ shardIterator: first.nextShardIterator! });
    return true;
  } catch (err) {
    assert.equal((err as { type?: string }).type, "ProvisionedThroughputExceededException");
    return false;
  }
}

void test("a 1-shard stream switched to ON_DEMAND reads 8 MiB/s on its one shard, a provisioned one 2 MiB/s", () => {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now });
  engine.createStream({ streamName: "p", shardCount: 1 });
  engine.createStream({ streamName: "od", shardCount: 1 });
  engine.updateStreamMode({ streamArn: arnOf(engine, "od"), streamMode: "ON_DEMAND" });
  assert.equal(readsAgainAfter4MiB(engine, clock, "p"), false, "2 MiB of debt");
  assert.equal(readsAgainAfter4MiB(engine, clock, "od"), true, "4 MiB of 8 left");
});

void test("the mode changes twice in 24 hours at most; the same mode changes nothing and is not counted", () => {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now });
  engine.createStream({ streamName: "s", shardCount: 2 });
  const streamArn = arnOf(engine, "s");
  engine.updateStreamMode({ streamArn, streamMode: "PROVISIONED" });
  engine.updateStreamMode({ streamArn, streamMode: "ON_DEMAND" });
  engine.updateStreamMode({ streamArn, streamMode: "ON_DEMAND" });
  engine.updateStreamMode({ streamArn, streamMode: "PROVISIONED" });
  const third = () => engine.updateStreamMode({ streamArn, streamMode: "ON_DEMAND" });
  assert.throws(
    third,
    kinesisError(
      "LimitExceededException",
      "Stream s under account 000000000000 has changed its capacity mode 2 times in the last 24 hours, the most allowed.",
    ),
  );
  assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamMode, "PROVISIONED");
  clock.advance(DAY_MS);
  third();
  assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamMode, "ON_DEMAND");
});

void test("the mode a stream has is refused too while the stream is CREATING, UPDATING or DELETING", () => {
  // AWS: "For successful operation, the resource must be in the ACTIVE state."
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now, transitionDelayMs: 500 });
  engine.createStream({ streamName: "s", shardCount: 1 });
  const streamArn = arnOf(engine, "s");
  const busy = kinesisError(
    "ResourceInUseException",
    "Stream s under account 000000000000 is not currently ACTIVE.",
  );
  const same = () => engine.updateStreamMode({ streamArn, streamMode: "PROVISIONED" });
  assert.throws(same, busy, "CREATING");
  clock.advance(500);
  same();
  engine.startStreamEncryption({ streamArn, encryptionType: "KMS", keyId: "k" });
  assert.throws(same, busy, "UPDATING");
  clock.advance(500);
  same();
  engine.deleteStream({ streamName: "s" });
  assert.throws(same, busy, "DELETING");
});

void test("a mode change makes the stream UPDATING for the transition and refuses another change meanwhile", () => {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now, transitionDelayMs: 500 });
  engine.createStream({ streamName: "s", shardCount: 1 });
  const streamArn = arnOf(engine, "s");
  const busy = kinesisError(
    "ResourceInUseException",
    "Stream s under account 000000000000 is not currently ACTIVE.",
  );
  assert.throws(() => engine.updateStreamMode({ streamArn, streamMode: "ON_DEMAND" }), busy);
  clock.advance(500);
  engine.updateStreamMode({ streamArn, streamMode: "ON_DEMAND" });
  assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "UPDATING");
  assert.throws(() => engine.updateStreamMode({ streamArn, streamMode: "PROVISIONED" }), busy);
  assert.throws(
    () => engine.startStreamEncryption({ streamArn, encryptionType: "KMS", keyId: "k" }),
    busy,
  );
  // Writes go on while UPDATING.
  assert.equal(
    engine.putRecord({ streamName: "s", data: bytes(1), partitionKey: "k" }).encryptionType,
    "NONE",
  );
  clock.advance(500);
  assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "ACTIVE");
  assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamMode, "ON_DEMAND");
});

void test("switching to ON_DEMAND counts against the on-demand stream limit", () => {
  const engine = createEngine({ onDemandStreamCountLimit: 1 });
  engine.createStream({ streamName: "od", streamMode: "ON_DEMAND" });
  engine.createStream({ streamName: "p", shardCount: 1 });
  assert.throws(
    () => engine.updateStreamMode({ streamArn: arnOf(engine, "p"), streamMode: "ON_DEMAND" }),
    kinesisError(
      "LimitExceededException",
      "This request would exceed the on-demand stream count limit for the account 000000000000 in us-east-1. " +
        "Current on-demand stream count for the account: 1. Limit: 1.",
    ),
  );
  assert.equal(engine.describeStreamSummary({ streamName: "p" }).streamMode, "PROVISIONED");
});

void test("the billing commitment: 24 hours at least, a disable before then is scheduled and can be cancelled", () => {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now });
  assert.deepEqual(engine.describeAccountSettings(), {
    minimumThroughputBillingCommitment: { status: "DISABLED" },
  });
  const startedAt = new Date(clock.now());
  const earliestAllowedEndAt = new Date(clock.now() + DAY_MS);
  const enabled = engine.updateAccountSettings({
    minimumThroughputBillingCommitment: { status: "ENABLED" },
  });
  assert.deepEqual(enabled.minimumThroughputBillingCommitment, {
    status: "ENABLED",
    startedAt,
    earliestAllowedEndAt,
  });

  clock.advance(1000);
  const scheduled = engine.updateAccountSettings({
    minimumThroughputBillingCommitment: { status: "DISABLED" },
  });
  assert.equal(
    scheduled.minimumThroughputBillingCommitment?.status,
    "ENABLED_UNTIL_EARLIEST_ALLOWED_END",
  );
  // Enabled again before its end: the end is cancelled, the commitment keeps its start.
  assert.deepEqual(
    engine.updateAccountSettings({ minimumThroughputBillingCommitment: { status: "ENABLED" } })
      .minimumThroughputBillingCommitment,
    { status: "ENABLED", startedAt, earliestAllowedEndAt },
  );
  engine.updateAccountSettings({ minimumThroughputBillingCommitment: { status: "DISABLED" } });
  clock.advance(DAY_MS);
  assert.deepEqual(engine.describeAccountSettings().minimumThroughputBillingCommitment, {
    status: "DISABLED",
    startedAt,
    endedAt: earliestAllowedEndAt,
  });
});

void test("warm throughput needs an on-demand stream and the commitment; it raises the capacity and ends with the commitment", () => {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now });
  engine.createStream({ streamName: "od", streamMode: "ON_DEMAND" });
  engine.createStream({ streamName: "p", shardCount: 1 });
  assert.throws(
    () => engine.updateStreamWarmThroughput({ streamName: "od", warmThroughputMiBps: 8 }),
    kinesisError(
      "InvalidArgumentException",
      "Warm throughput for stream od under account 000000000000 needs the account's " +
        "MinimumThroughputBillingCommitment to be ENABLED (UpdateAccountSettings).",
    ),
  );
  assert.equal(engine.describeStreamSummary({ streamName: "od" }).warmThroughput, undefined);
  engine.updateAccountSettings({ minimumThroughputBillingCommitment: { status: "ENABLED" } });
  assert.deepEqual(engine.describeStreamSummary({ streamName: "od" }).warmThroughput, {
    currentMiBps: 4,
  });
  assert.throws(
    () => engine.updateStreamWarmThroughput({ streamName: "p", warmThroughputMiBps: 8 }),
    kinesisError(
      "InvalidArgumentException",
      "WarmThroughputMiBps is only valid for on-demand streams",
    ),
  );
  assert.throws(
    () => engine.updateStreamWarmThroughput({ streamName: "od", warmThroughputMiBps: 10_241 }),
    kinesisError(
      "LimitExceededException",
      "Warm throughput of 10241 MiBps exceeds the limit of 10240 MiBps for an on-demand stream.",
    ),
  );
  const out = engine.updateStreamWarmThroughput({ streamName: "od", warmThroughputMiBps: 8 });
  assert.deepEqual(out, {
    streamArn: arnOf(engine, "od"),
    streamName: "od",
    warmThroughput: { targetMiBps: 8, currentMiBps: 8 },
  });
  // 8 MiB/s over 4 shards: one key's shard takes 2 MiB/s, 2,000 records.
  clock.advance(1000);
  assert.equal(recordsAdmitted(engine, "od"), 2000);

  engine.updateAccountSettings({ minimumThroughputBillingCommitment: { status: "DISABLED" } });
  clock.advance(DAY_MS);
  assert.equal(engine.describeStreamSummary({ streamName: "od" }).warmThroughput, undefined);
  assert.equal(recordsAdmitted(engine, "od"), 1000, "back to the on-demand default's share");
});

void test("CreateStream with warm throughput needs the commitment, and a refused one creates nothing", () => {
  const engine = createEngine();
  const create = () =>
    engine.createStream({ streamName: "w", streamMode: "ON_DEMAND", warmThroughputMiBps: 20 });
  assert.throws(
    create,
    kinesisError(
      "InvalidArgumentException",
      "Warm throughput for stream w under account 000000000000 needs the account's " +
        "MinimumThroughputBillingCommitment to be ENABLED (UpdateAccountSettings).",
    ),
  );
  assert.equal(engine.listStreams().streamNames.length, 0);
  engine.updateAccountSettings({ minimumThroughputBillingCommitment: { status: "ENABLED" } });
  create();
  assert.deepEqual(engine.describeStreamSummary({ streamName: "w" }).warmThroughput, {
    targetMiBps: 20,
    currentMiBps: 20,
  });
});

void test("an on-demand stream takes 50 consumers while the commitment holds; a provisioned one 20", () => {
  const engine = createEngine();
  engine.updateAccountSettings({ minimumThroughputBillingCommitment: { status: "ENABLED" } });
  engine.createStream({ streamName: "od", streamMode: "ON_DEMAND" });
  engine.createStream({ streamName: "p", shardCount: 1 });
  /** Registers consumers c<from> to c<to − 1>. */
  const register = (stream: string, from: number, to: number) => {
    const streamArn = arnOf(engine, stream);
    for (let i = from; i < to; i++) {
      engine.registerStreamConsumer({ streamArn, consumerName: `c${i}` });
    }
  };
  register("od", 0, 50);
  assert.throws(
    () => register("od", 50, 51),
    kinesisError(
      "LimitExceededException",
      "Stream od under account 000000000000 already has 50 registered consumers, the most a stream may have (50).",
    ),
  );
  register("p", 0, 20);
  assert.throws(
    () => register("p", 20, 21),
    kinesisError(
      "LimitExceededException",
      "Stream p under account 000000000000 already has 20 registered consumers, the most a stream may have (20).",
    ),
  );
});

void test("ListShards and ListStreamConsumers tokens expire after 300 s", () => {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now });
  engine.createStream({ streamName: "s", shardCount: 3 });
  const streamArn = arnOf(engine, "s");
  engine.registerStreamConsumer({ streamArn, consumerName: "a" });
  engine.registerStreamConsumer({ streamArn, consumerName: "b" });
  const shardsToken = engine.listShards({ streamName: "s", maxResults: 1 }).nextToken!;
  const consumersToken = engine.listStreamConsumers({ streamArn, maxResults: 1 }).nextToken!;
  clock.advance(300_000);
  assert.equal(
    engine.listShards({ nextToken: shardsToken }).shards[0]?.shardId,
    "shardId-000000000001",
  );
  assert.equal(
    engine.listStreamConsumers({ streamArn, nextToken: consumersToken }).consumers[0]?.consumerName,
    "b",
  );
  clock.advance(1);
  const expired = kinesisError(
    "ExpiredNextTokenException",
    "The NextToken has expired: it was issued more than 300 seconds ago.",
  );
  assert.throws(() => engine.listShards({ nextToken: shardsToken }), expired);
  assert.throws(
    () => engine.listStreamConsumers({ streamArn, nextToken: consumersToken }),
    expired,
  );
});

void test("StreamId is accepted and ignored", () => {
  const engine = createEngine();
  engine.createStream({ streamName: "s", shardCount: 1 });
  const streamId = "abcdefghij0123456789-abc";
  assert.equal(engine.describeStreamSummary({ streamName: "s", streamId }).streamName, "s");
  assert.equal(
    engine.putRecord({ streamName: "s", streamId, data: bytes(1), partitionKey: "k" }).shardId,
    "shardId-000000000000",
  );
});
