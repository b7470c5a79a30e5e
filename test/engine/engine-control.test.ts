import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { createEngine, type Engine, type EngineOptions } from "../../src/engine/engine.ts";
import { bytes, createManualClock, kinesisError } from "./helpers.ts";

const ACCOUNT = "000000000000";
const SHARD0 = "shardId-000000000000";
const HOUR = 3_600_000;

function setUp(options: EngineOptions = {}, shardCount = 1) {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now, ...options });
  engine.createStream({ streamName: "s", shardCount });
  return { clock, engine };
}

const shardIds = (engine: Engine, input: Parameters<Engine["describeStream"]>[0]) =>
  engine.describeStream(input).shards.map((shard) => shard.shardId);

suite("engine describeStream", () => {
  test("describes a stream with its shards, as ListShards and DescribeStreamSummary do", () => {
    const { clock, engine } = setUp({}, 2);
    const description = engine.describeStream({ streamName: "s" });
    assert.deepEqual(description, {
      streamName: "s",
      streamArn: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/s`,
      streamStatus: "ACTIVE",
      streamMode: "PROVISIONED",
      shards: engine.listShards({ streamName: "s" }).shards,
      hasMoreShards: false,
      retentionPeriodHours: 24,
      streamCreationTimestamp: new Date(clock.now()),
      encryptionType: "NONE",
      enhancedMonitoring: [{ shardLevelMetrics: [] }],
    });
    assert.equal(description.shards.length, 2);
  });

  test("includes the KMS key of an encrypted stream", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "k", shardCount: 1, kmsKeyId: "alias/aws/kinesis" });
    const description = engine.describeStream({ streamName: "k" });
    assert.equal(description.encryptionType, "KMS");
    assert.equal(description.keyId, "alias/aws/kinesis");
  });

  test("pages shards with limit and exclusiveStartShardId", () => {
    const { engine } = setUp({}, 5);
    const first = engine.describeStream({ streamName: "s", limit: 2 });
    assert.deepEqual(
      first.shards.map((s) => s.shardId),
      ["shardId-000000000000", "shardId-000000000001"],
    );
    assert.equal(first.hasMoreShards, true);
    const next = { streamName: "s", limit: 2, exclusiveStartShardId: "shardId-000000000001" };
    assert.deepEqual(shardIds(engine, next), ["shardId-000000000002", "shardId-000000000003"]);
    const last = engine.describeStream({ ...next, exclusiveStartShardId: "shardId-000000000003" });
    assert.deepEqual(
      last.shards.map((s) => s.shardId),
      ["shardId-000000000004"],
    );
    assert.equal(last.hasMoreShards, false);
    assert.deepEqual(
      shardIds(engine, { ...next, exclusiveStartShardId: "shardId-000000000004" }),
      [],
    );
  });

  test("returns 100 shards by default", () => {
    const { engine } = setUp({}, 101);
    const page = engine.describeStream({ streamName: "s" });
    assert.equal(page.shards.length, 100);
    assert.equal(page.hasMoreShards, true);
  });

  test("answers an unknown stream with AWS's not-found text", () => {
    const engine = createEngine();
    assert.throws(
      () => engine.describeStream({ streamName: "nope" }),
      kinesisError("ResourceNotFoundException", `Stream nope under account ${ACCOUNT} not found.`),
    );
  });
});

suite("engine retention period", () => {
  test("starts at the engine's default and is reported by both describe operations", () => {
    const { engine } = setUp({ retentionHours: 48 });
    engine.increaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 72 });
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).retentionPeriodHours, 72);
    assert.equal(engine.describeStream({ streamName: "s" }).retentionPeriodHours, 72);
    engine.decreaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 24 });
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).retentionPeriodHours, 24);
  });

  test("is per stream", () => {
    const { engine } = setUp();
    engine.createStream({ streamName: "t", shardCount: 1 });
    engine.increaseStreamRetentionPeriod({ streamName: "t", retentionPeriodHours: 8760 });
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).retentionPeriodHours, 24);
    assert.equal(engine.describeStreamSummary({ streamName: "t" }).retentionPeriodHours, 8760);
  });

  test("an increase keeps records longer; a decrease hides the older ones at once", () => {
    const { clock, engine } = setUp();
    engine.increaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 48 });
    engine.putRecord({ streamName: "s", data: bytes(1), partitionKey: "old" });
    clock.advance(30 * HOUR);
    engine.putRecord({ streamName: "s", data: bytes(1), partitionKey: "new" });
    const read = () => {
      const { shardIterator } = engine.getShardIterator({
        streamName: "s",
        shardId: SHARD0,
        shardIteratorType: "TRIM_HORIZON",
      });
      return engine.getRecords({ shardIterator }).records.map((r) => r.partitionKey);
    };
    assert.deepEqual(read(), ["old", "new"]);
    engine.decreaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 24 });
    assert.deepEqual(read(), ["new"]);
    engine.increaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 48 });
    assert.deepEqual(read(), ["new"], "an increase brings nothing back");
  });

  test("refuses periods outside 24 to 8,760 hours, for either operation, with AWS's texts", () => {
    const { engine } = setUp();
    for (const change of [
      engine.increaseStreamRetentionPeriod,
      engine.decreaseStreamRetentionPeriod,
    ]) {
      assert.throws(
        () => change({ streamName: "s", retentionPeriodHours: 23 }),
        kinesisError(
          "InvalidArgumentException",
          "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.",
        ),
      );
      assert.throws(
        () => change({ streamName: "s", retentionPeriodHours: 8761 }),
        kinesisError(
          "InvalidArgumentException",
          "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.",
        ),
      );
    }
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).retentionPeriodHours, 24);
  });

  test("refuses an increase that shortens and a decrease that lengthens, pointing to the other API", () => {
    const { engine } = setUp();
    engine.increaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 48 });
    assert.throws(
      () => engine.increaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 47 }),
      kinesisError(
        "InvalidArgumentException",
        "Requested retention period (47 hours) for stream s can not be shorter than existing " +
          "retention period (48 hours). Use DecreaseRetentionPeriod API.",
      ),
    );
    assert.throws(
      () => engine.decreaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 49 }),
      kinesisError(
        "InvalidArgumentException",
        "Requested retention period (49 hours) for stream s can not be longer than existing " +
          "retention period (48 hours). Use IncreaseRetentionPeriod API.",
      ),
    );
    // The same period is neither shorter nor longer.
    engine.increaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 48 });
    engine.decreaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 48 });
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).retentionPeriodHours, 48);
  });
});

suite("engine tags", () => {
  const list = (engine: Engine, more: { exclusiveStartTagKey?: string; limit?: number } = {}) =>
    engine.listTagsForStream({ streamName: "s", ...more });

  test("lists the tags given at creation and added later, sorted by key", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 1, tags: { team: "a" } });
    engine.addTagsToStream({ streamName: "s", tags: { env: "dev", owner: "me" } });
    assert.deepEqual(list(engine), {
      tags: [
        { key: "env", value: "dev" },
        { key: "owner", value: "me" },
        { key: "team", value: "a" },
      ],
      hasMoreTags: false,
    });
  });

  test("overwrites the value of a key that exists, and removes keys, ignoring unknown ones", () => {
    const { engine } = setUp();
    engine.addTagsToStream({ streamName: "s", tags: { a: "1", b: "2", c: "3" } });
    engine.addTagsToStream({ streamName: "s", tags: { a: "one" } });
    engine.removeTagsFromStream({ streamName: "s", tagKeys: ["b", "zzz"] });
    assert.deepEqual(list(engine).tags, [
      { key: "a", value: "one" },
      { key: "c", value: "3" },
    ]);
  });

  test("pages with limit and exclusiveStartTagKey, 50 at most", () => {
    const { engine } = setUp();
    const keys = ["e", "b", "d", "a", "c"];
    engine.addTagsToStream({ streamName: "s", tags: Object.fromEntries(keys.map((k) => [k, k])) });
    const first = list(engine, { limit: 2 });
    assert.deepEqual(
      first.tags.map((t) => t.key),
      ["a", "b"],
    );
    assert.equal(first.hasMoreTags, true);
    const rest = list(engine, { exclusiveStartTagKey: "b", limit: 3 });
    assert.deepEqual(
      rest.tags.map((t) => t.key),
      ["c", "d", "e"],
    );
    assert.equal(rest.hasMoreTags, false);
    assert.deepEqual(
      list(engine, { exclusiveStartTagKey: "bb" }).tags.map((t) => t.key),
      ["c", "d", "e"],
    );
    engine.addTagsToStream({
      streamName: "s",
      tags: Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`k${i}`, "v"])),
    });
    const full = list(engine);
    assert.equal(full.tags.length, 50);
    assert.equal(full.hasMoreTags, false);
    assert.equal(list(engine, { limit: 49 }).hasMoreTags, true);
  });

  test("keeps at most 50 tags a stream, refusing a call that would exceed them as a whole", () => {
    const { engine } = setUp();
    const tags = (from: number, count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${from + i}`, "v"]));
    engine.addTagsToStream({ streamName: "s", tags: tags(0, 50) });
    assert.throws(
      () => engine.addTagsToStream({ streamName: "s", tags: { ...tags(0, 1), extra: "v" } }),
      kinesisError(
        "LimitExceededException",
        `Failed to add tags to stream s under account ${ACCOUNT} because a given stream cannot ` +
          "have more than 50 tags associated with it.",
      ),
    );
    assert.equal(
      list(engine).tags.find((t) => t.key === "extra"),
      undefined,
    );
    // Overwriting is not adding.
    engine.addTagsToStream({ streamName: "s", tags: { k0: "changed" } });
    assert.equal(list(engine).tags.find((t) => t.key === "k0")?.value, "changed");
  });
});

