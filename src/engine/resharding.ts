/**
 * Resharding: SplitShard, MergeShards and UpdateShardCount. A request is
 * checked at once (with AWS's texts where they are known) and makes the
 * stream UPDATING for `transitionDelayMs`; the shards change when UPDATING
 * ends, as AWS documents: "Kinesis Data Streams immediately returns a
 * response and sets the stream status to UPDATING. After the operation is
 * completed, Kinesis Data Streams sets the stream status to ACTIVE" (the
 * SplitShard and MergeShards references), and kinesalite does the same.
 * Meanwhile writes and reads go on against the old shards. With no delay the
 * change is made within the request.
 *
 * A closed shard keeps its records; it takes no writes, reads to its end
 * answer its children (`childShardsOf`), and it is listed until its last
 * record has aged out of retention.
 */
import { KinesisError } from "../kinesis/errors.ts";
import { MAX_SHARDS_PER_STREAM, MAX_UPDATE_SHARD_COUNT_PER_DAY } from "../kinesis/limits.ts";
import type { ChildShard, UpdateShardCountOutput } from "../kinesis/types.ts";
import { hashKeyHex } from "./hash-key.ts";
import { formatSequenceNumber } from "./sequence-number.ts";
import { type HashKeySpan, shardIndexFromId, splitHashKeySpace } from "./shard-ranges.ts";
import {
  createShardState,
  type PendingReshard,
  type ShardState,
  type StreamState,
} from "./stream.ts";
import { beginUpdate, streamStatus } from "./stream-control.ts";

const MS_PER_DAY = 86_400_000;
const MS_PER_HOUR = 3_600_000;
/** The sequence number counter's largest value: a closed shard's ending number carries it. */
const MAX_COUNTER = (1n << 63n) - 1n;

/** What a reshard request needs to know of the account beside the stream. */
export interface ReshardLimits {
  /** The account's open shards now, over all streams. */
  readonly accountOpenShards: number;
  /** The account's shard quota (`EngineOptions.shardLimit`). */
  readonly shardLimit: number;
  /** Makes AWS's shard quota error for `additional` more shards. */
  readonly shardLimitExceeded: (additional: number) => KinesisError;
}

/**
 * Checks a SplitShard and makes the stream UPDATING towards it. The checks
 * and their order are kinesalite's, recorded against AWS: the shard, the
 * account's quota, the key, then the stream's status.
 */
export function requestSplit(
  stream: StreamState,
  shardToSplit: string,
  newStartingHashKey: string,
  limits: ReshardLimits,
  nowMs: number,
  transitionDelayMs: number,
): void {
  assertProvisioned(stream, "SplitShard");
  const shard = openShardNamed(stream, shardToSplit, nowMs);
  if (limits.accountOpenShards + 1 > limits.shardLimit) throw limits.shardLimitExceeded(1);
  const key = BigInt(newStartingHashKey);
  // Each child keeps at least two keys: AWS's text and rule, as kinesalite and moto copy them.
  if (key <= shard.startingHashKey + 1n || key >= shard.endingHashKey) {
    throw invalidArgument(
      `NewStartingHashKey ${newStartingHashKey} used in SplitShard() on shard ${shard.shardId} ` +
        `in stream ${stream.name} under account ${stream.accountId} is not both greater than one ` +
        `plus the shard's StartingHashKey ${shard.startingHashKey} and less than the shard's ` +
        `EndingHashKey ${shard.endingHashKey}.`,
    );
  }
  begin(
    stream,
    { kind: "split", shardIndex: shard.index, newStartingHashKey: key },
    nowMs,
    transitionDelayMs,
  );
}

/**
 * Checks a MergeShards and makes the stream UPDATING towards it. The two
 * shards must be open and adjacent, in either order: the union of their
 * ranges is one range without a gap (AWS's definition).
 */
