/**
 * What a body will cost to decode, told from its bytes before it is decoded:
 * how many objects and arrays a JSON or CBOR body holds, and how many entries
 * a `PutRecords` body holds. A body of a few megabytes can hold millions of
 * empty objects, and decoding each costs a hundred times its bytes.
 *
 * How many entries a `PutRecords` body holds, counted from its bytes without
 * decoding them. A body of a few megabytes can hold millions of empty
 * entries, and decoding each into an object costs a hundred times its bytes
 * (measured: 3 MB of JSON `{}` entries, +195 MiB resident); a request with
 * that many is refused on its count before it is decoded (see
 * `validation.ts`, `MAX_DECODED_RECORDS`).
 *
 * Each counter walks the document's structure, skipping every value but the
 * records list, whose items it counts. Anything it does not understand gives
 * `undefined`: the decoder then reads the body and answers as it would.
 *
 * The CBOR walk serves the decoder too: cbor-x cannot read indefinite-length
 * strings, so `withDefiniteStrings` makes a body's definite (see codec.ts).
 */

import { isUtf8 } from "node:buffer";
import { KinesisError } from "../kinesis/errors.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Gives up; never escapes a counter. */
const unreadable = new Error("not countable");

/** A CBOR argument's unsigned big-endian integer of `size` bytes (1, 2, 4 or 8) at `pos`. */
function uintAt(view: DataView, pos: number, size: number): number {
  if (size === 1) return view.getUint8(pos);
  if (size === 2) return view.getUint16(pos);
  if (size === 4) return view.getUint32(pos);
  return Number(view.getBigUint64(pos));
}

/**
 * The number of items of the top-level JSON object's array member `name`,
 * undefined when the body is not such an object or the member is absent.
 */
export function countJsonArrayMember(body: Uint8Array, name: string): number | undefined {
  let pos = 0;
  const skipSpace = () => {
    while (pos < body.length) {
      const byte = body[pos]!;
      if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return;
      pos++;
    }
  };
  const expect = (byte: number) => {
    skipSpace();
    if (body[pos++] !== byte) throw unreadable;
  };
  /** Skips a string, returning its raw bytes' bounds. */
  const skipString = (): [number, number] => {
    expect(QUOTE);
    const start = pos;
    for (; pos < body.length; pos++) {
      const byte = body[pos]!;
      if (byte === BACKSLASH) pos++;
      else if (byte === QUOTE) return [start, pos++];
    }
    throw unreadable;
  };
  /** Skips any value: nested objects and arrays by their brackets, outside strings. */
  const skipValue = () => {
    skipSpace();
    const first = body[pos];
    if (first === QUOTE) {
      skipString();
      return;
    }
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      // A number or a literal: up to the next delimiter.
      while (pos < body.length) {
        const byte = body[pos]!;
        if (byte === COMMA || byte === CLOSE_BRACE || byte === CLOSE_BRACKET) return;
        pos++;
      }
      return;
    }
    let depth = 0;
    for (; pos < body.length; pos++) {
      const byte = body[pos]!;
      if (byte === QUOTE) {
        skipString();
        pos--;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        depth++;
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (--depth === 0) {
          pos++;
          return;
        }
      }
    }
    throw unreadable;
  };
  const key = Buffer.from(name, "utf8");
  try {
    expect(OPEN_BRACE);
    skipSpace();
    if (body[pos] === CLOSE_BRACE) return undefined;
    for (;;) {
      const [start, end] = skipString();
      expect(COLON);
      if (sameKey(body.subarray(start, end), key)) {
        skipSpace();
        if (body[pos] !== OPEN_BRACKET) return undefined;
        pos++;
        skipSpace();
        if (body[pos] === CLOSE_BRACKET) return 0;
        let count = 0;
        for (;;) {
          skipValue();
          count++;
          skipSpace();
          const next = body[pos++];
          if (next === CLOSE_BRACKET) return count;
          if (next !== COMMA) return undefined;
        }
      }
      skipValue();
      skipSpace();
      const next = body[pos++];
      if (next !== COMMA) return undefined;
      skipSpace();
    }
  } catch (err) {
    if (err === unreadable) return undefined;
    throw err;
  }
}

