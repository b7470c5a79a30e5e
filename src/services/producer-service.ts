import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Backend } from "../backends/backend.ts";
import type { ProducerService } from "../gen/kinesis/gateway/v1/producer_pb.ts";
import { operations } from "../operations/table.ts";
import { putRecordMapping, putRecordsMapping } from "./convert.ts";
import { unary } from "./unary.ts";

export function createProducerService(backend: Backend): ServiceImpl<typeof ProducerService> {
  return {
    putRecords: unary(backend, operations.PutRecords, putRecordsMapping),
    putRecord: unary(backend, operations.PutRecord, putRecordMapping),
    // biome-ignore lint/correctness/useYield: in the making (issue 18), replaced before it resolves
    async *produce() {
      throw new ConnectError("Produce is not served yet", Code.Unimplemented);
    },
  };
}
