/**
 * How many records fit in one gRPC answer. Kinesis returns up to 10 MiB per
 * `GetRecords`, but gRPC clients refuse messages over their receive limit,
 * 4 MiB by default in grpc-go, grpc-java and gRPC's C core: an answer is
 * kept under the limit the caller states (`max_message_bytes`).
 *
 * The measure is the protobuf binary encoding of the message, which is what
 * gRPC, gRPC-Web and Connect's binary format carry and what gRPC's receive
 * limit counts (the message, without its 5-byte prefix). Records are counted
 * exactly, tags and length varints included; the answer's other fields
 * (an iterator or continuation sequence number, `millis_behind_latest`) are
 * counted at their longest. Connect JSON is larger (data in base64, about
 * 4/3), and its clients have no 4 MiB default to fit.
 */
import { EncryptionType } from "../gen/kinesis/gateway/v1/common_pb.ts";
import type * as kinesis from "../kinesis/types.ts";

/**
 * No read answer is larger: 10 MiB of data and keys, plus some 82 bytes of
 * framing for each of up to 10,000 records (about 11.3 MB). User records
 * taken out of aggregates could make a read many times larger (each repeats
 * the sequence number, arrival time and key): they are fitted to this too.
 */
export const MAX_ANSWER_BYTES = 12 * 1024 * 1024;

/** gRPC's default receive limit, the budget when a caller states none (0). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * The byte budget for a caller's `max_message_bytes`: 0 means gRPC's default.
 * Any other value is taken as it is up to {@link MAX_ANSWER_BYTES}, the most
 * an answer is made of (records as stored never reach it), and however
 * small, an answer still carries one record.
 */
export function messageBudget(maxMessageBytes: number): number {
  return maxMessageBytes === 0
    ? DEFAULT_MAX_MESSAGE_BYTES
    : Math.min(maxMessageBytes, MAX_ANSWER_BYTES);
}

/**
 * Room for an answer's fields besides its records, at their longest: a
 * 512-character shard iterator (AWS's maximum, longer than a continuation
 * sequence number) and a 64-bit `millis_behind_latest`, with their tags.
 */
export const OTHER_FIELDS_BYTES = 1 + 2 + 512 + (1 + 10);

/** What a `Record` entry holds of its own: a Kinesis record's, or a user record's taken out of it. */
export interface RecordEntryContent {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly explicitHashKey?: string | undefined;
}

/** A record's encoded size as an entry of `repeated Record records = 1`, as stored. */
export function recordEntryBytes(record: kinesis.KinesisRecord): number {
  return entryBytes(kinesisFieldsBytes(record), record);
}

/**
 * The bytes of an entry's fields that come from its Kinesis record, which
 * the user records taken out of an aggregate share: its sequence number,
 * arrival time and encryption type.
 */
export function kinesisFieldsBytes(record: kinesis.KinesisRecord): number {
  // As protobuf-es's timestampFromDate splits it.
  const ms = record.approximateArrivalTimestamp.getTime();
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  const timestamp =
    (seconds === 0 ? 0 : 1 + varintBytes(seconds)) + (nanos === 0 ? 0 : 1 + varintBytes(nanos));
  const encryption = EncryptionType[record.encryptionType ?? "NONE"];
  return (
    stringFieldBytes(Buffer.byteLength(record.sequenceNumber)) +
    1 + // the timestamp is always set
    varintBytes(timestamp) +
    timestamp +
    1 + // encryption_type, always set
    varintBytes(encryption)
  );
}

/**
 * An entry's encoded size from its Kinesis record's fields'
 * ({@link kinesisFieldsBytes}) and its own: its content, its
 * `sub_sequence_number` and its `aggregated` flag.
 */
export function entryBytes(
  kinesisBytes: number,
  content: RecordEntryContent,
  subSequenceNumber = 0,
  aggregated = false,
): number {
  const explicitHashKey = content.explicitHashKey;
  const message =
    kinesisBytes +
    stringFieldBytes(content.data.byteLength) +
    stringFieldBytes(Buffer.byteLength(content.partitionKey)) +
    (subSequenceNumber === 0 ? 0 : 1 + varintBytes(subSequenceNumber)) +
    (explicitHashKey === undefined ? 0 : stringFieldBytes(Buffer.byteLength(explicitHashKey))) +
    (aggregated ? 2 : 0);
  return 1 + varintBytes(message) + message;
}

/** A `string` or `bytes` field of `length` bytes; proto3 leaves out an empty one. */
function stringFieldBytes(length: number): number {
  return length === 0 ? 0 : 1 + varintBytes(length) + length;
}

/** For safe integers; a negative one takes ten bytes (sign-extended to 64 bits). */
function varintBytes(value: number): number {
  if (value < 0) return 10;
  let bytes = 1;
  for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128)) bytes++;
  return bytes;
}
