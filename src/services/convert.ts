/**
 * Protobuf messages ⇄ Kinesis domain shapes, one `ProtoMapping` per
 * operation (at the end), which `unary.ts` serves. In proto3 an unset string
 * is empty, so empty optional strings and zero counts become `undefined` here.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { EncryptionType } from "../gen/kinesis/gateway/v1/common_pb.ts";
import {
  type GetShardIteratorRequest,
  type GetShardIteratorResponseSchema,
  ShardIteratorType,
  type StartingPosition,
} from "../gen/kinesis/gateway/v1/consumer_pb.ts";
import type {
  PutRecordRequest,
  PutRecordResponseSchema,
  PutRecordsRequest,
  PutRecordsResponse,
  PutRecordsResultEntry,
  TraceContext,
} from "../gen/kinesis/gateway/v1/producer_pb.ts";
import {
  type CreateStreamRequest,
  type DeleteStreamRequest,
  type ListShardsRequest,
  type ListShardsResponseSchema,
  type ListStreamsRequest,
  type ListStreamsResponseSchema,
  type ListTagsForResourceRequest,
  type ListTagsForResourceResponseSchema,
  type StreamDescriptionSummarySchema,
  StreamMode,
  StreamStatus,
} from "../gen/kinesis/gateway/v1/stream_pb.ts";
import type * as kinesis from "../kinesis/types.ts";
import type { ProtoMapping } from "./unary.ts";

const optional = (value: string): string | undefined => (value === "" ? undefined : value);
const optionalCount = (value: number): number | undefined => (value === 0 ? undefined : value);

function traceContextFromProto(tc: TraceContext | undefined): kinesis.TraceContext | undefined {
  return tc === undefined || tc.traceparent === ""
    ? undefined
    : { traceparent: tc.traceparent, tracestate: optional(tc.tracestate) };
}

export function streamRefFromProto(req: {
  streamName: string;
  streamArn: string;
}): kinesis.StreamRef {
  return { streamName: optional(req.streamName), streamArn: optional(req.streamArn) };
}

export function putRecordsInputFromProto(req: PutRecordsRequest): kinesis.PutRecordsInput {
  return {
    streamName: optional(req.streamName),
    streamArn: optional(req.streamArn),
    records: req.records.map((entry) => ({
      data: entry.data,
      partitionKey: entry.partitionKey,
      explicitHashKey: optional(entry.explicitHashKey),
      traceContext: traceContextFromProto(entry.traceContext),
    })),
  };
}

/**
 * The answer as a finished message, every field set: Connect then encodes it
 * as it is, instead of walking 500 entries through `create()` first.
 */
export function putRecordsResponseToProto(out: kinesis.PutRecordsOutput): PutRecordsResponse {
  return {
    $typeName: "kinesis.gateway.v1.PutRecordsResponse",
    failedRecordCount: out.failedRecordCount,
    records: out.records.map(
      (r): PutRecordsResultEntry => ({
        $typeName: "kinesis.gateway.v1.PutRecordsResultEntry",
        sequenceNumber: r.sequenceNumber ?? "",
        shardId: r.shardId ?? "",
        errorCode: r.errorCode ?? "",
        errorMessage: r.errorMessage ?? "",
      }),
    ),
    encryptionType: EncryptionType[out.encryptionType],
  };
}

export function putRecordInputFromProto(req: PutRecordRequest): kinesis.PutRecordInput {
  return {
    streamName: optional(req.streamName),
    streamArn: optional(req.streamArn),
    data: req.data,
    partitionKey: req.partitionKey,
    explicitHashKey: optional(req.explicitHashKey),
    sequenceNumberForOrdering: optional(req.sequenceNumberForOrdering),
    traceContext: traceContextFromProto(req.traceContext),
  };
}

export function putRecordResponseToProto(
  out: kinesis.PutRecordOutput,
): MessageInitShape<typeof PutRecordResponseSchema> {
  return {
    shardId: out.shardId,
    sequenceNumber: out.sequenceNumber,
    encryptionType: EncryptionType[out.encryptionType],
  };
}

