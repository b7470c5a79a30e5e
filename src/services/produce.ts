/**
 * `ProducerService.Produce`: a bidirectional stream of records in and acks
 * out, over the producer (`src/producer/producer.ts`).
 *
 * - Every record received gets exactly one ack: refused at once (the stream
 *   breaks a Kinesis limit or the token may not use it, the record's key
 *   does, the gateway is stopping), or the producer's outcome — a record
 *   refused for what else it holds is answered by the producer too, in its
 *   key's order.
 * - Reading and acking run side by side. A record is admitted into the buffer
 *   budget before it is taken; when the budget is full, the next message is
 *   not read, so HTTP/2 flow control holds the producer back. What a record
 *   holds is given back once its ack is written, so a client that does not
 *   read its acks is held back too.
 * - The call ends OK once the client half-closed and every record is acked.
 *   On drain the gateway stops reading, the producer sends what it holds at
 *   once, and the call ends when all it read is acked (what the producer
 *   could not write in time: `ShuttingDown`): OK if the client had
 *   half-closed, else UNAVAILABLE, since what it sent later was not read.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type {
  ProduceAck,
  ProduceRequest,
  ProduceResponse,
} from "../gen/kinesis/gateway/v1/producer_pb.ts";
import { GatewayError } from "../kinesis/errors.ts";
import { LARGEST_RECORD_BYTES } from "../kinesis/limits.ts";
import type { PutRecordsRequestEntry, PutRecordsResultEntry, StreamRef } from "../kinesis/types.ts";
import {
  recordBytes,
  streamNameOf,
  validateRecordEntry,
  validateStreamRef,
} from "../kinesis/validation.ts";
import { type BufferBudget, RECORD_OVERHEAD_BYTES } from "../producer/buffer-budget.ts";
import { describe, type Failure, type Producer, type RecordOutcome } from "../producer/producer.ts";
import { callContextOf } from "./call-context.ts";
import { optional } from "./convert/common.ts";
import { traceContextFromProto } from "./convert/producer.ts";

export interface ProduceOptions {
  readonly producer: Producer;
  readonly budget: BufferBudget;
  /**
   * The most one call's records and unwritten acks may hold of the budget,
   * so that a call whose client stops reading its acks cannot take a whole
   * stream's share from the stream's other producers. Default: no bound.
   */
  readonly maxCallBytes?: number | undefined;
  /** A record's time to live, unless the call's deadline comes sooner. */
  readonly recordTtlMs: number;
  /** Aborted when the gateway drains. */
  readonly shutdown: AbortSignal;
  /** Per-record telemetry: a create span and counts (see `record-telemetry.ts`). */
  readonly track?: (
    ref: StreamRef,
    entries: readonly PutRecordsRequestEntry[],
  ) => (index: number, result: PutRecordsResultEntry) => void;
}

/** Acks per response message: ~1.2 KiB each at most, well inside every client's 4 MiB. */
const MAX_ACKS_PER_MESSAGE = 500;
/**
 * The longest ack text, in UTF-8 bytes. AWS's texts quote what was refused (a
 * partition key, a hash key, a stream name of any length), and a message of
 * 10,000 records refused for a 1 MB stream name would otherwise ask for 10 GB
 * of acks; longer texts keep their beginning and their end.
 */
export const MAX_ACK_MESSAGE_BYTES = 1024;
/** The end of a shortened text, kept first: AWS's texts end with the constraint broken. */
const ACK_TAIL_BYTES = 400;

const SHUTTING_DOWN = "The gateway is stopping and takes no more records; nothing was written.";
/** The budget's account for records refused before they name a valid stream. */
const REFUSED = "\0refused";

