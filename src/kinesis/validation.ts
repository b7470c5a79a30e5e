/**
 * Kinesis request validation, shared by every protocol so the same bad input
 * gets the same answer everywhere. The checks, their order and their texts
 * follow AWS: model constraints first, reported together as one
 * `ValidationException` (at most ten, in AWS's order), then the service's own
 * checks as `InvalidArgumentException`.
 */
import { KinesisError } from "./errors.ts";
import {
  HASH_KEY_PATTERN,
  MAX_HASH_KEY,
  MAX_LIST_LIMIT,
  MAX_PARTITION_KEY_LENGTH,
  MAX_PUT_RECORDS_BYTES,
  MAX_RECORD_BYTES,
  MAX_RECORDS_PER_PUT,
  MAX_STREAM_ARN_LENGTH,
  MAX_STREAM_NAME_LENGTH,
  MAX_TAG_KEY_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  MAX_TAGS_PER_STREAM,
  MIN_RECORDS_PER_PUT,
  SEQUENCE_NUMBER_PATTERN,
  STREAM_ARN_PATTERN,
  STREAM_NAME_PATTERN,
} from "./limits.ts";
import type {
  CreateStreamInput,
  ListShardsInput,
  ListStreamsInput,
  PutRecordInput,
  PutRecordsInput,
  PutRecordsRequestEntry,
  StreamRef,
} from "./types.ts";

const MAX_REPORTED_VIOLATIONS = 10;
const wholeMatch = (pattern: string) => new RegExp(`^(?:${pattern})$`);
const streamNameRegex = wholeMatch(STREAM_NAME_PATTERN);
const streamArnRegex = wholeMatch(STREAM_ARN_PATTERN);
const hashKeyRegex = wholeMatch(HASH_KEY_PATTERN);
const sequenceNumberRegex = wholeMatch(SEQUENCE_NUMBER_PATTERN);
const utf8 = new TextEncoder();

/** How AWS's Java service renders a value in a validation message. */
type RenderedValue = string | null;
const renderBlob = (bytes: Uint8Array): string =>
  `java.nio.HeapByteBuffer[pos=0 lim=${bytes.length} cap=${bytes.length}]`;
const renderEntryList = (count: number): string =>
  `[${Array(count).fill("com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310").join(", ")}]`;

/** Collects model-constraint violations in the order they are found. */
class Violations {
  private readonly messages: string[] = [];
  private count = 0;

  add(value: RenderedValue, path: string, constraint: string): void {
    this.count++;
    if (this.messages.length < MAX_REPORTED_VIOLATIONS) {
      const shown = value === null ? "null" : `'${value}'`;
      this.messages.push(`Value ${shown} at '${path}' failed to satisfy constraint: ${constraint}`);
    }
  }

  notNull(value: unknown, path: string): boolean {
    if (value === null || value === undefined) {
      this.add(null, path, "Member must not be null");
      return false;
    }
    return true;
  }

  pattern(value: string, path: string, regex: RegExp, pattern: string): void {
    if (!regex.test(value)) {
      this.add(value, path, `Member must satisfy regular expression pattern: ${pattern}`);
    }
  }

  length(value: string, path: string, min: number, max: number): void {
    this.lengthOf(value, value.length, path, min, max);
  }

  lengthOf(value: RenderedValue, length: number, path: string, min: number, max: number): void {
    if (length < min) {
      this.add(value, path, `Member must have length greater than or equal to ${min}`);
    } else if (length > max) {
      this.add(value, path, `Member must have length less than or equal to ${max}`);
    }
  }

  range(value: number, path: string, min: number, max: number): void {
    if (value < min) {
      this.add(String(value), path, `Member must have value greater than or equal to ${min}`);
    } else if (value > max) {
      this.add(String(value), path, `Member must have value less than or equal to ${max}`);
    }
  }

