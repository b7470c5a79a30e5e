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
 * framing for each of up to 10,000 records (about 11.3 MB).
 */
export const MAX_ANSWER_BYTES = 12 * 1024 * 1024;

/** gRPC's default receive limit, the budget when a caller states none (0). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Room for an answer's fields besides its records, at their longest: a
 * 512-character shard iterator (AWS's maximum, longer than a continuation
 * sequence number) and a 64-bit `millis_behind_latest`, with their tags.
 */
const OTHER_FIELDS_BYTES = 1 + 2 + 512 + (1 + 10);

/**
 * The byte budget for a caller's `max_message_bytes`: 0 means gRPC's default.
 * Any other value is taken as it is: from about 11.3 MB on it never trims
 * (see {@link MAX_ANSWER_BYTES}), and however small, an answer still carries
 * one record.
 */
export function messageBudget(maxMessageBytes: number): number {
  return maxMessageBytes === 0 ? DEFAULT_MAX_MESSAGE_BYTES : maxMessageBytes;
}

/**
 * How many of `records`, from `from` on, fit in an answer of `budgetBytes`:
 * at least one (a record larger than the budget comes alone), 0 for none.
 */
export function recordsThatFit(
  records: readonly kinesis.KinesisRecord[],
  budgetBytes: number,
  from = 0,
): number {
  let bytes = OTHER_FIELDS_BYTES;
  let end = from;
  for (; end < records.length; end++) {
    bytes += recordEntryBytes(records[end]!);
    if (end > from && bytes > budgetBytes) break;
  }
  return end - from;
}

/** A record's encoded size as an entry of `repeated Record records = 1`. */
export function recordEntryBytes(record: kinesis.KinesisRecord): number {
  // As protobuf-es's timestampFromDate splits it.
  const ms = record.approximateArrivalTimestamp.getTime();
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  const timestamp =
    (seconds === 0 ? 0 : 1 + varintBytes(seconds)) + (nanos === 0 ? 0 : 1 + varintBytes(nanos));
  const encryption = EncryptionType[record.encryptionType ?? "NONE"];
  const message =
    stringFieldBytes(Buffer.byteLength(record.sequenceNumber)) +
    1 + // the timestamp is always set
    varintBytes(timestamp) +
    timestamp +
    stringFieldBytes(record.data.byteLength) +
    stringFieldBytes(Buffer.byteLength(record.partitionKey)) +
    1 + // encryption_type, always set
    varintBytes(encryption);
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
