/**
 * The KPL's aggregated record format: many user records in one Kinesis
 * record's data, as the Kinesis Producer Library writes them and the KCL and
 * `aws-kinesis-agg` read them.
 *
 * | bytes | content                                              |
 * | ----- | ---------------------------------------------------- |
 * | 4     | magic `F3 89 9A C2`                                  |
 * | …     | the `AggregatedRecord` protobuf below                |
 * | 16    | MD5 of the protobuf bytes                            |
 *
 * The protobuf, as published in the KPL's `aws/kinesis/protobuf/messages.proto`
 * (proto2, package `aws.kinesis.protobuf`):
 *
 * ```proto
 * message AggregatedRecord {
 *   repeated string partition_key_table     = 1;
 *   repeated string explicit_hash_key_table = 2;
 *   repeated Record records                 = 3;
 * }
 * message Record {
 *   required uint64 partition_key_index     = 1;
 *   optional uint64 explicit_hash_key_index = 2;
 *   required bytes  data                    = 3;
 *   repeated Tag    tags                    = 4;
 * }
 * message Tag {
 *   required string key   = 1;
 *   optional string value = 2;
 * }
 * ```
 *
 * The three messages are encoded by hand with the protobuf wire primitives
 * rather than generated from a vendored .proto: the producer packs records by
 * predicted size (see {@link createAggregateSizer}), which must know the wire
 * layout byte for byte anyway; reading hostile input needs control over every
 * length and index (generated code would allocate whole message objects and
 * 64-bit indexes as bigints first); and `proto/` stays the gateway's own
 * package, with no second generated tree for three small messages.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** The four bytes an aggregated record starts with. */
export const AGGREGATION_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);

const CHECKSUM_BYTES = 16;

/** Bytes an aggregated record has besides its protobuf: the magic and the MD5 trailer. */
export const AGGREGATE_OVERHEAD_BYTES = AGGREGATION_MAGIC.length + CHECKSUM_BYTES;

/**
 * The KPL's default `AggregationMaxSize`: it packs user records into one
 * Kinesis record up to this many bytes of data, magic and checksum included.
 */
export const KPL_AGGREGATION_MAX_BYTES = 51_200;

/** A record as the user put it; many of them travel in one aggregated record. */
export interface UserRecord {
  readonly partitionKey: string;
  /**
   * Decimal hash key that overrides the partition key's MD5 for routing.
   * Absent and `""` both mean none (`""` is what proto3 gives for unset).
   */
  readonly explicitHashKey?: string | undefined;
  readonly data: Uint8Array;
}

/** Why data read back is not taken as an aggregated record. */
export type NotAggregatedReason =
  /** Shorter than magic + checksum + one byte, or another first four bytes: a plain record. */
  | "not-framed"
  /** The MD5 trailer does not match: a plain record that happens to start with the magic (the KCL's rule). */
  | "checksum-mismatch"
  /** The checksum matches but the protobuf is broken (truncated, an index out of its table, a required field missing). */
  | "malformed";

export type AggregateDecoding =
  | { readonly aggregated: true; readonly records: UserRecord[] }
  | { readonly aggregated: false; readonly reason: NotAggregatedReason; readonly detail?: string };

// Field tags: field number << 3 | wire type; every field here is below 16, so each tag is one byte.
const LENGTH_DELIMITED = WireType.LengthDelimited;
const TAG_BYTES = 1;

/**
 * Encodes user records as one aggregated record's data. Keys are deduplicated
 * into the tables in order of first use; records keep their order (their
 * sub-sequence numbers on the way back). No tags are written, as the KPL
 * writes none. The caller keeps the result within Kinesis's limits (see
 * {@link createAggregateSizer}).
 *
 * @throws RangeError for no records: the KCL would read an empty aggregate
 *   back as a plain record.
 */