/** Whether a JSON string's raw bytes spell `key`, escapes and all. */
function sameKey(raw: Uint8Array, key: Buffer): boolean {
  if (!raw.includes(BACKSLASH)) return raw.length === key.length && key.equals(raw);
  try {
    return JSON.parse(`"${Buffer.from(raw).toString("utf8")}"`) === key.toString("utf8");
  } catch {
    return false;
  }
}

const BREAK = 0xff;
/** Nesting past this is left to the decoder. */
const MAX_CBOR_DEPTH = 64;

/** Reads a CBOR body (RFC 8949) head by head; throws `unreadable` where it is not well-formed. */
class CborReader {
  pos: number;
  readonly #body: Uint8Array;
  readonly #view: DataView;

  constructor(body: Uint8Array, pos = 0) {
    this.#body = body;
    this.#view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.pos = pos;
  }

  /** An item's head: major type and argument; -1 for an indefinite length, -2 for a break. */
  head(): [major: number, argument: number] {
    const body = this.#body;
    if (this.pos >= body.length) throw unreadable;
    const initial = body[this.pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (info < 24) return [major, info];
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) {
      if (info === 31 && major >= 2 && major <= 5) return [major, -1];
      if (info === 31 && major === 7) return [7, -2]; // break, read by the caller
      throw unreadable;
    }
    const pos = this.pos;
    const view = this.#view;
    if (pos + size > body.length) throw unreadable;
    const value = uintAt(view, pos, size);
    this.pos += size;
    return [major, value];
  }

