/** ConsumerService's proto mappings: shard iterators (SubscribeToShard's starting position too). */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type GetShardIteratorRequest,
  type GetShardIteratorResponseSchema,
  ShardIteratorType,
  type StartingPosition,
} from "../../gen/kinesis/gateway/v1/consumer_pb.ts";
import type * as kinesis from "../../kinesis/types.ts";
import type { ProtoMapping } from "../unary.ts";
import { streamRefFromProto } from "./common.ts";

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
