import type { ServiceImpl } from "@connectrpc/connect";
import type { Backend } from "../backends/backend.ts";
import type { ProducerService } from "../gen/kinesis/gateway/v1/producer_pb.ts";
import { validatePutRecord, validatePutRecords } from "../kinesis/validation.ts";
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
      validatePutRecords(input);
      return putRecordsResponseToProto(await backend.putRecords(input, callContextOf(ctx)));
    },
    async putRecord(req, ctx) {
      const input = putRecordInputFromProto(req);
      validatePutRecord(input);
      return putRecordResponseToProto(await backend.putRecord(input, callContextOf(ctx)));
    },
  };
}
