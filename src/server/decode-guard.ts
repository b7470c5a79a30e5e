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
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { KinesisError } from "../kinesis/errors.ts";
import { assertRecordCountDecodable } from "../kinesis/validation.ts";
import { kinesisErrorToConnectError } from "../services/errors.ts";
import { countPutRecordsEntries } from "../services/put-records-codec.ts";
import {
  countJsonArrayMember,
  jsonHasMoreContainers,
  MAX_DECODED_CONTAINERS,
  tooManyContainers,
} from "../wire/record-count.ts";

const ENVELOPE_HEADER_BYTES = 5;
const COMPRESSED_FLAG = 0x01;

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
  /** Bytes past which nothing is counted: the decoder refuses larger messages anyway. */
  readMaxBytes: number;
  /** The request's `content-length`, if it has one. */
  declaredLength?: number | undefined;
  /** Whether the body is a `PutRecordsRequest`, whose entries are counted. */
  putRecords: boolean;
}

/** The body as it came, or, when it needs a look before it is decoded, the guarded one. */
export function refusingCostlyBodies(
  body: AsyncIterable<Uint8Array>,
  options: DecodeGuardOptions,
): AsyncIterable<Uint8Array> {
  const json = /json/i.test(options.contentType);
  return json || options.putRecords ? guarded(body, options, json) : body;
}

/** The body, unchanged, unless its first message would cost too much to decode. */
async function* guarded(
  body: AsyncIterable<Uint8Array>,
  options: DecodeGuardOptions,
  json: boolean,
): AsyncIterable<Uint8Array> {
  // gRPC and gRPC-Web frame their messages (binary or JSON); Connect's unary calls do not.
  const enveloped = /^application\/grpc/i.test(options.contentType);
  const held: Uint8Array[] = [];
  let size = 0;
  let needed = enveloped ? ENVELOPE_HEADER_BYTES : Number.POSITIVE_INFINITY;
  if ((options.declaredLength ?? 0) > options.readMaxBytes) needed = 0; // refused unread
  let ended = false;
  const it = body[Symbol.asyncIterator]();
  while (size < needed && size <= options.readMaxBytes + ENVELOPE_HEADER_BYTES) {
    const result = await it.next();
    if (result.done) {
      ended = true;
      break;
    }
    held.push(result.value);
    size += result.value.byteLength;
    if (enveloped && needed === ENVELOPE_HEADER_BYTES && size >= ENVELOPE_HEADER_BYTES) {
      needed = ENVELOPE_HEADER_BYTES + Buffer.concat(held, ENVELOPE_HEADER_BYTES).readUInt32BE(1);
      // Larger than any message the decoder takes: it refuses it as soon as it knows.
      if (needed > options.readMaxBytes + ENVELOPE_HEADER_BYTES) break;
    }
  }
  const whole = enveloped ? needed > 0 && size >= needed : ended;
  if (whole && size <= options.readMaxBytes + ENVELOPE_HEADER_BYTES) {
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
    } catch {
      return; // the decoder says what is wrong with it
    }
  }
  try {
    if (options.putRecords) {
      assertRecordCountDecodable(
        json ? countJsonArrayMember(plain, "records") : countPutRecordsEntries(plain),
      );
    }
    if (json && jsonHasMoreContainers(plain, MAX_DECODED_CONTAINERS)) throw tooManyContainers();
  } catch (err) {
    throw err instanceof KinesisError ? kinesisErrorToConnectError(err) : err;
  }
}
