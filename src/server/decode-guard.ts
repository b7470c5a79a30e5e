/**
 * RPC bodies that would cost far more to decode than any request does are
 * refused before a decoder sees them, on every protocol: a JSON body with
 * more than `MAX_DECODED_CONTAINERS` objects and arrays (`JSON.parse` would
 * build every one of them), and a `PutRecords` with more than
 * `MAX_DECODED_RECORDS` entries (counted from its bytes, refused with AWS's
 * ValidationException as `validation.ts` words it). A few megabytes can hold
 * millions of either, and decoding them costs a hundred times their size
 * (measured: 6 MB of empty entries through gRPC-Web, +515 MiB resident).
 * Binary Protobuf needs no count but for PutRecords: unknown fields are
 * skipped, and every other request message is small (`REQUEST_MAX_BYTES`).
 *
 * A message larger than its method takes is refused here too, before Connect
 * would refuse it in words about its own settings: RESOURCE_EXHAUSTED with
 * the size, the limit and a `KinesisErrorDetail` of type
 * `RequestEntityTooLarge`, as the wire API's 413.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { Code, type ConnectError } from "@connectrpc/connect";
import { KinesisError } from "../kinesis/errors.ts";
import { assertRecordCountDecodable, MAX_DECODED_RECORDS } from "../kinesis/validation.ts";
import { kinesisConnectError } from "../services/error-budget.ts";
import { kinesisErrorToConnectError } from "../services/errors.ts";
import { countPutRecordsEntries, countPutRecordsEntriesIn } from "../services/put-records-codec.ts";
import {
  countJsonArrayMember,
  jsonHasMoreContainers,
  MAX_DECODED_CONTAINERS,
  tooManyContainers,
} from "../wire/record-count.ts";

const ENVELOPE_HEADER_BYTES = 5;
const COMPRESSED_FLAG = 0x01;
/**
 * The most of an oversized HTTP/1.1 body read (and dropped) before it is
 * refused: about a 5 MiB PutRecords in JSON, the largest most clients send.
 * A larger body is refused without being read (its connection closes).
 */
const DRAINED_MAX_BYTES = 8 * 1024 * 1024;
/** How long that may take: a body trickled at the minimum rate is not waited for. */
const DRAINED_MAX_MS = 5_000;

type Decompress = (bytes: Uint8Array, options: { maxOutputLength: number }) => Buffer;
const decompressors: Readonly<Record<string, Decompress>> = {
  gzip: gunzipSync,
  br: brotliDecompressSync,
  deflate: inflateSync,
};

export interface DecodeGuardOptions {
  contentType: string;
  /** The request's `grpc-encoding` or `content-encoding`. */
  encoding: string | undefined;
  /** The largest request message the method takes, decompressed. */
  readMaxBytes: number;
  /** The method, as the refusal names it: `package.Service/Method`. */
  method: string;
  /** The request's `content-length`, if it has one. */
  declaredLength?: number | undefined;
  /**
   * Whether the body holds `PutRecordsRequest`s or `ProduceRequest`s (their
   * records are field 3 alike), whose entries are counted.
   */
  putRecords: boolean;
  /**
   * Whether every message of the body is checked, not only the first: a
   * request stream for the call's lifetime (`Produce`).
   */
  everyMessage?: boolean | undefined;
  /**
   * Whether the rest of an oversized body is read before it is refused:
   * HTTP/1.1, whose client would otherwise see its connection closed. HTTP/2
   * resets the stream after the answer, which every client reads.
   */
  drainRefused: boolean;
}

/** The body, its first message looked at before a decoder sees it. */
export function refusingCostlyBodies(
  body: AsyncIterable<Uint8Array>,
  options: DecodeGuardOptions,
): AsyncIterable<Uint8Array> {
  const json = /json/i.test(options.contentType);
  return options.everyMessage ? guardedEach(body, options, json) : guarded(body, options, json);
}

/**
 * An enveloped stream whose every message is checked before the decoder
 * sees it. Binary messages are checked where they lie, in the frames they
 * came in (joining them would copy every byte once more than the decoder
 * does); a compressed or JSON message is joined to be read.
 */