suite("engine describeLimits", () => {
  test("counts open shards over all streams and on-demand streams", () => {
    const engine = createEngine({ shardLimit: 200, onDemandStreamCountLimit: 7 });
    engine.createStream({ streamName: "p", shardCount: 3 });
    engine.createStream({ streamName: "od", streamMode: "ON_DEMAND" });
    assert.deepEqual(engine.describeLimits(), {
      shardLimit: 200,
      openShardCount: 7,
      onDemandStreamCount: 1,
      onDemandStreamCountLimit: 7,
    });
    engine.deleteStream({ streamName: "od" });
    assert.deepEqual(engine.describeLimits(), {
      shardLimit: 200,
      openShardCount: 3,
      onDemandStreamCount: 0,
      onDemandStreamCountLimit: 7,
    });
  });

  test("defaults to AWS's quota of 50 on-demand streams, and enforces the quota", () => {
    assert.equal(createEngine().describeLimits().onDemandStreamCountLimit, 50);
    const engine = createEngine({ onDemandStreamCountLimit: 1 });
    engine.createStream({ streamName: "a", streamMode: "ON_DEMAND" });
    assert.throws(
      () => engine.createStream({ streamName: "b", streamMode: "ON_DEMAND" }),
      kinesisError(
        "LimitExceededException",
        `This request would exceed the on-demand stream count limit for the account ${ACCOUNT} ` +
          "in us-east-1. Current on-demand stream count for the account: 1. Limit: 1.",
      ),
    );
    engine.createStream({ streamName: "c", shardCount: 1 }); // provisioned streams do not count
  });
});

