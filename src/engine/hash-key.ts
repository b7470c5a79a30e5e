import { hash } from "node:crypto";

/** The largest hash key: the key space is the unsigned 128-bit integers. */
export const MAX_HASH_KEY = (1n << 128n) - 1n;

/**
 * The hash key Kinesis gives a partition key: the MD5 of its UTF-8 bytes read
 * as an unsigned big-endian 128-bit integer.
 *
 * The digest goes through hex on purpose: on Node 24, `hash(…, "buffer")`
 * allocates an unpooled Buffer per call and reading two BigUint64s from it
 * measured about 3× slower (1.7 µs against 0.5 µs per key) than parsing the
 * hex digest with `BigInt`.
 */
export function hashKeyForPartitionKey(partitionKey: string): bigint {
  return BigInt("0x" + partitionKeyHashHex(partitionKey));
}

/**
 * The same hash key as 32 lowercase hex digits, as the write path compares
 * it (see {@link hashKeyHex}): no bigint is made.
 */
export function partitionKeyHashHex(partitionKey: string): string {
  return hash("md5", partitionKey, "hex");
}

/** A hash key as 32 lowercase hex digits, zero-padded: string order is number order. */
export function hashKeyHex(hashKey: bigint): string {
  return hashKey.toString(16).padStart(32, "0");
}
