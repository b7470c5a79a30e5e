import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { suite, test } from "node:test";
import { createEngine, type Engine, type EngineOptions } from "../../src/engine/engine.ts";
import { createMemoryRecordStore } from "../../src/engine/record-store.ts";
import { formatSequenceNumber, parseSequenceNumber } from "../../src/engine/sequence-number.ts";
import { ENGINE_ITERATOR_PREFIX, isEngineShardIterator } from "../../src/engine/shard-iterator.ts";
import type { GetShardIteratorInput, ShardIteratorType } from "../../src/kinesis/types.ts";
import { bytes, createManualClock, kinesisError } from "./helpers.ts";

const ACCOUNT = "000000000000";
const SHARD0 = "shardId-000000000000";
const MiB = 1024 * 1024;
const HOUR = 3_600_000;

function setUp(options: EngineOptions = {}, shardCount = 1) {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now, ...options });
  engine.createStream({ streamName: "s", shardCount });
  return { clock, engine };
}

/** Puts records with the given partition keys (one byte of data each) and returns their sequence numbers. */
function put(engine: Engine, ...keys: string[]): string[] {
  return keys.map(
    (partitionKey) =>
      engine.putRecord({ streamName: "s", data: bytes(1), partitionKey }).sequenceNumber,
  );
}

function iterator(
  engine: Engine,
  shardIteratorType: ShardIteratorType,
  more: Partial<GetShardIteratorInput> = {},
): string {
  return engine.getShardIterator({
    streamName: "s",
    shardId: SHARD0,
    shardIteratorType,
    ...more,
  }).shardIterator;
}

/** The partition keys one GetRecords returns. */
function keysAt(engine: Engine, shardIterator: string, limit?: number): string[] {
  return engine.getRecords({ shardIterator, limit }).records.map((r) => r.partitionKey);
}

/** Raises stream "s" to the largest records any stream takes, 10 MiB. */
const raise = (engine: Engine) =>
  engine.updateMaxRecordSize({
    streamArn: "arn:aws:kinesis:us-east-1:000000000000:stream/s",
    maxRecordSizeInKiB: 10240,
  });