export function aggregate(records: readonly UserRecord[]): Uint8Array {
  if (records.length === 0) {
    throw new RangeError("An aggregated record needs at least one user record.");
  }
  const partitionKeys = new KeyTable();
  const explicitHashKeys = new KeyTable();
  const indexes = records.map((record) => ({
    partitionKey: partitionKeys.indexOf(record.partitionKey),
    explicitHashKey: record.explicitHashKey ? explicitHashKeys.indexOf(record.explicitHashKey) : -1,
  }));

  const writer = new BinaryWriter();
  for (const key of partitionKeys.keys) writer.tag(1, LENGTH_DELIMITED).string(key);
  for (const key of explicitHashKeys.keys) writer.tag(2, LENGTH_DELIMITED).string(key);
  records.forEach((record, i) => {
    const index = indexes[i] as (typeof indexes)[number];
    writer.tag(3, LENGTH_DELIMITED).fork();
    writer.tag(1, WireType.Varint).uint32(index.partitionKey);
    if (index.explicitHashKey >= 0) writer.tag(2, WireType.Varint).uint32(index.explicitHashKey);
    writer.tag(3, LENGTH_DELIMITED).bytes(record.data);
    writer.join();
  });
  const message = writer.finish();

  const result = new Uint8Array(AGGREGATE_OVERHEAD_BYTES + message.length);
  result.set(AGGREGATION_MAGIC, 0);
  result.set(message, AGGREGATION_MAGIC.length);
  result.set(md5(message), AGGREGATION_MAGIC.length + message.length);
  return result;
}

/** Keys in order of first use, each with its index. */
class KeyTable {
  readonly keys: string[] = [];
  private readonly indexes = new Map<string, number>();

  /** The key's index, adding it at the end when it is new. */
  indexOf(key: string): number {
    let index = this.indexes.get(key);
    if (index === undefined) {
      index = this.keys.length;
      this.indexes.set(key, index);
      this.keys.push(key);
    }
    return index;
  }

  /** The index the key has or would get, without adding it. */
  peek(key: string): number {
    return this.indexes.get(key) ?? this.keys.length;
  }

  has(key: string): boolean {
    return this.indexes.has(key);
  }
}

/**
 * Tracks the exact size `aggregate()` would give the records added so far,
 * so a producer can pack user records up to a limit (per predicted shard)
 * without encoding anything until it sends.
 */
export interface AggregateSizer {
  /** Bytes of `aggregate()` over the records added: {@link AGGREGATE_OVERHEAD_BYTES} while empty. */
  readonly bytes: number;
  /** User records added. */
  readonly count: number;
  /** How many bytes adding this record would add (its keys count only where they are new). */
  bytesToAdd(record: UserRecord): number;
  /** Counts the record in; returns the new {@link bytes}. */
  add(record: UserRecord): number;
}

export function createAggregateSizer(): AggregateSizer {
  const partitionKeys = new KeyTable();
  const explicitHashKeys = new KeyTable();
  let bytes = AGGREGATE_OVERHEAD_BYTES;
  let count = 0;

  function bytesToAdd(record: UserRecord): number {
    let added = 0;
    if (!partitionKeys.has(record.partitionKey)) {
      added += fieldBytes(utf8Bytes(record.partitionKey));
    }
    let recordBytes =
      TAG_BYTES +
      varintBytes(partitionKeys.peek(record.partitionKey)) +
      fieldBytes(record.data.length);
    const explicitHashKey = record.explicitHashKey;
    if (explicitHashKey) {
      if (!explicitHashKeys.has(explicitHashKey)) added += fieldBytes(utf8Bytes(explicitHashKey));
      recordBytes += TAG_BYTES + varintBytes(explicitHashKeys.peek(explicitHashKey));
    }
    return added + fieldBytes(recordBytes);
  }

  return {
    get bytes() {
      return bytes;
    },
    get count() {
      return count;
    },
    bytesToAdd,
    add(record) {
      bytes += bytesToAdd(record);
      count += 1;
      partitionKeys.indexOf(record.partitionKey);
      if (record.explicitHashKey) explicitHashKeys.indexOf(record.explicitHashKey);
      return bytes;
    },
  };
}

/** A length-delimited field of `length` bytes: tag, length varint, content. */
function fieldBytes(length: number): number {
  return TAG_BYTES + varintBytes(length) + length;
}

function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes += 1;
  return bytes;
}

// Buffer.byteLength counts a lone surrogate as the 3 bytes of U+FFFD, as the
// writer's UTF-8 encoder writes it.
function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

function md5(bytes: Uint8Array): Buffer {
  return createHash("md5").update(bytes).digest();
}

/**
 * Whether the data starts as an aggregated record does: the magic, and room
 * for a protobuf and the checksum. What a reader checks of every record
 * before anything else (a plain record costs this and no more).
 */
