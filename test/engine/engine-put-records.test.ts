import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { createEngine } from "../../src/engine/engine.ts";
import { MAX_HASH_KEY } from "../../src/engine/hash-key.ts";
import { compareSequenceNumbers, parseSequenceNumber } from "../../src/engine/sequence-number.ts";
import { shardIdFor } from "../../src/engine/shard-ranges.ts";
import { KinesisError } from "../../src/kinesis/errors.ts";
import type { PutRecordsRequestEntry } from "../../src/kinesis/types.ts";
import { hashKeyVectors } from "../helpers/vectors.ts";
import { createManualClock } from "./helpers.ts";

const data = (text: string) => new TextEncoder().encode(text);

suite("engine putRecords routing", () => {
  test("puts every vector's partition key in its vector shard for every shard count", () => {
    const engine = createEngine({ throttle: false });
    const vectors = hashKeyVectors();
    const counts = Object.keys(vectors[0]!.shardIndexByShardCount);
    for (const count of counts) {
      const streamName = `s${count}`;
      engine.createStream({ streamName, shardCount: Number(count) });
      const output = engine.putRecords({
        streamName,
        records: vectors.map((v) => ({ data: data(v.partitionKey), partitionKey: v.partitionKey })),
      });
      assert.equal(output.failedRecordCount, 0);
      output.records.forEach((result, i) => {
        const vector = vectors[i]!;
        assert.equal(
          result.shardId,
          shardIdFor(vector.shardIndexByShardCount[count]!),
          `${vector.partitionKey} in ${count} shards`,
        );
      });
    }
  });

  test("routes by ExplicitHashKey instead of the partition key's MD5", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 4 });
    // "a" hashes into shard 0; the explicit keys choose other shards.
    const output = engine.putRecords({
      streamName: "s",
      records: [
        { data: data("x"), partitionKey: "a", explicitHashKey: MAX_HASH_KEY.toString() },
        {
          data: data("x"),
          partitionKey: "a",
          explicitHashKey: "85070591730234615865843651857942052864",
        },
        { data: data("x"), partitionKey: "a", explicitHashKey: "0" },
        { data: data("x"), partitionKey: "a" },
      ],
    });
    assert.deepEqual(
      output.records.map((r) => r.shardId),
      [shardIdFor(3), shardIdFor(1), shardIdFor(0), shardIdFor(0)],
    );
  });
});

suite("engine sequence numbers", () => {
  test("are 56 digits, strictly increasing per shard across puts and batches, unique in the stream", () => {
    const clock = createManualClock();
    const engine = createEngine({ now: clock.now, throttle: false });
    engine.createStream({ streamName: "s", shardCount: 3 });
    const lastByShard = new Map<string, string>();
    const seen = new Set<string>();
    for (let batch = 0; batch < 20; batch++) {
      const records = Array.from({ length: 50 }, (_, i) => ({
        data: data("x"),
        partitionKey: `key-${batch}-${i}`,
      }));
      const output = engine.putRecords({ streamName: "s", records });
      const single = engine.putRecord({
        streamName: "s",
        data: data("y"),
        partitionKey: `one-${batch}`,
      });
      for (const result of [...output.records, single]) {
        const sequenceNumber = result.sequenceNumber!;
        assert.match(sequenceNumber, /^\d{56}$/);
        assert.ok(!seen.has(sequenceNumber), "unique in the stream");
        seen.add(sequenceNumber);
        const previous = lastByShard.get(result.shardId!);
        if (previous !== undefined)
          assert.equal(compareSequenceNumbers(sequenceNumber, previous), 1);
        lastByShard.set(result.shardId!, sequenceNumber);
      }
      clock.advance(batch % 2 === 0 ? 0 : 1500);
    }
    assert.equal(seen.size, 20 * 51);
    assert.equal(lastByShard.size, 3);
  });

  test("encode the shard index and the arrival second", () => {
    const clock = createManualClock(Date.UTC(2026, 5, 1, 12, 0, 0, 750));
    const engine = createEngine({ now: clock.now });
    engine.createStream({ streamName: "s", shardCount: 4 });
    clock.advance(90_000);
    const output = engine.putRecord({ streamName: "s", data: data("x"), partitionKey: "e" });
    assert.equal(output.shardId, shardIdFor(3));
    const fields = parseSequenceNumber(output.sequenceNumber);
    assert.equal(fields?.shardIndex, 3);
    assert.equal(fields?.counter, 1n);
    assert.equal(fields?.recordSeconds, Math.floor(clock.now() / 1000));
    assert.equal(fields?.shardCreatedSeconds, Math.floor((clock.now() - 90_000) / 1000));
  });
});

