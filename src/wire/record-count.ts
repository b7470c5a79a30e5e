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
 */

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

/**
 * The number of items of the top-level CBOR map's array member `name`
 * (RFC 8949), undefined when the body is not such a map or the member is absent.
 */
export function countCborArrayMember(body: Uint8Array, name: string): number | undefined {
  let pos = 0;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  /** An item's head: major type and argument; -1 for an indefinite length. */
  const head = (): [major: number, argument: number] => {
    if (pos >= body.length) throw unreadable;
    const initial = body[pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (info < 24) return [major, info];
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) {
      if (info === 31 && major >= 2 && major <= 5) return [major, -1];
      if (info === 31 && major === 7) return [7, -2]; // break, read by the caller
      throw unreadable;
    }
    if (pos + size > body.length) throw unreadable;
    const value =
      size === 1
        ? view.getUint8(pos)
        : size === 2
          ? view.getUint16(pos)
          : size === 4
            ? view.getUint32(pos)
            : Number(view.getBigUint64(pos));
    pos += size;
    return [major, value];
  };
  const atBreak = () => {
    if (body[pos] !== BREAK) return false;
    pos++;
    return true;
  };
  const skip = (depth = 0): void => {
    if (depth > MAX_CBOR_DEPTH) throw unreadable;
    const [major, argument] = head();
    if (argument === -2) throw unreadable; // a break where an item belongs
    switch (major) {
      case 0:
      case 1:
      case 7:
        return;
      case 2:
      case 3:
        if (argument === -1) {
          while (!atBreak()) skip(depth + 1);
        } else {
          if (argument > body.length - pos) throw unreadable;
          pos += argument;
        }
        return;
      case 4:
      case 5: {
        const items = major === 5 ? 2 : 1;
        if (argument === -1) {
          while (!atBreak()) for (let i = 0; i < items; i++) skip(depth + 1);
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
    const start = pos;
    const [major, length] = head();
    if (major !== 3) {
      pos = start;
      skip();
      return false;
    }
    if (length >= 0) {
      if (length > body.length - pos) throw unreadable;
      pos += length;
      return length === expected.length && expected.equals(body.subarray(pos - length, pos));
    }
    const chunks: Uint8Array[] = [];
    while (!atBreak()) {
      const [chunkMajor, chunkLength] = head();
      if (chunkMajor !== 3 || chunkLength < 0 || chunkLength > body.length - pos) {
        throw unreadable;
      }
      chunks.push(body.subarray(pos, pos + chunkLength));
      pos += chunkLength;
    }
    return expected.equals(Buffer.concat(chunks));
  };
  const key = Buffer.from(name, "utf8");
  try {
    const [major, pairs] = head();
    if (major !== 5) return undefined;
    for (let n = 0; pairs === -1 ? !atBreak() : n < pairs; n++) {
      const isName = textEquals(key);
      if (!isName) {
        skip();
        continue;
      }
      const [valueMajor, length] = head();
      if (valueMajor !== 4) return undefined;
      if (length >= 0) return length;
      let count = 0;
      while (!atBreak()) {
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
    if (pos >= body.length) return undefined;
    const initial = body[pos++]!;
    if (initial === BREAK) {
      if (pending[top] !== -1) return undefined;
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
      if (size === 0 || pos + size > body.length) return undefined;
      argument =
        size === 1
          ? view.getUint8(pos)
          : size === 2
            ? view.getUint16(pos)
            : size === 4
              ? view.getUint32(pos)
              : Number(view.getBigUint64(pos));
      pos += size;
    }
    if (major === 2 || major === 3) {
      if (argument === -1)
        pending.push(-1); // chunks until a break
      else if (argument > body.length - pos) return undefined;
      else pos += argument;
    } else if (major === 4 || major === 5) {
      if (++containers > atMost) return true;
      if (argument === -1) pending.push(-1);
      else pending.push(major === 5 ? argument * 2 : argument);
    } else if (major === 6) {
      pending.push(1); // a tag's content
    } else if (argument === -1) {
      return undefined;
    }
  }
  return false;
}