  /** Whether a break comes next, read if so. */
  atBreak(): boolean {
    if (this.#body[this.pos] !== BREAK) return false;
    this.pos++;
    return true;
  }

  /**
   * Past a string's content, its head read; its length in bytes. An
   * indefinite-length one is read up to its break, and each of its chunks
   * must be a definite-length string of the same major type (RFC 8949
   * §3.2.3): chunks never nest. `chunk` sees the bounds of each.
   */
  string(major: number, length: number, chunk?: (start: number, end: number) => void): number {
    if (length !== -1) {
      this.#skip(length);
      return length;
    }
    let total = 0;
    while (!this.atBreak()) {
      const [chunkMajor, chunkLength] = this.head();
      if (chunkMajor !== major || chunkLength < 0) throw unreadable;
      const start = this.pos;
      this.#skip(chunkLength);
      chunk?.(start, this.pos);
      total += chunkLength;
    }
    return total;
  }

  #skip(length: number): void {
    if (length > this.#body.length - this.pos) throw unreadable;
    this.pos += length;
  }
}

/**
 * The number of items of the top-level CBOR map's array member `name`
 * (RFC 8949), undefined when the body is not such a map or the member is absent.
 */
export function countCborArrayMember(body: Uint8Array, name: string): number | undefined {
  const cbor = new CborReader(body);
  const skip = (depth = 0): void => {
    if (depth > MAX_CBOR_DEPTH) throw unreadable;
    const [major, argument] = cbor.head();
    if (argument === -2) throw unreadable; // a break where an item belongs
    switch (major) {
      case 0:
      case 1:
      case 7:
        return;
      case 2:
      case 3:
        cbor.string(major, argument);
        return;
      case 4:
      case 5: {
        const items = major === 5 ? 2 : 1;
        if (argument === -1) {
          while (!cbor.atBreak()) for (let i = 0; i < items; i++) skip(depth + 1);
        } else {
          for (let n = 0; n < argument * items; n++) skip(depth + 1);
        }
        return;
      }
      case 6:
        skip(depth + 1); // a tag's content
        return;
    }
  };
  /** Reads a key and tells whether it is the text `expected` (in one piece or in chunks). */
  const textEquals = (expected: Buffer): boolean => {
    const start = cbor.pos;
    const [major, argument] = cbor.head();
    if (major !== 3) {
      cbor.pos = start;
      skip();
      return false;
    }
    let at = 0;
    let same = true;
    const length = cbor.string(3, argument, (from, to) => {
      same &&= expected.subarray(at, at + to - from).equals(body.subarray(from, to));
      at += to - from;
    });
    return same && length === expected.length;
  };
  const key = Buffer.from(name, "utf8");
  try {
    const [major, pairs] = cbor.head();
    if (major !== 5) return undefined;
    for (let n = 0; pairs === -1 ? !cbor.atBreak() : n < pairs; n++) {
      const isName = textEquals(key);
      if (!isName) {
        skip();
        continue;
      }
      const [valueMajor, length] = cbor.head();
      if (valueMajor !== 4) return undefined;
      if (length >= 0) return length;
      let count = 0;
      while (!cbor.atBreak()) {
        skip();
        count++;
      }
      return count;
    }
    return undefined;
  } catch (err) {
    if (err === unreadable) return undefined;
    throw err;
  }
}

/**
 * The entries of a wire API `PutRecords` body, counted where there may be
 * too many to decode: a JSON body with at most `MAX_DECODED_RECORDS` `{`
 * bytes (a search as fast as memchr) holds no more entries than that and is
 * not walked.
 */
export function countWireRecords(
  format: "json" | "cbor",
  bytes: Uint8Array,
  atMost: number,
): number | undefined {
  if (format === "cbor") return countCborArrayMember(bytes, "Records");
  let braces = 0;
  for (let at = bytes.indexOf(OPEN_BRACE); at >= 0; at = bytes.indexOf(OPEN_BRACE, at + 1)) {
    if (++braces > atMost) return countJsonArrayMember(bytes, "Records");
  }
  return undefined;
}

/**
 * The most objects and arrays (maps and arrays in CBOR) a request body may
 * hold to be decoded. A PutRecords of 10,000 entries (the most that is
 * decoded at all) holds 10,002; no other request comes near.
 */
export const MAX_DECODED_CONTAINERS = 12_000;

/** The answer to a body with more than {@link MAX_DECODED_CONTAINERS}: the wire API's type for an unreadable body. */
export function tooManyContainers(): KinesisError {
  return new KinesisError(
    "SerializationException",
    `The request body holds more than ${MAX_DECODED_CONTAINERS} objects and arrays; no Kinesis request has as many.`,
  );
}

/**
 * Whether a JSON body holds more than `atMost` objects and arrays. The
 * brackets are first counted as bytes (as fast as memchr); only a body with
 * more than `atMost` of them is walked, to leave out those inside strings.
 */
export function jsonHasMoreContainers(body: Uint8Array, atMost: number): boolean {
  let brackets = 0;
  for (const open of [OPEN_BRACE, OPEN_BRACKET]) {
    for (let at = body.indexOf(open); at >= 0; at = body.indexOf(open, at + 1)) {
      if (++brackets > atMost) return countJsonContainers(body, atMost) > atMost;
    }
  }
  return false;
}

/** Objects and arrays outside strings, counted up to `atMost + 1`. */
function countJsonContainers(body: Uint8Array, atMost: number): number {
  let count = 0;
  for (let pos = 0; pos < body.length; pos++) {
    const byte = body[pos]!;
    if (byte === QUOTE) {
      for (pos++; pos < body.length && body[pos] !== QUOTE; pos++) {
        if (body[pos] === BACKSLASH) pos++;
      }
    } else if ((byte === OPEN_BRACE || byte === OPEN_BRACKET) && ++count > atMost) {
      return count;
    }
  }
  return count;
}

/** Whether a CBOR body holds more than `atMost` maps and arrays (undefined: not well-formed). */
export function cborHasMoreContainers(body: Uint8Array, atMost: number): boolean | undefined {
  try {
    return walkCbor(body, atMost);
  } catch (err) {
    if (err === unreadable) return undefined;
    throw err;
  }
}

/**
 * Reads a CBOR body's item whole, and tells whether it holds more than
 * `atMost` maps and arrays, stopping there. `chunked` sees each
 * indefinite-length string once read: where it starts and ends, and its
 * length. Maps and arrays are followed without recursion (there may be
 * thousands nested). Heads are read inline, not by a `CborReader`: this
 * walk reads every CBOR body, and takes 21 µs on a 700 KB PutRecords against
 * 24 µs or more through one.
 */
function walkCbor(
  body: Uint8Array,
  atMost: number,
  chunked?: (major: number, start: number, end: number, length: number) => void,
): boolean {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let pos = 0;
  let containers = 0;
  /** Items still to read, per open container (-1: until a break). */
  const pending: number[] = [1];
  while (pending.length > 0) {
    const top = pending.length - 1;
    if (pending[top] === 0) {
      pending.pop();
      continue;
    }
    if (pos >= body.length) throw unreadable;
    const initial = body[pos++]!;
    if (initial === BREAK) {
      if (pending[top] !== -1) throw unreadable;
      pending.pop();
      continue;
    }
    if (pending[top]! > 0) pending[top]!--;
    const major = initial >> 5;
    const info = initial & 0x1f;
    let argument: number;
    if (info < 24) argument = info;
    else if (info === 31) argument = -1;
    else {
      const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
      if (size === 0 || pos + size > body.length) throw unreadable;
      argument = uintAt(view, pos, size);
      pos += size;
    }
    if (major === 2 || major === 3) {
      if (argument === -1) {
        const chunks = new CborReader(body, pos);
        const length = chunks.string(major, -1);
        chunked?.(major, pos - 1, chunks.pos, length);
        pos = chunks.pos;
      } else if (argument > body.length - pos) throw unreadable;
      else pos += argument;
    } else if (major === 4 || major === 5) {
      if (++containers > atMost) return true;
      pending.push(argument === -1 ? -1 : major === 5 ? argument * 2 : argument);
    } else if (major === 6) {
      pending.push(1); // a tag's content
    } else if (argument === -1) {
      throw unreadable;
    }
  }
  return false;
}

/**
 * A CBOR body with its indefinite-length strings (RFC 8949 §3.2.3) made
 * definite ones, for a decoder that reads only those; undefined when it
 * holds none or is not well-formed, a text chunk that is not UTF-8 by itself
 * included (§3.2.3: each one must be).
 */
export function withDefiniteStrings(body: Buffer): Buffer | undefined {
  // As long as the body at most: a string's chunk heads and break take at
  // least the bytes of the one head it gets instead.
  const out = Buffer.allocUnsafe(body.length);
  let copied = 0;
  let written = 0;
  try {
    walkCbor(body, Number.POSITIVE_INFINITY, (major, start, end, length) => {
      written += body.copy(out, written, copied, start);
      written += writeStringHead(out, written, major, length);
      const textStart = written;
      new CborReader(body, start + 1).string(major, -1, (from, to) => {
        if (major === 3 && from < to && (body[from]! & 0xc0) === 0x80) throw unreadable;
        written += body.copy(out, written, from, to);
      });
      // Each chunk is UTF-8 by itself if the whole is and none starts within a character.
      if (major === 3 && !isUtf8(out.subarray(textStart, written))) throw unreadable;
      copied = end;
    });
  } catch (err) {
    if (err === unreadable) return undefined;
    throw err;
  }
  if (copied === 0) return undefined;
  written += body.copy(out, written, copied);
  return out.subarray(0, written);
}

/** Writes the head of a definite-length string, as short as it goes; its size. */
function writeStringHead(out: Buffer, at: number, major: number, length: number): number {
  const type = major << 5;
  if (length < 24) return out.writeUInt8(type | length, at) - at;
  if (length < 0x100) return out.writeUInt8(length, out.writeUInt8(type | 24, at)) - at;
  if (length < 0x10000) return out.writeUInt16BE(length, out.writeUInt8(type | 25, at)) - at;
  return out.writeUInt32BE(length, out.writeUInt8(type | 26, at)) - at;
}