suite("engine stream status transitions", () => {
  const notActive = (name = "s") =>
    kinesisError(
      "ResourceInUseException",
      `Stream ${name} under account ${ACCOUNT} is not currently ACTIVE or UPDATING.`,
    );

  test("without a delay, a stream is ACTIVE at once and gone at once", () => {
    const { engine } = setUp();
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "ACTIVE");
    engine.deleteStream({ streamName: "s" });
    assert.deepEqual(engine.listStreams().streamNames, []);
  });

  test("a new stream is CREATING until the delay has passed, and takes no reads or writes", () => {
    const { clock, engine } = setUp({ transitionDelayMs: 500 });
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "CREATING");
    assert.equal(engine.listStreams().streamSummaries[0]!.streamStatus, "CREATING");
    const creating = engine.describeStream({ streamName: "s" });
    assert.equal(creating.streamStatus, "CREATING");
    assert.deepEqual(creating.shards, [], "AWS shows no shards while CREATING");
    assert.throws(
      () => engine.putRecord({ streamName: "s", data: bytes(1), partitionKey: "k" }),
      notActive(),
    );
    assert.throws(
      () =>
        engine.putRecords({ streamName: "s", records: [{ data: bytes(1), partitionKey: "k" }] }),
      notActive(),
    );
    assert.throws(
      () =>
        engine.getShardIterator({
          streamName: "s",
          shardId: SHARD0,
          shardIteratorType: "LATEST",
        }),
      notActive(),
    );
    assert.throws(
      () => engine.increaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 48 }),
      notActive(),
    );
    clock.advance(499);
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "CREATING");
    clock.advance(1);
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "ACTIVE");
    assert.equal(engine.describeStream({ streamName: "s" }).shards.length, 1);
    engine.putRecord({ streamName: "s", data: bytes(1), partitionKey: "k" });
  });

  test("a deleted stream is DELETING, still listed, until the delay has passed, then gone", () => {
    const { clock, engine } = setUp({ transitionDelayMs: 500 });
    clock.advance(500);
    const { shardIterator } = engine.getShardIterator({
      streamName: "s",
      shardId: SHARD0,
      shardIteratorType: "TRIM_HORIZON",
    });
    engine.deleteStream({ streamName: "s" });
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "DELETING");
    assert.deepEqual(
      engine.listStreams().streamSummaries.map((s) => [s.streamName, s.streamStatus]),
      [["s", "DELETING"]],
    );
    assert.deepEqual(engine.describeStream({ streamName: "s" }).shards, []);
    assert.throws(
      () => engine.putRecord({ streamName: "s", data: bytes(1), partitionKey: "k" }),
      notActive(),
    );
    assert.throws(() => engine.getRecords({ shardIterator }), notActive());
    assert.throws(
      () => engine.createStream({ streamName: "s", shardCount: 1 }),
      kinesisError("ResourceInUseException", `Stream s under account ${ACCOUNT} already exists.`),
    );
    assert.equal(engine.describeLimits().openShardCount, 1, "its shards count until it is gone");
    engine.deleteStream({ streamName: "s" }); // deleting again changes nothing
    clock.advance(499);
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "DELETING");
    clock.advance(1);
    assert.throws(
      () => engine.describeStreamSummary({ streamName: "s" }),
      kinesisError("ResourceNotFoundException", `Stream s under account ${ACCOUNT} not found.`),
    );
    assert.deepEqual(engine.listStreams().streamNames, []);
    assert.equal(engine.describeLimits().openShardCount, 0);
    engine.createStream({ streamName: "s", shardCount: 1 });
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "CREATING");
  });

  test("a CREATING stream may be deleted, as on AWS", () => {
    const { clock, engine } = setUp({ transitionDelayMs: 500 });
    engine.deleteStream({ streamName: "s" });
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "DELETING");
    clock.advance(500);
    assert.deepEqual(engine.listStreams().streamNames, []);
  });

  test("tags can be listed in any status but changed only on an ACTIVE stream", () => {
    const engine = createEngine({ transitionDelayMs: 500, now: createManualClock().now });
    engine.createStream({ streamName: "s", shardCount: 1, tags: { a: "1" } });
    assert.deepEqual(engine.listTagsForStream({ streamName: "s" }).tags, [
      { key: "a", value: "1" },
    ]);
    assert.throws(() => engine.addTagsToStream({ streamName: "s", tags: { b: "2" } }), notActive());
    assert.throws(
      () => engine.removeTagsFromStream({ streamName: "s", tagKeys: ["a"] }),
      notActive(),
    );
  });
});
