/**
 * Subscriptions to a shard (SubscribeToShard): a position that moves as
 * records are handed over, and a way to be told when the shard changes, so
 * that a reader waits for a write instead of polling for it.
 *
 * With a consumer (enhanced fan-out) a subscription reads with the consumer's
 * own 2 MiB/s for the shard, apart from the shard's GetRecords budget, and a
 * consumer holds one subscription per shard at a time (AWS API reference,
 * SubscribeToShard): another call within 5 seconds of the last successful one
 * is refused with ResourceInUseException, a later one takes the subscription
 * over and the earlier one ends with that exception; a consumer subscribes to
 * a shard at most once a second. Without a consumer (the gRPC API's shared
 * mode) a read is a GetRecords call of the shard: it spends the shard's calls
 * and bytes.
 */
import { KinesisError } from "../kinesis/errors.ts";
import type { KinesisRecord, SubscribeToShardEvent } from "../kinesis/types.ts";
import type { ReadStart } from "./record-store.ts";
import { readShardPage, type ShardPage } from "./shard-reads.ts";
import type { ShardState, StreamState } from "./stream.ts";
import { createTokenBucket, type TokenBucket } from "./token-bucket.ts";

/** What one consumer may read from one shard per second (AWS: 2 MiB/s per consumer per shard). */
export const CONSUMER_READ_BYTES_PER_SECOND = 2 * 1024 * 1024;
/** Within this time of a successful call, another one of the consumer and shard is refused. */
export const SUBSCRIPTION_IN_USE_MS = 5_000;
/** A consumer subscribes to a shard at most once in this time. */
export const SUBSCRIBE_INTERVAL_MS = 1_000;
/** Records one read hands over at most, as GetRecords. */
const READ_RECORDS = 10_000;
/** How long a shared read waits when the shard's GetRecords budget is spent: one of its 5 calls. */
const SHARED_RETRY_MS = 200;

/** What a subscription's read found. */
export type SubscriptionRead =
  | {
      readonly kind: "event";
      readonly event: SubscribeToShardEvent;
      /** No record is left after the event's: wait for a change before reading again. */
      readonly caughtUp: boolean;
    }
  /** The consumer's (or shard's) read budget is spent until then. */
  | { readonly kind: "wait"; readonly untilMs: number };

/** A subscription as the engine keeps it. */
export interface EngineSubscription {
  readonly streamName: string;
  readonly shardId: string;
  /**
   * The records after the position, at most `maxBytes` of them (one record
   * at least), and moves the position past them. Throws the KinesisError a
   * subscriber is told when it cannot go on: taken over, stream or consumer gone.
   */
  read(maxBytes?: number): SubscriptionRead;
  /**
   * Calls `wake` once, at the next change that may give `read` something new:
   * a record appended to the shard, the shard closed, the stream or consumer
   * removed, the subscription taken over. Returns a function that cancels it.
   */
  onChange(wake: () => void): () => void;
  /** When something other than a write may change what `read` returns (a reshard ending, say). */
  nextTransitionMs(): number | undefined;
  /** Ends the subscription: the consumer may subscribe to the shard again. */
  close(): void;
}

/** One consumer's hold on one shard. */
interface Slot {
  startedAtMs: number;
  /** The subscription holding it now; undefined once it ended. */
  holder: { takenOver: boolean; wake: () => void } | undefined;
}

/** The slots of every consumer and shard, for the rules on repeated calls. */
export interface SubscriptionSlots {
  /**
   * Takes the consumer's slot for the shard, or throws AWS's exception when
   * it is in use (or was taken less than a second ago). Returns the holder
   * state the subscription checks, and a release.
   */
  take(
    consumerArn: string,
    shard: ShardState,
    nowMs: number,
  ): { holder: { takenOver: boolean; wake: () => void }; release: () => void };
}

export function createSubscriptionSlots(): SubscriptionSlots {
  const slots = new Map<string, Slot>();
  return {
    take(consumerArn, shard, nowMs) {
      const key = `${consumerArn}\n${shard.index}`;
      const slot = slots.get(key);
      if (slot?.holder !== undefined && nowMs - slot.startedAtMs < SUBSCRIPTION_IN_USE_MS) {
        // AWS's text is not documented; ours names the consumer and shard.
        throw new KinesisError(
          "ResourceInUseException",
          `Consumer ${consumerArn} is already subscribed to shard ${shard.shardId}; ` +
            `another subscription may take it over ${SUBSCRIPTION_IN_USE_MS / 1000} seconds after it began.`,
        );
      }
      if (slot !== undefined && nowMs - slot.startedAtMs < SUBSCRIBE_INTERVAL_MS) {
        throw new KinesisError(
          "LimitExceededException",
          `Rate exceeded for consumer ${consumerArn} and shard ${shard.shardId}: ` +
            "one SubscribeToShard call a second is allowed.",
        );
      }
      if (slot?.holder !== undefined) {
        slot.holder.takenOver = true;
        slot.holder.wake();
      }
      const holder = { takenOver: false, wake: () => {} };
      const taken: Slot = { startedAtMs: nowMs, holder };
      slots.set(key, taken);
      return {
        holder,
        release: () => {
          if (taken.holder === holder) taken.holder = undefined;
          // Kept for the once-a-second rule, then forgotten.
          setTimeout(() => {
            if (slots.get(key) === taken && taken.holder === undefined) slots.delete(key);
          }, SUBSCRIBE_INTERVAL_MS).unref();
        },
      };
    },
  };
}