export function requestMerge(
  stream: StreamState,
  shardToMerge: string,
  adjacentShardToMerge: string,
  nowMs: number,
  transitionDelayMs: number,
): void {
  assertProvisioned(stream, "MergeShards");
  const shard = openShardNamed(stream, shardToMerge, nowMs);
  const adjacent = openShardNamed(stream, adjacentShardToMerge, nowMs);
  const touching =
    shard.endingHashKey + 1n === adjacent.startingHashKey ||
    adjacent.endingHashKey + 1n === shard.startingHashKey;
  if (!touching) {
    // AWS's text, as kinesalite and moto copy it.
    throw invalidArgument(
      `Shards ${shard.shardId} and ${adjacent.shardId} in stream ${stream.name} under account ` +
        `${stream.accountId} are not an adjacent pair of shards eligible for merging`,
    );
  }
  begin(
    stream,
    { kind: "merge", shardIndex: shard.index, adjacentShardIndex: adjacent.index },
    nowMs,
    transitionDelayMs,
  );
}

/**
 * Checks an UpdateShardCount against AWS's limits and makes the stream
 * UPDATING towards it. The texts for the doubling, halving and per-stream
 * limits are AWS's as kinesalite copies them; the one for ten scalings a day
 * is ours (AWS's is not documented; kinesis-mock has "Cannot run
 * UpdateShardCount more than 10 times in a 24 hour period").
 */
export function requestScale(
  stream: StreamState,
  targetShardCount: number,
  limits: ReshardLimits,
  nowMs: number,
  transitionDelayMs: number,
): UpdateShardCountOutput {
  assertProvisioned(stream, "UpdateShardCount");
  assertActive(stream, nowMs);
  const current = stream.openShards.length;
  const counts = `Current open shard count: ${current}, Target shard count: ${targetShardCount}`;
  if (targetShardCount > MAX_SHARDS_PER_STREAM) {
    throw limitExceeded(
      `Target shard count or number of open shards cannot be greater than ${MAX_SHARDS_PER_STREAM}. ${counts}`,
    );
  }
  if (targetShardCount > current * 2) {
    throw limitExceeded(
      `UpdateShardCount cannot scale up over double your current open shard count. ${counts}`,
    );
  }
  if (targetShardCount * 2 < current) {
    throw limitExceeded(
      `UpdateShardCount cannot scale down below half your current open shard count. ${counts}`,
    );
  }
  const additional = targetShardCount - current;
  if (additional > 0 && limits.accountOpenShards + additional > limits.shardLimit) {
    throw limits.shardLimitExceeded(additional);
  }
  const times = stream.scalingTimesMs;
  while (times.length > 0 && times[0]! <= nowMs - MS_PER_DAY) times.shift();
  if (times.length >= MAX_UPDATE_SHARD_COUNT_PER_DAY) {
    throw limitExceeded(
      `UpdateShardCount of stream ${stream.name} under account ${stream.accountId} cannot run ` +
        `more than ${MAX_UPDATE_SHARD_COUNT_PER_DAY} times in a rolling 24-hour period.`,
    );
  }
  times.push(nowMs);
  begin(stream, { kind: "scale", targetShardCount }, nowMs, transitionDelayMs);
  return {
    streamName: stream.name,
    streamArn: stream.arn,
    currentShardCount: current,
    targetShardCount,
  };
}

/**
 * Makes the pending reshard once its UPDATING is over, at the time it ended.
 * Returns how many open shards the stream gained (negative when it lost some).
 */
export function settleReshard(stream: StreamState, nowMs: number): number {
  const pending = stream.pendingReshard;
  if (pending === undefined || nowMs < stream.updatingUntilMs!) return 0;
  stream.pendingReshard = undefined;
  const before = stream.openShards.length;
  const atMs = stream.updatingUntilMs!;
  switch (pending.kind) {
    case "split": {
      const parent = stream.shards[pending.shardIndex]!;
      split(stream, parent, pending.newStartingHashKey, madeAt(stream, [parent], atMs));
      break;
    }
    case "merge": {
      const parents = [pending.shardIndex, pending.adjacentShardIndex].map(
        (i) => stream.shards[i]!,
      );
      merge(stream, parents[0]!, parents[1]!, madeAt(stream, parents, atMs));
      break;
    }
    case "scale":
      scale(stream, pending.targetShardCount, madeAt(stream, stream.openShards, atMs));
      break;
  }
  reopen(stream);
  return stream.openShards.length - before;
}

