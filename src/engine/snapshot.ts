/**
 * The engine's state besides its records, as a data dir keeps it: streams
 * with their shards (lineage, ranges, closing), consumers, tags, policies,
 * settings, pending changes, and the account's settings. Plain JSON, written
 * whole after each change that is acknowledged (`storage/data-dir.ts`); what
 * follows from the clock (a stream turning ACTIVE, a reshard made when its
 * UPDATING ends, a DELETING stream gone) is not written but follows again
 * from the same fields after a restart.
 *
 * Throttling state (token buckets) and enhanced fan-out subscriptions are not
 * kept: a restarted engine starts with full buckets and no subscriptions, as
 * after a failover.
 */
import type { MetricsName, StreamMode } from "../kinesis/types.ts";
import type { SavedAccountSettings } from "./account-settings.ts";
import type { SavedCapacity } from "./capacity.ts";
import type { ConsumerState } from "./consumers.ts";
import type { ReadLimiter } from "./read-limiter.ts";
import type { RecordStore } from "./record-store.ts";
import { reopen } from "./resharding.ts";
import type { SequencerResume } from "./sequence-number.ts";
import {
  createShardState,
  type PendingReshard,
  type ShardState,
  type StreamEncryption,
  type StreamState,
} from "./stream.ts";
import type { WriteLimiter } from "./write-limiter.ts";

export const SNAPSHOT_VERSION = 1;

export interface EngineSnapshot {
  readonly version: typeof SNAPSHOT_VERSION;
  readonly account: SavedAccountSettings;
  /** Removed streams' last creation seconds, by name (`incarnationSecondsFor`). */
  readonly removedIncarnations: Readonly<Record<string, number>>;
  readonly streams: readonly SavedStream[];
}

export interface SavedStream {
  readonly name: string;
  readonly arn: string;
  readonly accountId: string;
  readonly mode: StreamMode;
  readonly createdAtMs: number;
  readonly incarnationSeconds: number;
  readonly activeAtMs: number;
  readonly deletingUntilMs?: number | undefined;
  readonly retentionHours: number;
  readonly encryption: StreamEncryption;
  readonly encryptionBefore: StreamEncryption;
  readonly updatingUntilMs?: number | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly shardLevelMetrics: readonly MetricsName[];
  readonly resourcePolicy?: string | undefined;
  readonly maxRecordSizeInKiB: number;
  readonly consumers: readonly SavedConsumer[];
  readonly removedConsumerSeconds: Readonly<Record<string, number>>;
  readonly shards: readonly SavedShard[];
  readonly pendingReshard?: SavedPendingReshard | undefined;
  readonly scalingTimesMs: readonly number[];
  readonly capacity?: SavedCapacity | undefined;
}

interface SavedConsumer extends Omit<ConsumerState, "tags"> {
  readonly tags: Readonly<Record<string, string>>;
}

interface SavedShard {
  readonly index: number;
  /** Decimal, as bigint does not go into JSON. */
  readonly startingHashKey: string;
  readonly endingHashKey: string;
  readonly createdAtMs: number;
  readonly createdSeconds: number;
  readonly parentShardId?: string | undefined;
  readonly adjacentParentShardId?: string | undefined;
  readonly closedAtMs?: number | undefined;
  readonly endingSequenceNumber?: string | undefined;
}

type SavedPendingReshard =
  | { readonly kind: "split"; readonly shardIndex: number; readonly newStartingHashKey: string }
  | { readonly kind: "merge"; readonly shardIndex: number; readonly adjacentShardIndex: number }
  | { readonly kind: "scale"; readonly targetShardCount: number };

