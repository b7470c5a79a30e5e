/**
 * A JSON reader for large wire API bodies that works on the bytes, for the
 * shape they have in practice: objects, arrays and plain ASCII strings.
 *
 * `JSON.parse` needs the body as one string, and a string of a few hundred
 * kilobytes is allocated in V8's large-object space afresh for every request
 * — measured at 2–3 ms for a 700 KB `PutRecords`, more than parsing it. Here
 * only the small strings inside are made. Anything else — numbers, literals,
 * escapes, non-ASCII text, a `__proto__` key, malformed JSON — returns
 * `undefined`, and the caller uses `JSON.parse`, which then decides. Where
 * this reader answers, its value is what `JSON.parse` gives (the tests
 * compare them).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
/** Objects and arrays nested deeper are left to `JSON.parse`. */
const MAX_DEPTH = 32;

/**
 * By byte, whether it is plain inside a string: printable ASCII but the quote
 * (which ends it, found by `indexOf`) and `\`. Escapes, control characters and
 * non-ASCII are left to JSON.parse.
 */
const PLAIN = Uint8Array.from({ length: 256 }, (_, byte) =>
  byte === QUOTE || byte === BACKSLASH || byte < 0x20 || byte > 0x7e ? 0 : 1,
);

/** Strings this long are checked four bytes at a time (`allPlain`), shorter ones byte by byte. */
const WORDS_FROM = 64;
const ONES = 0x01010101;
const HIGH_BITS = 0x80808080;

/**
 * Whether `buf[start, end)` is all plain (printable ASCII but `\`): checked a
 * 32-bit word at a time, with the bit tricks that find a byte below a value,
 * or equal to one, in every lane at once. A record's base64 runs to
 * kilobytes: byte by byte it cost 11 % of a forwarding gateway's CPU, a
 * regular expression not much less.
 */
function allPlain(buf: Buffer, start: number, end: number): boolean {
  let at = start;
  // To the first word boundary of the underlying memory, byte by byte.
  while (at < end && ((buf.byteOffset + at) & 3) !== 0) {
    if (PLAIN[buf[at]!] === 0) return false;
    at++;
  }
  const count = (end - at) >>> 2;
  const words = new Uint32Array(buf.buffer, buf.byteOffset + at, count);
  for (let i = 0; i < count; i++) {
    const word = words[i]!;
    const belowSpace = (word - 0x20 * ONES) & ~word;
    const backslash = word ^ (0x5c * ONES);
    const del = word ^ (0x7f * ONES);
    const found = belowSpace | ((backslash - ONES) & ~backslash) | ((del - ONES) & ~del) | word; // a byte from 0x80 up
    if ((found & HIGH_BITS) !== 0) return false;
  }
  for (at += count * 4; at < end; at++) {
    if (PLAIN[buf[at]!] === 0) return false;
  }
  return true;
}

/** Gives up; never escapes the reader. */
const unsupported = new Error("not for the byte reader");

export function readJsonBytes(buf: Buffer): unknown {
  let pos = 0;

  const skipSpace = () => {
    for (;;) {
      const byte = buf[pos];
      if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return;
      pos++;
    }
  };

  const string = (): string => {
    const start = ++pos; // past the opening quote
    // Found natively: a record's base64 runs to kilobytes.
    const end = buf.indexOf(QUOTE, start);
    if (end < 0) throw unsupported;
    if (end - start < WORDS_FROM) {
      for (; pos < end; pos++) if (PLAIN[buf[pos]!] === 0) throw unsupported;
    } else if (!allPlain(buf, start, end)) {
      throw unsupported;
    }
    pos = end + 1;
    return buf.toString("latin1", start, end);
  };

  const value = (depth: number): unknown => {
    skipSpace();
    const byte = buf[pos];
    if (byte === QUOTE) return string();
    if (depth >= MAX_DEPTH) throw unsupported;
    if (byte === OPEN_BRACE) return object(depth + 1);
    if (byte === OPEN_BRACKET) return array(depth + 1);
    throw unsupported;
  };

  const object = (depth: number): Record<string, unknown> => {
    pos++;
    const out: Record<string, unknown> = {};
    skipSpace();
    if (buf[pos] === CLOSE_BRACE) {
      pos++;
      return out;
    }
    for (;;) {
      skipSpace();
      if (buf[pos] !== QUOTE) throw unsupported;
      const key = string();
      if (key === "__proto__") throw unsupported;
      skipSpace();
      if (buf[pos++] !== COLON) throw unsupported;
      out[key] = value(depth);
      skipSpace();
      const next = buf[pos++];
      if (next === CLOSE_BRACE) return out;
      if (next !== COMMA) throw unsupported;
    }
  };

  const array = (depth: number): unknown[] => {
    pos++;
    const out: unknown[] = [];
    skipSpace();
    if (buf[pos] === CLOSE_BRACKET) {
      pos++;
      return out;
    }
    for (;;) {
      out.push(value(depth));
      skipSpace();
      const next = buf[pos++];
      if (next === CLOSE_BRACKET) return out;
      if (next !== COMMA) throw unsupported;
    }
  };

  try {
    const result = value(0);
    skipSpace();
    if (pos !== buf.length) return undefined;
    return result;
  } catch (err) {
    if (err === unsupported) return undefined;
    throw err;
  }
}
