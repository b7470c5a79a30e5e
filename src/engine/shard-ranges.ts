import { MAX_HASH_KEY } from "./hash-key.ts";

/** An inclusive range of hash keys owned by one shard. */
export interface HashKeySpan {
  readonly startingHashKey: bigint;
  readonly endingHashKey: bigint;
}

/**
 * Splits the hash key space into `shardCount` contiguous ranges as AWS does
 * for a new stream: step = floor(2^128 / N), shard i covers
 * [step·i, step·(i+1) − 1], and the last shard ends at 2^128 − 1.
 * (kinesis-mock divides 2^128 − 1 instead, which is off by a few for N = 2, 4, 8…)
 */
export function splitHashKeySpace(shardCount: number): HashKeySpan[] {
  if (!Number.isSafeInteger(shardCount) || shardCount < 1) {
    throw new RangeError(`shard count must be a positive integer, got ${shardCount}`);
  }
  const count = BigInt(shardCount);
  const step = (MAX_HASH_KEY + 1n) / count;
  const spans: HashKeySpan[] = [];
  for (let i = 0n; i < count; i++) {
    spans.push({
      startingHashKey: step * i,
      endingHashKey: i === count - 1n ? MAX_HASH_KEY : step * (i + 1n) - 1n,
    });
  }
  return spans;
}

/** The shard id AWS gives the shard with this index: `shardId-` and 12 zero-padded digits. */
export function shardIdFor(shardIndex: number): string {
  return "shardId-" + String(shardIndex).padStart(12, "0");
}

const MAX_NAMED_SHARD_INDEX = 2 ** 31 - 1;

/**
 * The index a shard id names, or undefined. AWS reads only the digits after
 * the first `-` (or the whole id when it has none), so `shardId-000000000001`,
 * `shard-1` and `1` all name shard 1; kinesalite found this out against AWS
 * and copies it, up to index 2^31 − 1.
 */
export function shardIndexFromId(shardId: string): number | undefined {
  const digits = shardId.split("-")[1] || shardId;
  if (!/^\d+$/.test(digits)) return undefined;
  const index = Number(digits);
  return index <= MAX_NAMED_SHARD_INDEX ? index : undefined;
}

/**
 * The position, in `startingHashKeys` (ascending, the first being 0, as the
 * open shards of a stream always cover the whole key space), of the range
 * that contains `hashKey`: the last start that is ≤ the key. The keys are
 * bigints, or hash keys rendered by {@link hashKeyHex}: equal-length hex
 * strings order as the numbers do, and compare without bigint work.
 */
export function shardIndexForHashKey<Key extends bigint | string>(
  startingHashKeys: readonly Key[],
  hashKey: Key,
): number {
  let low = 0;
  let high = startingHashKeys.length - 1;
  while (low < high) {
    // Upper middle, so that `low = middle` always makes progress.
    const middle = (low + high + 1) >>> 1;
    if (startingHashKeys[middle]! <= hashKey) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  return low;
}
