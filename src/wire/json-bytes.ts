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

/** What a byte inside a string is to this reader. */
const PLAIN = 0;
const END = 1;
const LEFT_TO_JSON_PARSE = 2;
/** By byte: printable ASCII is plain; escapes, control characters and non-ASCII are left to JSON.parse. */
const STRING_BYTES = Uint8Array.from({ length: 256 }, (_, byte) =>
  byte === QUOTE
    ? END
    : byte === BACKSLASH || byte < 0x20 || byte > 0x7e
      ? LEFT_TO_JSON_PARSE
      : PLAIN,
);

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
    const end = buf.length;
    while (pos < end) {
      const kind = STRING_BYTES[buf[pos]!];
      if (kind === PLAIN) {
        pos++;
      } else if (kind === END) {
        return buf.toString("latin1", start, pos++);
      } else {
        throw unsupported;
      }
    }
    throw unsupported;
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