/** The shards made from `shard` by a reshard, as GetRecords names them at a closed shard's end. */
export function childShardsOf(stream: StreamState, shard: ShardState): ChildShard[] {
  return stream.shards
    .filter((s) => s.parentShardId === shard.shardId || s.adjacentParentShardId === shard.shardId)
    .map((child) => ({
      shardId: child.shardId,
      parentShards: [child.parentShardId, child.adjacentParentShardId].filter(
        (id): id is string => id !== undefined,
      ),
      hashKeyRange: {
        startingHashKey: child.startingHashKey.toString(),
        endingHashKey: child.endingHashKey.toString(),
      },
    }));
}

/**
 * Whether a shard is still listed: open, or closed within the retention
 * period, so some of its records may be kept. AWS drops a closed shard from
 * its listings once all its records have expired.
 */
export function isShardListed(stream: StreamState, shard: ShardState, nowMs: number): boolean {
  return shard.closedAtMs === undefined || shard.closedAtMs >= trimHorizonMs(stream, nowMs);
}

/** The oldest time whose records retention keeps, in epoch milliseconds. */
export function trimHorizonMs(stream: StreamState, nowMs: number): number {
  return nowMs - stream.retentionHours * MS_PER_HOUR;
}

function begin(
  stream: StreamState,
  pending: PendingReshard,
  nowMs: number,
  transitionDelayMs: number,
): void {
  // AWS's text first; `beginUpdate` checks the same with the engine's wording.
  assertActive(stream, nowMs);
  beginUpdate(stream, nowMs, transitionDelayMs);
  stream.pendingReshard = pending;
}

/**
 * AWS documents the three operations for provisioned streams only; its
 * answer for an on-demand one is not documented, so the text is ours.
 */
function assertProvisioned(stream: StreamState, operation: string): void {
  if (stream.mode !== "PROVISIONED") {
    throw invalidArgument(
      `${operation} is only supported for streams in PROVISIONED mode; stream ${stream.name} ` +
        `under account ${stream.accountId} is ${stream.mode}.`,
    );
  }
}

/** AWS's text for a reshard of a stream that is not ACTIVE, as kinesalite copies it. */
function assertActive(stream: StreamState, nowMs: number): void {
  const status = streamStatus(stream, nowMs);
  if (status !== "ACTIVE") {
    throw new KinesisError(
      "ResourceInUseException",
      `Stream ${stream.name} under account ${stream.accountId} not ACTIVE, instead in state ${status}`,
    );
  }
}

/** The open shard an id names, with AWS's texts (kinesalite's, and moto's for a closed one). */
function openShardNamed(stream: StreamState, shardId: string, nowMs: number): ShardState {
  const index = shardIndexFromId(shardId);
  const shard = index === undefined ? undefined : stream.shards[index];
  if (shard === undefined || !isShardListed(stream, shard, nowMs)) {
    throw new KinesisError(
      "ResourceNotFoundException",
      `Could not find shard ${shardId} in stream ${stream.name} under account ${stream.accountId}.`,
    );
  }
  if (shard.closedAtMs !== undefined) {
    throw invalidArgument(
      `Shard ${shard.shardId} in stream ${stream.name} under account ${stream.accountId} has ` +
        "already been merged or split, and thus is not eligible for merging or splitting.",
    );
  }
  return shard;
}

/**
 * When a reshard's new shards are made: at `ms`, and in the second their
 * sequence numbers carry in their top digits, which is later than that of
 * every shard whose keys they take over. So their numbers are larger than
 * any of their parents', and a partition key's numbers keep increasing
 * across a reshard, as on AWS (where a reshard takes seconds). A reshard
 * within its parents' second puts it a second ahead of the clock, as
 * `NewStream.incarnationSeconds` may; never before the stream's own second.
 * (The shards UpdateShardCount makes in between take no records, so they
 * share the second of the shards it ends with.)
 */
interface MadeAt {
  readonly ms: number;
  readonly seconds: number;
}

function madeAt(stream: StreamState, predecessors: readonly ShardState[], ms: number): MadeAt {
  const latest = Math.max(...predecessors.map((shard) => shard.createdSeconds));
  return {
    ms,
    seconds: Math.max(stream.incarnationSeconds, Math.floor(ms / 1000), latest + 1),
  };
}