export function hasMagic(data: Uint8Array): boolean {
  return (
    data.length > AGGREGATE_OVERHEAD_BYTES &&
    data[0] === AGGREGATION_MAGIC[0] &&
    data[1] === AGGREGATION_MAGIC[1] &&
    data[2] === AGGREGATION_MAGIC[2] &&
    data[3] === AGGREGATION_MAGIC[3]
  );
}

function checksumMatches(data: Uint8Array): boolean {
  const end = data.length - CHECKSUM_BYTES;
  return md5(data.subarray(AGGREGATION_MAGIC.length, end)).equals(data.subarray(end));
}

/**
 * Whether the data is framed as an aggregated record: the magic, a protobuf
 * of at least one byte, and an MD5 trailer that matches it. The protobuf
 * itself is not parsed; {@link decodeAggregated} says whether it is sound.
 */
export function isAggregated(data: Uint8Array): boolean {
  return hasMagic(data) && checksumMatches(data);
}

/**
 * Reads an aggregated record's user records, or says why the data is not
 * one. Never throws, whatever the bytes: data that fails any check is a plain
 * record, as the KCL treats a checksum mismatch or an unparsable protobuf.
 * (The KCL, on an index out of its table, logs and keeps the user records it
 * had read so far; here the whole record stays plain, so nothing is lost or
 * half-delivered.) What is allocated is bounded by the data's size: every
 * length is checked against the bytes left before it is used, and user
 * records' data are views into `data`, not copies.
 */
export function decodeAggregated(data: Uint8Array): AggregateDecoding {
  return decodeAggregatedUpTo(data, Number.POSITIVE_INFINITY) as AggregateDecoding;
}

/** A sound aggregated record of more user records than a reader takes: how many. */
export interface TooManyUserRecords {
  readonly aggregated: true;
  readonly records: undefined;
  readonly recordCount: number;
}

/**
 * {@link decodeAggregated} for a reader that takes at most `maxRecords` user
 * records (a read answer of bounded size): past that many, the rest are still
 * checked, so that the answer is the same whether the data is sound or not,
 * but not kept, and only their number is returned. What is held stays bounded
 * by `maxRecords`, however many tiny records the data packs.
 */
export function decodeAggregatedUpTo(
  data: Uint8Array,
  maxRecords: number,
): AggregateDecoding | TooManyUserRecords {
  if (!hasMagic(data)) return { aggregated: false, reason: "not-framed" };
  if (!checksumMatches(data)) return { aggregated: false, reason: "checksum-mismatch" };
  try {
    return parseAggregatedRecord(
      data.subarray(AGGREGATION_MAGIC.length, data.length - CHECKSUM_BYTES),
      maxRecords,
    );
  } catch (cause) {
    return { aggregated: false, reason: "malformed", detail: String((cause as Error).message) };
  }
}

/**
 * The user records in `data`, or `undefined` when it is not a sound
 * aggregated record (see {@link decodeAggregated}). Given the Kinesis
 * record's own keys, a plain record comes back as itself, the one user
 * record it holds.
 */
export function deaggregate(data: Uint8Array): UserRecord[] | undefined;
export function deaggregate(
  data: Uint8Array,
  partitionKey: string,
  explicitHashKey?: string,
): UserRecord[];
export function deaggregate(
  data: Uint8Array,
  partitionKey?: string,
  explicitHashKey?: string,
): UserRecord[] | undefined {
  const decoding = decodeAggregated(data);
  if (decoding.aggregated) return decoding.records;
  if (partitionKey === undefined) return undefined;
  return [explicitHashKey ? { partitionKey, explicitHashKey, data } : { partitionKey, data }];
}

/** Thrown inside the parser only; {@link decodeAggregated} turns it into a result. */
class MalformedAggregate extends Error {}

