/**
 * The producer's metrics, as hooks it calls: what it holds, how long records
 * wait before they first go out, batch and aggregation sizes, retries and
 * records given up on. Labels are error types only (AWS's, or the
 * producer's own), never anything a request names.
 */
import type { Meter } from "@opentelemetry/api";
import { DURATION_BUCKETS_SECONDS } from "../telemetry/buckets.ts";
import type { ProducerHooks } from "./producer.ts";

export function createProducerMetrics(
  meter: Meter,
  held: { readonly records: () => number; readonly bytes: () => number },
): ProducerHooks & { stop(): void } {
  const buffered = meter.createObservableUpDownCounter("kinesis_gateway.producer.buffered", {
    description: "Records the producer holds (waiting, in flight, awaiting a retry)",
    unit: "{record}",
  });
  const bufferedBytes = meter.createObservableUpDownCounter(
    "kinesis_gateway.producer.buffered.size",
    { description: "Bytes the producer's records hold, by its own accounting", unit: "By" },
  );
  const observeRecords = (result: { observe(value: number): void }) =>
    result.observe(held.records());
  const observeBytes = (result: { observe(value: number): void }) => result.observe(held.bytes());
  buffered.addCallback(observeRecords);
  bufferedBytes.addCallback(observeBytes);
  const waited = meter.createHistogram("kinesis_gateway.producer.buffer.duration", {
    description: "Time the longest-waiting new record of each batch waited before it went out",
    unit: "s",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS },
  });
  const batchSize = meter.createHistogram("kinesis_gateway.producer.batch.size", {
    description: "Kinesis records per PutRecords call the producer makes",
    unit: "{record}",
    advice: { explicitBucketBoundaries: [1, 2, 5, 10, 25, 50, 100, 250, 500] },
  });
  const aggregationSize = meter.createHistogram("kinesis_gateway.producer.aggregation.size", {
    description: "User records per aggregated record",
    unit: "{record}",
    advice: { explicitBucketBoundaries: [2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000] },
  });
  const retried = meter.createCounter("kinesis_gateway.producer.retries", {
    description: "Records sent again after a retryable failure, by its error type",
    unit: "{record}",
  });
  const gaveUp = meter.createCounter("kinesis_gateway.producer.given_up", {
    description:
      "Records not written, by why (RecordExpired, PrecedingRecordFailed, AWS's error types…)",
    unit: "{record}",
  });
  return {
    firstSent: (waitedMs) => waited.record(waitedMs / 1000),
    batch: (records) => batchSize.record(records),
    aggregated: (records) => aggregationSize.record(records),
    retried: (records, errorType) => retried.add(records, { "error.type": errorType }),
    gaveUp: (errorCode) => gaveUp.add(1, { "error.type": errorCode }),
    stop() {
      buffered.removeCallback(observeRecords);
      bufferedBytes.removeCallback(observeBytes);
    },
  };
}
