/**
 * Which shard a record will go to, predicted from each stream's open shards'
 * hash key ranges, read with `ListShards` and cached. The producer groups
 * records by predicted shard (an aggregated record must hold only records of
 * its shard, or the KCL drops those outside the shard's range after a
 * reshard) and paces each shard. A prediction the answer contradicts (a
 * reshard happened) marks the map stale; the next use reads it again.
 */
import type { Backend, CallContext } from "../backends/backend.ts";
import { hashKeyForPartitionKey } from "../engine/hash-key.ts";
import type { PutRecordsRequestEntry, Shard, StreamRef } from "../kinesis/types.ts";

/** The open shards of a stream, by ascending starting hash key. */
export interface ShardMap {
  /** The shard whose range holds the hash key; the last one when none does (a map read mid-reshard). */
  shardFor(hashKey: bigint): string;
  readonly shardIds: readonly string[];
}

/** A record's hash key: its explicit hash key, else the MD5 of its partition key. */
export function hashKeyOf(entry: Pick<PutRecordsRequestEntry, "partitionKey" | "explicitHashKey">) {
  return entry.explicitHashKey
    ? BigInt(entry.explicitHashKey)
    : hashKeyForPartitionKey(entry.partitionKey ?? "");
}

export function shardMapOf(shards: readonly Shard[]): ShardMap {
  const open = shards
    .filter((shard) => shard.sequenceNumberRange.endingSequenceNumber === undefined)
    .map((shard) => ({
      shardId: shard.shardId,
      start: BigInt(shard.hashKeyRange.startingHashKey),
      end: BigInt(shard.hashKeyRange.endingHashKey),
    }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const shardIds = open.map((shard) => shard.shardId);
  return {
    shardIds,
    shardFor(hashKey) {
      let low = 0;
      let high = open.length - 1;
      while (low < high) {
        const middle = (low + high + 1) >> 1;
        if (open[middle]!.start <= hashKey) low = middle;
        else high = middle - 1;
      }
      return open[low]?.shardId ?? "";
    },
  };
}

export interface ShardMaps {
  /** The stream's map, read when there is none or it is stale (one read at a time per stream). */
  get(ref: StreamRef, call: CallContext): Promise<ShardMap>;
  /** Marks the stream's map stale: an answer named a shard it did not predict. */
  invalidate(ref: StreamRef): void;
}

/** At most this many streams' maps are kept; the least recently read goes first. */
const MAX_STREAMS = 1024;

export function createShardMaps(backend: Backend): ShardMaps {
  const maps = new Map<string, { map: Promise<ShardMap>; stale: boolean }>();
  const keyOf = (ref: StreamRef) => ref.streamArn || ref.streamName || "";

  async function read(ref: StreamRef, call: CallContext): Promise<ShardMap> {
    const shards: Shard[] = [];
    let page = await backend.listShards({ ...ref, maxResults: 10_000 }, call);
    shards.push(...page.shards);
    while (page.nextToken !== undefined) {
      page = await backend.listShards({ nextToken: page.nextToken, tokenStream: ref }, call);
      shards.push(...page.shards);
    }
    return shardMapOf(shards);
  }

  return {
    get(ref, call) {
      const key = keyOf(ref);
      const cached = maps.get(key);
      if (cached !== undefined && !cached.stale) {
        maps.delete(key);
        maps.set(key, cached);
        return cached.map;
      }
      const entry = { map: read(ref, call), stale: false };
      // A failed read is not kept: the next use tries again.
      entry.map.catch(() => {
        if (maps.get(key) === entry) maps.delete(key);
      });
      maps.set(key, entry);
      if (maps.size > MAX_STREAMS) maps.delete(maps.keys().next().value!);
      return entry.map;
    },
    invalidate(ref) {
      const cached = maps.get(keyOf(ref));
      if (cached !== undefined) cached.stale = true;
    },
  };
}
