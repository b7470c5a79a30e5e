/**
 * A durable engine comes back from its data dir as it was: streams, shards
 * after resharding, consumers, tags, policies and settings, after a clean
 * shutdown and after a crash (no close); what the clock was about to change
 * (a DELETING stream, an UPDATING reshard) happens after the restart as it
 * would have without one.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import type { Engine } from "../../src/engine/engine.ts";
import { parseSequenceNumber } from "../../src/engine/sequence-number.ts";
import { createManualClock } from "./helpers.ts";
import { openEngine, recordsNamed, temporaryDir, text } from "./storage-helpers.ts";

const DELAY_MS = 1000;
const STREAMS = ["provisioned", "on-demand", "resharding", "deleting"];

type Clock = ReturnType<typeof createManualClock>;

async function put(engine: Engine, streamName: string, prefix: string, count = 4) {
  const output = await engine.putRecordsStored({
    streamName,
    records: recordsNamed(prefix, count).map((r, i) => ({
      ...r,
      // Spread over the hash key space, so every open shard gets some.
      explicitHashKey: ((2n ** 128n / BigInt(count)) * BigInt(i)).toString(),
    })),
  });
  assert.equal(output.failedRecordCount, 0);
  return output.records.map((r) => ({ shardId: r.shardId!, sequenceNumber: r.sequenceNumber! }));
}

/** Everything a restart must keep, and one change of each kind left pending at the end. */
async function buildState(engine: Engine, clock: Clock) {
  const arnOf = (name: string) => engine.describeStreamSummary({ streamName: name }).streamArn;
  engine.createStream({ streamName: "provisioned", shardCount: 2, tags: { team: "a" } });
  engine.createStream({ streamName: "on-demand", streamMode: "ON_DEMAND" });
  engine.createStream({ streamName: "resharding", shardCount: 2 });
  engine.createStream({ streamName: "deleting", shardCount: 1 });
  clock.advance(DELAY_MS);
  await put(engine, "provisioned", "before-split");
  engine.splitShard({
    streamName: "provisioned",
    shardToSplit: "shardId-000000000000",
    newStartingHashKey: (2n ** 126n).toString(),
  });
  clock.advance(DELAY_MS);
  await put(engine, "provisioned", "after-split");
  engine.mergeShards({
    streamName: "provisioned",
    shardToMerge: "shardId-000000000003",
    adjacentShardToMerge: "shardId-000000000001",
  });
  clock.advance(DELAY_MS);
  engine.updateShardCount({
    streamName: "provisioned",
    targetShardCount: 4,
    scalingType: "UNIFORM_SCALING",
  });
  clock.advance(DELAY_MS);
  await put(engine, "provisioned", "after-scaling");
  const consumer = engine.registerStreamConsumer({
    streamArn: arnOf("provisioned"),
    consumerName: "reader",
    tags: { owner: "me" },
  }).consumer;
  clock.advance(DELAY_MS);
  engine.tagResource({ resourceArn: consumer.consumerArn, tags: { extra: "1" } });
  engine.addTagsToStream({ streamName: "provisioned", tags: { env: "test" } });
  engine.putResourcePolicy({
    resourceArn: arnOf("provisioned"),
    policy: '{"Version":"2012-10-17"}',
  });
  engine.putResourcePolicy({ resourceArn: consumer.consumerArn, policy: '{"Statement":[]}' });
  engine.increaseStreamRetentionPeriod({ streamName: "provisioned", retentionPeriodHours: 48 });
  engine.startStreamEncryption({
    streamName: "provisioned",
    encryptionType: "KMS",
    keyId: "alias/aws/kinesis",
  });
  engine.enableEnhancedMonitoring({
    streamName: "provisioned",
    shardLevelMetrics: ["IncomingBytes", "OutgoingRecords"],
  });
  engine.updateMaxRecordSize({ streamArn: arnOf("on-demand"), maxRecordSizeInKiB: 2048 });
  engine.updateAccountSettings({ minimumThroughputBillingCommitment: { status: "ENABLED" } });
  clock.advance(DELAY_MS);
  // Left pending: a reshard UPDATING and a stream DELETING.
  await put(engine, "resharding", "before-reshard");
  engine.updateShardCount({
    streamName: "resharding",
    targetShardCount: 3,
    scalingType: "UNIFORM_SCALING",
  });
  engine.deleteStream({ streamName: "deleting" });
  return { consumerArn: consumer.consumerArn };
}

/** What the engine says about everything, through its describe and list calls. */
function view(engine: Engine, consumerArn: string) {
  const streams = engine.listStreams({}).streamNames;
  const perStream = Object.fromEntries(
    streams.map((name) => {
      const arn = engine.describeStreamSummary({ streamName: name }).streamArn;
      return [
        name,
        {
          summary: engine.describeStreamSummary({ streamName: name }),
          description: engine.describeStream({ streamName: name }),
          shards: engine.listShards({ streamName: name }).shards,
          tags: engine.listTagsForStream({ streamName: name }),
          policy: engine.getResourcePolicy({ resourceArn: arn }),
          consumers: engine.listStreamConsumers({ streamArn: arn }),
        },
      ];
    }),
  );
  return {
    streams,
    perStream,
    consumer: engine.describeStreamConsumer({ consumerArn }),
    consumerTags: engine.listTagsForResource({ resourceArn: consumerArn }),
    consumerPolicy: engine.getResourcePolicy({ resourceArn: consumerArn }),
    account: engine.describeAccountSettings(),
  };
}

