/**
 * The Protobuf binary codec of the `PutRecords` hot path, written for these
 * two messages only: the request is read straight into the domain shape (the
 * record data sliced from the request buffer, never copied) and the answer is
 * written straight from it into one enveloped gRPC frame.
 *
 * The generic codec (protobuf-es) stays the authority. The decoder takes the
 * shapes well-behaved encoders send and gives up (`undefined`) on anything
 * else — a wire type it does not expect, a group, invalid UTF-8, a length
 * past the end — and the caller then hands the request to the generic path,
 * which answers it exactly as before. The tests compare both codecs on valid
 * and malformed input.
 */
import type {
  EncryptionType,
  PutRecordsInput,
  PutRecordsOutput,
  PutRecordsRequestEntry,
  TraceContext,
} from "../kinesis/types.ts";

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
/** Strict like protobuf-es for proto3 strings; a leading U+FEFF is text. */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Thrown inside the decoder to give up; never escapes it. */
class Unsupported extends Error {}
const unsupported = new Unsupported();

/** A cursor over one message's bytes. */
class Reader {
  readonly buf: Uint8Array;
  readonly end: number;
  pos: number;
  constructor(buf: Uint8Array, start: number, end: number) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** A field's tag; field number 0 is invalid, and the generic decoder says so. */
  tag(): number {
    const tag = this.varint32();
    if (tag >>> 3 === 0) throw unsupported;
    return tag;
  }

  /**
   * A varint that fits 32 bits, as tags and lengths do: at most five bytes,
   * the fifth holding four bits. Longer or larger encodings, which the
   * generic decoder refuses or reads its own way, are left to it.
   */
  varint32(): number {
    let result = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw unsupported;
      const byte = this.buf[this.pos++]!;
      if (i === 4 && byte > 0x0f) throw unsupported;
      result += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return result;
    }
    throw unsupported;
  }

  /** The bounds of a length-delimited field's payload; moves past it. */
  delimited(): number {
    const length = this.varint32();
    const start = this.pos;
    if (length > this.end - start) throw unsupported;
    this.pos = start + length;
    return start;
  }

  string(): string {
    const start = this.delimited();
    return decodeString(this.buf, start, this.pos);
  }

  bytes(): Uint8Array {
    const start = this.delimited();
    return start === this.pos ? EMPTY_BYTES : this.buf.subarray(start, this.pos);
  }

  /** Skips a field this codec does not read, as the generic decoder would. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        // Up to 10 bytes: a negative int32 or any 64-bit value.
        for (let i = 0; i < 10; i++) {
          if (this.pos >= this.end) throw unsupported;
          if (this.buf[this.pos++]! < 0x80) return;
        }
        throw unsupported;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.delimited();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw unsupported; // groups and invalid wire types
    }
  }

  private advance(bytes: number): void {
    if (this.end - this.pos < bytes) throw unsupported;
    this.pos += bytes;
  }
}

/**
 * Short ASCII strings (partition keys, stream names) are built from char
 * codes, which measured faster than a decoder call; anything else goes
 * through the strict UTF-8 decoder.
 */
function decodeString(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let s = "";
    for (let i = start; i < end; i++) {
      const byte = buf[i]!;
      if (byte > 0x7f) return decodeUtf8(buf, start, end);
      s += String.fromCharCode(byte);
    }
    return s;
  }
  return decodeUtf8(buf, start, end);
}

function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    throw unsupported;
  }
}

/**
 * A `PutRecordsRequest` in domain form, or `undefined` when the bytes need
 * the generic decoder (which then either decodes them or names the problem).
 */
export function decodePutRecordsRequest(buf: Uint8Array): PutRecordsInput | undefined {
  try {
    return readRequest(new Reader(buf, 0, buf.length));
  } catch (err) {
    if (err === unsupported) return undefined;
    throw err;
  }
}

/**
 * How many `records` entries a binary `PutRecordsRequest` holds, counted
 * without decoding them (see `wire/record-count.ts` for why), or undefined
 * when the bytes are not a message this codec reads.
 */