  /** Throws the collected violations as one `ValidationException`. */
  throwIfAny(): void {
    if (this.count === 0) return;
    const noun = this.count === 1 ? "error" : "errors";
    const shown = Math.min(this.count, MAX_REPORTED_VIOLATIONS);
    throw new KinesisError(
      "ValidationException",
      `${shown} validation ${noun} detected: ${this.messages.join("; ")}`,
    );
  }
}

function checkStreamName(v: Violations, name: string | undefined, path = "streamName"): void {
  if (name === undefined) return;
  v.pattern(name, path, streamNameRegex, STREAM_NAME_PATTERN);
  v.length(name, path, 1, MAX_STREAM_NAME_LENGTH);
}

function checkStreamRef(v: Violations, ref: StreamRef): void {
  checkStreamName(v, ref.streamName);
  if (ref.streamArn !== undefined) {
    v.pattern(ref.streamArn, "streamARN", streamArnRegex, STREAM_ARN_PATTERN);
    v.length(ref.streamArn, "streamARN", 1, MAX_STREAM_ARN_LENGTH);
  }
}

/** The stream name an ARN names, or undefined when it is not a stream ARN. */
export function streamNameFromArn(arn: string): string | undefined {
  const at = arn.lastIndexOf(":stream/");
  return at < 0 ? undefined : arn.slice(at + ":stream/".length);
}

/**
 * A stream must be named, by name or ARN; when both are given they must name
 * the same stream. AWS documents no text for either case, so these are ours.
 */
function assertStreamIdentified(ref: StreamRef): void {
  if (ref.streamName === undefined && ref.streamArn === undefined) {
    throw new KinesisError(
      "InvalidArgumentException",
      "Neither StreamName nor StreamARN was provided; give one of them, or both.",
    );
  }
  if (ref.streamName !== undefined && ref.streamArn !== undefined) {
    if (streamNameFromArn(ref.streamArn) !== ref.streamName) {
      throw new KinesisError(
        "InvalidArgumentException",
        `StreamARN ${ref.streamArn} does not name stream ${ref.streamName}.`,
      );
    }
  }
}

function checkEntry(v: Violations, entry: PutRecordsRequestEntry, prefix: string): void {
  if (v.notNull(entry.partitionKey, `${prefix}partitionKey`)) {
    v.length(entry.partitionKey!, `${prefix}partitionKey`, 1, MAX_PARTITION_KEY_LENGTH);
  }
  if (entry.explicitHashKey !== undefined) {
    v.pattern(entry.explicitHashKey, `${prefix}explicitHashKey`, hashKeyRegex, HASH_KEY_PATTERN);
  }
  if (v.notNull(entry.data, `${prefix}data`)) {
    const data = entry.data!;
    v.lengthOf(renderBlob(data), data.length, `${prefix}data`, 0, MAX_RECORD_BYTES);
  }
}

/** Data plus UTF-8 partition key: what Kinesis counts against its size limits. */
export function recordBytes(entry: PutRecordsRequestEntry): number {
  const key = entry.partitionKey ?? "";
  // Fast path: for ASCII keys the UTF-16 length is the UTF-8 length.
  let keyBytes = key.length;
  for (let i = 0; i < key.length; i++) {
    if (key.charCodeAt(i) > 0x7f) {
      keyBytes = utf8.encode(key).length;
      break;
    }
  }
  return (entry.data?.length ?? 0) + keyBytes;
}

function assertHashKeyInRange(entry: PutRecordsRequestEntry): void {
  const key = entry.explicitHashKey;
  if (key !== undefined && key.length >= 39 && BigInt(key) > MAX_HASH_KEY) {
    throw new KinesisError(
      "InvalidArgumentException",
      `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${key}`,
    );
  }
}

function assertRecordSize(bytes: number): void {
  // The data alone is a model constraint (above); data plus key is the
  // service's rule, for which AWS's exact text is not documented.
  if (bytes > MAX_RECORD_BYTES) {
    throw new KinesisError(
      "InvalidArgumentException",
      `Record size of ${bytes} bytes (data plus partition key) exceeds the limit of ${MAX_RECORD_BYTES} bytes.`,
    );
  }
}

