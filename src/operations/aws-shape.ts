/**
 * An operation's AWS JSON shape, declared once and read both ways. The wire
 * API reads a request into the domain input and writes the domain output as
 * AWS's answer; the forward backend writes the domain input as the SDK's
 * request and reads its answer back into the domain output. So each shape is
 * a list of members — the AWS name, the domain name, the kind of value, and
 * what an absent member reads as — that one `read` and one `write` walk.
 *
 * Why not make the domain shape the AWS shape: the engine, the gRPC services
 * and every decorator speak the camelCase domain, and AWS's shapes nest where
 * the domain does not (`StreamModeDetails.StreamMode`, `EnhancedMonitoring`),
 * so that change would reach everything for no gain. Why a walker and not
 * hand-written mappings: it is written once for both directions, and it is
 * cheap enough. Measured here on a PutRecords of 500 × 1 KiB, read from JSON
 * members and answered as JSON text: 0.46–0.64 ms by hand, 0.04–0.11 ms more
 * through the walker, under 2 % of the call's CPU in the wire benchmark and
 * well inside its noise (its aws-sdk-vs-kinesalite median moved from 80.6k to
 * 78.3k records/s over five runs, with a spread of ±10 %). The gRPC
 * PutRecords fast paths never come here.
 */

/** The typed readers over a decoded structure's members; `wire/codec.ts`'s `Members` is one. */
export interface MemberReader {
  string(name: string): string | undefined;
  integer(name: string): number | undefined;
  boolean(name: string): boolean | undefined;
  timestamp(name: string): Date | undefined;
  blob(name: string): Uint8Array | undefined;
  structure(name: string): MemberReader | undefined;
  structures<T>(name: string, read: (members: MemberReader) => T): T[] | undefined;
  stringMap(name: string): Record<string, string> | undefined;
  strings(name: string): string[] | undefined;
}

type Scalar = "string" | "integer" | "boolean" | "timestamp" | "blob" | "stringMap" | "strings";

/** How one member's value is read and written, when a scalar reader is not enough. */
export interface Custom {
  read(members: MemberReader, awsName: string): unknown;
  write(value: unknown): unknown;
}

type Kind = Scalar | Shape<unknown> | { readonly list: Shape<unknown> } | Custom;

const isCustom = (kind: Kind): kind is Custom => typeof kind === "object" && "write" in kind;

interface Member {
  readonly aws: string;
  readonly domain: string;
  /** What an absent member reads as; left out of the domain object when undefined. */
  readonly absent: unknown;
  /**
   * Made once per member when the shape is declared: a walker that looked
   * at each member's kind on every record cost PutRecords a third more.
   */
  readonly readValue: (members: MemberReader) => unknown;
  readonly writeValue: (value: unknown) => unknown;
}

/** A structure's members; `T` is its domain type. */
export interface Shape<T> {
  readonly members: readonly Member[];
  /** Marks the domain type; never set. */
  readonly domain?: T;
}

/** `[domain name, kind, value when absent]`, by AWS name. */
export type MemberSpec = readonly [domain: string, kind: Kind, absent?: unknown];

function readerOf(aws: string, kind: Kind): (members: MemberReader) => unknown {
  switch (kind) {
    case "string":
      return (m) => m.string(aws);
    case "integer":
      return (m) => m.integer(aws);
    case "boolean":
      return (m) => m.boolean(aws);
    case "timestamp":
      return (m) => m.timestamp(aws);
    case "blob":
      return (m) => m.blob(aws);
    case "stringMap":
      return (m) => m.stringMap(aws);
    case "strings":
      return (m) => m.strings(aws);
  }
  if (isCustom(kind)) return (m) => kind.read(m, aws);
  if ("members" in kind) {
    return (m) => {
      const inner = m.structure(aws);
      return inner === undefined ? undefined : read(kind, inner);
    };
  }
  const readItem = (item: MemberReader) => read(kind.list, item);
  return (m) => m.structures(aws, readItem);
}

const scalar = (value: unknown) => (value === null ? undefined : value);