export function countPutRecordsEntries(buf: Uint8Array): number | undefined {
  const r = new Reader(buf, 0, buf.length);
  let count = 0;
  try {
    while (r.pos < r.end) {
      const tag = r.tag();
      if (tag === ((3 << 3) | WIRE_LENGTH_DELIMITED)) count++;
      r.skip(tag & 7);
    }
    return count;
  } catch (err) {
    if (err === unsupported) return undefined;
    throw err;
  }
}

/**
 * {@link countPutRecordsEntries} of bytes `start` to `end` of the chunks
 * taken end to end — a message of a request stream, which arrives in many
 * frames — without joining them.
 */
export function countPutRecordsEntriesIn(
  chunks: readonly Uint8Array[],
  start: number,
  end: number,
): number | undefined {
  let chunk = 0;
  let offset = start;
  let left = end - start;
  const byte = (): number => {
    if (left <= 0) throw unsupported;
    while (offset >= chunks[chunk]!.length) offset -= chunks[chunk++]!.length;
    left--;
    return chunks[chunk]![offset++]!;
  };
  const advance = (bytes: number): void => {
    if (bytes > left) throw unsupported;
    left -= bytes;
    offset += bytes;
  };
  const varint32 = (): number => {
    let result = 0;
    for (let i = 0; i < 5; i++) {
      const b = byte();
      if (i === 4 && b > 0x0f) throw unsupported;
      result += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return result;
    }
    throw unsupported;
  };
  let count = 0;
  try {
    while (left > 0) {
      const tag = varint32();
      if (tag >>> 3 === 0) throw unsupported;
      switch (tag & 7) {
        case WIRE_VARINT: {
          let i = 0;
          while (byte() >= 0x80) if (++i === 10) throw unsupported;
          break;
        }
        case WIRE_FIXED64:
          advance(8);
          break;
        case WIRE_LENGTH_DELIMITED:
          if (tag === ((3 << 3) | WIRE_LENGTH_DELIMITED)) count++;
          advance(varint32());
          break;
        case WIRE_FIXED32:
          advance(4);
          break;
        default:
          throw unsupported;
      }
    }
    return count;
  } catch (err) {
    if (err === unsupported) return undefined;
    throw err;
  }
}

function readRequest(r: Reader): PutRecordsInput {
  let streamName = "";
  let streamArn = "";
  const records: PutRecordsRequestEntry[] = [];
  while (r.pos < r.end) {
    const tag = r.tag();
    const wireType = tag & 7;
    const field = tag >>> 3;
    if (field >= 1 && field <= 3 && wireType !== WIRE_LENGTH_DELIMITED) throw unsupported;
    if (field === 1) streamName = r.string();
    else if (field === 2) streamArn = r.string();
    else if (field === 3) {
      const start = r.delimited();
      records.push(readEntry(new Reader(r.buf, start, r.pos)));
    } else r.skip(wireType);
  }
  return {
    streamName: streamName === "" ? undefined : streamName,
    streamArn: streamArn === "" ? undefined : streamArn,
    records,
  };
}

function readEntry(r: Reader): PutRecordsRequestEntry {
  let data = EMPTY_BYTES;
  let partitionKey = "";
  let explicitHashKey = "";
  // A repeated message field merges: what a later occurrence sets wins.
  let traceparent: string | undefined;
  let tracestate = "";
  while (r.pos < r.end) {
    const tag = r.tag();
    const wireType = tag & 7;
    const field = tag >>> 3;
    if (field >= 1 && field <= 4 && wireType !== WIRE_LENGTH_DELIMITED) throw unsupported;
    if (field === 1) data = r.bytes();
    else if (field === 2) partitionKey = r.string();
    else if (field === 3) explicitHashKey = r.string();
    else if (field === 4) {
      const start = r.delimited();
      const tc = new Reader(r.buf, start, r.pos);
      traceparent ??= "";
      while (tc.pos < tc.end) {
        const tcTag = tc.tag();
        const tcField = tcTag >>> 3;
        if (tcField >= 1 && tcField <= 2 && (tcTag & 7) !== WIRE_LENGTH_DELIMITED) {
          throw unsupported;
        }
        if (tcField === 1) traceparent = tc.string();
        else if (tcField === 2) tracestate = tc.string();
        else tc.skip(tcTag & 7);
      }
    } else r.skip(wireType);
  }
  const entry: PutRecordsRequestEntry = { data, partitionKey };
  if (explicitHashKey !== "") entry.explicitHashKey = explicitHashKey;
  if (traceparent) entry.traceContext = traceContextOf(traceparent, tracestate);
  return entry;
}

