import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { hashKeyForPartitionKey, MAX_HASH_KEY } from "../../src/engine/hash-key.ts";
import { hashKeyVectors } from "../helpers/vectors.ts";

suite("hashKeyForPartitionKey", () => {
  test("maps every vector's partition key to its hash key", () => {
    const vectors = hashKeyVectors();
    assert.ok(vectors.length >= 5);
    for (const vector of vectors) {
      assert.equal(
        hashKeyForPartitionKey(vector.partitionKey),
        BigInt(vector.hashKey),
        vector.partitionKey,
      );
      assert.equal(BigInt("0x" + vector.md5Hex), BigInt(vector.hashKey), vector.partitionKey);
    }
  });

  test("reads the MD5 of 'a' as an unsigned big-endian integer", () => {
    assert.equal(hashKeyForPartitionKey("a"), 16955237001963240173058271559858726497n);
  });

  test("hashes the UTF-8 bytes of non-ASCII keys", () => {
    assert.equal(hashKeyForPartitionKey("ü"), 255482112228542481294366945247899473731n);
  });

  test("keeps digests with a high top bit unsigned and within 128 bits", () => {
    // MD5("e") starts with 0xe1: a signed reading would be negative.
    const hashKey = hashKeyForPartitionKey("e");
    assert.equal(hashKey, 299611584147932843547128611849858313266n);
    assert.ok(hashKey > 0n && hashKey <= MAX_HASH_KEY);
  });

  test("MAX_HASH_KEY is 2^128 - 1", () => {
    assert.equal(MAX_HASH_KEY, 340282366920938463463374607431768211455n);
  });
});
