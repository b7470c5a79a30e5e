import type { ServiceImpl } from "@connectrpc/connect";
import type { Backend } from "../backends/backend.ts";
import type { StreamService } from "../gen/kinesis/gateway/v1/stream_pb.ts";
import { operations } from "../operations/table.ts";
import {
  createStreamMapping,
  deleteStreamMapping,
  describeStreamSummaryMapping,
  listShardsMapping,
  listStreamsMapping,
  listTagsForResourceMapping,
} from "./convert.ts";
import { unary } from "./unary.ts";

export function createStreamService(backend: Backend): ServiceImpl<typeof StreamService> {
  return {
    createStream: unary(backend, operations.CreateStream, createStreamMapping),
    deleteStream: unary(backend, operations.DeleteStream, deleteStreamMapping),
    listStreams: unary(backend, operations.ListStreams, listStreamsMapping),
    describeStreamSummary: unary(
      backend,
      operations.DescribeStreamSummary,
      describeStreamSummaryMapping,
    ),
    listShards: unary(backend, operations.ListShards, listShardsMapping),
    listTagsForResource: unary(backend, operations.ListTagsForResource, listTagsForResourceMapping),
  };
}