/**
 * A proto enum value as the domain's string, undefined when unset (0). A
 * number the enum does not name (proto3 enums are open, so a client may send
 * any) passes as its decimal text, which no enum value set holds: validation
 * then refuses it with AWS's text, naming the number as the value sent.
 */
export function enumFromProto<T extends string>(
  value: number,
  names: Readonly<Record<number, T>>,
): T | undefined {
  if (value === 0) return undefined;
  return names[value] ?? (String(value) as T);
}

const streamModes: Readonly<Record<number, kinesis.StreamMode>> = {
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

export function streamDescriptionSummaryToProto(
  s: kinesis.StreamDescriptionSummary,
): MessageInitShape<typeof StreamDescriptionSummarySchema> {
  return {
    streamName: s.streamName,
    streamArn: s.streamArn,
    streamStatus: StreamStatus[s.streamStatus],
    streamModeDetails: streamModeDetails(s.streamMode),
    retentionPeriodHours: s.retentionPeriodHours,
    streamCreationTimestamp: timestampFromDate(s.streamCreationTimestamp),
    encryptionType: EncryptionType[s.encryptionType],
    keyId: s.keyId ?? "",
    openShardCount: s.openShardCount,
    consumerCount: s.consumerCount,
  };
}

export function listShardsResponseToProto(
  out: kinesis.ListShardsOutput,
): MessageInitShape<typeof ListShardsResponseSchema> {
  return { shards: out.shards, nextToken: out.nextToken ?? "" };
}

export const putRecordsMapping: ProtoMapping<"PutRecords", PutRecordsRequest, PutRecordsResponse> =
  { fromProto: putRecordsInputFromProto, toProto: putRecordsResponseToProto };

export const putRecordMapping: ProtoMapping<
  "PutRecord",
  PutRecordRequest,
  MessageInitShape<typeof PutRecordResponseSchema>
> = { fromProto: putRecordInputFromProto, toProto: putRecordResponseToProto };

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

export const listTagsForResourceMapping: ProtoMapping<
  "ListTagsForResource",
  ListTagsForResourceRequest,
  MessageInitShape<typeof ListTagsForResourceResponseSchema>
> = {
  // Unset is null, as from a wire client that sent none: validation names it.
  fromProto: (req) => ({ resourceArn: req.resourceArn === "" ? null : req.resourceArn }),
  toProto: (out) => ({ tags: out.tags }),
};

const iteratorTypes: Readonly<Record<number, kinesis.ShardIteratorType>> = {
  [ShardIteratorType.AT_SEQUENCE_NUMBER]: "AT_SEQUENCE_NUMBER",
  [ShardIteratorType.AFTER_SEQUENCE_NUMBER]: "AFTER_SEQUENCE_NUMBER",
  [ShardIteratorType.TRIM_HORIZON]: "TRIM_HORIZON",
  [ShardIteratorType.LATEST]: "LATEST",
  [ShardIteratorType.AT_TIMESTAMP]: "AT_TIMESTAMP",
};

/** GetShardIterator's input from a stream, a shard and a starting position (SubscribeToShard's too). */
export function iteratorInput(
  ref: { streamName: string; streamArn: string },
  shardId: string,
  position: Pick<StartingPosition, "type" | "sequenceNumber" | "timestamp">,
): kinesis.GetShardIteratorInput {
  return {
    ...streamRefFromProto(ref),
    shardId,
    // Unset is null, as from a wire client that sent none: validation names it.
    shardIteratorType: iteratorTypes[position.type] ?? null,
    startingSequenceNumber: position.sequenceNumber === "" ? undefined : position.sequenceNumber,
    timestamp: position.timestamp === undefined ? undefined : timestampDate(position.timestamp),
  };
}

export const getShardIteratorMapping: ProtoMapping<
  "GetShardIterator",
  GetShardIteratorRequest,
  MessageInitShape<typeof GetShardIteratorResponseSchema>
> = {
  fromProto: (req) =>
    iteratorInput(req, req.shardId, {
      type: req.shardIteratorType,
      sequenceNumber: req.startingSequenceNumber,
      timestamp: req.timestamp,
    }),
  toProto: (out) => out,
};