export function validatePutRecords(input: PutRecordsInput): void {
  const v = new Violations();
  const records = input.records;
  if (v.notNull(records, "records")) {
    const rendered = records!.length === 0 ? "[]" : renderEntryList(records!.length);
    v.lengthOf(rendered, records!.length, "records", MIN_RECORDS_PER_PUT, MAX_RECORDS_PER_PUT);
    for (let i = 0; i < records!.length; i++) {
      checkEntry(v, records![i]!, `records.${i + 1}.member.`);
    }
  }
  checkStreamRef(v, input);
  v.throwIfAny();

  let totalBytes = 0;
  for (const entry of records!) {
    assertHashKeyInRange(entry);
    const bytes = recordBytes(entry);
    assertRecordSize(bytes);
    totalBytes += bytes;
  }
  if (totalBytes > MAX_PUT_RECORDS_BYTES) {
    throw new KinesisError("InvalidArgumentException", "Records size exceeds 5 MB limit");
  }
  assertStreamIdentified(input);
}

export function validatePutRecord(input: PutRecordInput): void {
  const v = new Violations();
  if (input.sequenceNumberForOrdering !== undefined) {
    v.pattern(
      input.sequenceNumberForOrdering,
      "sequenceNumberForOrdering",
      sequenceNumberRegex,
      SEQUENCE_NUMBER_PATTERN,
    );
  }
  checkEntry(v, input, "");
  checkStreamRef(v, input);
  v.throwIfAny();
  assertHashKeyInRange(input);
  assertRecordSize(recordBytes(input));
  assertStreamIdentified(input);
}

/** For operations that only name a stream: describe, delete, list shards. */
export function validateStreamRef(ref: StreamRef): void {
  const v = new Violations();
  checkStreamRef(v, ref);
  v.throwIfAny();
  assertStreamIdentified(ref);
}

export function validateCreateStream(input: CreateStreamInput): void {
  const v = new Violations();
  if (input.shardCount !== undefined) {
    v.range(input.shardCount, "shardCount", 1, 100_000);
  }
  if (v.notNull(input.streamName, "streamName")) checkStreamName(v, input.streamName);
  const tags = Object.entries(input.tags ?? {});
  if (tags.length > MAX_TAGS_PER_STREAM) {
    v.add(null, "tags", `Member must have length less than or equal to ${MAX_TAGS_PER_STREAM}`);
  }
  for (const [key, value] of tags) {
    v.length(key, "tags.key", 1, MAX_TAG_KEY_LENGTH);
    v.length(value, "tags.value", 0, MAX_TAG_VALUE_LENGTH);
  }
  v.throwIfAny();
  const mode = input.streamMode ?? "PROVISIONED";
  if (mode === "PROVISIONED" && input.shardCount === undefined) {
    throw new KinesisError(
      "InvalidArgumentException",
      "ShardCount is required for a stream in PROVISIONED mode.",
    );
  }
  if (mode === "ON_DEMAND" && input.shardCount !== undefined) {
    throw new KinesisError(
      "InvalidArgumentException",
      "ShardCount must not be set for a stream in ON_DEMAND mode.",
    );
  }
}

export function validateListStreams(input: ListStreamsInput): void {
  const v = new Violations();
  if (input.limit !== undefined) v.range(input.limit, "limit", 1, MAX_LIST_LIMIT);
  checkStreamName(v, input.exclusiveStartStreamName, "exclusiveStartStreamName");
  v.throwIfAny();
}

export function validateListShards(input: ListShardsInput): void {
  const v = new Violations();
  if (input.maxResults !== undefined) v.range(input.maxResults, "maxResults", 1, MAX_LIST_LIMIT);
  checkStreamRef(v, input);
  v.throwIfAny();
  // A next token carries the stream; AWS refuses a stream name beside it.
  if (input.nextToken !== undefined) {
    if (input.streamName !== undefined || input.streamArn !== undefined) {
      throw new KinesisError(
        "InvalidArgumentException",
        "NextToken and StreamName cannot be provided together.",
      );
    }
    return;
  }
  assertStreamIdentified(input);
}
