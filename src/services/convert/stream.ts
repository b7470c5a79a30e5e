/**
 * StreamService's proto mappings for a stream's life and its description:
 * creating, deleting, listing and describing streams and their shards.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { EncryptionType } from "../../gen/kinesis/gateway/v1/common_pb.ts";
import {
  type CreateStreamRequest,
  type DeleteStreamRequest,
  type DescribeLimitsResponseSchema,
  type DescribeStreamRequest,
  type ListShardsRequest,
  type ListShardsResponseSchema,
  type ListStreamsRequest,
  type ListStreamsResponseSchema,
  type StreamDescriptionSchema,
  type StreamDescriptionSummarySchema,
  StreamMode,
  StreamStatus,
} from "../../gen/kinesis/gateway/v1/stream_pb.ts";
import type * as kinesis from "../../kinesis/types.ts";
import type { ProtoMapping } from "../unary.ts";
import { enumFromProto, optional, optionalCount, streamRefFromProto } from "./common.ts";
import { shardFilterFromProto } from "./resharding.ts";
import { enhancedMonitoringToProto } from "./stream-settings.ts";

export const streamModes: Readonly<Record<number, kinesis.StreamMode>> = {
  [StreamMode.PROVISIONED]: "PROVISIONED",
  [StreamMode.ON_DEMAND]: "ON_DEMAND",
};

export function createStreamInputFromProto(req: CreateStreamRequest): kinesis.CreateStreamInput {
  const mode = req.streamModeDetails?.streamMode ?? StreamMode.UNSPECIFIED;
  return {
    streamName: req.streamName,
    shardCount: optionalCount(req.shardCount),
    // Unset means provisioned, the proto's documented default.
    streamMode: enumFromProto(mode, streamModes) ?? "PROVISIONED",
    tags: req.tags,
    kmsKeyId: optional(req.kmsKeyId),
    warmThroughputMiBps: req.warmThroughputMibps,
    maxRecordSizeInKiB: optionalCount(req.maxRecordSizeInKib),
  };
}

export function deleteStreamInputFromProto(req: DeleteStreamRequest): kinesis.DeleteStreamInput {
  return { ...streamRefFromProto(req), enforceConsumerDeletion: req.enforceConsumerDeletion };
}

export function listStreamsInputFromProto(req: ListStreamsRequest): kinesis.ListStreamsInput {
  return {
    limit: optionalCount(req.limit),
    exclusiveStartStreamName: optional(req.exclusiveStartStreamName),
    nextToken: optional(req.nextToken),
  };
}

export function listShardsInputFromProto(req: ListShardsRequest): kinesis.ListShardsInput {
  return {
    ...streamRefFromProto(req),
    nextToken: optional(req.nextToken),
    exclusiveStartShardId: optional(req.exclusiveStartShardId),
    maxResults: optionalCount(req.maxResults),
    shardFilter: req.shardFilter === undefined ? undefined : shardFilterFromProto(req.shardFilter),
  };
}

const streamModeDetails = (mode: kinesis.StreamMode) => ({ streamMode: StreamMode[mode] });

export function listStreamsResponseToProto(
  out: kinesis.ListStreamsOutput,
): MessageInitShape<typeof ListStreamsResponseSchema> {
  return {
    streamNames: out.streamNames,
    hasMoreStreams: out.hasMoreStreams,
    nextToken: out.nextToken ?? "",
    streamSummaries: out.streamSummaries.map((s) => ({
      streamName: s.streamName,
      streamArn: s.streamArn,
      streamStatus: StreamStatus[s.streamStatus],
      streamModeDetails: streamModeDetails(s.streamMode),
      streamCreationTimestamp: timestampFromDate(s.streamCreationTimestamp),
    })),
  };
}

/** What DescribeStream and DescribeStreamSummary both say of a stream. */
function describedStreamToProto(s: kinesis.StreamDescription | kinesis.StreamDescriptionSummary) {
  return {
    streamName: s.streamName,
    streamArn: s.streamArn,
    streamStatus: StreamStatus[s.streamStatus],
    streamModeDetails: streamModeDetails(s.streamMode),
    retentionPeriodHours: s.retentionPeriodHours,
    streamCreationTimestamp: timestampFromDate(s.streamCreationTimestamp),
    encryptionType: EncryptionType[s.encryptionType],
    keyId: s.keyId ?? "",
    enhancedMonitoring: enhancedMonitoringToProto(s.enhancedMonitoring),
  };
}

