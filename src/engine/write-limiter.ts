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

/** The write throughput of one shard: a record needs room in both the records and the bytes bucket. */
export interface WriteLimiter {
  /** Admits one record of `sizeBytes` and charges both buckets, or refuses and charges neither. */
  tryAdmit(sizeBytes: number, nowMs?: number): boolean;
  /** How much of the shard's saved-up capacity is spent, 0 (idle) to 1 (throttling), by records or bytes. */
  utilization(nowMs?: number): number;
}

export const DEFAULT_SHARD_WRITE_RECORDS_PER_SECOND = 1000;
export const DEFAULT_SHARD_WRITE_BYTES_PER_SECOND = 1024 * 1024;

export function createWriteLimiter(options: WriteLimiterOptions = {}): WriteLimiter {
  const now = options.now ?? Date.now;
  const burstSeconds = options.burstSeconds ?? 1;
  const recordsPerSecond = options.recordsPerSecond ?? DEFAULT_SHARD_WRITE_RECORDS_PER_SECOND;
  const bytesPerSecond = options.bytesPerSecond ?? DEFAULT_SHARD_WRITE_BYTES_PER_SECOND;
  const records = createTokenBucket({
    ratePerSecond: recordsPerSecond,
    capacity: recordsPerSecond * burstSeconds,
    now,
  });
  const bytes = createTokenBucket({
    ratePerSecond: bytesPerSecond,
    capacity: bytesPerSecond * burstSeconds,
    now,
  });
  return {
    tryAdmit(sizeBytes, nowMs = now()) {
      if (records.available(nowMs) < 1 || bytes.available(nowMs) < sizeBytes) return false;
      records.tryTake(1, nowMs);
      bytes.tryTake(sizeBytes, nowMs);
      return true;
    },
    utilization(nowMs = now()) {
      const spentRecords = 1 - records.available(nowMs) / (recordsPerSecond * burstSeconds);
      const spentBytes = 1 - bytes.available(nowMs) / (bytesPerSecond * burstSeconds);
      return Math.max(spentRecords, spentBytes);
    },
  };
}
