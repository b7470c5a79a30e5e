/**
 * `aws-kinesis-agg` (CommonJS, v4), the KPL's aggregated record format as
 * its Node.js library writes and reads it: the reference the gateway's own
 * aggregation and de-aggregation are tested against.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import type { UserRecord } from "../../src/producer/aggregation.ts";

/** The parts of aws-kinesis-agg the tests use. */
interface KinesisAgg {
  RecordAggregator: new () => {
    addUserRecord(record: { partitionKey: string; explicitHashKey?: string; data: Buffer }): void;
    build(): { partitionKey: string; data: Buffer } | undefined;
  };
  deaggregateSync(
    record: { data: string; partitionKey: string; sequenceNumber: string },
    computeChecksums: boolean,
    callback: (error: Error | null | undefined, records?: AggUserRecord[]) => void,
  ): void;
}

export interface AggUserRecord {
  partitionKey: string;
  explicitPartitionKey?: string;
  subSequenceNumber?: number;
  /** Base64. */
  data: string;
}

const kinesisAgg = createRequire(import.meta.url)("aws-kinesis-agg") as KinesisAgg;

/** The user records of a Kinesis record's data, checksum checked, or the error aws-kinesis-agg gives. */
export function aggDeaggregate(
  data: Uint8Array,
  partitionKey = "outer",
  sequenceNumber = "1",
): { error?: Error; records: AggUserRecord[] } {
  let result: { error?: Error; records: AggUserRecord[] } | undefined;
  kinesisAgg.deaggregateSync(
    { data: Buffer.from(data).toString("base64"), partitionKey, sequenceNumber },
    true,
    (error, records) => {
      result = error ? { error, records: [] } : { records: records ?? [] };
    },
  );
  assert.ok(result, "deaggregateSync answered synchronously");
  return result;
}

/** One Kinesis record of the user records, as aws-kinesis-agg's RecordAggregator builds it. */
export function aggAggregated(records: readonly UserRecord[]): {
  partitionKey: string;
  data: Buffer;
} {
  const aggregator = new kinesisAgg.RecordAggregator();
  for (const record of records) {
    aggregator.addUserRecord({
      partitionKey: record.partitionKey,
      ...(record.explicitHashKey ? { explicitHashKey: record.explicitHashKey } : {}),
      data: Buffer.from(record.data),
    });
  }
  const built = aggregator.build();
  assert.ok(built);
  return built;
}
