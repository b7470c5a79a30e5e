import assert from "node:assert/strict";
import { suite, test } from "node:test";
import {
  shardIdFor,
  shardIndexForHashKey,
  splitHashKeySpace,
} from "../../src/engine/shard-ranges.ts";
import { hashKeyVectors, shardRangeVectors } from "../helpers/vectors.ts";

suite("splitHashKeySpace", () => {
  test("splits the key space exactly as AWS does for every vector shard count", () => {
    const vectors = shardRangeVectors();
    for (const count of ["1", "3", "4"]) assert.ok(vectors[count], `vectors for ${count} shards`);
    for (const [count, expected] of Object.entries(vectors)) {
      const actual = splitHashKeySpace(Number(count)).map((span, index) => ({
        shardId: shardIdFor(index),
        startingHashKey: span.startingHashKey.toString(),
        endingHashKey: span.endingHashKey.toString(),
      }));
      assert.deepEqual(actual, expected, `${count} shards`);
    }
  });

  test("refuses a shard count below 1", () => {
    assert.throws(() => splitHashKeySpace(0), RangeError);
  });
});

suite("shardIdFor", () => {
  test("zero-pads the index to 12 digits", () => {
    assert.equal(shardIdFor(0), "shardId-000000000000");
    assert.equal(shardIdFor(42), "shardId-000000000042");
  });
});

suite("shardIndexForHashKey", () => {
  test("finds the shard of every vector for every shard count", () => {
    for (const vector of hashKeyVectors()) {
      for (const [count, expected] of Object.entries(vector.shardIndexByShardCount)) {
        const starts = splitHashKeySpace(Number(count)).map((span) => span.startingHashKey);
        assert.equal(
          shardIndexForHashKey(starts, BigInt(vector.hashKey)),
          expected,
          `${vector.partitionKey} in ${count} shards`,
        );
      }
    }
  });

  test("puts range boundaries in the shard that owns them", () => {
    const spans = splitHashKeySpace(5);
    const starts = spans.map((span) => span.startingHashKey);
    spans.forEach((span, index) => {
      assert.equal(shardIndexForHashKey(starts, span.startingHashKey), index);
      assert.equal(shardIndexForHashKey(starts, span.endingHashKey), index);
    });
  });
});
