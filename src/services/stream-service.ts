import type { ServiceImpl } from "@connectrpc/connect";
import type { Backend } from "../backends/backend.ts";
import type { StreamService } from "../gen/kinesis/gateway/v1/stream_pb.ts";
import { callContextOf } from "./call-context.ts";
import {
  createStreamInputFromProto,
  deleteStreamInputFromProto,
  listShardsInputFromProto,
  listShardsResponseToProto,
  listStreamsInputFromProto,
  listStreamsResponseToProto,
  streamDescriptionSummaryToProto,
  streamRefFromProto,
} from "./convert.ts";

export function createStreamService(backend: Backend): ServiceImpl<typeof StreamService> {
  return {
    async createStream(req, ctx) {
      const input = createStreamInputFromProto(req);
      await backend.createStream(input, callContextOf(ctx));
      return {};
    },
    async deleteStream(req, ctx) {
      const input = deleteStreamInputFromProto(req);
      await backend.deleteStream(input, callContextOf(ctx));
      return {};
    },
    async listStreams(req, ctx) {
      const input = listStreamsInputFromProto(req);
      return listStreamsResponseToProto(await backend.listStreams(input, callContextOf(ctx)));
    },
    async describeStreamSummary(req, ctx) {
      const input = streamRefFromProto(req);
      const summary = await backend.describeStreamSummary(input, callContextOf(ctx));
      return { streamDescriptionSummary: streamDescriptionSummaryToProto(summary) };
    },
    async listShards(req, ctx) {
      const input = listShardsInputFromProto(req);
      return listShardsResponseToProto(await backend.listShards(input, callContextOf(ctx)));
    },
  };
}
