import { KinesisError } from "../kinesis/errors.ts";
import {
  MAX_STREAM_MODE_SWITCHES_PER_DAY,
  MAX_WARM_THROUGHPUT_MIBPS,
  ON_DEMAND_MIN_WRITE_MIBPS,
} from "../kinesis/limits.ts";
import type { StreamMode, WarmThroughput } from "../kinesis/types.ts";
import { warmThroughputOnlyOnDemand } from "../kinesis/validation.ts";
import type { AccountSettings } from "./account-settings.ts";
import type { StreamState } from "./stream.ts";
import { assertStreamActiveForChange, beginUpdate } from "./stream-control.ts";

/**
 * A stream's write capacity, as its capacity mode and warm throughput set it
 * (UpdateStreamMode, UpdateStreamWarmThroughput, CreateStream's
 * `WarmThroughputMiBps`).
 *
 * Capacity is counted in shards' worth: one shard writes 1 MiB/s and 1,000
 * records/s on AWS (or the engine's configured shard rate), so a capacity of
 * 4 is AWS's 4 MiB/s and 4,000 records/s, and warm throughput in MiB/s is
 * that many shards' worth.
 *
 * - A provisioned stream has its open shards' capacity, each shard its own.
 * - An on-demand stream has at least 4 (AWS: new on-demand streams start at
 *   4 MiB/s write, 4,000 records/s, 8 MiB/s read), or its warm throughput when
 *   that is more and the account's billing commitment is in effect; it reads
 *   twice what it writes. A stream created on-demand has 4 shards, so that is
 *   its shards' own capacity; one switched from provisioned keeps its shards
 *   (as on AWS), and when they are fewer than its capacity, each shard admits
 *   its share of it, in writes and in read bytes (GetRecords calls stay 5 a
 *   second per shard).
 * - Switched back to provisioned, a stream keeps its shards (as on AWS) and
 *   each shard writes its own 1 MiB/s again.
 *
 * A simplification: the engine does not auto-scale on-demand streams. AWS
 * adds shards as traffic grows (up to twice the previous peak); here an
 * on-demand stream keeps its shards and its capacity, so a producer that
 * writes more than 4 MiB/s (or its warm throughput) is throttled where AWS
 * would, after a while, have scaled; and since the capacity is spread over
 * the shards it has rather than new ones, one hot partition key can use up
 * to its shard's share, more than the 1 MiB/s of any shard on AWS. Warm
 * throughput takes effect at once,
 * where AWS needs minutes; the stream is still UPDATING for the transition.
 */
export interface Capacity {
  /** Applies a new stream's capacity: `warmMiBps` only for an on-demand stream. */
  created(stream: StreamState, warmMiBps: number | undefined, nowMs: number): void;
  /**
   * UpdateStreamMode: the stream must be ACTIVE and becomes UPDATING. The
   * same mode (on an ACTIVE stream) changes nothing and is not counted,
   * except for warm throughput given with ON_DEMAND, which is set as by
   * {@link setWarmThroughput}.
   */
  switchMode(
    stream: StreamState,
    mode: StreamMode,
    warmMiBps: number | undefined,
    nowMs: number,
    assertOnDemandAllowed: () => void,
  ): void;
  /** UpdateStreamWarmThroughput: the stream's warm throughput, as it answers. */
  setWarmThroughput(stream: StreamState, warmMiBps: number, nowMs: number): WarmThroughput;
  /** DescribeStreamSummary's `WarmThroughput`: on-demand streams while the commitment holds. */
  warmThroughputOf(stream: StreamState, nowMs: number): WarmThroughput | undefined;
  /**
   * Gives the stream's open shards their share of its capacity again, as
   * after a change of its shards (resharding creates shards at their own rate).
   */
  apply(stream: StreamState, nowMs: number): void;
  /**
   * Drops every stream's warm throughput once the billing commitment has
   * ended. Cheap when there is nothing to drop: writes call it.
   */
  settle(streams: ReadonlyMap<string, StreamState>, nowMs: number): void;
  /** What a data dir keeps of a stream's capacity, if it has any beside its mode. */
  saved(stream: StreamState): SavedCapacity | undefined;
  /** Gives a stream brought back from a data dir its capacity, as {@link created} would. */
  restore(stream: StreamState, saved: SavedCapacity | undefined, nowMs: number): void;
}

/** A stream's capacity state as a data dir keeps it (`snapshot.ts`). */
export type SavedCapacity = Readonly<CapacityState>;

export interface CapacityOptions {
  readonly account: AccountSettings;
  /** How long a change keeps the stream UPDATING. */
  readonly transitionDelayMs: number;
}