/** Calls the shard's waiting subscribers once each; called on every append and change. */
export function wakeSubscribers(shard: ShardState): void {
  const waiting = shard.subscribers;
  if (waiting.size === 0) return;
  const wakes = [...waiting];
  waiting.clear();
  for (const wake of wakes) wake();
}

export interface SubscriptionSource {
  readonly stream: StreamState;
  readonly shard: ShardState;
  readonly from: ReadStart;
  /** Checks the subscription may go on (stream and consumer still there); throws if not. */
  readonly check: (nowMs: number) => void;
  readonly now: () => number;
  /** The record as a reader gets it. */
  readonly toRecord: (stored: ShardPage["records"][number], nowMs: number) => KinesisRecord;
  /** The children of a closed shard. */
  readonly childShards: () => SubscribeToShardEvent["childShards"];
  /** When the stream or consumer changes next by the clock alone. */
  readonly transitionMs: () => number | undefined;
  /** For a consumer's subscription; undefined for a shared one. */
  readonly consumer?:
    | {
        readonly arn: string;
        readonly holder: { takenOver: boolean; wake: () => void };
        readonly release: () => void;
      }
    | undefined;
}

/**
 * A subscription reading `source.shard` from `source.from`. Its continuation
 * is the last record handed over; before any, the position it started from
 * where that names a record, or the shard's last number while caught up.
 */
export function createEngineSubscription(source: SubscriptionSource): EngineSubscription {
  const { stream, shard, now } = source;
  let from = source.from;
  let closed = false;
  const consumerBucket: TokenBucket | undefined =
    source.consumer === undefined
      ? undefined
      : createTokenBucket({ ratePerSecond: CONSUMER_READ_BYTES_PER_SECOND, now });

  function continuationOf(records: KinesisRecord[], caughtUp: boolean): string | undefined {
    const last = records.at(-1);
    if (last !== undefined) return last.sequenceNumber;
    if (from.type === "AFTER_SEQUENCE_NUMBER") return from.sequenceNumber;
    // Nothing is kept after the position: all a new subscription needs is what comes next.
    return caughtUp ? shard.sequencer.lastSequenceNumber : undefined;
  }

  const subscription: EngineSubscription = {
    streamName: stream.name,
    shardId: shard.shardId,

    read(maxBytes = Number.POSITIVE_INFINITY) {
      if (closed) throw new Error("read from a closed subscription");
      const nowMs = now();
      if (source.consumer?.holder.takenOver) {
        throw new KinesisError(
          "ResourceInUseException",
          `Another subscription of consumer ${source.consumer.arn} to shard ${shard.shardId} took this one over.`,
        );
      }
      source.check(nowMs);
      let budget = maxBytes;
      if (consumerBucket !== undefined) {
        const available = consumerBucket.available(nowMs);
        if (available <= 0) {
          return {
            kind: "wait",
            untilMs: nowMs + Math.ceil((-available + 1) / (CONSUMER_READ_BYTES_PER_SECOND / 1000)),
          };
        }
        budget = Math.min(budget, available);
      } else if (shard.readLimiter !== undefined && !shard.readLimiter.tryAdmit(nowMs)) {
        return { kind: "wait", untilMs: nowMs + SHARED_RETRY_MS };
      }
      const page = readShardPage(stream, shard, from, READ_RECORDS, nowMs, budget);
      if (consumerBucket !== undefined) consumerBucket.charge(page.bytes, nowMs);
      else shard.readLimiter?.charge(page.bytes, nowMs);
      from = page.next;
      const records = page.records.map((r) => source.toRecord(r, nowMs));
      if (shard.closedAtMs !== undefined && page.atEnd) {
        // The last event of a closed shard: its children, and no continuation (as AWS).
        return {
          kind: "event",
          event: { records, millisBehindLatest: 0, childShards: source.childShards() },
          caughtUp: true,
        };
      }
      return {
        kind: "event",
        event: {
          records,
          continuationSequenceNumber: continuationOf(records, page.atEnd),
          millisBehindLatest: page.millisBehindLatest,
        },
        caughtUp: page.atEnd,
      };
    },

    onChange(wake) {
      let called = false;
      const once = () => {
        if (called) return;
        called = true;
        shard.subscribers.delete(once);
        if (source.consumer !== undefined) source.consumer.holder.wake = () => {};
        wake();
      };
      shard.subscribers.add(once);
      if (source.consumer !== undefined) source.consumer.holder.wake = once;
      return () => {
        called = true;
        shard.subscribers.delete(once);
      };
    },

    nextTransitionMs: source.transitionMs,

    close() {
      if (closed) return;
      closed = true;
      source.consumer?.release();
    },
  };
  return subscription;
}
