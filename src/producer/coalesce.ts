/**
 * Coalescing of unary writes (`--coalesce PATTERN`): concurrent `PutRecord`
 * and `PutRecords` calls to a matching stream are merged into shared
 * `PutRecords` calls — at most 500 records and the request byte limit each —
 * sent when full or `lingerMs` after their first record came. Each caller
 * gets exactly its own results, in its own order, as if it had called alone:
 * its slice of the shared answer, or, for `PutRecord`, its one record's
 * result or error. A service that calls `PutRecord` per event becomes a
 * batching producer without changing a line.
 *
 * What "as if alone" takes:
 * - Inputs arrive validated (the decorator sits inside validation and stream
 *   access), so a shared call can only be refused for what the stream says of
 *   a record (larger than the stream's own maximum): then each caller's
 *   records go again on their own, and each caller gets its own refusal,
 *   with its own record indexes. A refusal of the stream itself (not found,
 *   not active) is every caller's.
 * - A caller that gave up (cancelled, deadline passed) before its batch goes
 *   is answered at once and nothing is written for it; one that gives up
 *   later is not waited for, and its records are written, as for a call cut
 *   off in flight.
 * - `SequenceNumberForOrdering` is not kept: a shard's numbers always
 *   increase, and records of one caller keep their order within the batch.
 */

import {
  assertCallerWaiting,
  type Backend,
  backendOf,
  type CallContext,
  type Dispatch,
} from "../backends/backend.ts";
import { globToRegExp } from "../backends/router.ts";
import { KinesisError } from "../kinesis/errors.ts";
import { MAX_PUT_RECORDS_BYTES, MAX_RECORDS_PER_PUT } from "../kinesis/limits.ts";
import type {
  PutRecordInput,
  PutRecordOutput,
  PutRecordsInput,
  PutRecordsOutput,
  PutRecordsRequestEntry,
} from "../kinesis/types.ts";
import { recordBytes } from "../kinesis/validation.ts";

export interface CoalesceOptions {
  /** Stream name patterns (`*` globs) whose writes are coalesced. */
  readonly patterns: readonly string[];
  /** How long the first record of a batch waits for company, in milliseconds. */
  readonly lingerMs: number;
}

/** One caller's part of a batch. */
interface Part {
  readonly entries: readonly PutRecordsRequestEntry[];
  readonly bytes: number;
  readonly call: CallContext;
  /** Answers the caller from its slice of the shared answer. */
  readonly answer: (output: PutRecordsOutput) => void;
  /** Answers the caller with an error. */
  readonly fail: (error: unknown) => void;
  /** Sends the caller's call on its own, as it came, and answers it. */
  readonly alone: () => void;
}

interface Batch {
  readonly ref: Pick<PutRecordsInput, "streamName" | "streamArn">;
  readonly parts: Part[];
  records: number;
  bytes: number;
  timer: NodeJS.Timeout | undefined;
}

/** Refusals that can be one record's doing: the callers are then answered one by one. */
const RECORD_REFUSALS = new Set(["InvalidArgumentException", "ValidationException"]);