async function* guardedEach(
  body: AsyncIterable<Uint8Array>,
  options: DecodeGuardOptions,
  json: boolean,
): AsyncIterable<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  let held: Uint8Array[] = [];
  let size = 0;
  /** Reads until `bytes` are held; false when the body ends first. */
  const fill = async (bytes: number) => {
    while (size < bytes) {
      const result = await it.next();
      if (result.done) return false;
      held.push(result.value);
      size += result.value.byteLength;
    }
    return true;
  };
  /** Byte `index` of what is held. */
  const at = (index: number) => {
    let rest = index;
    for (const chunk of held) {
      if (rest < chunk.byteLength) return chunk[rest]!;
      rest -= chunk.byteLength;
    }
    throw new RangeError("not held");
  };
  /** The first `bytes` held, handed on as they lie; the rest stays held. */
  function* taken(bytes: number): Generator<Uint8Array> {
    let rest = bytes;
    while (rest > 0) {
      const chunk = held[0]!;
      if (chunk.byteLength <= rest) {
        held.shift();
        rest -= chunk.byteLength;
        yield chunk;
      } else {
        held[0] = chunk.subarray(rest);
        yield chunk.subarray(0, rest);
        rest = 0;
      }
    }
    size -= bytes;
  }
  for (;;) {
    if (!(await fill(ENVELOPE_HEADER_BYTES))) break;
    const length = ((at(1) << 24) | (at(2) << 16) | (at(3) << 8) | at(4)) >>> 0;
    if (length > options.readMaxBytes) {
      throw await refused(it, tooLarge(length, options), 0);
    }
    const needed = ENVELOPE_HEADER_BYTES + length;
    if (!(await fill(needed))) break;
    const compressed = (at(0) & COMPRESSED_FLAG) !== 0;
    if (json || compressed || !options.putRecords) {
      if (held.length > 1) held = [Buffer.concat(held, size)];
      check(held[0]!.subarray(ENVELOPE_HEADER_BYTES, needed), compressed, json, options);
    } else {
      assertProduceRecordCount(countPutRecordsEntriesIn(held, ENVELOPE_HEADER_BYTES, needed));
    }
    yield* taken(needed);
  }
  // A body cut inside a message: the decoder says what is wrong with it.
  yield* held;
}

/** The body, unchanged, unless its first message is too large or would cost too much to decode. */
async function* guarded(
  body: AsyncIterable<Uint8Array>,
  options: DecodeGuardOptions,
  json: boolean,
): AsyncIterable<Uint8Array> {
  // gRPC, gRPC-Web and Connect's streaming calls frame their messages; Connect's unary calls do not.
  const enveloped = /^application\/(grpc|connect\+)/i.test(options.contentType);
  const limit = options.readMaxBytes;
  const declared = options.declaredLength;
  const it = body[Symbol.asyncIterator]();
  if (!enveloped && declared !== undefined && declared > limit) {
    throw await refused(it, tooLarge(declared, options), options.drainRefused ? declared : 0);
  }
  const held: Uint8Array[] = [];
  let size = 0;
  let needed = enveloped ? ENVELOPE_HEADER_BYTES : Number.POSITIVE_INFINITY;
  let ended = false;
  while (size < needed) {
    const result = await it.next();
    if (result.done) {
      ended = true;
      break;
    }
    held.push(result.value);
    size += result.value.byteLength;
    if (enveloped && needed === ENVELOPE_HEADER_BYTES && size >= ENVELOPE_HEADER_BYTES) {
      const length = Buffer.concat(held, ENVELOPE_HEADER_BYTES).readUInt32BE(1);
      if (length > limit) {
        const left = ENVELOPE_HEADER_BYTES + length - size;
        throw await refused(it, tooLarge(length, options), options.drainRefused ? left : 0);
      }
      needed = ENVELOPE_HEADER_BYTES + length;
    }
    if (!enveloped && size > limit) {
      const error = tooLarge(declared ?? size, options, declared === undefined);
      const left = options.drainRefused ? (declared ?? Number.POSITIVE_INFINITY) - size : 0;
      throw await refused(it, error, left);
    }
  }
  const whole = enveloped ? size >= needed : ended;
  if (whole) {
    // One buffer, handed on as the body's first chunk: the decoders join the chunks anyway.
    const bytes = held.length === 1 ? held[0]! : Buffer.concat(held, size);
    const message = enveloped ? bytes.subarray(ENVELOPE_HEADER_BYTES, needed) : bytes;
    const compressed = enveloped
      ? (bytes[0]! & COMPRESSED_FLAG) !== 0
      : options.encoding !== undefined && options.encoding !== "identity";
    check(message, compressed, json, options);
    yield bytes;
  } else {
    yield* held;
  }
  if (ended) return;
  for (let result = await it.next(); !result.done; result = await it.next()) yield result.value;
}

