/**
 * Which of a stream's shards ListShards answers for each `ShardFilter`
 * type, as the API reference defines them. Only listed shards count (open
 * ones, and closed ones whose records may still be kept: `isShardListed`).
 */
import type { ShardFilterType } from "../kinesis/types.ts";
import { isShardListed, trimHorizonMs } from "./resharding.ts";
import type { ShardState, StreamState } from "./stream.ts";

/** A filter as the engine applies it: its type and, for the timestamp types, the time. */
export interface AppliedShardFilter {
  readonly type: ShardFilterType;
  /** For AT_TIMESTAMP and FROM_TIMESTAMP, in epoch milliseconds. */
  readonly timestampMs?: number | undefined;
}

/**
 * The shards a filter selects, in index order. AFTER_SHARD_ID's start is
 * applied by the caller, as ExclusiveStartShardId's is.
 *
 * - AT_TRIM_HORIZON: the shards open at the trim horizon (or, in a stream
 *   younger than its retention, at its creation): where a reader from the
 *   oldest kept record starts, as the KCL asks for its first leases.
 * - FROM_TRIM_HORIZON, AFTER_SHARD_ID, none: every listed shard.
 * - AT_LATEST: the open shards.
 * - AT_TIMESTAMP: the shards open at the time (made at or before it, closed
 *   at or after it, or still open); a time before the trim horizon counts as
 *   the trim horizon, as AWS documents for FROM_TIMESTAMP.
 * - FROM_TIMESTAMP: the open shards and those closed at or after the time.
 */
export function filteredShards(
  stream: StreamState,
  filter: AppliedShardFilter | undefined,
  nowMs: number,
): ShardState[] {
  const listed = stream.shards.filter((shard) => isShardListed(stream, shard, nowMs));
  const horizonMs = Math.max(trimHorizonMs(stream, nowMs), stream.createdAt.getTime());
  const atOrAfterHorizon = (ms: number | undefined) => Math.max(ms ?? horizonMs, horizonMs);
  switch (filter?.type) {
    case undefined:
    case "AFTER_SHARD_ID":
    case "FROM_TRIM_HORIZON":
      return listed;
    case "AT_LATEST":
      return listed.filter((shard) => shard.closedAtMs === undefined);
    case "AT_TRIM_HORIZON":
      return listed.filter((shard) => isOpenAt(shard, horizonMs));
    case "AT_TIMESTAMP": {
      const atMs = atOrAfterHorizon(filter.timestampMs);
      return listed.filter((shard) => isOpenAt(shard, atMs));
    }
    case "FROM_TIMESTAMP": {
      const fromMs = atOrAfterHorizon(filter.timestampMs);
      return listed.filter((shard) => shard.closedAtMs === undefined || shard.closedAtMs >= fromMs);
    }
  }
}

function isOpenAt(shard: ShardState, atMs: number): boolean {
  return shard.createdAtMs <= atMs && (shard.closedAtMs === undefined || shard.closedAtMs >= atMs);
}