/** Closes `parent` and makes its two children; the caller recomputes the open shards. */
function split(stream: StreamState, parent: ShardState, at: bigint, made: MadeAt): ShardState[] {
  close(parent, made.ms);
  return [
    { startingHashKey: parent.startingHashKey, endingHashKey: at - 1n },
    { startingHashKey: at, endingHashKey: parent.endingHashKey },
  ].map((span) => addShard(stream, span, made, [parent]));
}

/** Closes two adjacent shards and makes their child; the caller recomputes the open shards. */
function merge(
  stream: StreamState,
  shard: ShardState,
  adjacent: ShardState,
  made: MadeAt,
): ShardState {
  close(shard, made.ms);
  close(adjacent, made.ms);
  const span = {
    startingHashKey: min(shard.startingHashKey, adjacent.startingHashKey),
    endingHashKey: max(shard.endingHashKey, adjacent.endingHashKey),
  };
  return addShard(stream, span, made, [shard, adjacent]);
}

/**
 * UpdateShardCount as AWS makes it: splits and merges of single shards, so
 * every new shard has one parent or two adjacent ones. First each open shard
 * that a boundary of the uniform target ranges falls inside is split there
 * (again, for each further boundary inside its upper part); then the pieces
 * inside each target range are merged, two at a time, into one. The open
 * shards are then exactly `splitHashKeySpace(target)`; the shards made in
 * between close as soon as they are made, without records. One pass over the
 * open shards for each step, so scaling 5,000 shards to 10,000 stays cheap.
 */
function scale(stream: StreamState, targetShardCount: number, made: MadeAt): void {
  const targets = splitHashKeySpace(targetShardCount);
  const pieces: ShardState[] = [];
  let boundary = 1; // the next target range whose start may fall inside a shard
  for (let shard of stream.openShards) {
    for (; boundary < targets.length; boundary++) {
      const at = targets[boundary]!.startingHashKey;
      if (at > shard.endingHashKey) break;
      if (at > shard.startingHashKey) {
        const [lower, upper] = split(stream, shard, at, made);
        pieces.push(lower!);
        shard = upper!;
      }
    }
    pieces.push(shard);
  }
  let next = 0;
  for (const target of targets) {
    let merged = pieces[next++]!;
    while (next < pieces.length && pieces[next]!.endingHashKey <= target.endingHashKey) {
      merged = merge(stream, merged, pieces[next++]!, made);
    }
  }
}

/** Closes a shard: no more writes; its ending number is the largest it could have issued. */
function close(shard: ShardState, atMs: number): void {
  shard.closedAtMs = atMs;
  shard.endingSequenceNumber = formatSequenceNumber({
    shardCreatedSeconds: shard.createdSeconds,
    shardIndex: shard.index,
    counter: MAX_COUNTER,
    recordSeconds: Math.max(shard.createdSeconds, Math.floor(atMs / 1000)),
  });
}

/** A new open shard made from `parents`: one for a split, two for a merge. */
function addShard(
  stream: StreamState,
  span: HashKeySpan,
  made: MadeAt,
  parents: readonly ShardState[],
): ShardState {
  const shard = createShardState(stream, {
    index: stream.shards.length,
    span,
    createdAtMs: made.ms,
    createdSeconds: made.seconds,
    parentShardId: parents[0]!.shardId,
    adjacentParentShardId: parents[1]?.shardId,
  });
  stream.shards.push(shard);
  return shard;
}

/** Recomputes the open shards in hash key order, which writes route by. */
export function reopen(stream: StreamState): void {
  const open = stream.shards
    .filter((s) => s.closedAtMs === undefined)
    .sort((a, b) => (a.startingHashKey < b.startingHashKey ? -1 : 1));
  stream.openShards = open;
  stream.openStartingHashKeys = open.map((s) => hashKeyHex(s.startingHashKey));
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

function invalidArgument(message: string): KinesisError {
  return new KinesisError("InvalidArgumentException", message);
}

function limitExceeded(message: string): KinesisError {
  return new KinesisError("LimitExceededException", message);
}