export function withCoalescing(backend: Backend, options: CoalesceOptions): Backend {
  const matchers = options.patterns.map(globToRegExp);
  const batches = new Map<string, Batch>();
  const coalesces = (
    streamName: string | null | undefined,
    streamArn: string | null | undefined,
  ) => {
    const name = streamName || streamArn?.slice(streamArn.lastIndexOf("/") + 1);
    return name !== undefined && name !== "" && matchers.some((m) => m.test(name));
  };

  function enqueue(ref: Batch["ref"], part: Part): void {
    const key = ref.streamArn || ref.streamName || "";
    let batch = batches.get(key);
    if (
      batch !== undefined &&
      (batch.records + part.entries.length > MAX_RECORDS_PER_PUT ||
        batch.bytes + part.bytes > MAX_PUT_RECORDS_BYTES)
    ) {
      send(key, batch);
      batch = undefined;
    }
    if (batch === undefined) {
      const created: Batch = { ref, parts: [], records: 0, bytes: 0, timer: undefined };
      created.timer = setTimeout(() => send(key, created), options.lingerMs);
      batches.set(key, created);
      batch = created;
    }
    batch.parts.push(part);
    batch.records += part.entries.length;
    batch.bytes += part.bytes;
    if (batch.records === MAX_RECORDS_PER_PUT) send(key, batch);
  }

  function send(key: string, batch: Batch): void {
    clearTimeout(batch.timer);
    if (batches.get(key) === batch) batches.delete(key);
    // Who gave up meanwhile is answered now, and nothing is written for it.
    const parts = batch.parts.filter((part) => {
      try {
        assertCallerWaiting(part.call);
        return true;
      } catch (error) {
        part.fail(error);
        return false;
      }
    });
    if (parts.length === 0) return;
    if (parts.length === 1) {
      parts[0]!.alone();
      return;
    }
    const records = parts.flatMap((part) => part.entries);
    backend
      .putRecords({ ...batch.ref, records }, sharedCall(parts))
      .then((output) => {
        let start = 0;
        for (const part of parts) {
          const records = output.records.slice(start, start + part.entries.length);
          start += part.entries.length;
          part.answer({
            ...output,
            failedRecordCount: records.filter((r) => r.errorCode).length,
            records,
          });
        }
      })
      .catch((error: unknown) => {
        if (error instanceof KinesisError && RECORD_REFUSALS.has(error.type)) {
          for (const part of parts) part.alone();
        } else {
          for (const part of parts) part.fail(error);
        }
      });
  }

  const call: Dispatch = (operation, input, context) => {
    if (operation.name === "PutRecords") {
      const request = input as PutRecordsInput;
      const entries = request.records;
      if (entries !== null && coalesces(request.streamName, request.streamArn)) {
        return new Promise((resolve, reject) => {
          enqueue(refOf(request), {
            entries,
            bytes: entries.reduce((sum, entry) => sum + recordBytes(entry), 0),
            call: context,
            answer: (output) => resolve(output as never),
            fail: reject,
            alone: () => backend.call(operation, input, context).then(resolve, reject),
          });
        });
      }
    } else if (operation.name === "PutRecord") {
      const request = input as PutRecordInput;
      if (coalesces(request.streamName, request.streamArn)) {
        // The input itself, an entry already: the record keeps its identity (its creation
        // span's link from the shared call's send span). Its other members are not sent.
        const entry: PutRecordsRequestEntry = request;
        return new Promise((resolve, reject) => {
          enqueue(refOf(request), {
            entries: [entry],
            bytes: recordBytes(entry),
            call: context,
            answer: (output) => {
              const [result] = output.records;
              if (result?.errorCode) {
                reject(new KinesisError(result.errorCode, result.errorMessage ?? ""));
              } else {
                const answer: PutRecordOutput = {
                  shardId: result!.shardId!,
                  sequenceNumber: result!.sequenceNumber!,
                  encryptionType: output.encryptionType,
                };
                resolve(answer as never);
              }
            },
            fail: reject,
            alone: () => backend.call(operation, input, context).then(resolve, reject),
          });
        });
      }
    }
    return backend.call(operation, input, context);
  };
  return backendOf(call);
}

function refOf(request: Pick<PutRecordsInput, "streamName" | "streamArn">): Batch["ref"] {
  const ref: { streamName?: string; streamArn?: string } = {};
  if (request.streamName) ref.streamName = request.streamName;
  if (request.streamArn) ref.streamArn = request.streamArn;
  return ref as Batch["ref"];
}

/**
 * The shared call's context: no caller's cancellation stops it (the others
 * still wait), and it may run until the last caller's deadline.
 */
function sharedCall(parts: readonly Part[]): CallContext {
  const deadlines = parts.map((part) => part.call.deadline);
  const deadline = deadlines.includes(undefined) ? undefined : Math.max(...(deadlines as number[]));
  return { signal: new AbortController().signal, deadline, principal: parts[0]!.call.principal };
}