/** What the engine keeps of a stream's capacity beside its mode. */
interface CapacityState {
  /** When its mode changed, within the last 24 hours. */
  switchedAtMs: number[];
  /** The warm throughput asked for, in MiB/s; none for a provisioned stream. */
  warmTargetMiBps: number | undefined;
  /** The capacity it had before the last change, shown as current while UPDATING. */
  previousMiBps: number | undefined;
  previousUntilMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function createCapacity(options: CapacityOptions): Capacity {
  const { account, transitionDelayMs } = options;
  const states = new WeakMap<StreamState, CapacityState>();
  let commitmentWasInEffect = false;

  function stateOf(stream: StreamState): CapacityState {
    let state = states.get(stream);
    if (state === undefined) {
      state = {
        switchedAtMs: [],
        warmTargetMiBps: undefined,
        previousMiBps: undefined,
        previousUntilMs: 0,
      };
      states.set(stream, state);
    }
    return state;
  }

  /** The stream's capacity now, in shards' worth (MiB/s at AWS's shard rate). */
  function capacityOf(stream: StreamState, nowMs: number): number {
    const shards = stream.openShards.length;
    if (stream.mode !== "ON_DEMAND") return shards;
    const warm = account.commitmentInEffect(nowMs) ? (stateOf(stream).warmTargetMiBps ?? 0) : 0;
    return Math.max(shards, ON_DEMAND_MIN_WRITE_MIBPS, warm);
  }

  function apply(stream: StreamState, nowMs: number): void {
    const factor = capacityOf(stream, nowMs) / stream.openShards.length;
    for (const shard of stream.openShards) {
      shard.limiter?.scale(factor, nowMs);
      shard.readLimiter?.scale(factor, nowMs);
    }
  }

  /** Starts a change: UPDATING for the transition, showing the capacity before it meanwhile. */
  function beginChange(stream: StreamState, nowMs: number): CapacityState {
    const state = stateOf(stream);
    beginUpdate(stream, nowMs, transitionDelayMs);
    state.previousMiBps = capacityOf(stream, nowMs);
    state.previousUntilMs = nowMs + transitionDelayMs;
    return state;
  }

  function assertCommitment(stream: StreamState, nowMs: number): void {
    if (!account.commitmentInEffect(nowMs)) {
      // Ours: AWS documents the rule, not its text.
      throw new KinesisError(
        "InvalidArgumentException",
        `Warm throughput for stream ${stream.name} under account ${stream.accountId} needs the ` +
          "account's MinimumThroughputBillingCommitment to be ENABLED (UpdateAccountSettings).",
      );
    }
  }

  function assertWarmLimit(warmMiBps: number): void {
    if (warmMiBps > MAX_WARM_THROUGHPUT_MIBPS) {
      // Ours, after AWS's documented default limit of 10 GiBps.
      throw new KinesisError(
        "LimitExceededException",
        `Warm throughput of ${warmMiBps} MiBps exceeds the limit of ${MAX_WARM_THROUGHPUT_MIBPS} MiBps for an on-demand stream.`,
      );
    }
  }

  function setWarmThroughput(
    stream: StreamState,
    warmMiBps: number,
    nowMs: number,
  ): WarmThroughput {
    if (stream.mode !== "ON_DEMAND") throw warmThroughputOnlyOnDemand();
    assertCommitment(stream, nowMs);
    assertWarmLimit(warmMiBps);
    const state = beginChange(stream, nowMs);
    state.warmTargetMiBps = warmMiBps;
    commitmentWasInEffect = true;
    apply(stream, nowMs);
    return warmThroughputOf(stream, nowMs)!;
  }

  function warmThroughputOf(stream: StreamState, nowMs: number): WarmThroughput | undefined {
    if (stream.mode !== "ON_DEMAND" || !account.commitmentInEffect(nowMs)) return undefined;
    const state = stateOf(stream);
    const current =
      state.previousMiBps !== undefined && nowMs < state.previousUntilMs
        ? state.previousMiBps
        : capacityOf(stream, nowMs);
    const shown: WarmThroughput = { currentMiBps: current };
    if (state.warmTargetMiBps !== undefined) shown.targetMiBps = state.warmTargetMiBps;
    return shown;
  }

  return {
    created(stream, warmMiBps, nowMs) {
      if (warmMiBps !== undefined) {
        assertCommitment(stream, nowMs);
        assertWarmLimit(warmMiBps);
        stateOf(stream).warmTargetMiBps = warmMiBps;
        commitmentWasInEffect = true;
      }
      apply(stream, nowMs);
    },

    switchMode(stream, mode, warmMiBps, nowMs, assertOnDemandAllowed) {
      // AWS: "For successful operation, the resource must be in the ACTIVE
      // state", also when the mode asked for is the stream's already.
      assertStreamActiveForChange(stream, nowMs);
      if (mode === stream.mode) {
        if (warmMiBps !== undefined) setWarmThroughput(stream, warmMiBps, nowMs);
        return;
      }
      const state = stateOf(stream);
      state.switchedAtMs = state.switchedAtMs.filter((at) => nowMs - at < DAY_MS);
      if (state.switchedAtMs.length >= MAX_STREAM_MODE_SWITCHES_PER_DAY) {
        // Ours: AWS documents the limit (twice in 24 hours), not its text.
        throw new KinesisError(
          "LimitExceededException",
          `Stream ${stream.name} under account ${stream.accountId} has changed its capacity mode ` +
            `${state.switchedAtMs.length} times in the last 24 hours, the most allowed.`,
        );
      }
      if (mode === "ON_DEMAND") {
        assertOnDemandAllowed();
        if (warmMiBps !== undefined) {
          assertCommitment(stream, nowMs);
          assertWarmLimit(warmMiBps);
        }
      }
      beginChange(stream, nowMs);
      state.switchedAtMs.push(nowMs);
      stream.mode = mode;
      state.warmTargetMiBps = mode === "ON_DEMAND" ? warmMiBps : undefined;
      if (warmMiBps !== undefined) commitmentWasInEffect = true;
      apply(stream, nowMs);
    },

    setWarmThroughput,
    warmThroughputOf,
    apply,

    saved: (stream) => states.get(stream),

    restore(stream, saved, nowMs) {
      if (saved !== undefined) {
        states.set(stream, { ...saved, switchedAtMs: [...saved.switchedAtMs] });
        if (saved.warmTargetMiBps !== undefined) commitmentWasInEffect = true;
      }
      apply(stream, nowMs);
    },

    settle(streams, nowMs) {
      if (!commitmentWasInEffect || account.commitmentInEffect(nowMs)) return;
      commitmentWasInEffect = false;
      for (const stream of streams.values()) {
        const state = states.get(stream);
        if (state?.warmTargetMiBps === undefined) continue;
        state.warmTargetMiBps = undefined;
        apply(stream, nowMs);
      }
    },
  };
}
