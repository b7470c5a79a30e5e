import { createTokenBucket } from "./token-bucket.ts";

/** Options for {@link createReadLimiter}. */
export interface ReadLimiterOptions {
  /** GetRecords calls admitted per second. Default: 5, the AWS per-shard read limit. */
  callsPerSecond?: number | undefined;
  /** Bytes (data plus UTF-8 partition key) returned per second. Default: 2097152 (2 MiB), the AWS per-shard read limit. */
  bytesPerSecond?: number | undefined;
  /** The clock, in milliseconds. Default: `Date.now`. */
  now?: (() => number) | undefined;
}

/**
 * The read throughput of one shard. Each bucket holds one second of its rate.
 * A call's size is known only once it has read, so a call is admitted while
 * any bytes are left and then charged what it returned, which may put the
 * bytes bucket in debt: a 10 MiB read from a full 2 MiB/s bucket leaves
 * 8 MiB of debt, so the shard's next calls are throttled for 4 seconds
 * (AWS documents "the next 5 seconds" for that case, counting from empty).
 */
export interface ReadLimiter {
  /** Admits one call and charges it, or refuses (charging nothing) when no call or no bytes are left. */
  tryAdmit(nowMs?: number): boolean;
  /** Charges the bytes an admitted call returned. */
  charge(bytes: number, nowMs?: number): void;
  /**
   * Returns `factor` times the bytes per second it was made with (at least 1:
   * an on-demand stream's shards take a share of its capacity, `capacity.ts`);
   * calls per second stay the shard's. What is spent, or owed, stays so.
   */
  scale(factor: number, nowMs?: number): void;
}

export const DEFAULT_SHARD_READ_CALLS_PER_SECOND = 5;
export const DEFAULT_SHARD_READ_BYTES_PER_SECOND = 2 * 1024 * 1024;

export function createReadLimiter(options: ReadLimiterOptions = {}): ReadLimiter {
  const now = options.now ?? Date.now;
  const calls = createTokenBucket({
    ratePerSecond: options.callsPerSecond ?? DEFAULT_SHARD_READ_CALLS_PER_SECOND,
    now,
  });
  const baseBytesPerSecond = options.bytesPerSecond ?? DEFAULT_SHARD_READ_BYTES_PER_SECOND;
  let bytesPerSecond = baseBytesPerSecond;
  let bytes = createTokenBucket({ ratePerSecond: bytesPerSecond, now });
  return {
    tryAdmit(nowMs = now()) {
      if (bytes.available(nowMs) <= 0) return false;
      return calls.tryTake(1, nowMs);
    },
    charge(size, nowMs = now()) {
      bytes.charge(size, nowMs);
    },
    scale(factor, nowMs = now()) {
      const rate = baseBytesPerSecond * Math.max(1, factor);
      // The same share of the bucket left (or owed) at the new rate.
      const left = (bytes.available(nowMs) / bytesPerSecond) * rate;
      bytesPerSecond = rate;
      bytes = createTokenBucket({ ratePerSecond: rate, now });
      bytes.charge(rate - left, nowMs);
    },
  };
}
