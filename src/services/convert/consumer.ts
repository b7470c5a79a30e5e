/**
 * ConsumerService's proto mappings: shard iterators (SubscribeToShard's
 * starting position too), and the registration of enhanced fan-out consumers.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type ConsumerDescriptionSchema,
  type ConsumerSchema,
  ConsumerStatus,
  type GetShardIteratorRequest,
  type GetShardIteratorResponseSchema,
  type ListStreamConsumersRequest,
  type ListStreamConsumersResponseSchema,
  type RegisterStreamConsumerRequest,
  ShardIteratorType,
  type StartingPosition,
} from "../../gen/kinesis/gateway/v1/consumer_pb.ts";
import type * as kinesis from "../../kinesis/types.ts";
import type { ProtoMapping } from "../unary.ts";
import {
  noAnswer,
  optional,
  optionalCount,
  optionalDate,
  required,
  streamRefFromProto,
} from "./common.ts";

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
    timestamp: optionalDate(position.timestamp, "timestamp"),
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

/** A consumer's fields, which a `ConsumerDescription` has too. */
function consumerToProto(c: kinesis.Consumer) {
  return {
    consumerName: c.consumerName,
    consumerArn: c.consumerArn,
    consumerStatus: ConsumerStatus[c.consumerStatus],
    consumerCreationTimestamp: timestampFromDate(c.consumerCreationTimestamp),
  };
}

export const registerStreamConsumerMapping: ProtoMapping<
  "RegisterStreamConsumer",
  RegisterStreamConsumerRequest,
  { consumer: MessageInitShape<typeof ConsumerSchema> }
> = {
  fromProto: (req) => ({
    streamArn: required(req.streamArn),
    consumerName: required(req.consumerName),
    // Tags are optional here: none is none, not an empty set sent upstream.
    tags: Object.keys(req.tags).length === 0 ? undefined : req.tags,
  }),
  toProto: (out) => ({ consumer: consumerToProto(out.consumer) }),
};

/** A consumer by its ARN, or by its stream's ARN and its name (Describe and Deregister). */
const consumerRefFromProto = (req: {
  streamArn: string;
  consumerName: string;
  consumerArn: string;
}): kinesis.ConsumerRef => ({
  streamArn: optional(req.streamArn),
  consumerName: optional(req.consumerName),
  consumerArn: optional(req.consumerArn),
});

export const deregisterStreamConsumerMapping: ProtoMapping<
  "DeregisterStreamConsumer",
  Parameters<typeof consumerRefFromProto>[0],
  object
> = { fromProto: consumerRefFromProto, toProto: noAnswer };

export const describeStreamConsumerMapping: ProtoMapping<
  "DescribeStreamConsumer",
  Parameters<typeof consumerRefFromProto>[0],
  { consumerDescription: MessageInitShape<typeof ConsumerDescriptionSchema> }
> = {
  fromProto: consumerRefFromProto,
  toProto: ({ consumerDescription: d }) => ({
    consumerDescription: { ...consumerToProto(d), streamArn: d.streamArn },
  }),
};

export const listStreamConsumersMapping: ProtoMapping<
  "ListStreamConsumers",
  ListStreamConsumersRequest,
  MessageInitShape<typeof ListStreamConsumersResponseSchema>
> = {
  fromProto: (req) => ({
    streamArn: required(req.streamArn),
    nextToken: optional(req.nextToken),
    maxResults: optionalCount(req.maxResults),
    streamCreationTimestamp: optionalDate(req.streamCreationTimestamp, "streamCreationTimestamp"),
  }),
  toProto: (out) => ({
    consumers: out.consumers.map(consumerToProto),
    nextToken: out.nextToken ?? "",
  }),
};