export function streamDescriptionSummaryToProto(
  s: kinesis.StreamDescriptionSummary,
): MessageInitShape<typeof StreamDescriptionSummarySchema> {
  return {
    ...describedStreamToProto(s),
    openShardCount: s.openShardCount,
    consumerCount: s.consumerCount,
    warmThroughput: warmThroughputToProto(s.warmThroughput),
    maxRecordSizeInKib: s.maxRecordSizeInKiB ?? 0,
  };
}

/** A stream's warm throughput (DescribeStreamSummary, UpdateStreamWarmThroughput). */
export function warmThroughputToProto(warm: kinesis.WarmThroughput | undefined) {
  return warm === undefined
    ? undefined
    : { targetMibps: warm.targetMiBps, currentMibps: warm.currentMiBps ?? 0 };
}

export function streamDescriptionToProto(
  s: kinesis.StreamDescription,
): MessageInitShape<typeof StreamDescriptionSchema> {
  return { ...describedStreamToProto(s), shards: s.shards, hasMoreShards: s.hasMoreShards };
}

export function listShardsResponseToProto(
  out: kinesis.ListShardsOutput,
): MessageInitShape<typeof ListShardsResponseSchema> {
  return { shards: out.shards, nextToken: out.nextToken ?? "" };
}

export const createStreamMapping: ProtoMapping<"CreateStream", CreateStreamRequest, object> = {
  fromProto: createStreamInputFromProto,
  toProto: () => ({}),
};

export const deleteStreamMapping: ProtoMapping<"DeleteStream", DeleteStreamRequest, object> = {
  fromProto: deleteStreamInputFromProto,
  toProto: () => ({}),
};

export const listStreamsMapping: ProtoMapping<
  "ListStreams",
  ListStreamsRequest,
  MessageInitShape<typeof ListStreamsResponseSchema>
> = { fromProto: listStreamsInputFromProto, toProto: listStreamsResponseToProto };

export const describeStreamSummaryMapping: ProtoMapping<
  "DescribeStreamSummary",
  { streamName: string; streamArn: string },
  { streamDescriptionSummary: MessageInitShape<typeof StreamDescriptionSummarySchema> }
> = {
  fromProto: streamRefFromProto,
  toProto: (summary) => ({ streamDescriptionSummary: streamDescriptionSummaryToProto(summary) }),
};

export const listShardsMapping: ProtoMapping<
  "ListShards",
  ListShardsRequest,
  MessageInitShape<typeof ListShardsResponseSchema>
> = { fromProto: listShardsInputFromProto, toProto: listShardsResponseToProto };

export const describeStreamMapping: ProtoMapping<
  "DescribeStream",
  DescribeStreamRequest,
  { streamDescription: MessageInitShape<typeof StreamDescriptionSchema> }
> = {
  fromProto: (req) => ({
    ...streamRefFromProto(req),
    limit: optionalCount(req.limit),
    exclusiveStartShardId: optional(req.exclusiveStartShardId),
  }),
  toProto: (description) => ({ streamDescription: streamDescriptionToProto(description) }),
};

export const describeLimitsMapping: ProtoMapping<
  "DescribeLimits",
  unknown,
  MessageInitShape<typeof DescribeLimitsResponseSchema>
> = { fromProto: () => ({}), toProto: (limits) => limits };