function parseAggregatedRecord(
  message: Uint8Array,
  maxRecords: number,
): { aggregated: true; records: UserRecord[] } | TooManyUserRecords {
  const reader = new BinaryReader(message);
  const partitionKeys: string[] = [];
  const explicitHashKeys: string[] = [];
  const entries: RecordEntry[] = [];
  let recordCount = 0;
  // The largest indexes, checked against the tables once they are read when records are not kept.
  let partitionKeyIndexes = -1;
  let explicitHashKeyIndexes = -1;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (wireType === LENGTH_DELIMITED && field === 1) partitionKeys.push(reader.string());
    else if (wireType === LENGTH_DELIMITED && field === 2) explicitHashKeys.push(reader.string());
    else if (wireType === LENGTH_DELIMITED && field === 3) {
      const entry = parseRecord(reader);
      recordCount += 1;
      if (recordCount <= maxRecords) entries.push(entry);
      partitionKeyIndexes = Math.max(partitionKeyIndexes, entry.partitionKeyIndex);
      explicitHashKeyIndexes = Math.max(explicitHashKeyIndexes, entry.explicitHashKeyIndex ?? -1);
    }
    // Unknown fields, and known ones with another wire type, are skipped as protobuf parsers do.
    else reader.skip(wireType, field);
  }
  if (recordCount <= maxRecords) {
    return { aggregated: true, records: userRecordsOf(entries, partitionKeys, explicitHashKeys) };
  }
  if (
    partitionKeyIndexes >= partitionKeys.length ||
    explicitHashKeyIndexes >= explicitHashKeys.length
  ) {
    throw new MalformedAggregate("a user record's key index is outside its table");
  }
  return { aggregated: true, records: undefined, recordCount };
}

function userRecordsOf(
  entries: readonly RecordEntry[],
  partitionKeys: readonly string[],
  explicitHashKeys: readonly string[],
): UserRecord[] {
  return entries.map((entry, subSequence) => {
    const partitionKey = partitionKeys[entry.partitionKeyIndex];
    if (partitionKey === undefined) {
      throw new MalformedAggregate(
        `user record ${subSequence}: partition key index ${entry.partitionKeyIndex} outside a table of ${partitionKeys.length}`,
      );
    }
    if (entry.explicitHashKeyIndex === undefined) return { partitionKey, data: entry.data };
    const explicitHashKey = explicitHashKeys[entry.explicitHashKeyIndex];
    if (explicitHashKey === undefined) {
      throw new MalformedAggregate(
        `user record ${subSequence}: explicit hash key index ${entry.explicitHashKeyIndex} outside a table of ${explicitHashKeys.length}`,
      );
    }
    return { partitionKey, explicitHashKey, data: entry.data };
  });
}

interface RecordEntry {
  partitionKeyIndex: number;
  explicitHashKeyIndex: number | undefined;
  data: Uint8Array;
}

/** Reads one length-delimited `Record` at the reader's position. */
function parseRecord(reader: BinaryReader): RecordEntry {
  const end = messageEnd(reader);
  let partitionKeyIndex: number | undefined;
  let explicitHashKeyIndex: number | undefined;
  let data: Uint8Array | undefined;
  while (reader.pos < end) {
    const [field, wireType] = reader.tag();
    // Number() of a uint64 above 2^53 loses precision but stays far outside any table.
    if (wireType === WireType.Varint && field === 1) partitionKeyIndex = Number(reader.uint64());
    else if (wireType === WireType.Varint && field === 2)
      explicitHashKeyIndex = Number(reader.uint64());
    else if (wireType === LENGTH_DELIMITED && field === 3) data = reader.bytes();
    else if (wireType === LENGTH_DELIMITED && field === 4) parseTag(reader);
    else reader.skip(wireType, field);
  }
  expectEnd(reader, end, "record");
  if (partitionKeyIndex === undefined)
    throw new MalformedAggregate("record without a partition key index");
  if (data === undefined) throw new MalformedAggregate("record without data");
  return { partitionKeyIndex, explicitHashKeyIndex, data };
}

/** Checks one `Tag` (its required key) and drops it: the gateway has no use for tags. */
function parseTag(reader: BinaryReader): void {
  const end = messageEnd(reader);
  let hasKey = false;
  while (reader.pos < end) {
    const [field, wireType] = reader.tag();
    if (wireType === LENGTH_DELIMITED && field === 1) hasKey = true;
    reader.skip(wireType, field);
  }
  expectEnd(reader, end, "tag");
  if (!hasKey) throw new MalformedAggregate("tag without a key");
}

/** Reads a nested message's length and returns where it ends, within the bytes there are. */
function messageEnd(reader: BinaryReader): number {
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len) throw new MalformedAggregate("nested message longer than the data left");
  return end;
}

/** A field that runs past its message's end means the lengths disagree. */
function expectEnd(reader: BinaryReader, end: number, what: string): void {
  if (reader.pos !== end)
    throw new MalformedAggregate(`${what} fields run past the ${what}'s length`);
}
