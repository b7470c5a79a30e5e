/**
 * Packs a batch's records into aggregated records, per predicted shard, for
 * coalesced calls to aggregating streams: the records of one shard go into
 * aggregated records of at most `maxBytes`, in their order; one that would
 * be alone, or is too large to share, goes as it came (as the KPL sends a
 * lone record).
 */
import type { PutRecordsRequestEntry } from "../kinesis/types.ts";
import { recordBytes } from "../kinesis/validation.ts";
import {
  type AggregateSizer,
  aggregate,
  createAggregateSizer,
  type UserRecord,
} from "./aggregation.ts";
import { hashKeyOf, type ShardMap } from "./shard-map.ts";

/** One Kinesis record of a packed batch. */
export interface PackedRecord {
  readonly entry: PutRecordsRequestEntry;
  /** The shard it was packed for. */
  readonly shardId: string;
  /** Indexes of the batch's records it carries, in order: their sub-sequence numbers. */
  readonly members: readonly number[];
}

export function userRecordOf(entry: PutRecordsRequestEntry): UserRecord {
  return {
    partitionKey: entry.partitionKey ?? "",
    explicitHashKey: entry.explicitHashKey,
    data: entry.data ?? new Uint8Array(0),
  };
}

/** An aggregated record's entry: the KPL's one-character key, routed by its first record's hash key. */
export function aggregatedEntry(
  records: readonly UserRecord[],
  firstHashKey: bigint,
): PutRecordsRequestEntry {
  return { partitionKey: "a", explicitHashKey: firstHashKey.toString(), data: aggregate(records) };
}

export function packByShard(
  entries: readonly PutRecordsRequestEntry[],
  map: ShardMap,
  maxBytes: number,
): PackedRecord[] {
  const packed: PackedRecord[] = [];
  const open = new Map<string, { sizer: AggregateSizer; members: number[]; hashKey: bigint }>();
  const seal = (shardId: string) => {
    const pack = open.get(shardId);
    if (pack === undefined) return;
    open.delete(shardId);
    const members = pack.members;
    packed.push({
      shardId,
      members,
      entry:
        members.length === 1
          ? entries[members[0]!]!
          : aggregatedEntry(
              members.map((i) => userRecordOf(entries[i]!)),
              pack.hashKey,
            ),
    });
  };
  entries.forEach((entry, i) => {
    const hashKey = hashKeyOf(entry);
    const shardId = map.shardFor(hashKey);
    const user = userRecordOf(entry);
    let pack = open.get(shardId);
    if (pack !== undefined && pack.sizer.bytes + pack.sizer.bytesToAdd(user) > maxBytes) {
      seal(shardId);
      pack = undefined;
    }
    if (pack === undefined) {
      const sizer = createAggregateSizer();
      if (sizer.bytes + sizer.bytesToAdd(user) > maxBytes || recordBytes(entry) > maxBytes) {
        packed.push({ shardId, members: [i], entry });
        return;
      }
      pack = { sizer, members: [], hashKey };
      open.set(shardId, pack);
    }
    pack.sizer.add(user);
    pack.members.push(i);
  });
  for (const shardId of [...open.keys()]) seal(shardId);
  return packed;
}