suite("engine getShardIterator", () => {
  test("TRIM_HORIZON starts at the oldest record", () => {
    const { engine } = setUp();
    put(engine, "a", "b", "c");
    assert.deepEqual(keysAt(engine, iterator(engine, "TRIM_HORIZON")), ["a", "b", "c"]);
  });

  test("LATEST sees only what is written after it was issued", () => {
    const { engine } = setUp();
    put(engine, "a", "b");
    const latest = iterator(engine, "LATEST");
    assert.deepEqual(keysAt(engine, latest), []);
    put(engine, "c", "d");
    assert.deepEqual(keysAt(engine, latest), ["c", "d"]);
  });

  test("LATEST on a shard never written to still sees the first record", () => {
    const { engine } = setUp();
    const latest = iterator(engine, "LATEST");
    put(engine, "first");
    assert.deepEqual(keysAt(engine, latest), ["first"]);
  });

  test("AT_SEQUENCE_NUMBER includes the record and AFTER_SEQUENCE_NUMBER does not", () => {
    const { engine } = setUp();
    const [, b] = put(engine, "a", "b", "c");
    const at = iterator(engine, "AT_SEQUENCE_NUMBER", { startingSequenceNumber: b });
    const after = iterator(engine, "AFTER_SEQUENCE_NUMBER", { startingSequenceNumber: b });
    assert.deepEqual(keysAt(engine, at), ["b", "c"]);
    assert.deepEqual(keysAt(engine, after), ["c"]);
  });

  test("AT_SEQUENCE_NUMBER of the shard's starting sequence number reads everything", () => {
    const { engine } = setUp();
    put(engine, "a", "b");
    const start = engine.listShards({ streamName: "s" }).shards[0]!.sequenceNumberRange
      .startingSequenceNumber;
    const at = iterator(engine, "AT_SEQUENCE_NUMBER", { startingSequenceNumber: start });
    assert.deepEqual(keysAt(engine, at), ["a", "b"]);
  });

  test("AT_TIMESTAMP starts at the first record that arrived at or after the time", () => {
    const { clock, engine } = setUp();
    put(engine, "a");
    clock.advance(1000);
    const second = clock.now();
    put(engine, "b");
    clock.advance(1000);
    put(engine, "c");
    const at = (timestamp: number) =>
      iterator(engine, "AT_TIMESTAMP", { timestamp: new Date(timestamp) });
    assert.deepEqual(keysAt(engine, at(second)), ["b", "c"]);
    assert.deepEqual(keysAt(engine, at(second - 1)), ["b", "c"]);
    assert.deepEqual(keysAt(engine, at(second + 1)), ["c"]);
    assert.deepEqual(keysAt(engine, at(0)), ["a", "b", "c"]);
  });

  test("names shards as AWS does: the digits after the first hyphen, or the whole id", () => {
    const { engine } = setUp({}, 2);
    put(engine, "b"); // "b" hashes to shard 1 of 2
    for (const shardId of ["shardId-000000000001", "shard-1", "anything-01", "1"]) {
      const it = iterator(engine, "TRIM_HORIZON", { shardId });
      assert.deepEqual(keysAt(engine, it), ["b"], shardId);
    }
  });

  test("issues opaque iterators with a recognisable prefix, short enough for AWS's 512 limit", () => {
    const clock = createManualClock();
    const engine = createEngine({ now: clock.now });
    const longName = "n".repeat(128);
    engine.createStream({ streamName: longName, shardCount: 1 });
    engine.putRecord({ streamName: longName, data: bytes(1), partitionKey: "k" });
    const sequenceNumber = engine.readRecords({ streamName: longName }, SHARD0)[0]!.sequenceNumber;
    const it = engine.getShardIterator({
      streamName: longName,
      shardId: SHARD0,
      shardIteratorType: "AFTER_SEQUENCE_NUMBER",
      startingSequenceNumber: sequenceNumber,
    }).shardIterator;
    assert.ok(it.startsWith(ENGINE_ITERATOR_PREFIX));
    assert.ok(it.length <= 512, `${it.length} characters`);
    assert.doesNotMatch(it, new RegExp(longName), "the stream name is not readable in it");
    assert.equal(isEngineShardIterator(it), true);
    // An AWS iterator (base64 of an encrypted blob) is not the engine's.
    assert.equal(
      isEngineShardIterator("AAAAAAAAAAGK9EEG0sJqVhCUS2JsgigQ5dcpB4q9PYswrH2oK44Skb8Xa1"),
      false,
    );
  });

  test("refuses a shard the stream does not have, or a stream it does not know, naming the shard", () => {
    const { engine } = setUp();
    assert.throws(
      () => iterator(engine, "LATEST", { shardId: "shardId-000000000001" }),
      kinesisError(
        "ResourceNotFoundException",
        `Shard shardId-000000000001 in stream s under account ${ACCOUNT} does not exist`,
      ),
    );
    assert.throws(
      () => iterator(engine, "LATEST", { streamName: "nope", shardId: "shard-5" }),
      kinesisError(
        "ResourceNotFoundException",
        `Shard shardId-000000000005 in stream nope under account ${ACCOUNT} does not exist`,
      ),
    );
    // By ARN: the stream of this account and region is found, one elsewhere is not.
    const arn = (region: string) => `arn:aws:kinesis:${region}:${ACCOUNT}:stream/s`;
    put(engine, "a");
    const byArn = iterator(engine, "TRIM_HORIZON", {
      streamName: undefined,
      streamArn: arn("us-east-1"),
    });
    assert.deepEqual(keysAt(engine, byArn), ["a"]);
    assert.throws(
      () => iterator(engine, "LATEST", { streamName: undefined, streamArn: arn("eu-west-1") }),
      kinesisError(
        "ResourceNotFoundException",
        `Shard ${SHARD0} in stream s under account ${ACCOUNT} does not exist`,
      ),
    );
  });

  test("refuses a shard id that names no index with kinesalite's text", () => {
    const { engine } = setUp();
    for (const shardId of ["ABKLFD8", "shardId-002147483648", "a-b-1"]) {
      assert.throws(
        () => iterator(engine, "LATEST", { shardId }),
        kinesisError(
          "ResourceNotFoundException",
          `Could not find shard ${shardId} in stream s under account ${ACCOUNT}.`,
        ),
      );
    }
  });

  test("needs a starting sequence number for AT and AFTER, and refuses one for TRIM_HORIZON and LATEST", () => {
    const { engine } = setUp();
    const [seq] = put(engine, "a");
    const mustEither =
      "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber " +
      "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified ";
    for (const type of ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"] as const) {
      assert.throws(
        () => iterator(engine, type),
        kinesisError(
          "InvalidArgumentException",
          `${mustEither}${type} and no StartingSequenceNumber.`,
        ),
      );
      // proto3's "" is no sequence number either.
      assert.throws(
        () => iterator(engine, type, { startingSequenceNumber: "" }),
        kinesisError(
          "InvalidArgumentException",
          `${mustEither}${type} and no StartingSequenceNumber.`,
        ),
      );
    }
    for (const type of ["TRIM_HORIZON", "LATEST"] as const) {
      assert.throws(
        () => iterator(engine, type, { startingSequenceNumber: seq! }),
        kinesisError(
          "InvalidArgumentException",
          `${mustEither}${type} and also a StartingSequenceNumber.`,
        ),
      );
    }
  });

  test("needs a timestamp for AT_TIMESTAMP", () => {
    const { engine } = setUp();
    assert.throws(
      () => iterator(engine, "AT_TIMESTAMP"),
      kinesisError(
        "InvalidArgumentException",
        "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. " +
          "Current request has no timestamp parameter.",
      ),
    );
  });

  test("refuses sequence numbers that are malformed, of another shard, or of another stream", () => {
    const { engine } = setUp({}, 2);
    const used = (n: string, shardId = SHARD0) =>
      `StartingSequenceNumber ${n} used in GetShardIterator on shard ${shardId} in stream s ` +
      `under account ${ACCOUNT} is invalid`;
    for (const bad of ["0", "5", "1".repeat(56), "9".repeat(129)]) {
      assert.throws(
        () => iterator(engine, "AT_SEQUENCE_NUMBER", { startingSequenceNumber: bad }),
        kinesisError("InvalidArgumentException", `${used(bad)}.`),
      );
    }
    const [ofShard0] = put(engine, "a"); // "a" hashes to shard 0 of 2
    assert.throws(
      () =>
        iterator(engine, "AFTER_SEQUENCE_NUMBER", {
          shardId: "shardId-000000000001",
          startingSequenceNumber: ofShard0!,
        }),
      kinesisError(
        "InvalidArgumentException",
        "Invalid StartingSequenceNumber. It encodes shardId-000000000000, " +
          "while it was used in a call to a shard with shardId-000000000001",
      ),
    );
    // The same shard index, but a shard created at another time: another stream's number.
    const fields = parseSequenceNumber(ofShard0!)!;
    const otherStream = formatSequenceNumber({
      ...fields,
      shardCreatedSeconds: fields.shardCreatedSeconds - 60,
    });
    assert.throws(
      () => iterator(engine, "AT_SEQUENCE_NUMBER", { startingSequenceNumber: otherStream }),
      kinesisError(
        "InvalidArgumentException",
        `${used(otherStream)} because it did not come from this stream.`,
      ),
    );
  });
});

