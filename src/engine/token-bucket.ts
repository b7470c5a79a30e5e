/** Options for {@link createTokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens added per second, continuously. Required; must be > 0. */
  ratePerSecond: number;
  /** The most tokens the bucket holds, i.e. the burst it allows. Default: `ratePerSecond` (one second of rate). The bucket starts full. */
  capacity?: number | undefined;
  /** The clock, in milliseconds. Default: `Date.now`. */
  now?: (() => number) | undefined;
}

/**
 * A token bucket. Every method takes an optional `nowMs` so that a caller
 * checking several buckets for one event can read the clock once and give all
 * of them the same instant; without it the bucket reads its own clock.
 */
export interface TokenBucket {
  /** The tokens available at `nowMs`. */
  available(nowMs?: number): number;
  /** Takes `amount` tokens if that many are available; takes nothing and returns false otherwise. */
  tryTake(amount: number, nowMs?: number): boolean;
  /**
   * Takes `amount` tokens whatever is available. The bucket may go into debt,
   * which the refill pays off before any token becomes available again: for
   * costs known only after the fact, such as the bytes a read returned.
   */
  charge(amount: number, nowMs?: number): void;
}

export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  const rate = options.ratePerSecond;
  if (!(rate > 0)) throw new RangeError(`ratePerSecond must be > 0, got ${rate}`);
  const capacity = options.capacity ?? rate;
  if (!(capacity > 0)) throw new RangeError(`capacity must be > 0, got ${capacity}`);
  const now = options.now ?? Date.now;
  const ratePerMs = rate / 1000;
  let tokens = capacity;
  let refilledAt = now();

  function refill(nowMs: number): void {
    // A clock that steps back adds nothing rather than removing tokens.
    if (nowMs > refilledAt) {
      tokens = Math.min(capacity, tokens + (nowMs - refilledAt) * ratePerMs);
      refilledAt = nowMs;
    }
  }

  return {
    available(nowMs = now()) {
      refill(nowMs);
      return tokens;
    },
    tryTake(amount, nowMs = now()) {
      refill(nowMs);
      if (amount > tokens) return false;
      tokens -= amount;
      return true;
    },
    charge(amount, nowMs = now()) {
      refill(nowMs);
      tokens -= amount;
    },
  };
}
