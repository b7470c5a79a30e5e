/**
 * A stream deleted and created again under its name is another stream: the
 * positions of the one before (sequence numbers, shard iterators) are
 * refused, even when both lived in the same millisecond.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { createEngine, type Engine, type EngineOptions } from "../../src/engine/engine.ts";
import { parseSequenceNumber } from "../../src/engine/sequence-number.ts";
import type { GetShardIteratorInput, ShardIteratorType } from "../../src/kinesis/types.ts";
import { bytes, createManualClock, kinesisError } from "./helpers.ts";

const ACCOUNT = "000000000000";
const SHARD0 = "shardId-000000000000";

const invalidIterator = kinesisError("InvalidArgumentException", "Invalid ShardIterator.");

/** AWS's text for a sequence number of shard 0 of another stream, as kinesalite recorded it. */
function notFromThisStream(streamName: string, sequenceNumber: string) {
  return kinesisError(
    "InvalidArgumentException",
    `StartingSequenceNumber ${sequenceNumber} used in GetShardIterator on shard ${SHARD0} ` +
      `in stream ${streamName} under account ${ACCOUNT} is invalid because it did not come ` +
      "from this stream.",
  );
}

function setUp(options: EngineOptions = {}) {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now, ...options });
  engine.createStream({ streamName: "s", shardCount: 1 });
  return { clock, engine };
}

/** Deletes stream `streamName` and creates it again with `shardCount` shards, the clock standing still. */
function recreate(engine: Engine, streamName = "s", shardCount = 1): void {
  engine.deleteStream({ streamName });
  engine.createStream({ streamName, shardCount });
}

/** Puts records with the given partition keys and returns their sequence numbers. */
function put(engine: Engine, streamName: string, ...keys: string[]): string[] {
  return keys.map(
    (partitionKey) => engine.putRecord({ streamName, data: bytes(1), partitionKey }).sequenceNumber,
  );
}

function iterator(
  engine: Engine,
  streamName: string,
  shardIteratorType: ShardIteratorType,
  more: Partial<GetShardIteratorInput> = {},
): string {
  return engine.getShardIterator({ streamName, shardId: SHARD0, shardIteratorType, ...more })
    .shardIterator;
}

function keysAt(engine: Engine, shardIterator: string): string[] {
  return engine.getRecords({ shardIterator }).records.map((r) => r.partitionKey);
}

function startingSequenceNumber(engine: Engine, streamName: string): string {
  const [shard] = engine.listShards({ streamName }).shards;
  return shard!.sequenceNumberRange.startingSequenceNumber;
}

