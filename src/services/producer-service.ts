import type { ServiceImpl } from "@connectrpc/connect";
import type { Backend } from "../backends/backend.ts";
import type { ProducerService } from "../gen/kinesis/gateway/v1/producer_pb.ts";
import { callContextOf } from "./call-context.ts";
import {
  putRecordInputFromProto,
  putRecordResponseToProto,
  putRecordsInputFromProto,
  putRecordsResponseToProto,
} from "./convert.ts";

export function createProducerService(backend: Backend): ServiceImpl<typeof ProducerService> {
  return {
    async putRecords(req, ctx) {
      const input = putRecordsInputFromProto(req);
      return putRecordsResponseToProto(await backend.putRecords(input, callContextOf(ctx)));
    },
    async putRecord(req, ctx) {
      const input = putRecordInputFromProto(req);
      return putRecordResponseToProto(await backend.putRecord(input, callContextOf(ctx)));
    },
  };
}