export function saveStream(stream: StreamState, capacity: SavedCapacity | undefined): SavedStream {
  return {
    name: stream.name,
    arn: stream.arn,
    accountId: stream.accountId,
    mode: stream.mode,
    createdAtMs: stream.createdAt.getTime(),
    incarnationSeconds: stream.incarnationSeconds,
    activeAtMs: stream.activeAtMs,
    deletingUntilMs: stream.deletingUntilMs,
    retentionHours: stream.retentionHours,
    encryption: stream.encryption,
    encryptionBefore: stream.encryptionBefore,
    updatingUntilMs: stream.updatingUntilMs,
    tags: Object.fromEntries(stream.tags),
    shardLevelMetrics: [...stream.shardLevelMetrics],
    resourcePolicy: stream.resourcePolicy,
    maxRecordSizeInKiB: stream.maxRecordSizeInKiB,
    consumers: [...stream.consumers.values()].map((consumer) => ({
      ...consumer,
      tags: Object.fromEntries(consumer.tags),
    })),
    removedConsumerSeconds: Object.fromEntries(stream.removedConsumerSeconds),
    shards: stream.shards.map((shard) => ({
      index: shard.index,
      startingHashKey: shard.startingHashKey.toString(),
      endingHashKey: shard.endingHashKey.toString(),
      createdAtMs: shard.createdAtMs,
      createdSeconds: shard.createdSeconds,
      parentShardId: shard.parentShardId,
      adjacentParentShardId: shard.adjacentParentShardId,
      closedAtMs: shard.closedAtMs,
      endingSequenceNumber: shard.endingSequenceNumber,
    })),
    pendingReshard:
      stream.pendingReshard?.kind === "split"
        ? {
            ...stream.pendingReshard,
            newStartingHashKey: stream.pendingReshard.newStartingHashKey.toString(),
          }
        : stream.pendingReshard,
    scalingTimesMs: [...stream.scalingTimesMs],
    capacity,
  };
}

/** What a saved stream needs to run again: its store, its limiters, where its shards' numbers go on. */
export interface StreamRevival {
  readonly store: RecordStore;
  readonly createLimiter: () => WriteLimiter | undefined;
  readonly createReadLimiter: () => ReadLimiter | undefined;
  readonly resume: (shardIndex: number) => SequencerResume | undefined;
}

export function restoreStream(saved: SavedStream, revival: StreamRevival): StreamState {
  const owner = {
    name: saved.name,
    accountId: saved.accountId,
    createLimiter: revival.createLimiter,
    createReadLimiter: revival.createReadLimiter,
  };
  const shards: ShardState[] = saved.shards.map((s) => {
    const shard = createShardState(owner, {
      index: s.index,
      span: { startingHashKey: BigInt(s.startingHashKey), endingHashKey: BigInt(s.endingHashKey) },
      createdAtMs: s.createdAtMs,
      createdSeconds: s.createdSeconds,
      parentShardId: s.parentShardId,
      adjacentParentShardId: s.adjacentParentShardId,
      resume: revival.resume(s.index),
    });
    shard.closedAtMs = s.closedAtMs;
    shard.endingSequenceNumber = s.endingSequenceNumber;
    return shard;
  });
  const pending = saved.pendingReshard;
  const stream: StreamState = {
    name: saved.name,
    arn: saved.arn,
    accountId: saved.accountId,
    mode: saved.mode,
    createdAt: new Date(saved.createdAtMs),
    incarnationSeconds: saved.incarnationSeconds,
    activeAtMs: saved.activeAtMs,
    deletingUntilMs: saved.deletingUntilMs,
    retentionHours: saved.retentionHours,
    encryption: saved.encryption,
    encryptionBefore: saved.encryptionBefore,
    updatingUntilMs: saved.updatingUntilMs,
    tags: new Map(Object.entries(saved.tags)),
    shardLevelMetrics: new Set(saved.shardLevelMetrics),
    resourcePolicy: saved.resourcePolicy,
    maxRecordSizeInKiB: saved.maxRecordSizeInKiB,
    consumers: new Map(
      saved.consumers.map((consumer) => [
        consumer.name,
        { ...consumer, tags: new Map(Object.entries(consumer.tags)) },
      ]),
    ),
    removedConsumerSeconds: new Map(Object.entries(saved.removedConsumerSeconds)),
    shards,
    openShards: [],
    openStartingHashKeys: [],
    store: revival.store,
    createLimiter: revival.createLimiter,
    createReadLimiter: revival.createReadLimiter,
    pendingReshard:
      pending?.kind === "split"
        ? { ...pending, newStartingHashKey: BigInt(pending.newStartingHashKey) }
        : (pending as PendingReshard | undefined),
    scalingTimesMs: [...saved.scalingTimesMs],
  };
  reopen(stream);
  return stream;
}
