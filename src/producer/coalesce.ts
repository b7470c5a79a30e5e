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
 *
 * For streams that also aggregate (`--aggregate`), a batch's records are
 * packed per predicted shard into aggregated records (`pack.ts`): each
 * caller's record is answered with its aggregated record's shard and
 * sequence number, or its failure (an aggregated record is written or
 * throttled whole).
 *
 * Records wait for room in the producer's buffer budget before they join a
 * batch; a caller that finds none before its deadline (or `waitMs`) is
 * answered RESOURCE_EXHAUSTED, and nothing is written for it.
 */

import {
  assertCallerWaiting,
  type Backend,
  backendOf,
  type CallContext,
  type Dispatch,
} from "../backends/backend.ts";
import { matchesAny } from "../backends/glob.ts";
import { KinesisError } from "../kinesis/errors.ts";
import { MAX_PUT_RECORDS_BYTES, MAX_RECORDS_PER_PUT } from "../kinesis/limits.ts";
import type {
  PutRecordInput,
  PutRecordOutput,
  PutRecordsInput,
  PutRecordsOutput,
  PutRecordsRequestEntry,
  PutRecordsResultEntry,
} from "../kinesis/types.ts";
import { recordBytes } from "../kinesis/validation.ts";
import { KPL_AGGREGATION_MAX_BYTES } from "./aggregation.ts";
import { type BufferBudget, RECORD_OVERHEAD_BYTES } from "./buffer-budget.ts";
import { packByShard } from "./pack.ts";
import type { ShardMaps } from "./shard-map.ts";

/** The longest wait for room in the budget, for a caller without a deadline. */
const DEFAULT_WAIT_MS = 30_000;
/**
 * A wait for room ends this long before the caller's deadline: its client
 * gives up at the deadline (DEADLINE_EXCEEDED, whatever the gateway says
 * then), so RESOURCE_EXHAUSTED must leave before it to be heard.
 */
const ANSWER_MARGIN_MS = 250;

export interface CoalesceOptions {
  /** Stream name patterns (`*` globs) whose writes are coalesced. */
  readonly patterns: readonly string[];
  /** How long the first record of a batch waits for company, in milliseconds. */
  readonly lingerMs: number;
  /** Streams whose batches are packed into aggregated records (needs `shardMaps`). Default none. */
  readonly aggregates?: ((streamName: string) => boolean) | undefined;
  readonly aggregationMaxBytes?: number | undefined;
  readonly shardMaps?: ShardMaps | undefined;
  /** Room for the records waiting in batches. Default: no bound. */
  readonly budget?: BufferBudget | undefined;
  /** The longest wait for room of a caller without a deadline. Default 30 s. */
  readonly waitMs?: number | undefined;
  /** An aggregated record carries these user records (telemetry links). */
  readonly carries?:
    | ((carrier: PutRecordsRequestEntry, carried: readonly PutRecordsRequestEntry[]) => void)
    | undefined;
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
  const matches = matchesAny(options.patterns);
  const aggregates = options.aggregates ?? (() => false);
  const batches = new Map<string, Batch>();
  const nameOf = (ref: Batch["ref"]) =>
    ref.streamName || ref.streamArn?.slice(ref.streamArn.lastIndexOf("/") + 1) || "";
  const coalesces = (ref: Batch["ref"]) => {
    const name = nameOf(ref);
    return name !== "" && matches(name);
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

  /**
   * Runs `work` once the records have room in the budget, giving it back
   * when the caller is answered. Without room shortly before the caller's
   * deadline (or within `waitMs`): RESOURCE_EXHAUSTED, nothing written.
   */
  async function admitted<T>(
    ref: Batch["ref"],
    entries: readonly PutRecordsRequestEntry[],
    call: CallContext,
    work: (release: () => void) => Promise<T>,
  ): Promise<T> {
    const budget = options.budget;
    if (budget === undefined) return work(() => {});
    const stream = nameOf(ref);
    const bytes = entries.reduce(
      (sum, entry) => sum + recordBytes(entry) + RECORD_OVERHEAD_BYTES,
      0,
    );
    if (!budget.tryAcquire(stream, bytes)) {
      const waitMs = Math.min(
        options.waitMs ?? DEFAULT_WAIT_MS,
        call.deadline === undefined
          ? Number.POSITIVE_INFINITY
          : call.deadline - ANSWER_MARGIN_MS - Date.now(),
      );
      await budget.acquire(
        stream,
        bytes,
        AbortSignal.any([call.signal, AbortSignal.timeout(Math.max(0, waitMs))]),
      );
    }
    return work(() => budget.release(stream, bytes));
  }

  /**
   * Writes a batch as aggregated records packed per predicted shard, and
   * answers it as if its records had gone one by one: each with its
   * aggregated record's result.
   */
  async function putAggregated(
    ref: Batch["ref"],
    records: readonly PutRecordsRequestEntry[],
    call: CallContext,
    shardMaps: ShardMaps,
  ): Promise<PutRecordsOutput> {
    const map = await shardMaps.get(ref, call);
    const packed = packByShard(
      records,
      map,
      options.aggregationMaxBytes ?? KPL_AGGREGATION_MAX_BYTES,
    );
    for (const record of packed) {
      if (record.members.length > 1) {
        options.carries?.(
          record.entry,
          record.members.map((i) => records[i]!),
        );
      }
    }
    const output = await backend.putRecords(
      { ...ref, records: packed.map((record) => record.entry) },
      call,
    );
    const results: PutRecordsResultEntry[] = new Array(records.length);
    packed.forEach((record, k) => {
      const result = output.records[k]!;
      if (result.errorCode === undefined && result.shardId !== record.shardId) {
        shardMaps.invalidate(ref);
      }
      for (const i of record.members) results[i] = result;
    });
    return {
      ...output,
      failedRecordCount: results.filter((result) => result.errorCode).length,
      records: results,
    };
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
    const call = sharedCall(parts);
    const written =
      options.shardMaps !== undefined && aggregates(nameOf(batch.ref))
        ? putAggregated(batch.ref, records, call, options.shardMaps)
        : backend.putRecords({ ...batch.ref, records }, call);
    written
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
      const ref = refOf(request);
      if (entries !== null && coalesces(ref)) {
        return admitted(ref, entries, context, (release) =>
          new Promise((resolve, reject) => {
            enqueue(ref, {
              entries,
              bytes: entries.reduce((sum, entry) => sum + recordBytes(entry), 0),
              call: context,
              answer: (output) => resolve(output as never),
              fail: reject,
              alone: () => backend.call(operation, input, context).then(resolve, reject),
            });
          }).finally(release),
        ) as never;
      }
    } else if (operation.name === "PutRecord") {
      const request = input as PutRecordInput;
      const ref = refOf(request);
      if (coalesces(ref)) {
        // The input itself, an entry already: the record keeps its identity (its creation
        // span's link from the shared call's send span). Its other members are not sent.
        const entry: PutRecordsRequestEntry = request;
        return admitted(ref, [entry], context, (release) =>
          new Promise((resolve, reject) => {
            enqueue(ref, {
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
          }).finally(release),
        ) as never;
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