suite("engine: a stream recreated under its name", () => {
  test("refuses AFTER_SEQUENCE_NUMBER and AT_SEQUENCE_NUMBER of the stream before, recreated in the same millisecond", () => {
    const { engine } = setUp();
    const [, checkpoint] = put(engine, "s", "a", "b");
    const oldStart = startingSequenceNumber(engine, "s");
    recreate(engine);
    put(engine, "s", "c");
    for (const sequenceNumber of [checkpoint!, oldStart]) {
      for (const type of ["AFTER_SEQUENCE_NUMBER", "AT_SEQUENCE_NUMBER"] as const) {
        assert.throws(
          () => iterator(engine, "s", type, { startingSequenceNumber: sequenceNumber }),
          notFromThisStream("s", sequenceNumber),
          `${type} ${sequenceNumber}`,
        );
      }
    }
    assert.deepEqual(keysAt(engine, iterator(engine, "s", "TRIM_HORIZON")), ["c"]);
  });

  test("refuses every kind of iterator of the stream before in GetRecords, even for a shard it no longer has", () => {
    const { clock, engine } = setUp();
    engine.deleteStream({ streamName: "s" });
    engine.createStream({ streamName: "s", shardCount: 2 });
    const [checkpoint] = put(engine, "s", "a"); // "a" hashes to shard 0 of 2
    const old = [
      iterator(engine, "s", "TRIM_HORIZON"),
      iterator(engine, "s", "LATEST"),
      iterator(engine, "s", "AT_SEQUENCE_NUMBER", { startingSequenceNumber: checkpoint! }),
      iterator(engine, "s", "AFTER_SEQUENCE_NUMBER", { startingSequenceNumber: checkpoint! }),
      iterator(engine, "s", "AT_TIMESTAMP", { timestamp: new Date(clock.now()) }),
      engine.getShardIterator({
        streamName: "s",
        shardId: "shardId-000000000001",
        shardIteratorType: "TRIM_HORIZON",
      }).shardIterator,
    ];
    old.push(engine.getRecords({ shardIterator: old[0]! }).nextShardIterator!);
    recreate(engine); // one shard now: shardId-000000000001 is gone
    put(engine, "s", "b");
    for (const shardIterator of old) {
      assert.throws(() => engine.getRecords({ shardIterator }), invalidIterator, shardIterator);
    }
    assert.deepEqual(keysAt(engine, iterator(engine, "s", "TRIM_HORIZON")), ["b"]);
  });

  test("gives each stream of a name its own positions, however often it is recreated in a second", () => {
    const { engine } = setUp();
    const checkpoints = put(engine, "s", "a");
    const iterators = [iterator(engine, "s", "TRIM_HORIZON")];
    const starts = [startingSequenceNumber(engine, "s")];
    for (let i = 0; i < 3; i++) {
      recreate(engine);
      checkpoints.push(...put(engine, "s", `k${i}`));
      iterators.push(iterator(engine, "s", "TRIM_HORIZON"));
      starts.push(startingSequenceNumber(engine, "s"));
    }
    assert.equal(new Set(starts).size, starts.length, "every stream starts elsewhere");
    const [latest] = checkpoints.splice(-1);
    const [latestIterator] = iterators.splice(-1);
    for (const sequenceNumber of checkpoints) {
      assert.throws(
        () =>
          iterator(engine, "s", "AFTER_SEQUENCE_NUMBER", {
            startingSequenceNumber: sequenceNumber,
          }),
        notFromThisStream("s", sequenceNumber),
      );
    }
    for (const shardIterator of iterators) {
      assert.throws(() => engine.getRecords({ shardIterator }), invalidIterator);
    }
    assert.deepEqual(keysAt(engine, latestIterator!), ["k2"]);
    const after = iterator(engine, "s", "AT_SEQUENCE_NUMBER", { startingSequenceNumber: latest! });
    assert.deepEqual(keysAt(engine, after), ["k2"]);
  });

  test("refuses the old positions when the stream was DELETING first, however long", () => {
    const { clock, engine } = setUp({ transitionDelayMs: 300 });
    clock.advance(300); // ACTIVE
    const [checkpoint] = put(engine, "s", "a");
    const old = iterator(engine, "s", "TRIM_HORIZON");
    engine.deleteStream({ streamName: "s" });
    clock.advance(300); // gone, in the same second
    engine.createStream({ streamName: "s", shardCount: 1 });
    clock.advance(300); // ACTIVE, still in the same second
    assert.throws(
      () => iterator(engine, "s", "AT_SEQUENCE_NUMBER", { startingSequenceNumber: checkpoint! }),
      notFromThisStream("s", checkpoint!),
    );
    assert.throws(() => engine.getRecords({ shardIterator: old }), invalidIterator);
  });

  test("reports the real creation time, while the positions carry a second of their own", () => {
    const { clock, engine } = setUp();
    const first = parseSequenceNumber(startingSequenceNumber(engine, "s"))!;
    assert.equal(first.shardCreatedSeconds, Math.floor(clock.now() / 1000));
    clock.advance(1); // the same second
    recreate(engine);
    const summary = engine.describeStreamSummary({ streamName: "s" });
    assert.equal(summary.streamCreationTimestamp.getTime(), clock.now());
    assert.equal(
      engine.describeStream({ streamName: "s" }).streamCreationTimestamp.getTime(),
      clock.now(),
    );
    const second = parseSequenceNumber(startingSequenceNumber(engine, "s"))!;
    assert.equal(second.shardCreatedSeconds, first.shardCreatedSeconds + 1);
  });

  test("takes the clock's second again once the clock has passed the last stream's", () => {
    const { clock, engine } = setUp();
    recreate(engine);
    recreate(engine); // two seconds ahead of the clock now
    clock.advance(5_000);
    recreate(engine);
    const fields = parseSequenceNumber(startingSequenceNumber(engine, "s"))!;
    assert.equal(fields.shardCreatedSeconds, Math.floor(clock.now() / 1000));
  });

  test("leaves the positions of a stream that is not recreated alone, while others of other names are", () => {
    const { clock, engine } = setUp();
    engine.createStream({ streamName: "t", shardCount: 1 });
    const [checkpoint] = put(engine, "s", "a", "b");
    const own = iterator(engine, "s", "TRIM_HORIZON");
    recreate(engine, "t");
    recreate(engine, "t");
    clock.advance(1_500);
    put(engine, "s", "c");
    const after = iterator(engine, "s", "AFTER_SEQUENCE_NUMBER", {
      startingSequenceNumber: checkpoint!,
    });
    assert.deepEqual(keysAt(engine, after), ["b", "c"]);
    const at = iterator(engine, "s", "AT_SEQUENCE_NUMBER", { startingSequenceNumber: checkpoint! });
    assert.deepEqual(keysAt(engine, at), ["a", "b", "c"]);
    const next = engine.getRecords({ shardIterator: own });
    assert.deepEqual(
      next.records.map((r) => r.partitionKey),
      ["a", "b", "c"],
    );
    put(engine, "s", "d");
    assert.deepEqual(keysAt(engine, next.nextShardIterator!), ["d"]);
    // The same number on the recreated "t" is another stream's.
    assert.throws(
      () => iterator(engine, "t", "AT_SEQUENCE_NUMBER", { startingSequenceNumber: checkpoint! }),
      notFromThisStream("t", checkpoint!),
    );
  });
});