suite("engine getRecords", () => {
  test("reads a shard in order across appends, chaining iterators, and stays put when caught up", () => {
    const { engine } = setUp();
    put(engine, "a", "b");
    const first = engine.getRecords({ shardIterator: iterator(engine, "TRIM_HORIZON") });
    assert.deepEqual(
      first.records.map((r) => r.partitionKey),
      ["a", "b"],
    );
    assert.equal(first.millisBehindLatest, 0);
    const empty = engine.getRecords({ shardIterator: first.nextShardIterator! });
    assert.deepEqual(empty.records, []);
    assert.equal(empty.millisBehindLatest, 0);
    put(engine, "c");
    assert.deepEqual(keysAt(engine, empty.nextShardIterator!), ["c"]);
  });

  test("returns records as written: sequence number, arrival time, data and key", () => {
    const { clock, engine } = setUp();
    const data = new Uint8Array([1, 2, 3]);
    const { sequenceNumber } = engine.putRecord({ streamName: "s", data, partitionKey: "k" });
    const { records } = engine.getRecords({ shardIterator: iterator(engine, "TRIM_HORIZON") });
    assert.deepEqual(records, [
      {
        sequenceNumber,
        approximateArrivalTimestamp: new Date(clock.now()),
        data,
        partitionKey: "k",
      },
    ]);
  });

  test("marks records of a KMS-encrypted stream as such", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 1, kmsKeyId: "alias/aws/kinesis" });
    put(engine, "a");
    const { records } = engine.getRecords({ shardIterator: iterator(engine, "TRIM_HORIZON") });
    assert.equal(records[0]!.encryptionType, "KMS");
  });

  test("returns at most `limit` records and continues after the last one", () => {
    const { engine } = setUp();
    put(engine, "a", "b", "c", "d", "e");
    const page1 = engine.getRecords({ shardIterator: iterator(engine, "TRIM_HORIZON"), limit: 2 });
    assert.deepEqual(
      page1.records.map((r) => r.partitionKey),
      ["a", "b"],
    );
    const page2 = engine.getRecords({ shardIterator: page1.nextShardIterator!, limit: 2 });
    assert.deepEqual(
      page2.records.map((r) => r.partitionKey),
      ["c", "d"],
    );
    assert.deepEqual(keysAt(engine, page2.nextShardIterator!, 2), ["e"]);
  });

  test("returns 10,000 records by default", () => {
    const { engine } = setUp({ throttle: false });
    for (let i = 0; i < 21; i++) {
      engine.putRecords({
        streamName: "s",
        records: Array.from({ length: 500 }, () => ({ data: bytes(1), partitionKey: "k" })),
      });
    }
    const page = engine.getRecords({ shardIterator: iterator(engine, "TRIM_HORIZON") });
    assert.equal(page.records.length, 10_000);
    assert.equal(engine.getRecords({ shardIterator: page.nextShardIterator! }).records.length, 500);
  });

  test("returns at most 10 MiB, counting data and partition keys", () => {
    const { engine } = setUp({ throttle: false });
    // Eleven records of exactly 1 MiB each (data plus a one-byte key).
    for (let i = 0; i < 11; i++) {
      engine.putRecord({ streamName: "s", data: bytes(MiB - 1), partitionKey: String(i % 10) });
    }
    const page = engine.getRecords({ shardIterator: iterator(engine, "TRIM_HORIZON") });
    assert.equal(page.records.length, 10);
    const rest = engine.getRecords({ shardIterator: page.nextShardIterator! });
    assert.equal(rest.records.length, 1);
  });

  test("returns a 10 MiB record (a raised stream's largest) whole, and nothing with it", () => {
    const { engine } = setUp({ throttle: false });
    raise(engine);
    engine.putRecord({ streamName: "s", data: bytes(10 * MiB - 3), partitionKey: "big" });
    put(engine, "small");
    const page = engine.getRecords({ shardIterator: iterator(engine, "TRIM_HORIZON") });
    assert.deepEqual(
      page.records.map((r) => [r.partitionKey, r.data.byteLength]),
      [["big", 10 * MiB - 3]],
    );
    assert.deepEqual(keysAt(engine, page.nextShardIterator!), ["small"]);
  });

  test("reports how long ago the last record returned arrived, and 0 once caught up", () => {
    const { clock, engine } = setUp();
    put(engine, "a");
    clock.advance(1000);
    put(engine, "b");
    clock.advance(1000);
    put(engine, "c");
    clock.advance(3000);
    const one = engine.getRecords({ shardIterator: iterator(engine, "TRIM_HORIZON"), limit: 1 });
    assert.equal(one.millisBehindLatest, 5000);
    const two = engine.getRecords({ shardIterator: one.nextShardIterator!, limit: 1 });
    assert.equal(two.millisBehindLatest, 4000);
    const three = engine.getRecords({ shardIterator: two.nextShardIterator!, limit: 1 });
    assert.deepEqual(
      three.records.map((r) => r.partitionKey),
      ["c"],
    );
    assert.equal(three.millisBehindLatest, 0);
  });

  test("never returns records older than the stream's retention", () => {
    const { clock, engine } = setUp();
    put(engine, "old");
    clock.advance(23 * HOUR);
    put(engine, "new");
    const fromStart = iterator(engine, "TRIM_HORIZON");
    assert.deepEqual(keysAt(engine, fromStart), ["old", "new"]);
    clock.advance(HOUR + 1);
    assert.deepEqual(keysAt(engine, iterator(engine, "TRIM_HORIZON")), ["new"]);
  });

  test("enforces retention itself, over a store that keeps records longer, without stalling", () => {
    const { clock, engine } = setUp({
      // A store that keeps everything for a year, whatever it is told.
      createStore: (options) => ({
        ...createMemoryRecordStore({ ...options, retentionHours: 8760 }),
        setRetentionHours() {},
      }),
    });
    put(engine, "a", "b", "c");
    clock.advance(25 * HOUR);
    put(engine, "d");
    assert.equal(engine.readRecords({ streamName: "s" }, SHARD0).length, 4, "the store kept all");
    const it = iterator(engine, "TRIM_HORIZON");
    // limit 1 reads a batch of two expired records: the reader moves past them.
    const first = engine.getRecords({ shardIterator: it, limit: 1 });
    assert.deepEqual(first.records, []);
    assert.equal(first.millisBehindLatest, 25 * HOUR, "not caught up: the reader is that far back");
    assert.deepEqual(keysAt(engine, first.nextShardIterator!, 1), ["d"]);
  });

  test("refuses an iterator older than five minutes with AWS's text", () => {
    const { clock, engine } = setUp();
    put(engine, "a");
    const it = iterator(engine, "TRIM_HORIZON");
    clock.advance(300_000);
    assert.deepEqual(keysAt(engine, it), ["a"], "exactly five minutes is still valid");
    clock.advance(1);
    assert.throws(
      () => engine.getRecords({ shardIterator: it }),
      kinesisError(
        "ExpiredIteratorException",
        "Iterator expired. The iterator was created at time Thu Jan 01 00:00:00 UTC 2026 " +
          "while right now it is Thu Jan 01 00:05:00 UTC 2026 which is further in the future " +
          "than the tolerated delay of 300000 milliseconds.",
      ),
    );
  });

  test("issues each next iterator afresh, so a reader that keeps reading never expires", () => {
    const { clock, engine } = setUp();
    let it = iterator(engine, "TRIM_HORIZON");
    for (let minute = 0; minute < 10; minute++) {
      clock.advance(4 * 60_000);
      it = engine.getRecords({ shardIterator: it }).nextShardIterator!;
    }
    put(engine, "late");
    assert.deepEqual(keysAt(engine, it), ["late"]);
  });

  test("refuses what is not an engine iterator, a damaged one, or one from the future", () => {
    const { clock, engine } = setUp();
    const it = iterator(engine, "TRIM_HORIZON");
    const invalid = kinesisError("InvalidArgumentException", "Invalid ShardIterator.");
    const made = (payload: string) =>
      ENGINE_ITERATOR_PREFIX + Buffer.from(payload).toString("base64url");
    put(engine, "a");
    const created = Math.floor(clock.now() / 1000); // a fresh name's incarnation
    assert.deepEqual(
      keysAt(engine, made(`2/${clock.now()}/${created}/0/T//s`)),
      ["a"],
      "the documented layout",
    );
    const damaged = [
      "garbage",
      "AAAAAAAAAAGK9EEG0sJqVhCUS2JsgigQ5dcpB4q9PYswrH2oK44Skb8Xa1",
      ENGINE_ITERATOR_PREFIX,
      `${it}x`,
      made(`2/${clock.now()}/${created}/0/T//s/extra`),
      made(`1/${clock.now()}/0/T//s`), // version 1, which had no incarnation
      made(`3/${clock.now()}/${created}/0/T//s`),
      made(`2/${clock.now()}/x/0/T//s`),
      made(`2/${clock.now()}/${created}/0/A/12x/s`),
      made(`2/${clock.now()}/${created}/0/T//bad name`),
      made(`2/${clock.now() + 1}/${created}/0/T//s`),
      made(`2/${clock.now()}/${created + 1}/0/T//s`), // no stream of the name carried it
    ];
    for (const shardIterator of damaged) {
      assert.throws(() => engine.getRecords({ shardIterator }), invalid, shardIterator);
    }
  });

  test("answers an iterator of a deleted stream with AWS's not-found text for the shard", () => {
    const { engine } = setUp();
    const it = iterator(engine, "TRIM_HORIZON");
    engine.deleteStream({ streamName: "s" });
    assert.throws(
      () => engine.getRecords({ shardIterator: it }),
      kinesisError(
        "ResourceNotFoundException",
        `Shard ${SHARD0} in stream s under account ${ACCOUNT} does not exist`,
      ),
    );
  });

  test("refuses a StreamARN that names another stream than the iterator's", () => {
    const { engine } = setUp();
    const it = iterator(engine, "TRIM_HORIZON");
    const own = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/s`;
    assert.deepEqual(engine.getRecords({ shardIterator: it, streamArn: own }).records, []);
    const other = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/t`;
    assert.throws(
      () => engine.getRecords({ shardIterator: it, streamArn: other }),
      kinesisError(
        "InvalidArgumentException",
        `StreamARN ${other} does not name the stream of the shard iterator.`,
      ),
    );
  });
});

