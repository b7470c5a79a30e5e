/**
 * The proto mappings of resharding: StreamService's SplitShard, MergeShards
 * and UpdateShardCount, ListShards' shard filter, and the child shards
 * ConsumerService answers at the end of a closed shard.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ChildShardSchema } from "../../gen/kinesis/gateway/v1/consumer_pb.ts";
import {
  type MergeShardsRequest,
  ScalingType,
  type ShardFilter,
  ShardFilterType,
  type SplitShardRequest,
  type UpdateShardCountRequest,
  type UpdateShardCountResponseSchema,
} from "../../gen/kinesis/gateway/v1/stream_pb.ts";
import { SCALING_TYPES, SHARD_FILTER_TYPES } from "../../kinesis/limits.ts";
import type * as kinesis from "../../kinesis/types.ts";
import type { ProtoMapping } from "../unary.ts";
import { enumFromProto, noAnswer, optional, required, streamRefFromProto } from "./common.ts";

/** The proto's enum numbers by the domain's names, which are the proto's less their prefix. */
const byName = <T extends string>(names: readonly T[], numbers: Readonly<Record<string, number>>) =>
  Object.fromEntries(names.map((name) => [numbers[name], name])) as Readonly<Record<number, T>>;

const shardFilterTypes = byName(SHARD_FILTER_TYPES, ShardFilterType);
const scalingTypes = byName(SCALING_TYPES, ScalingType);

export function shardFilterFromProto(filter: ShardFilter): kinesis.ShardFilter {
  return {
    // Unset is null, as from a wire client that sent none: validation names it.
    type: enumFromProto(filter.type, shardFilterTypes) ?? null,
    shardId: optional(filter.shardId),
    timestamp: filter.timestamp === undefined ? undefined : timestampDate(filter.timestamp),
  };
}

/** A closed shard's children, as GetRecords and SubscribeToShard answer them. */
export function childShardsToProto(
  children: kinesis.ChildShard[] | undefined,
): MessageInitShape<typeof ChildShardSchema>[] {
  return children ?? [];
}

export const splitShardMapping: ProtoMapping<"SplitShard", SplitShardRequest, object> = {
  fromProto: (req) => ({
    ...streamRefFromProto(req),
    shardToSplit: required(req.shardToSplit),
    newStartingHashKey: required(req.newStartingHashKey),
  }),
  toProto: noAnswer,
};

export const mergeShardsMapping: ProtoMapping<"MergeShards", MergeShardsRequest, object> = {
  fromProto: (req) => ({
    ...streamRefFromProto(req),
    shardToMerge: required(req.shardToMerge),
    adjacentShardToMerge: required(req.adjacentShardToMerge),
  }),
  toProto: noAnswer,
};

export const updateShardCountMapping: ProtoMapping<
  "UpdateShardCount",
  UpdateShardCountRequest,
  MessageInitShape<typeof UpdateShardCountResponseSchema>
> = {
  // Unset (0) is null, as from a wire client that sent none: validation names it.
  fromProto: (req) => ({
    ...streamRefFromProto(req),
    targetShardCount: req.targetShardCount === 0 ? null : req.targetShardCount,
    scalingType: enumFromProto(req.scalingType, scalingTypes) ?? null,
  }),
  toProto: (out) => out,
};
