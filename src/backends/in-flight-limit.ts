/**
 * Backpressure: a bound on the records and bytes that writes hold in flight
 * in this process. A write that would pass it is refused at once with
 * `overloaded` (RESOURCE_EXHAUSTED), so a slow upstream makes callers back
 * off instead of making the gateway queue without limit. Every operation
 * whose entry says it writes records is bounded.
 */
import { GatewayError } from "../kinesis/errors.ts";
import type { PutRecordsRequestEntry } from "../kinesis/types.ts";
import { recordBytes } from "../kinesis/validation.ts";
import { type Backend, backendOf } from "./backend.ts";

export interface InFlightLimits {
  /** Most records in flight at once. */
  maxRecords: number;
  /** Most bytes of data and partition keys in flight at once. */
  maxBytes: number;
}

export interface InFlightGauge {
  readonly records: number;
  readonly bytes: number;
}

const sizeOf = (entries: readonly PutRecordsRequestEntry[]) =>
  entries.reduce((sum, e) => sum + recordBytes(e), 0);

export function withInFlightLimit(
  backend: Backend,
  limits: InFlightLimits,
): Backend & { readonly inFlight: InFlightGauge } {
  const inFlight = { records: 0, bytes: 0 };

  async function admitted<T>(records: number, bytes: number, work: () => Promise<T>): Promise<T> {
    // One write is always admitted when nothing else is in flight, however large.
    const busy = inFlight.records > 0;
    if (
      busy &&
      (inFlight.records + records > limits.maxRecords || inFlight.bytes + bytes > limits.maxBytes)
    ) {
      throw new GatewayError(
        "overloaded",
        `The gateway has ${inFlight.records} records (${inFlight.bytes} bytes) in flight, its limit; retry after a backoff.`,
      );
    }
    inFlight.records += records;
    inFlight.bytes += bytes;
    try {
      return await work();
    } finally {
      inFlight.records -= records;
      inFlight.bytes -= bytes;
    }
  }

  const bounded = backendOf((operation, input, call) => {
    const writes = operation.writes;
    if (writes === undefined) return backend.call(operation, input, call);
    const records = writes.records(input);
    return admitted(records.length, sizeOf(records), () => backend.call(operation, input, call));
  });
  return { ...bounded, inFlight };
}