function writerOf(kind: Kind): (value: unknown) => unknown {
  if (typeof kind === "string") return scalar;
  if (isCustom(kind)) return kind.write;
  if ("members" in kind) return (value) => (value == null ? undefined : write(kind, value));
  const writeItem = (item: unknown) => write(kind.list, item);
  return (value) => (value == null ? undefined : (value as unknown[]).map(writeItem));
}

export function shape<T>(members: Readonly<Record<string, MemberSpec>>): Shape<T> {
  return {
    members: Object.entries(members).map(([aws, [domain, kind, absent]]) => ({
      aws,
      domain,
      absent,
      readValue: readerOf(aws, kind),
      writeValue: writerOf(kind),
    })),
  };
}

/** A list of structures of `item`'s shape. */
export const listOf = (item: Shape<unknown>) => ({ list: item });

/** The shape of an operation that takes or answers nothing: reads as undefined. */
export const nothing: Shape<undefined> = { members: [] };
/** The empty structure (DescribeLimits' request). */
export const empty: Shape<Record<never, never>> = { members: [] };

/**
 * The domain name of a member that holds the whole domain object: AWS wraps
 * some answers in one structure (`StreamDescription`) that the domain does not.
 */
export const WHOLE = ".";

/** A structure's members as the domain object. */
export function read<T>(s: Shape<T>, members: MemberReader): T {
  if (s === nothing) return undefined as T;
  const out: Record<string, unknown> = {};
  for (const m of s.members) {
    const value = m.readValue(members);
    if (m.domain === WHOLE) return (value ?? m.absent) as T;
    // Null stays null: it is how a wire request says "sent without a value".
    if (value !== undefined) out[m.domain] = value;
    else if (m.absent !== undefined) out[m.domain] = m.absent;
  }
  return out as T;
}

/**
 * A domain object as AWS's structure. Members without a value are left out
 * (as the encoders and the SDK would), which is also the cheaper way: a
 * PutRecords answer's successful entries get two members, not four.
 */
export function write<T>(s: Shape<T>, value: T): Record<string, unknown> {
  const from = (value ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const m of s.members) {
    const written = m.writeValue(m.domain === WHOLE ? from : from[m.domain]);
    if (written !== undefined) out[m.aws] = written;
  }
  return out;
}

/**
 * A member that AWS answers but nobody sends: written as nothing (the AWS
 * request id the SDK reports beside an answer, say).
 */
export const readOnly = (readValue: (members: MemberReader, aws: string) => unknown): Custom => ({
  read: readValue,
  write: () => undefined,
});

/** A member that the gateway answers but never reads (a constant AWS always sends). */
export const constant = (value: unknown): Custom => ({ read: () => undefined, write: () => value });

/**
 * A plain object's members, as the AWS SDK answers them (blobs are bytes,
 * timestamps are dates): read leniently, for the SDK has checked the types.
 */
export class PlainMembers implements MemberReader {
  readonly #body: Readonly<Record<string, unknown>>;

  constructor(body: unknown) {
    this.#body = (body ?? {}) as Record<string, unknown>;
  }

  #typed<T>(name: string, is: (value: unknown) => boolean): T | undefined {
    const value = this.#body[name];
    return is(value) ? (value as T) : undefined;
  }

  string(name: string) {
    return this.#typed<string>(name, (v) => typeof v === "string");
  }
  integer(name: string) {
    return this.#typed<number>(name, (v) => typeof v === "number");
  }
  boolean(name: string) {
    return this.#typed<boolean>(name, (v) => typeof v === "boolean");
  }
  timestamp(name: string) {
    return this.#typed<Date>(name, (v) => v instanceof Date);
  }
  blob(name: string) {
    return this.#typed<Uint8Array>(name, (v) => v instanceof Uint8Array);
  }
  structure(name: string) {
    const value = this.#body[name];
    return value !== null && typeof value === "object" ? new PlainMembers(value) : undefined;
  }
  structures<T>(name: string, readItem: (members: MemberReader) => T): T[] | undefined {
    const value = this.#body[name];
    if (!Array.isArray(value)) return undefined;
    return value.map((item: unknown) => readItem(new PlainMembers(item)));
  }
  stringMap(name: string) {
    return this.#typed<Record<string, string>>(name, (v) => v !== null && typeof v === "object");
  }
  strings(name: string) {
    return this.#typed<string[]>(name, Array.isArray);
  }
}