function traceContextOf(traceparent: string, tracestate: string): TraceContext {
  return tracestate === "" ? { traceparent } : { traceparent, tracestate };
}

/** The proto enum values of `kinesis.gateway.v1.EncryptionType`. */
const ENCRYPTION_TYPE_NUMBER: Readonly<Record<EncryptionType, number>> = { NONE: 1, KMS: 2 };

/** Bytes of a varint. */
function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Bytes of a length-delimited string field, tag included (0 when empty: proto3 omits it). */
function stringFieldSize(byteLength: number): number {
  return byteLength === 0 ? 0 : 1 + varintSize(byteLength) + byteLength;
}

/**
 * The answer as one gRPC length-prefixed message (flag byte, 32-bit length,
 * then the `PutRecordsResponse` bytes), byte for byte what protobuf-es
 * writes: fields in number order, proto3 defaults left out.
 */
export function encodePutRecordsResponseEnvelope(out: PutRecordsOutput): Buffer {
  const entries = out.records;
  const count = entries.length;
  // Sizes first: lengths precede what they measure.
  const sizes = new Array<number>(count * 5);
  let bodySize = 0;
  for (let i = 0; i < count; i++) {
    const e = entries[i]!;
    const sequenceNumber = byteLengthOf(e.sequenceNumber);
    const shardId = byteLengthOf(e.shardId);
    const errorCode = byteLengthOf(e.errorCode);
    const errorMessage = byteLengthOf(e.errorMessage);
    const entrySize =
      stringFieldSize(sequenceNumber) +
      stringFieldSize(shardId) +
      stringFieldSize(errorCode) +
      stringFieldSize(errorMessage);
    sizes[i * 5] = entrySize;
    sizes[i * 5 + 1] = sequenceNumber;
    sizes[i * 5 + 2] = shardId;
    sizes[i * 5 + 3] = errorCode;
    sizes[i * 5 + 4] = errorMessage;
    bodySize += 1 + varintSize(entrySize) + entrySize;
  }
  if (out.failedRecordCount !== 0) bodySize += 1 + varintSize(out.failedRecordCount);
  const encryption = ENCRYPTION_TYPE_NUMBER[out.encryptionType];
  bodySize += 1 + varintSize(encryption);

  const buf = Buffer.allocUnsafe(5 + bodySize);
  buf[0] = 0; // not compressed
  buf.writeUInt32BE(bodySize, 1);
  let pos = 5;
  const writeVarint = (value: number) => {
    while (value >= 0x80) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    buf[pos++] = value;
  };
  const writeString = (tag: number, value: string | undefined, byteLength: number) => {
    if (byteLength === 0) return;
    buf[pos++] = tag;
    writeVarint(byteLength);
    pos += buf.write(value!, pos, byteLength, "utf8");
  };
  if (out.failedRecordCount !== 0) {
    buf[pos++] = 0x08; // field 1, varint
    writeVarint(out.failedRecordCount);
  }
  for (let i = 0; i < count; i++) {
    const e = entries[i]!;
    buf[pos++] = 0x12; // field 2, length-delimited
    writeVarint(sizes[i * 5]!);
    writeString(0x0a, e.sequenceNumber, sizes[i * 5 + 1]!);
    writeString(0x12, e.shardId, sizes[i * 5 + 2]!);
    writeString(0x1a, e.errorCode, sizes[i * 5 + 3]!);
    writeString(0x22, e.errorMessage, sizes[i * 5 + 4]!);
  }
  buf[pos++] = 0x18; // field 3, varint
  writeVarint(encryption);
  return buf;
}

function byteLengthOf(value: string | undefined): number {
  return value === undefined || value === "" ? 0 : Buffer.byteLength(value, "utf8");
}
