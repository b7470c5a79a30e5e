/** ProducerService's proto mappings: PutRecords and PutRecord. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { EncryptionType } from "../../gen/kinesis/gateway/v1/common_pb.ts";
import type {
  PutRecordRequest,
  PutRecordResponseSchema,
  PutRecordsRequest,
  PutRecordsResponse,
  PutRecordsResultEntry,
  TraceContext,
} from "../../gen/kinesis/gateway/v1/producer_pb.ts";
import type * as kinesis from "../../kinesis/types.ts";
import type { ProtoMapping } from "../unary.ts";
import { optional } from "./common.ts";

export function traceContextFromProto(
  tc: TraceContext | undefined,
): kinesis.TraceContext | undefined {
  return tc === undefined || tc.traceparent === ""
    ? undefined
    : { traceparent: tc.traceparent, tracestate: optional(tc.tracestate) };
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

export const putRecordsMapping: ProtoMapping<"PutRecords", PutRecordsRequest, PutRecordsResponse> =
  { fromProto: putRecordsInputFromProto, toProto: putRecordsResponseToProto };

export const putRecordMapping: ProtoMapping<
  "PutRecord",
  PutRecordRequest,
  MessageInitShape<typeof PutRecordResponseSchema>
> = { fromProto: putRecordInputFromProto, toProto: putRecordResponseToProto };
