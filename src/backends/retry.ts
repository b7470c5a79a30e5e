/**
 * Opt-in retry of failed records. A retry can write a record twice (Kinesis
 * may have stored a record it reported as failed), so it is off unless asked
 * for. Only records that failed with `ProvisionedThroughputExceededException`
 * or `InternalFailure` are sent again, after an exponential backoff with full
 * jitter, as long as attempts remain and the caller's deadline leaves time.
 * Results keep the request's order.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { KinesisError } from "../kinesis/errors.ts";
import type { PutRecordsInput, PutRecordsOutput, PutRecordsResultEntry } from "../kinesis/types.ts";
import type { OutputOf } from "../operations/table.ts";
import { type Backend, backendOf, type CallContext } from "./backend.ts";

export interface RetryOptions {
  /** Retries after the first attempt; 0 turns retrying off. */
  retries: number;
  /** Backoff before the first retry, doubled before each next one. Default 100 ms. */
  baseDelayMs?: number;
  /** Longest backoff. Default 2 s. */
  maxDelayMs?: number;
  /** Uniform in [0, 1); injectable for tests. Default `Math.random`. */
  random?: () => number;
  /** Called before each retry with how many records it sends (for telemetry and tests). */
  onRetry?: (attempt: number, records: number) => void;
}

const RETRYABLE = new Set(["ProvisionedThroughputExceededException", "InternalFailure"]);

/** How long to wait before retry `attempt` (1-based): full jitter over the exponential step. */
export function backoffMs(attempt: number, options: RetryOptions): number {
  const base = options.baseDelayMs ?? 100;
  const cap = options.maxDelayMs ?? 2_000;
  const step = Math.min(cap, base * 2 ** (attempt - 1));
  return Math.floor((options.random ?? Math.random)() * step);
}

/** Whether a wait of `delayMs` still leaves time before the caller's deadline. */
function leavesTime(call: CallContext, delayMs: number): boolean {
  return call.deadline === undefined || Date.now() + delayMs < call.deadline;
}

async function pause(delayMs: number, call: CallContext): Promise<boolean> {
  try {
    await sleep(delayMs, undefined, { signal: call.signal });
    return true;
  } catch {
    return false; // the caller gave up; answer with what we have
  }
}

export function withRetry(backend: Backend, options: RetryOptions): Backend {
  if (options.retries <= 0) return backend;

  /** A batch answers record by record: only its failed records are sent again. */
  async function batchWithRetries(
    input: PutRecordsInput,
    call: CallContext,
    send: (input: PutRecordsInput) => Promise<PutRecordsOutput>,
  ): Promise<PutRecordsOutput> {
    const records = input.records ?? [];
    let out = await send(input);
    const results: PutRecordsResultEntry[] = [...out.records];
    for (let attempt = 1; attempt <= options.retries; attempt++) {
      const retried = results.flatMap((r, i) =>
        r.errorCode && RETRYABLE.has(r.errorCode) ? [i] : [],
      );
      if (retried.length === 0) break;
      const delayMs = backoffMs(attempt, options);
      if (!leavesTime(call, delayMs) || !(await pause(delayMs, call))) break;
      options.onRetry?.(attempt, retried.length);
      try {
        out = await send({ ...input, records: retried.map((i) => records[i]!) });
      } catch {
        break; // the records already written stay reported as written
      }
      out.records.forEach((result, k) => {
        results[retried[k]!] = result;
      });
    }
    return {
      failedRecordCount: results.filter((r) => r.errorCode !== undefined).length,
      records: results,
      encryptionType: out.encryptionType,
    };
  }

  /** A single write fails whole: it is sent again while its error is retryable. */
  async function callWithRetries<T>(call: CallContext, send: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        const retryable = err instanceof KinesisError && RETRYABLE.has(err.type);
        if (!retryable || attempt > options.retries) throw err;
        const delayMs = backoffMs(attempt, options);
        if (!leavesTime(call, delayMs) || !(await pause(delayMs, call))) throw err;
        options.onRetry?.(attempt, 1);
      }
    }
  }

  return backendOf((operation, input, call) => {
    const writes = operation.writes;
    if (writes === undefined) return backend.call(operation, input, call);
    if (!writes.batch) return callWithRetries(call, () => backend.call(operation, input, call));
    // A batch write is PutRecords-shaped: records in, a result per record out.
    const send = (batch: PutRecordsInput) =>
      backend.call(operation, batch as typeof input, call) as Promise<PutRecordsOutput>;
    return batchWithRetries(input as PutRecordsInput, call, send) as Promise<
      OutputOf<typeof operation.name>
    >;
  });
}