/**
 * `error`, once the `left` bytes still to come (Infinity: unknown) are read
 * and dropped, if they end within {@link DRAINED_MAX_BYTES} and
 * {@link DRAINED_MAX_MS}: an HTTP/1.1 client still writing would otherwise see
 * its connection closed (EPIPE) rather than the answer.
 */
async function refused(
  it: AsyncIterator<Uint8Array>,
  error: ConnectError,
  left: number,
): Promise<ConnectError> {
  if (left <= 0 || (left > DRAINED_MAX_BYTES && Number.isFinite(left))) return error;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(resolve, DRAINED_MAX_MS, "timeout");
  });
  try {
    let dropped = 0;
    while (dropped <= DRAINED_MAX_BYTES) {
      const next = await Promise.race([it.next(), timedOut]);
      if (next === "timeout" || next.done) break;
      dropped += next.value.byteLength;
    }
  } catch {
    // The body ended otherwise (too slow, over budget, gone): the refusal stands.
  } finally {
    clearTimeout(timer);
  }
  return error;
}

/** The refusal of a message of `bytes` bytes (at least, when `atLeast`). */
function tooLarge(bytes: number, options: DecodeGuardOptions, atLeast = false): ConnectError {
  const size = atLeast ? `more than ${options.readMaxBytes}` : String(bytes);
  const why = options.method.includes("FaultService/")
    ? "Fault rule sets are kept small; no setting raises it."
    : "The limit follows from what a valid Kinesis request can hold, and no setting raises it.";
  return kinesisConnectError(
    Code.ResourceExhausted,
    "RequestEntityTooLarge",
    `The request message is ${size} bytes; ${options.method} takes messages of up to ${options.readMaxBytes} bytes. ${why}`,
  );
}

function check(
  message: Uint8Array,
  compressed: boolean,
  json: boolean,
  options: DecodeGuardOptions,
): void {
  let plain = message;
  if (compressed) {
    const decompress = decompressors[(options.encoding ?? "").toLowerCase()];
    if (decompress === undefined) return;
    try {
      plain = decompress(message, { maxOutputLength: options.readMaxBytes });
    } catch (err) {
      if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
        throw tooLarge(options.readMaxBytes, options, true);
      }
      return; // the decoder says what is wrong with it
    }
  }
  if (!json && !options.putRecords) return;
  try {
    if (options.putRecords) {
      const count = json ? countJsonArrayMember(plain, "records") : countPutRecordsEntries(plain);
      if (options.everyMessage) {
        assertProduceRecordCount(count);
        return;
      }
      assertRecordCountDecodable(count);
    }
    if (json && jsonHasMoreContainers(plain, MAX_DECODED_CONTAINERS)) throw tooManyContainers();
  } catch (err) {
    throw err instanceof KinesisError ? kinesisErrorToConnectError(err) : err;
  }
}

/** A `ProduceRequest` of more records than are decoded at once is refused on its count. */
function assertProduceRecordCount(count: number | undefined): void {
  if (count !== undefined && count > MAX_DECODED_RECORDS) {
    throw kinesisConnectError(
      Code.InvalidArgument,
      "ValidationException",
      `A ProduceRequest holds at most ${MAX_DECODED_RECORDS} records; this one holds ${count}. Nothing of it was taken.`,
    );
  }
}