suite("engine read throttling", () => {
  const throttled = kinesisError(
    "ProvisionedThroughputExceededException",
    `Rate exceeded for Shard - ${ACCOUNT}/s/${SHARD0}`,
  );

  test("serves five GetRecords calls a second per shard and throttles the sixth with AWS's text", () => {
    const { clock, engine } = setUp();
    const it = iterator(engine, "TRIM_HORIZON");
    for (let i = 0; i < 5; i++) engine.getRecords({ shardIterator: it });
    assert.throws(() => engine.getRecords({ shardIterator: it }), throttled);
    clock.advance(200); // one call's worth of refill
    engine.getRecords({ shardIterator: it });
    assert.throws(() => engine.getRecords({ shardIterator: it }), throttled);
  });

  test("throttles each shard on its own", () => {
    const { engine } = setUp({}, 2);
    const on = (shardId: string) => iterator(engine, "TRIM_HORIZON", { shardId });
    const shard0 = on(SHARD0);
    for (let i = 0; i < 5; i++) engine.getRecords({ shardIterator: shard0 });
    assert.throws(() => engine.getRecords({ shardIterator: shard0 }), throttled);
    assert.deepEqual(engine.getRecords({ shardIterator: on("shardId-000000000001") }).records, []);
  });

  test("charges bytes after the read: a call that overdraws makes the next ones wait", () => {
    const { clock, engine } = setUp({ shardReadBytesPerSecond: 1500 });
    for (let i = 0; i < 3; i++) {
      engine.putRecord({ streamName: "s", data: bytes(999), partitionKey: "k" }); // 1,000 bytes
    }
    const it = iterator(engine, "TRIM_HORIZON");
    // 3,000 bytes from a 1,500-byte budget: allowed, and 1,500 bytes in debt.
    assert.equal(engine.getRecords({ shardIterator: it }).records.length, 3);
    assert.throws(() => engine.getRecords({ shardIterator: it }), throttled);
    clock.advance(1000); // the debt is paid, but nothing is left
    assert.throws(() => engine.getRecords({ shardIterator: it }), throttled);
    clock.advance(1);
    assert.equal(engine.getRecords({ shardIterator: it, limit: 1 }).records.length, 1);
  });

  test("honours a configured call rate", () => {
    const { engine } = setUp({ shardReadCallsPerSecond: 2 });
    const it = iterator(engine, "TRIM_HORIZON");
    engine.getRecords({ shardIterator: it });
    engine.getRecords({ shardIterator: it });
    assert.throws(() => engine.getRecords({ shardIterator: it }), throttled);
  });

  test("throttle: false serves every call", () => {
    const { engine } = setUp({ throttle: false });
    raise(engine);
    engine.putRecord({ streamName: "s", data: bytes(5 * MiB), partitionKey: "k" });
    const it = iterator(engine, "TRIM_HORIZON");
    for (let i = 0; i < 20; i++)
      assert.equal(engine.getRecords({ shardIterator: it }).records.length, 1);
  });
});