suite("engine putRecords results", () => {
  test("keeps request order and reports encryption", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 2 });
    const output = engine.putRecords({
      streamName: "s",
      records: [
        { data: data("1"), partitionKey: "a" },
        { data: data("2"), partitionKey: "b" },
      ],
    });
    assert.equal(output.failedRecordCount, 0);
    assert.equal(output.encryptionType, "NONE");
    assert.deepEqual(
      output.records.map((r) => r.shardId),
      [shardIdFor(0), shardIdFor(1)],
    );
    for (const result of output.records)
      assert.deepEqual(Object.keys(result).sort(), ["sequenceNumber", "shardId"]);
  });

  test("readRecords returns what was written, in order, with arrival times", () => {
    const clock = createManualClock();
    const engine = createEngine({ now: clock.now });
    engine.createStream({ streamName: "s", shardCount: 1 });
    const first = engine.putRecords({
      streamName: "s",
      records: [
        { data: data("one"), partitionKey: "k1" },
        { data: data("two"), partitionKey: "k2", explicitHashKey: "42" },
      ],
    });
    clock.advance(10);
    const third = engine.putRecord({ streamName: "s", data: data("three"), partitionKey: "ü" });
    const records = engine.readRecords({ streamName: "s" }, "shardId-000000000000");
    assert.deepEqual(
      records.map((r) => [
        r.sequenceNumber,
        new TextDecoder().decode(r.data),
        r.partitionKey,
        r.explicitHashKey,
        r.approximateArrivalTimestamp,
        r.sizeBytes,
      ]),
      [
        [first.records[0]!.sequenceNumber, "one", "k1", undefined, clock.now() - 10, 5],
        [first.records[1]!.sequenceNumber, "two", "k2", "42", clock.now() - 10, 5],
        [third.sequenceNumber, "three", "ü", undefined, clock.now(), 7],
      ],
    );
    const after = engine.readRecords({ streamName: "s" }, "shardId-000000000000", {
      from: { type: "AFTER_SEQUENCE_NUMBER", sequenceNumber: first.records[0]!.sequenceNumber! },
      limit: 1,
    });
    assert.deepEqual(
      after.map((r) => r.partitionKey),
      ["k2"],
    );
  });

  test("readRecords refuses a shard the stream does not have", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 1 });
    assert.throws(
      () => engine.readRecords({ streamName: "s" }, "shardId-000000000001"),
      (error: unknown) =>
        error instanceof KinesisError &&
        error.type === "ResourceNotFoundException" &&
        error.message ===
          "Shard shardId-000000000001 in stream s under account 000000000000 does not exist",
    );
  });
});

suite("engine failed calls", () => {
  test("an out-of-range ExplicitHashKey fails the whole batch and writes nothing", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 1 });
    const tooBig = (MAX_HASH_KEY + 1n).toString();
    assert.throws(
      () =>
        engine.putRecords({
          streamName: "s",
          records: [
            { data: data("ok"), partitionKey: "a" },
            { data: data("bad"), partitionKey: "b", explicitHashKey: tooBig },
          ],
        }),
      (error: unknown) =>
        error instanceof KinesisError &&
        error.type === "InvalidArgumentException" &&
        error.message ===
          `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${tooBig}`,
    );
    assert.deepEqual(engine.readRecords({ streamName: "s" }, "shardId-000000000000"), []);
    // No sequence number was used up either.
    const next = engine.putRecord({ streamName: "s", data: data("x"), partitionKey: "a" });
    assert.equal(parseSequenceNumber(next.sequenceNumber)?.counter, 1n);
  });

  test("a record without data is a programming error, not a Kinesis error, and writes nothing", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 1 });
    const records: PutRecordsRequestEntry[] = [
      { data: data("ok"), partitionKey: "a" },
      { data: null, partitionKey: "b" },
    ];
    assert.throws(
      () => engine.putRecords({ streamName: "s", records }),
      (error: unknown) => error instanceof Error && !(error instanceof KinesisError),
    );
    assert.deepEqual(engine.readRecords({ streamName: "s" }, "shardId-000000000000"), []);
  });
});