const allData = (engine: Engine, streamName: string) =>
  engine
    .listShards({ streamName })
    .shards.flatMap((shard) =>
      engine.readRecords({ streamName }, shard.shardId).map((record) => text(record.data)),
    )
    .sort();

for (const clean of [true, false]) {
  const restart = clean ? "a clean restart" : "a crash and restart";
  suite(`after ${restart}`, () => {
    test("streams, shards after resharding, consumers, tags, policies and settings are as before", async () => {
      const dir = temporaryDir();
      const clock = createManualClock();
      const first = openEngine(dir, { now: clock.now, transitionDelayMs: DELAY_MS }).engine;
      const { consumerArn } = await buildState(first, clock);
      const before = view(first, consumerArn);
      const recordsBefore = allData(first, "provisioned");
      assert.deepEqual(before.streams, STREAMS.toSorted());
      assert.equal(before.perStream.resharding!.summary.streamStatus, "UPDATING");
      assert.equal(before.perStream.deleting!.summary.streamStatus, "DELETING");
      if (clean) first.close();

      const second = openEngine(dir, { now: clock.now, transitionDelayMs: DELAY_MS });
      assert.deepEqual(view(second.engine, consumerArn), before);
      assert.deepEqual(allData(second.engine, "provisioned"), recordsBefore);
      assert.deepEqual(second.problems, []);
      // And once more, from what the second engine saved.
      if (clean) second.engine.close();
      const third = openEngine(dir, { now: clock.now, transitionDelayMs: DELAY_MS }).engine;
      assert.deepEqual(view(third, consumerArn), before);
      third.close();
    });

    test("a DELETING stream and an UPDATING reshard complete after it as without a restart", async () => {
      const clock = createManualClock();
      // Never restarted, on a clock of its own that moves as the other: same operations, same times.
      const twinClock = createManualClock();
      const twin = openEngine(temporaryDir(), {
        now: twinClock.now,
        transitionDelayMs: DELAY_MS,
      }).engine;
      const dir = temporaryDir();
      const first = openEngine(dir, { now: clock.now, transitionDelayMs: DELAY_MS }).engine;
      const { consumerArn } = await buildState(first, clock);
      await buildState(twin, twinClock);
      if (clean) first.close();
      const second = openEngine(dir, { now: clock.now, transitionDelayMs: DELAY_MS }).engine;
      clock.advance(DELAY_MS);
      twinClock.advance(DELAY_MS);
      const restarted = view(second, consumerArn);
      assert.deepEqual(restarted.streams, STREAMS.filter((s) => s !== "deleting").toSorted());
      assert.equal(restarted.perStream.resharding!.summary.streamStatus, "ACTIVE");
      const shards = restarted.perStream.resharding!.shards;
      assert.equal(shards.filter((s) => !s.sequenceNumberRange.endingSequenceNumber).length, 3);
      // Ids, ranges, parents and sequence-number seconds are the twin's.
      const twinShards = twin.listShards({ streamName: "resharding" }).shards;
      if (clean) {
        assert.deepEqual(shards, twinShards);
      } else {
        assert.deepEqual(
          shards.map((s) => ({
            ...s,
            sequenceNumberRange: s.sequenceNumberRange.startingSequenceNumber,
          })),
          twinShards.map((s) => ({
            ...s,
            sequenceNumberRange: s.sequenceNumberRange.startingSequenceNumber,
          })),
        );
      }
      // The deleted stream's name is free again, and its files are gone.
      second.createStream({ streamName: "deleting", shardCount: 1 });
      clock.advance(DELAY_MS);
      assert.deepEqual(allData(second, "deleting"), []);
      second.close();
      twin.close();
    });

    test(`sequence numbers go on increasing (${clean ? "continuing" : "past a jump"}) and LATEST sees only new records`, async () => {
      const dir = temporaryDir();
      const clock = createManualClock();
      const first = openEngine(dir, { now: clock.now }).engine;
      first.createStream({ streamName: "s", shardCount: 1 });
      const before = await put(first, "s", "old", 3);
      if (clean) first.close();
      const second = openEngine(dir, { now: clock.now }).engine;
      const latest = second.getShardIterator({
        streamName: "s",
        shardId: "shardId-000000000000",
        shardIteratorType: "LATEST",
      }).shardIterator;
      const after = await put(second, "s", "new", 3);
      const last = BigInt(before.at(-1)!.sequenceNumber);
      const next = BigInt(after[0]!.sequenceNumber);
      assert.ok(next > last, `${next} after ${last}`);
      // A crash may have lost numbers a reader saw: they are skipped, 2^32 of them.
      const step =
        parseSequenceNumber(after[0]!.sequenceNumber)!.counter -
        parseSequenceNumber(before.at(-1)!.sequenceNumber)!.counter;
      assert.equal(step, clean ? 1n : 2n ** 32n + 1n);
      const got = second.getRecords({ shardIterator: latest! });
      assert.deepEqual(
        got.records.map((r) => text(r.data)),
        recordsNamed("new", 3).map((r) => text(r.data)),
      );
      // An iterator from before the restart still reads, and continues into the new records.
      const fromOld = second.getShardIterator({
        streamName: "s",
        shardId: "shardId-000000000000",
        shardIteratorType: "AFTER_SEQUENCE_NUMBER",
        startingSequenceNumber: before[0]!.sequenceNumber,
      }).shardIterator;
      assert.deepEqual(
        second.getRecords({ shardIterator: fromOld! }).records.map((r) => r.sequenceNumber),
        [...before.slice(1), ...after].map((r) => r.sequenceNumber),
      );
      second.close();
    });
  });
}