export function createProduceHandler(options: ProduceOptions) {
  const { producer, budget } = options;
  const maxCallBytes = options.maxCallBytes ?? Number.POSITIVE_INFINITY;

  return async function* produce(
    requests: AsyncIterable<ProduceRequest>,
    ctx: HandlerContext,
  ): AsyncGenerator<ProduceResponse> {
    const call = callContextOf(ctx);
    const ready: { ack: ProduceAck; stream: string; bytes: number }[] = [];
    let outstanding = 0;
    let reading = true;
    let failure: unknown;
    let closed = false;
    let wake: (() => void) | undefined;
    const signal = () => {
      const resume = wake;
      wake = undefined;
      resume?.();
    };
    // Reading stops when the client gives up or the gateway drains.
    const stop = AbortSignal.any([ctx.signal, options.shutdown]);

    /** What this call's records and acks hold; a call may hold at most `maxCallBytes`. */
    let callBytes = 0;
    let callRoom: (() => void) | undefined;
    const release = (stream: string, bytes: number) => {
      if (bytes === 0) return;
      budget.release(stream, bytes);
      callBytes -= bytes;
      const resume = callRoom;
      callRoom = undefined;
      resume?.();
    };
    /** Waits until what this call holds leaves room for `bytes` (one record always fits). */
    const callHasRoom = async (bytes: number) => {
      while (callBytes > 0 && callBytes + bytes > maxCallBytes && !stop.aborted) {
        await new Promise<void>((resolve) => {
          const onStop = () => resolve();
          callRoom = () => {
            stop.removeEventListener("abort", onStop);
            resolve();
          };
          stop.addEventListener("abort", onStop, { once: true });
        });
      }
      return !stop.aborted;
    };

    /** Queues a record's ack; what it held is given back once the ack is written. */
    const acked = (ack: ProduceAck, stream: string, bytes: number) => {
      outstanding--;
      if (closed) {
        release(stream, bytes);
        return;
      }
      ready.push({ ack, stream, bytes });
      signal();
    };
    /** A record refused at once: its ack holds room in the budget too, until it is written. */
    const refused = (id: bigint, stream: string, bytes: number, failure: Failure) => {
      outstanding++;
      acked(ackOf(id, { errorCode: failure.code, errorMessage: failure.message }), stream, bytes);
    };
    async function take(request: ProduceRequest): Promise<void> {
      const ref: StreamRef = {
        streamName: optional(request.streamName),
        streamArn: optional(request.streamArn),
      };
      // Fitted once for all the message's records (AWS's texts quote the refused value).
      const refusal = fitted(refusalOf(ref, call.principal));
      // Refused records are held under one key of their own: no request value becomes one.
      const stream = refusal === undefined ? (streamNameOf(ref) ?? "") : REFUSED;
      let batch: {
        id: bigint;
        entry: PutRecordsRequestEntry;
        bytes: number;
        refused: Failure | undefined;
      }[] = [];
      const hand = () => {
        if (batch.length === 0) return;
        const taken = batch;
        batch = [];
        // A record's time to live runs from when the producer takes it, not from a wait for room.
        const deadline = Math.min(
          Date.now() + options.recordTtlMs,
          call.deadline ?? Number.POSITIVE_INFINITY,
        );
        const report = options.track?.(
          ref,
          taken.map((t) => t.entry),
        );
        producer.put(
          ref,
          taken.map(({ id, entry, bytes, refused }, index) => ({
            entry,
            deadline,
            label: id.toString(),
            refused,
            done: (outcome: RecordOutcome) => {
              report?.(index, resultOf(outcome));
              acked(ackOf(id, outcome), stream, bytes);
            },
          })),
        );
      };
      /**
       * Room for `bytes`, in the call's share and in the budget: at once, or
       * once the records taken so far went on and room came.
       */
      const room = async (bytes: number) => {
        if (callBytes + bytes > maxCallBytes) {
          hand();
          if (!(await callHasRoom(bytes))) return false;
        }
        if (!budget.tryAcquire(stream, bytes)) {
          hand();
          try {
            await budget.acquire(stream, bytes, stop);
          } catch {
            return false;
          }
        }
        callBytes += bytes;
        return true;
      };
      for (const record of request.records) {
        const entry: PutRecordsRequestEntry = {
          data: record.data,
          partitionKey: record.partitionKey,
          explicitHashKey: optional(record.explicitHashKey),
          traceContext: traceContextFromProto(record.traceContext),
        };
        let failure = refusal;
        if (failure === undefined) {
          try {
            // The stream was checked once for the message (`refusalOf`).
            validateRecordEntry(entry, LARGEST_RECORD_BYTES);
          } catch (err) {
            failure = fitted(describe(err));
          }
        }
        const bytes =
          RECORD_OVERHEAD_BYTES +
          (failure === undefined ? recordBytes(entry) : utf8Bytes(failure.message));
        if (stop.aborted || !(await room(bytes))) {
          refused(record.id, stream, 0, { code: "ShuttingDown", message: SHUTTING_DOWN });
        } else if (failure !== undefined && (refusal !== undefined || !hasValidKey(entry))) {
          refused(record.id, stream, bytes, failure);
        } else {
          // A refused record with a valid key is answered in its key's order, by the producer.
          outstanding++;
          batch.push({ id: record.id, entry, bytes, refused: failure });
        }
      }
      hand();
    }

    /** Whether the client half-closed: it sent nothing the gateway did not read. */
    let halfClosed = false;
    const readingDone = (async () => {
      try {
        for await (const request of requests) {
          await take(request);
          if (stop.aborted) return;
        }
        halfClosed = true;
      } catch (err) {
        failure = err;
      } finally {
        reading = false;
        signal();
      }
    })();
    // Draining: what the producer holds goes out at once.
    const onShutdown = () => signal();
    options.shutdown.addEventListener("abort", onShutdown);

    try {
      for (;;) {
        if (ready.length > 0) {
          const sent = ready.splice(0, MAX_ACKS_PER_MESSAGE);
          yield { $typeName: "kinesis.gateway.v1.ProduceResponse", acks: sent.map((s) => s.ack) };
          for (const { stream, bytes } of sent) release(stream, bytes);
          continue;
        }
        if (ctx.signal.aborted) break;
        if (!reading && outstanding === 0) break;
        // Drained: reading stopped (the iterator may still wait for a message that never comes).
        if (options.shutdown.aborted && outstanding === 0) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      closed = true;
      options.shutdown.removeEventListener("abort", onShutdown);
      for (const { stream, bytes } of ready.splice(0)) release(stream, bytes);
    }
    if (failure !== undefined && !ctx.signal.aborted && !options.shutdown.aborted) throw failure;
    if (options.shutdown.aborted && !halfClosed && !ctx.signal.aborted) {
      // Every record read is acked; what the client sent after them was not read.
      throw new ConnectError(
        "The gateway is stopping: records sent after the last one acked were not read; send them again.",
        Code.Unavailable,
      );
    }
    void readingDone;
  };
}

/** Whether the record's partition key is one Kinesis takes (1 to 256 characters): it has a key's order. */
const hasValidKey = (entry: PutRecordsRequestEntry) =>
  entry.partitionKey !== null && entry.partitionKey.length >= 1 && entry.partitionKey.length <= 256;

/** Why a request's records cannot be taken at all: a bad stream reference, or no access. */
function refusalOf(
  ref: StreamRef,
  principal: { mayUse(stream: string): boolean; restricted: boolean } | undefined,
): { code: string; message: string } | undefined {
  try {
    validateStreamRef(ref);
  } catch (err) {
    return describe(err);
  }
  const name = streamNameOf(ref);
  if (principal?.restricted && (name === undefined || !principal.mayUse(name))) {
    return describe(
      new GatewayError(
        "forbidden",
        "The caller is not allowed to perform this operation on this stream.",
      ),
    );
  }
  return undefined;
}

function ackOf(id: bigint, outcome: RecordOutcome): ProduceAck {
  return outcome.errorCode === undefined
    ? {
        $typeName: "kinesis.gateway.v1.ProduceAck",
        id,
        shardId: outcome.shardId,
        sequenceNumber: outcome.sequenceNumber,
        subSequenceNumber: BigInt(outcome.subSequenceNumber),
        errorCode: "",
        errorMessage: "",
      }
    : {
        $typeName: "kinesis.gateway.v1.ProduceAck",
        id,
        shardId: "",
        sequenceNumber: "",
        subSequenceNumber: 0n,
        errorCode: outcome.errorCode,
        errorMessage: fitAckMessage(outcome.errorMessage),
      };
}

const utf8Bytes = (text: string) => Buffer.byteLength(text, "utf8");

/**
 * `message`, well-formed, at most `MAX_ACK_MESSAGE_BYTES` of UTF-8: a longer
 * one keeps its beginning and its end, cut between characters, and says how
 * many characters it left out.
 */
export function fitAckMessage(message: string): string {
  return message.length * 3 <= MAX_ACK_MESSAGE_BYTES ? message.toWellFormed() : fitLong(message);
}

/** A refusal with its text fitted for an ack. */
const fitted = (failure: Failure | undefined): Failure | undefined =>
  failure && { code: failure.code, message: fitAckMessage(failure.message) };

function fitLong(message: string): string {
  const text = message.toWellFormed();
  if (utf8Bytes(text) <= MAX_ACK_MESSAGE_BYTES) return text;
  // The end: whole characters, from the last, up to ACK_TAIL_BYTES.
  const ends = Array.from(text.slice(-ACK_TAIL_BYTES));
  let tail = "";
  let tailBytes = 0;
  let tailCount = 0;
  // The first element may be half a surrogate pair cut by the slice: never taken (it would
  // need all ACK_TAIL_BYTES units to fit, and each takes a byte at least).
  for (let i = ends.length - 1; i > 0; i--) {
    const bytes = utf8Bytes(ends[i]!);
    if (tailBytes + bytes > ACK_TAIL_BYTES) break;
    tail = ends[i] + tail;
    tailBytes += bytes;
    tailCount++;
  }
  let total = 0;
  for (const _ of text) total++;
  const note = (left: number) => ` … [${left} characters left out] … `;
  const room = MAX_ACK_MESSAGE_BYTES - tailBytes - utf8Bytes(note(total));
  let head = "";
  let headBytes = 0;
  let headCount = 0;
  for (const character of text.slice(0, MAX_ACK_MESSAGE_BYTES)) {
    const bytes = utf8Bytes(character);
    if (headBytes + bytes > room) break;
    head += character;
    headBytes += bytes;
    headCount++;
  }
  return head + note(total - headCount - tailCount) + tail;
}

function resultOf(outcome: RecordOutcome): PutRecordsResultEntry {
  return outcome.errorCode === undefined
    ? { shardId: outcome.shardId, sequenceNumber: outcome.sequenceNumber }
    : {
        // Not only AWS's per-record codes: also the producer's own (RecordExpired…).
        errorCode: outcome.errorCode as NonNullable<PutRecordsResultEntry["errorCode"]>,
        errorMessage: outcome.errorMessage,
      };
}
