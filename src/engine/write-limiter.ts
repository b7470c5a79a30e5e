import { createTokenBucket } from "./token-bucket.ts";

/** Options for {@link createWriteLimiter}. */
export interface WriteLimiterOptions {
  /** Records admitted per second. Default: 1000, the AWS per-shard write limit. */
  recordsPerSecond?: number | undefined;
  /** Bytes (data plus UTF-8 partition key) admitted per second. Default: 1048576 (1 MiB), the AWS per-shard write limit. */
  bytesPerSecond?: number | undefined;
  /** How many seconds of rate may be spent at once: each bucket holds `rate × burstSeconds`. Default: 1. */
  burstSeconds?: number | undefined;
  /** The clock, in milliseconds. Default: `Date.now`. */
  now?: (() => number) | undefined;
}

/**
 * The write throughput of one shard: a record needs room in both the records
 * and the bytes bucket.
 *
 * A record larger than the bytes bucket (up to 10 MiB on a stream whose
 * maximum record size was raised, against a bucket of 1 MiB) is admitted when
 * the bucket is full, and leaves it in debt, which the steady rate pays off
 * before the shard takes anything again: AWS describes write capacity as "a
 * tank that refills at a steady rate", which one large record "temporarily
 * depletes" (developer guide, "Handle large records",
 * https://docs.aws.amazon.com/streams/latest/dev/large-records.html). So a
 * 10 MiB record on an idle 1 MiB/s shard is taken, and the shard refuses
 * writes for the next nine seconds. Records no larger than the bucket are
 * admitted exactly as before: only while that much is left.
 */
export interface WriteLimiter {
  /** Admits one record of `sizeBytes` and charges both buckets, or refuses and charges neither. */
  tryAdmit(sizeBytes: number, nowMs?: number): boolean;
  /** How much of the shard's saved-up capacity is spent, 0 (idle) to 1 (throttling), by records or bytes. */
  utilization(nowMs?: number): number;
  /**
   * Admits `factor` times the rates it was made with (at least 1: an on-demand
   * stream's shards take a share of its capacity, `capacity.ts`). What is
   * spent stays spent: the buckets keep the share of their room they had.
   */
  scale(factor: number, nowMs?: number): void;
}

export const DEFAULT_SHARD_WRITE_RECORDS_PER_SECOND = 1000;
export const DEFAULT_SHARD_WRITE_BYTES_PER_SECOND = 1024 * 1024;

export function createWriteLimiter(options: WriteLimiterOptions = {}): WriteLimiter {
  const now = options.now ?? Date.now;
  const burstSeconds = options.burstSeconds ?? 1;
  const baseRecordsPerSecond = options.recordsPerSecond ?? DEFAULT_SHARD_WRITE_RECORDS_PER_SECOND;
  const baseBytesPerSecond = options.bytesPerSecond ?? DEFAULT_SHARD_WRITE_BYTES_PER_SECOND;
  let recordsPerSecond = baseRecordsPerSecond;
  let bytesPerSecond = baseBytesPerSecond;
  /** A full bucket of `rate × burstSeconds`, less the share `spent` of it (over 1: in debt). */
  const bucket = (rate: number, spent: number, nowMs: number) => {
    const made = createTokenBucket({ ratePerSecond: rate, capacity: rate * burstSeconds, now });
    made.charge(rate * burstSeconds * spent, nowMs);
    return made;
  };
  let records = bucket(recordsPerSecond, 0, now());
  let bytes = bucket(bytesPerSecond, 0, now());
  const spent = (b: typeof records, rate: number, nowMs: number) =>
    1 - b.available(nowMs) / (rate * burstSeconds);
  return {
    tryAdmit(sizeBytes, nowMs = now()) {
      const needed = Math.min(sizeBytes, bytesPerSecond * burstSeconds);
      if (records.available(nowMs) < 1 || bytes.available(nowMs) < needed) return false;
      records.tryTake(1, nowMs);
      bytes.charge(sizeBytes, nowMs);
      return true;
    },
    utilization(nowMs = now()) {
      const most = Math.max(
        spent(records, recordsPerSecond, nowMs),
        spent(bytes, bytesPerSecond, nowMs),
      );
      // In debt after a large record the shard is still just "throttling".
      return Math.min(1, most);
    },
    scale(factor, nowMs = now()) {
      const spentRecords = spent(records, recordsPerSecond, nowMs);
      const spentBytes = spent(bytes, bytesPerSecond, nowMs);
      recordsPerSecond = baseRecordsPerSecond * Math.max(1, factor);
      bytesPerSecond = baseBytesPerSecond * Math.max(1, factor);
      records = bucket(recordsPerSecond, spentRecords, nowMs);
      bytes = bucket(bytesPerSecond, spentBytes, nowMs);
    },
  };
}
