import type { ServiceImpl } from "@connectrpc/connect";
import type { Backend } from "../backends/backend.ts";
import type { ProducerService } from "../gen/kinesis/gateway/v1/producer_pb.ts";
import { operations } from "../operations/table.ts";
import { KPL_AGGREGATION_MAX_BYTES } from "../producer/aggregation.ts";
import { createBufferBudget } from "../producer/buffer-budget.ts";
import { createProducer } from "../producer/producer.ts";
import { createShardMaps } from "../producer/shard-map.ts";
import { putRecordMapping, putRecordsMapping } from "./convert.ts";
import { createProduceHandler, type ProduceOptions } from "./produce.ts";
import { unary } from "./unary.ts";

export function createProducerService(
  backend: Backend,
  produce: ProduceOptions = defaultProduceOptions(backend),
): ServiceImpl<typeof ProducerService> {
  return {
    putRecords: unary(backend, operations.PutRecords, putRecordsMapping),
    putRecord: unary(backend, operations.PutRecord, putRecordMapping),
    produce: createProduceHandler(produce),
  };
}

/** Without the server's settings (in-process routers, tests): the documented defaults. */
function defaultProduceOptions(backend: Backend): ProduceOptions {
  return {
    producer: createProducer({
      backend,
      shardMaps: createShardMaps(backend),
      lingerMs: 10,
      aggregates: () => false,
      aggregationMaxBytes: KPL_AGGREGATION_MAX_BYTES,
      ordered: () => true,
    }),
    budget: createBufferBudget(64 * 1024 * 1024, 32 * 1024 * 1024),
    maxCallBytes: 8 * 1024 * 1024,
    recordTtlMs: 30_000,
    shutdown: new AbortController().signal,
  };
}
