/**
 * `ProducerService.Produce`: a bidirectional stream of records in and acks
 * out, over the producer (`src/producer/producer.ts`).
 *
 * - Every record received gets exactly one ack: refused at once (the stream
 *   or the record breaks a Kinesis limit, the token may not use the stream,
 *   the gateway is stopping), or the producer's outcome.
 * - Reading and acking run side by side. A record is admitted into the buffer
 *   budget before it is taken; when the budget is full, the next message is
 *   not read, so HTTP/2 flow control holds the producer back. What a record
 *   holds is given back once its ack is written, so a client that does not
 *   read its acks is held back too.
 * - The call ends OK once the client half-closed and every record is acked.
 *   On drain the gateway stops reading, the producer sends what it holds at
 *   once, and the call ends when all is acked (or the producer gives up on
 *   what it could not write in time: `ShuttingDown`).
 */
import type { HandlerContext } from "@connectrpc/connect";
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
  validatePutRecord,
  validateStreamRef,
} from "../kinesis/validation.ts";
import { type BufferBudget, RECORD_OVERHEAD_BYTES } from "../producer/buffer-budget.ts";
import { describe, type Producer, type RecordOutcome } from "../producer/producer.ts";
import { callContextOf } from "./call-context.ts";
import { optional } from "./convert/common.ts";
import { traceContextFromProto } from "./convert/producer.ts";

export interface ProduceOptions {
  readonly producer: Producer;
  readonly budget: BufferBudget;
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
/** The budget's account for acks of refused records, which hold no record. */
const REFUSED = "\0refused";

const SHUTTING_DOWN = "The gateway is stopping and takes no more records; nothing was written.";

export function createProduceHandler(options: ProduceOptions) {
  const { producer, budget } = options;

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

    /** Queues a record's ack; what it held is given back once the ack is written. */
    const acked = (ack: ProduceAck, stream: string, bytes: number) => {
      outstanding--;
      if (closed) {
        if (bytes > 0) budget.release(stream, bytes);
        return;
      }
      ready.push({ ack, stream, bytes });
      signal();
    };
    /** An ack at once, outside the budget: only while stopping (reading ends with the message). */
    const refuse = (id: bigint, code: string, message: string) => {
      outstanding++;
      acked(ackOf(id, { errorCode: code, errorMessage: message }), "", 0);
    };
    /**
     * A refused record's ack holds room in the budget until it is written, as
     * a taken record does: a client that sends refused records and does not
     * read their acks is held back instead of piling acks up in the gateway.
     */
    const refuseHeld = async (
      id: bigint,
      code: string,
      message: string,
      beforeWaiting?: () => void,
    ): Promise<void> => {
      const ack = ackOf(id, { errorCode: code, errorMessage: message });
      const bytes = RECORD_OVERHEAD_BYTES + Buffer.byteLength(ack.errorMessage);
      if (!budget.tryAcquire(REFUSED, bytes)) {
        // What is taken goes on first: its acks are what makes room.
        beforeWaiting?.();
        try {
          await budget.acquire(REFUSED, bytes, stop);
        } catch {
          refuse(id, "ShuttingDown", SHUTTING_DOWN);
          return;
        }
      }
      outstanding++;
      acked(ack, REFUSED, bytes);
    };

    async function take(request: ProduceRequest): Promise<void> {
      const ref: StreamRef = {
        streamName: optional(request.streamName),
        streamArn: optional(request.streamArn),
      };
      const refusal = refusalOf(ref, call.principal);
      if (refusal !== undefined) {
        for (const record of request.records) {
          if (stop.aborted) refuse(record.id, "ShuttingDown", SHUTTING_DOWN);
          else await refuseHeld(record.id, refusal.code, refusal.message);
        }
        return;
      }
      const stream = streamNameOf(ref) ?? "";
      const now = Date.now();
      const deadline = Math.min(
        now + options.recordTtlMs,
        call.deadline ?? Number.POSITIVE_INFINITY,
      );
      let batch: { id: bigint; entry: PutRecordsRequestEntry; bytes: number }[] = [];
      const hand = () => {
        if (batch.length === 0) return;
        const taken = batch;
        batch = [];
        const report = options.track?.(
          ref,
          taken.map((t) => t.entry),
        );
        producer.put(
          ref,
          taken.map(({ id, entry, bytes }, index) => ({
            entry,
            deadline,
            label: id.toString(),
            done: (outcome: RecordOutcome) => {
              report?.(index, resultOf(outcome));
              acked(ackOf(id, outcome), stream, bytes);
            },
          })),
        );
      };
      for (const record of request.records) {
        if (stop.aborted) {
          refuse(record.id, "ShuttingDown", SHUTTING_DOWN);
          continue;
        }
        const entry: PutRecordsRequestEntry = {
          data: record.data,
          partitionKey: record.partitionKey,
          explicitHashKey: optional(record.explicitHashKey),
          traceContext: traceContextFromProto(record.traceContext),
        };
        try {
          validatePutRecord({ ...ref, ...entry }, LARGEST_RECORD_BYTES);
        } catch (err) {
          const { code, message } = describe(err);
          await refuseHeld(record.id, code, message, hand);
          continue;
        }
        const bytes = recordBytes(entry) + RECORD_OVERHEAD_BYTES;
        if (!budget.tryAcquire(stream, bytes)) {
          // Full: what is taken goes on; the rest of the stream waits for room.
          hand();
          try {
            await budget.acquire(stream, bytes, stop);
          } catch {
            refuse(record.id, "ShuttingDown", SHUTTING_DOWN);
            continue;
          }
        }
        outstanding++;
        batch.push({ id: record.id, entry, bytes });
      }
      hand();
    }

    const readingDone = (async () => {
      try {
        for await (const request of requests) {
          if (stop.aborted) {
            for (const record of request.records) refuse(record.id, "ShuttingDown", SHUTTING_DOWN);
            break;
          }
          await take(request);
        }
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
          for (const { stream, bytes } of sent) if (bytes > 0) budget.release(stream, bytes);
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
      for (const { stream, bytes } of ready.splice(0)) if (bytes > 0) budget.release(stream, bytes);
    }
    if (failure !== undefined && !ctx.signal.aborted && !options.shutdown.aborted) throw failure;
    void readingDone;
  };
}

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
  if (message.length * 3 <= MAX_ACK_MESSAGE_BYTES) return message.toWellFormed();
  // A refusal of a whole message is the same text for each of its records: fitted once.
  if (message === lastFitted.message) return lastFitted.fitted;
  const fitted = fitLong(message);
  lastFitted = { message, fitted };
  return fitted;
}

let lastFitted = { message: "", fitted: "" };

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
