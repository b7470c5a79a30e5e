/**
 * Kinesis request validation, shared by every protocol so the same bad input
 * gets the same answer everywhere. The checks, their order and their texts
 * follow AWS: model constraints first, reported together as one
 * `ValidationException` (at most ten, in AWS's order), then the service's own
 * checks as `InvalidArgumentException`.
 */
import { KinesisError } from "./errors.ts";
import {
  BILLING_COMMITMENT_STATUSES,
  CONSUMER_ARN_PATTERN,
  CONSUMER_NAME_PATTERN,
  ENCRYPTION_TYPES,
  HASH_KEY_PATTERN,
  LARGEST_RECORD_BYTES,
  MAX_CONSUMER_ARN_LENGTH,
  MAX_CONSUMER_NAME_LENGTH,
  MAX_GET_RECORDS_LIMIT,
  MAX_HASH_KEY,
  MAX_KEY_ID_LENGTH,
  MAX_LIST_LIMIT,
  MAX_LIST_STREAM_CONSUMERS,
  MAX_LIST_TAGS_LIMIT,
  MAX_MAX_RECORD_SIZE_KIB,
  MAX_NEXT_TOKEN_LENGTH,
  MAX_PARTITION_KEY_LENGTH,
  MAX_PUT_RECORDS_BYTES,
  MAX_RECORD_BYTES,
  MAX_RECORDS_PER_PUT,
  MAX_SHARD_ID_LENGTH,
  MAX_SHARD_ITERATOR_LENGTH,
  MAX_SHARD_LEVEL_METRICS,
  MAX_STREAM_ARN_LENGTH,
  MAX_STREAM_ID_LENGTH,
  MAX_STREAM_NAME_LENGTH,
  MAX_TAG_KEY_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  MAX_TAGS_PER_CALL,
  MAX_TAGS_PER_STREAM,
  MAX_TARGET_SHARD_COUNT,
  METRICS_NAMES,
  MIN_MAX_RECORD_SIZE_KIB,
  MIN_RECORDS_PER_PUT,
  RESOURCE_ARN_PATTERN,
  SCALING_TYPES,
  SEQUENCE_NUMBER_PATTERN,
  SHARD_FILTER_TYPES,
  SHARD_ID_PATTERN,
  SHARD_ITERATOR_TYPES,
  STREAM_ARN_PATTERN,
  STREAM_ID_PATTERN,
  STREAM_MODES,
  STREAM_NAME_PATTERN,
} from "./limits.ts";
import type {
  AddTagsInput,
  ConsumerRef,
  CreateStreamInput,
  DescribeStreamInput,
  EnhancedMonitoringInput,
  GetRecordsInput,
  GetShardIteratorInput,
  ListShardsInput,
  ListStreamConsumersInput,
  ListStreamsInput,
  ListTagsForResourceInput,
  ListTagsInput,
  MergeShardsInput,
  PutRecordInput,
  PutRecordsInput,
  PutRecordsRequestEntry,
  PutResourcePolicyInput,
  RegisterStreamConsumerInput,
  RemoveTagsInput,
  ResourceRef,
  RetentionPeriodInput,
  ShardFilter,
  ShardFilterType,
  SplitShardInput,
  StreamEncryptionInput,
  StreamRef,
  SubscribeToShardInput,
  TagResourceInput,
  UntagResourceInput,
  UpdateAccountSettingsInput,
  UpdateMaxRecordSizeInput,
  UpdateShardCountInput,
  UpdateStreamModeInput,
  UpdateStreamWarmThroughputInput,
} from "./types.ts";

const MAX_REPORTED_VIOLATIONS = 10;
const wholeMatch = (pattern: string) => new RegExp(`^(?:${pattern})$`);
const streamNameRegex = wholeMatch(STREAM_NAME_PATTERN);
const streamArnRegex = wholeMatch(STREAM_ARN_PATTERN);
const resourceArnRegex = wholeMatch(RESOURCE_ARN_PATTERN);
const consumerNameRegex = wholeMatch(CONSUMER_NAME_PATTERN);
const consumerArnRegex = wholeMatch(CONSUMER_ARN_PATTERN);
const hashKeyRegex = wholeMatch(HASH_KEY_PATTERN);
const sequenceNumberRegex = wholeMatch(SEQUENCE_NUMBER_PATTERN);
const shardIdRegex = wholeMatch(SHARD_ID_PATTERN);
const streamIdRegex = wholeMatch(STREAM_ID_PATTERN);
const utf8 = new TextEncoder();

/** How AWS's Java service renders a value in a validation message. */
type RenderedValue = string | null;
const renderBlob = (bytes: Uint8Array): string =>
  `java.nio.HeapByteBuffer[pos=0 lim=${bytes.length} cap=${bytes.length}]`;
/**
 * The entries AWS's text lists one by one, at most. AWS renders every entry of
 * a request with too many; a body of a million tiny entries would make that
 * a 60 MB answer, so longer lists end by saying how many were left out.
 */
const MAX_RENDERED_ENTRIES = 1000;
const renderEntryList = (count: number): string => {
  const shown = Math.min(count, MAX_RENDERED_ENTRIES);
  const entries = Array(shown).fill(
    "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310",
  );
  if (count > shown) entries.push(`… ${count - shown} more entries not shown`);
  return `[${entries.join(", ")}]`;
};
/** A list of strings as Java's `List.toString` writes it: `[a, b]`. */
const renderStringList = (items: readonly string[]): string => `[${items.join(", ")}]`;
/** A map as Java's `Map.toString` writes it: `{a=1, b=2}`. */
const renderStringMap = (entries: readonly (readonly [string, string])[]): string =>
  `{${entries.map(([key, value]) => `${key}=${value}`).join(", ")}}`;
/**
 * The constraints of a string shape as AWS lists them when an element of a
 * list or map breaks one of them: the maximum first, then the minimum.
 */
const lengthConstraints = (min: number, max: number): string =>
  `[Member must have length less than or equal to ${max}, Member must have length greater than or equal to ${min}]`;

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

  /** `value` may be a function: then it is rendered only when the length is wrong. */
  lengthOf(
    value: RenderedValue | (() => RenderedValue),
    length: number,
    path: string,
    min: number,
    max: number,
  ): void {
    const rendered = () => (typeof value === "function" ? value() : value);
    if (length < min) {
      this.add(rendered(), path, `Member must have length greater than or equal to ${min}`);
    } else if (length > max) {
      this.add(rendered(), path, `Member must have length less than or equal to ${max}`);
    }
  }

  /** A member of an enum shape; `values` in the order AWS's text lists them. */
  oneOf(value: string, path: string, values: readonly string[]): void {
    if (!values.includes(value)) {
      this.add(value, path, `Member must satisfy enum value set: ${renderStringList(values)}`);
    }
  }

  range(value: number, path: string, min: number, max: number): void {
    if (value < min) {
      this.add(String(value), path, `Member must have value greater than or equal to ${min}`);
    } else if (value > max) {
      this.add(String(value), path, `Member must have value less than or equal to ${max}`);
    }
  }

  /** Whether the message is complete: later violations would not be shown. */
  get full(): boolean {
    return this.messages.length >= MAX_REPORTED_VIOLATIONS;
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
  checkStreamId(v, ref.streamId);
}

/**
 * AWS's reserved `StreamId` ("Not Implemented. Reserved for future use."):
 * only its model constraints are checked; nothing reads it.
 */
function checkStreamId(v: Violations, id: string | undefined): void {
  if (id === undefined) return;
  v.pattern(id, "streamId", streamIdRegex, STREAM_ID_PATTERN);
  v.length(id, "streamId", 1, MAX_STREAM_ID_LENGTH);
}

function checkNextToken(v: Violations, token: string | undefined): void {
  if (token !== undefined) v.length(token, "nextToken", 1, MAX_NEXT_TOKEN_LENGTH);
}

function checkShardId(v: Violations, shardId: string, path: string): void {
  v.pattern(shardId, path, shardIdRegex, SHARD_ID_PATTERN);
  v.length(shardId, path, 1, MAX_SHARD_ID_LENGTH);
}

/**
 * A tag map: its size, then one entry for all bad keys and one for all bad
 * values, each naming the whole map, as AWS reports map members.
 */
function checkTagMap(v: Violations, tags: Record<string, string>, min: number, max: number): void {
  const entries = Object.entries(tags);
  const rendered = renderStringMap(entries);
  v.lengthOf(rendered, entries.length, "tags", min, max);
  const outOfRange = (text: string, lo: number, hi: number) => text.length < lo || text.length > hi;
  if (entries.some(([key]) => outOfRange(key, 1, MAX_TAG_KEY_LENGTH))) {
    v.add(
      rendered,
      "tags",
      `Map keys must satisfy constraint: ${lengthConstraints(1, MAX_TAG_KEY_LENGTH)}`,
    );
  }
  if (entries.some(([, value]) => outOfRange(value, 0, MAX_TAG_VALUE_LENGTH))) {
    v.add(
      rendered,
      "tags",
      `Map value must satisfy constraint: ${lengthConstraints(0, MAX_TAG_VALUE_LENGTH)}`,
    );
  }
}

function checkTagKeys(v: Violations, keys: string[] | null): void {
  if (!v.notNull(keys, "tagKeys")) return;
  const rendered = renderStringList(keys!);
  v.lengthOf(rendered, keys!.length, "tagKeys", 1, MAX_TAGS_PER_CALL);
  if (keys!.some((key) => key.length < 1 || key.length > MAX_TAG_KEY_LENGTH)) {
    v.add(
      rendered,
      "tagKeys",
      `Member must satisfy constraint: ${lengthConstraints(1, MAX_TAG_KEY_LENGTH)}`,
    );
  }
}

/** Whether a text is a valid stream name (pattern and length), as a request would be checked. */
export function isStreamName(name: string): boolean {
  return name.length >= 1 && name.length <= MAX_STREAM_NAME_LENGTH && streamNameRegex.test(name);
}

/** The stream name an ARN names, or undefined when it is not a stream ARN. */
export function streamNameFromArn(arn: string): string | undefined {
  const at = arn.lastIndexOf(":stream/");
  return at < 0 ? undefined : arn.slice(at + ":stream/".length);
}

/** The stream a reference names, by name or else by ARN. */
export function streamNameOf(ref: StreamRef): string | undefined {
  return (
    ref.streamName ?? (ref.streamArn === undefined ? undefined : streamNameFromArn(ref.streamArn))
  );
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

function checkEntry(
  v: Violations,
  entry: PutRecordsRequestEntry,
  prefix: string,
  maxRecordBytes: number,
): void {
  if (v.notNull(entry.partitionKey, `${prefix}partitionKey`)) {
    v.length(entry.partitionKey!, `${prefix}partitionKey`, 1, MAX_PARTITION_KEY_LENGTH);
  }
  if (entry.explicitHashKey !== undefined) {
    v.pattern(entry.explicitHashKey, `${prefix}explicitHashKey`, hashKeyRegex, HASH_KEY_PATTERN);
  }
  if (v.notNull(entry.data, `${prefix}data`)) checkData(v, entry.data!, prefix, maxRecordBytes);
}

function checkData(v: Violations, data: Uint8Array, prefix: string, maxRecordBytes: number): void {
  v.lengthOf(() => renderBlob(data), data.length, `${prefix}data`, 0, maxRecordBytes);
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

function assertRecordSize(bytes: number, maxRecordBytes: number): void {
  // The data alone is a model constraint (above); data plus key is the
  // service's rule, for which AWS's exact text is not documented.
  if (bytes > maxRecordBytes) {
    throw new KinesisError(
      "InvalidArgumentException",
      `Record size of ${bytes} bytes (data plus partition key) exceeds the limit of ${maxRecordBytes} bytes.`,
    );
  }
}

/**
 * The checks of a record's size against one stream's maximum, which only
 * what holds the stream knows (the engine; for a forwarded stream, its
 * endpoint). Data over it is AWS's model-constraint text with the stream's
 * maximum in bytes, for the whole request, as AWS answered a 1 MiB stream
 * after large records came (awslabs/amazon-kinesis-producer#680, 2025-12:
 * "1 validation error detected: Value at 'records.1.member.data' failed to
 * satisfy constraint: Member must have length less than or equal to
 * 1048576"; that capture leaves the value out, the older ones show it, as
 * here). Data plus key over it is {@link assertRecordSize}'s: "the record
 * size limit applies to the total size of the partition key and data blob"
 * (API reference, PutRecords,
 * https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html).
 */
export function assertRecordsFitStream(
  records: readonly PutRecordsRequestEntry[],
  single: boolean,
  maxRecordBytes: number,
): void {
  if (maxRecordBytes >= LARGEST_RECORD_BYTES) return; // validation checked these already
  const v = new Violations();
  for (let i = 0; i < records.length && !v.full; i++) {
    const data = records[i]!.data;
    if (data !== null && data.length > maxRecordBytes) {
      checkData(v, data, single ? "" : `records.${i + 1}.member.`, maxRecordBytes);
    }
  }
  v.throwIfAny();
  for (const entry of records) assertRecordSize(recordBytes(entry), maxRecordBytes);
}

/**
 * The most `PutRecords` entries a request may hold to be decoded at all. A
 * request with more is refused on its count, counted from its bytes (see
 * `wire/record-count.ts`): AWS would list every entry's violations too, but
 * decoding millions of entries costs hundreds of MiB.
 */
export const MAX_DECODED_RECORDS = 10_000;

/** Refuses a request holding more than {@link MAX_DECODED_RECORDS} entries, on its count alone. */
export function assertRecordCountDecodable(count: number | undefined): void {
  if (count === undefined || count <= MAX_DECODED_RECORDS) return;
  const v = new Violations();
  v.lengthOf(
    () =>
      `${renderEntryList(count).slice(0, -1)}; a request of more than ${MAX_DECODED_RECORDS} records is refused on its count, its entries unread]`,
    count,
    "records",
    MIN_RECORDS_PER_PUT,
    MAX_RECORDS_PER_PUT,
  );
  v.throwIfAny();
}

/**
 * `maxRecordBytes` is the largest record allowed before the stream is known:
 * the operation table passes {@link LARGEST_RECORD_BYTES} (any stream's), and
 * the stream's own maximum is checked where the stream is
 * ({@link assertRecordsFitStream}). The default is a default stream's, which
 * is what a caller knowing no stream checks against.
 */
export function validatePutRecords(
  input: PutRecordsInput,
  maxRecordBytes = MAX_RECORD_BYTES,
): void {
  const v = new Violations();
  const records = input.records;
  if (v.notNull(records, "records")) {
    const rendered = () => (records!.length === 0 ? "[]" : renderEntryList(records!.length));
    v.lengthOf(rendered, records!.length, "records", MIN_RECORDS_PER_PUT, MAX_RECORDS_PER_PUT);
    // Past ten violations the text is settled: a huge bad request costs no more.
    for (let i = 0; i < records!.length && !v.full; i++) {
      checkEntry(v, records![i]!, `records.${i + 1}.member.`, maxRecordBytes);
    }
  }
  checkStreamRef(v, input);
  v.throwIfAny();

  let totalBytes = 0;
  for (const entry of records!) {
    assertHashKeyInRange(entry);
    const bytes = recordBytes(entry);
    assertRecordSize(bytes, maxRecordBytes);
    totalBytes += bytes;
  }
  if (totalBytes > MAX_PUT_RECORDS_BYTES) {
    // AWS's text for its former 5 MiB limit was "Records size exceeds 5 MB
    // limit" (snowplow/enrich#685); the one for 10 MiB is not recorded.
    throw new KinesisError("InvalidArgumentException", "Records size exceeds 10 MB limit");
  }
  assertStreamIdentified(input);
}

/**
 * One record on its own, as {@link validatePutRecord} words its faults, for
 * requests whose stream is checked once for all their records (`Produce`).
 */
export function validateRecordEntry(
  entry: PutRecordsRequestEntry,
  maxRecordBytes = MAX_RECORD_BYTES,
): void {
  const v = new Violations();
  checkEntry(v, entry, "", maxRecordBytes);
  v.throwIfAny();
  assertHashKeyInRange(entry);
  assertRecordSize(recordBytes(entry), maxRecordBytes);
}

/** `maxRecordBytes` as for {@link validatePutRecords}. */
export function validatePutRecord(input: PutRecordInput, maxRecordBytes = MAX_RECORD_BYTES): void {
  const v = new Violations();
  if (input.sequenceNumberForOrdering !== undefined) {
    v.pattern(
      input.sequenceNumberForOrdering,
      "sequenceNumberForOrdering",
      sequenceNumberRegex,
      SEQUENCE_NUMBER_PATTERN,
    );
  }
  checkEntry(v, input, "", maxRecordBytes);
  checkStreamRef(v, input);
  v.throwIfAny();
  assertHashKeyInRange(input);
  assertRecordSize(recordBytes(input), maxRecordBytes);
  assertStreamIdentified(input);
}

/** For operations that only name a stream: describe, delete, list shards. */
export function validateStreamRef(ref: StreamRef): void {
  const v = new Violations();
  checkStreamRef(v, ref);
  v.throwIfAny();
  assertStreamIdentified(ref);
}

/**
 * AWS's order is recorded for shardCount before streamName (kinesalite's
 * tests); the stream mode, which came later, takes its place in the same
 * name order between them.
 */
export function validateCreateStream(input: CreateStreamInput): void {
  const v = new Violations();
  if (input.shardCount !== undefined) {
    v.range(input.shardCount, "shardCount", 1, 100_000);
  }
  // Undefined: no StreamModeDetails at all; null: the details without their required mode.
  if (
    input.streamMode !== undefined &&
    v.notNull(input.streamMode, "streamModeDetails.streamMode")
  ) {
    v.oneOf(input.streamMode!, "streamModeDetails.streamMode", STREAM_MODES);
  }
  if (v.notNull(input.streamName, "streamName")) checkStreamName(v, input.streamName);
  if (input.tags !== undefined) checkTagMap(v, input.tags, 0, MAX_TAGS_PER_STREAM);
  checkWarmThroughput(v, input.warmThroughputMiBps);
  if (input.maxRecordSizeInKiB !== undefined) checkMaxRecordSize(v, input.maxRecordSizeInKiB);
  v.throwIfAny();
  const mode = input.streamMode ?? "PROVISIONED";
  if (input.warmThroughputMiBps !== undefined) assertWarmThroughputOnDemand(mode);
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
  checkNextToken(v, input.nextToken);
  v.throwIfAny();
}

/** The shard filter's members come in name order, as the others do; AWS's is not recorded. */
export function validateListShards(input: ListShardsInput): void {
  const v = new Violations();
  if (input.maxResults !== undefined) v.range(input.maxResults, "maxResults", 1, MAX_LIST_LIMIT);
  checkNextToken(v, input.nextToken);
  const filter = input.shardFilter;
  if (filter !== undefined) {
    if (filter.shardId !== undefined) checkShardId(v, filter.shardId, "shardFilter.shardId");
    if (v.notNull(filter.type, "shardFilter.type")) {
      v.oneOf(filter.type!, "shardFilter.type", SHARD_FILTER_TYPES);
    }
  }
  checkStreamRef(v, input);
  v.throwIfAny();
  // A next token carries the stream; AWS refuses a stream name or ARN beside
  // it, naming the member given ("NextToken and StreamARN cannot be provided
  // together." when only the ARN is, as the AWS CLI shows).
  if (input.nextToken !== undefined) {
    const member =
      input.streamName !== undefined
        ? "StreamName"
        : input.streamArn !== undefined
          ? "StreamARN"
          : undefined;
    if (member !== undefined) {
      throw new KinesisError(
        "InvalidArgumentException",
        `NextToken and ${member} cannot be provided together.`,
      );
    }
    // AWS's text (awslabs/amazon-kinesis-client#788): the token carries the filter too.
    if (filter !== undefined) {
      throw new KinesisError(
        "InvalidArgumentException",
        "NextToken and ShardFilter cannot be provided together.",
      );
    }
    return;
  }
  assertStreamIdentified(input);
  if (filter !== undefined)
    assertShardFilterMembers(filter as ShardFilter & { type: ShardFilterType });
}

/**
 * Which members each filter type takes, as AWS documents it: a shard id
 * with AFTER_SHARD_ID only, and required there; a timestamp with the two
 * timestamp types only, and required there. AWS's texts are not documented:
 * the two for a missing member are kinesis-mock's (`ListShardsRequest.scala`),
 * the two for a member too many are ours in the same words.
 */
function assertShardFilterMembers(filter: ShardFilter & { type: ShardFilterType }): void {
  const afterShardId = filter.type === "AFTER_SHARD_ID";
  const byTime = filter.type === "AT_TIMESTAMP" || filter.type === "FROM_TIMESTAMP";
  const fail = (message: string) => new KinesisError("InvalidArgumentException", message);
  if (afterShardId && filter.shardId === undefined) {
    throw fail("ShardId must be supplied in a ShardFilter with a Type of AFTER_SHARD_ID");
  }
  if (!afterShardId && filter.shardId !== undefined) {
    throw fail("ShardId can only be supplied in a ShardFilter with a Type of AFTER_SHARD_ID");
  }
  if (byTime && filter.timestamp === undefined) {
    throw fail(
      "Timestamp must be supplied in a ShardFilter with a Type of FROM_TIMESTAMP or AT_TIMESTAMP",
    );
  }
  if (!byTime && filter.timestamp !== undefined) {
    throw fail(
      "Timestamp can only be supplied in a ShardFilter with a Type of FROM_TIMESTAMP or AT_TIMESTAMP",
    );
  }
}

/** SplitShard's model constraints, members in name order as the others. */
export function validateSplitShard(input: SplitShardInput): void {
  const v = new Violations();
  if (v.notNull(input.newStartingHashKey, "newStartingHashKey")) {
    v.pattern(input.newStartingHashKey!, "newStartingHashKey", hashKeyRegex, HASH_KEY_PATTERN);
  }
  if (v.notNull(input.shardToSplit, "shardToSplit")) {
    checkShardId(v, input.shardToSplit!, "shardToSplit");
  }
  checkStreamRef(v, input);
  v.throwIfAny();
  assertStreamIdentified(input);
}

/** MergeShards' model constraints, members in name order as the others. */
export function validateMergeShards(input: MergeShardsInput): void {
  const v = new Violations();
  if (v.notNull(input.adjacentShardToMerge, "adjacentShardToMerge")) {
    checkShardId(v, input.adjacentShardToMerge!, "adjacentShardToMerge");
  }
  if (v.notNull(input.shardToMerge, "shardToMerge")) {
    checkShardId(v, input.shardToMerge!, "shardToMerge");
  }
  checkStreamRef(v, input);
  v.throwIfAny();
  assertStreamIdentified(input);
}

/**
 * UpdateShardCount's model constraints: the scaling type of the enum, the
 * target 1 to 100,000. AWS's limits on the target (double, half, 10,000 a
 * stream, the account's quota) are the service's, checked with the stream in hand.
 */
export function validateUpdateShardCount(input: UpdateShardCountInput): void {
  const v = new Violations();
  if (v.notNull(input.scalingType, "scalingType")) {
    v.oneOf(input.scalingType!, "scalingType", SCALING_TYPES);
  }
  checkStreamRef(v, input);
  if (v.notNull(input.targetShardCount, "targetShardCount")) {
    v.range(input.targetShardCount!, "targetShardCount", 1, MAX_TARGET_SHARD_COUNT);
  }
  v.throwIfAny();
  // Only a protocol that carries JSON numbers can get here with a fraction; the text is ours.
  if (!Number.isSafeInteger(input.targetShardCount)) {
    throw new KinesisError(
      "InvalidArgumentException",
      `TargetShardCount must be a whole number, got ${input.targetShardCount}.`,
    );
  }
  assertStreamIdentified(input);
}

export function validateDescribeStream(input: DescribeStreamInput): void {
  const v = new Violations();
  if (input.limit !== undefined) v.range(input.limit, "limit", 1, MAX_LIST_LIMIT);
  if (input.exclusiveStartShardId !== undefined) {
    checkShardId(v, input.exclusiveStartShardId, "exclusiveStartShardId");
  }
  checkStreamRef(v, input);
  v.throwIfAny();
  assertStreamIdentified(input);
}

/**
 * The model constraints only. Which iterator types need a sequence number or
 * a timestamp is the service's rule, and its texts name the shard and stream,
 * so the engine (or AWS) checks that once the shard is found.
 */
export function validateGetShardIterator(input: GetShardIteratorInput): void {
  const v = new Violations();
  if (v.notNull(input.shardId, "shardId")) checkShardId(v, input.shardId!, "shardId");
  if (v.notNull(input.shardIteratorType, "shardIteratorType")) {
    v.oneOf(input.shardIteratorType!, "shardIteratorType", SHARD_ITERATOR_TYPES);
  }
  if (input.startingSequenceNumber !== undefined) {
    v.pattern(
      input.startingSequenceNumber,
      "startingSequenceNumber",
      sequenceNumberRegex,
      SEQUENCE_NUMBER_PATTERN,
    );
  }
  checkStreamRef(v, input);
  v.throwIfAny();
  assertStreamIdentified(input);
}

/** The iterator names the stream, so neither a name nor an ARN is needed. */
export function validateGetRecords(input: GetRecordsInput): void {
  const v = new Violations();
  if (input.limit !== undefined) v.range(input.limit, "limit", 1, MAX_GET_RECORDS_LIMIT);
  if (v.notNull(input.shardIterator, "shardIterator")) {
    v.length(input.shardIterator!, "shardIterator", 1, MAX_SHARD_ITERATOR_LENGTH);
  }
  checkStreamRef(v, input);
  v.throwIfAny();
}

/**
 * For IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod. The
 * AWS model puts no range on `RetentionPeriodHours`: the 24 and 8,760 hour
 * bounds are the service's InvalidArgumentException, which the engine (or
 * AWS) raises with the stream in hand.
 */
export function validateRetentionPeriod(input: RetentionPeriodInput): void {
  const v = new Violations();
  v.notNull(input.retentionPeriodHours, "retentionPeriodHours");
  checkStreamRef(v, input);
  v.throwIfAny();
  const hours = input.retentionPeriodHours!;
  // Only a protocol that carries JSON numbers can get here with a fraction;
  // AWS documents no text for it, so this one is ours.
  if (!Number.isSafeInteger(hours)) {
    throw new KinesisError(
      "InvalidArgumentException",
      `RetentionPeriodHours must be a whole number of hours, got ${hours}.`,
    );
  }
  assertStreamIdentified(input);
}

/**
 * For Enable/DisableEnhancedMonitoring: 1-7 metrics, each of the enum; a
 * list whose member breaks it is named whole, as AWS names a list.
 */
export function validateEnhancedMonitoring(input: EnhancedMonitoringInput): void {
  const v = new Violations();
  const metrics = input.shardLevelMetrics;
  if (v.notNull(metrics, "shardLevelMetrics")) {
    const rendered = renderStringList(metrics!);
    v.lengthOf(rendered, metrics!.length, "shardLevelMetrics", 1, MAX_SHARD_LEVEL_METRICS);
    if (metrics!.some((metric) => !(METRICS_NAMES as readonly string[]).includes(metric))) {
      v.add(
        rendered,
        "shardLevelMetrics",
        `Member must satisfy constraint: [Member must satisfy enum value set: ${renderStringList(METRICS_NAMES)}]`,
      );
    }
  }
  checkStreamRef(v, input);
  v.throwIfAny();
  assertStreamIdentified(input);
}

/** For StopStreamEncryption: both members required, the type of the enum, the key 1-2048. */
export function validateStreamEncryption(input: StreamEncryptionInput): void {
  const v = new Violations();
  if (v.notNull(input.encryptionType, "encryptionType")) {
    v.oneOf(input.encryptionType!, "encryptionType", ENCRYPTION_TYPES);
  }
  if (v.notNull(input.keyId, "keyId")) v.length(input.keyId!, "keyId", 1, MAX_KEY_ID_LENGTH);
  checkStreamRef(v, input);
  v.throwIfAny();
  assertStreamIdentified(input);
}

/**
 * StopStreamEncryption's checks, and the type must be KMS: the only
 * encryption there is to start. AWS documents no text for NONE; this one is ours.
 */
export function validateStartStreamEncryption(input: StreamEncryptionInput): void {
  validateStreamEncryption(input);
  if (input.encryptionType !== "KMS") {
    throw new KinesisError(
      "InvalidArgumentException",
      `StartStreamEncryption takes EncryptionType KMS, not ${input.encryptionType}.`,
    );
  }
}

export function validateAddTags(input: AddTagsInput): void {
  const v = new Violations();
  if (v.notNull(input.tags, "tags")) checkTagMap(v, input.tags!, 1, MAX_TAGS_PER_CALL);
  checkStreamRef(v, input);
  v.throwIfAny();
  assertStreamIdentified(input);
}

export function validateRemoveTags(input: RemoveTagsInput): void {
  const v = new Violations();
  checkTagKeys(v, input.tagKeys);
  checkStreamRef(v, input);
  v.throwIfAny();
  assertStreamIdentified(input);
}

export function validateListTags(input: ListTagsInput): void {
  const v = new Violations();
  if (input.limit !== undefined) v.range(input.limit, "limit", 1, MAX_LIST_TAGS_LIMIT);
  if (input.exclusiveStartTagKey !== undefined) {
    v.length(input.exclusiveStartTagKey, "exclusiveStartTagKey", 1, MAX_TAG_KEY_LENGTH);
  }
  checkStreamRef(v, input);
  v.throwIfAny();
  assertStreamIdentified(input);
}

/** A stream's or a consumer's ARN, which the model bounds as it bounds a stream's. */
export function validateListTagsForResource(input: ListTagsForResourceInput): void {
  const v = new Violations();
  checkResourceArn(v, input.resourceArn);
  checkStreamId(v, input.streamId);
  v.throwIfAny();
}

function checkResourceArn(v: Violations, arn: string | null): void {
  if (v.notNull(arn, "resourceARN")) {
    v.pattern(arn!, "resourceARN", resourceArnRegex, RESOURCE_ARN_PATTERN);
    v.length(arn!, "resourceARN", 1, MAX_STREAM_ARN_LENGTH);
  }
}

export function validateResourceRef(input: ResourceRef): void {
  const v = new Violations();
  checkResourceArn(v, input.resourceArn);
  checkStreamId(v, input.streamId);
  v.throwIfAny();
}

/**
 * The policy must be a JSON object; AWS documents no size limit and no text
 * for a policy that is none, so the text is ours. The engine does not read it further.
 */
export function validatePutResourcePolicy(input: PutResourcePolicyInput): void {
  const v = new Violations();
  v.notNull(input.policy, "policy");
  checkResourceArn(v, input.resourceArn);
  checkStreamId(v, input.streamId);
  v.throwIfAny();
  if (!isJsonObject(input.policy!)) {
    throw new KinesisError("InvalidArgumentException", "Policy is not a valid JSON object.");
  }
}

function isJsonObject(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

/** AddTagsToStream's limits on the tags, for a stream or a consumer by ARN. */
export function validateTagResource(input: TagResourceInput): void {
  const v = new Violations();
  if (v.notNull(input.tags, "tags")) checkTagMap(v, input.tags!, 1, MAX_TAGS_PER_CALL);
  checkResourceArn(v, input.resourceArn);
  checkStreamId(v, input.streamId);
  v.throwIfAny();
}

/** RemoveTagsFromStream's limits on the keys, for a stream or a consumer by ARN. */
export function validateUntagResource(input: UntagResourceInput): void {
  const v = new Violations();
  checkTagKeys(v, input.tagKeys);
  checkResourceArn(v, input.resourceArn);
  checkStreamId(v, input.streamId);
  v.throwIfAny();
}

/** What a consumer's ARN names: its stream (by ARN), its name and its creation second. */
export interface ConsumerArnParts {
  readonly streamArn: string;
  readonly accountId: string;
  readonly streamName: string;
  readonly consumerName: string;
  readonly creationSeconds: number;
}

// AWS's ConsumerARN pattern with groups: every ARN validation lets through parses.
const CONSUMER_ARN =
  /^(arn:aws.*:kinesis:.*:(\d{12}):.*stream\/([a-zA-Z0-9_.-]+))\/consumer\/([a-zA-Z0-9_.-]+):([0-9]+)$/;

/** The parts of a consumer ARN, or undefined when it is none (a stream's ARN, say). */
export function parseConsumerArn(arn: string): ConsumerArnParts | undefined {
  const match = CONSUMER_ARN.exec(arn);
  if (match === null) return undefined;
  return {
    streamArn: match[1]!,
    accountId: match[2]!,
    streamName: match[3]!,
    consumerName: match[4]!,
    creationSeconds: Number(match[5]),
  };
}

/** The stream a consumer reference addresses: by its stream's ARN, or by its own ARN's. */
export function streamOfConsumerRef(ref: ConsumerRef): StreamRef {
  const streamArn =
    ref.streamArn ??
    (ref.consumerArn === undefined ? undefined : parseConsumerArn(ref.consumerArn)?.streamArn);
  return { streamArn };
}

function checkConsumerName(v: Violations, name: string): void {
  v.pattern(name, "consumerName", consumerNameRegex, CONSUMER_NAME_PATTERN);
  v.length(name, "consumerName", 1, MAX_CONSUMER_NAME_LENGTH);
}

function checkStreamArn(v: Violations, arn: string): void {
  v.pattern(arn, "streamARN", streamArnRegex, STREAM_ARN_PATTERN);
  v.length(arn, "streamARN", 1, MAX_STREAM_ARN_LENGTH);
}

/** Members in name order, as for the other operations; AWS's order here is not recorded. */
export function validateRegisterStreamConsumer(input: RegisterStreamConsumerInput): void {
  const v = new Violations();
  if (v.notNull(input.consumerName, "consumerName")) checkConsumerName(v, input.consumerName!);
  if (v.notNull(input.streamArn, "streamARN")) checkStreamArn(v, input.streamArn!);
  if (input.tags !== undefined) checkTagMap(v, input.tags, 0, MAX_TAGS_PER_STREAM);
  checkStreamId(v, input.streamId);
  v.throwIfAny();
}

/**
 * DescribeStreamConsumer and DeregisterStreamConsumer: the consumer's ARN, or
 * its stream's ARN and its name, or all three when they agree (AWS API
 * reference). The texts for a missing or disagreeing reference are not
 * documented: the first is kinesis-mock's, the second ours.
 */
export function validateConsumerRef(ref: ConsumerRef): void {
  const v = new Violations();
  if (ref.consumerArn !== undefined) {
    v.pattern(ref.consumerArn, "consumerARN", consumerArnRegex, CONSUMER_ARN_PATTERN);
    v.length(ref.consumerArn, "consumerARN", 1, MAX_CONSUMER_ARN_LENGTH);
  }
  if (ref.consumerName !== undefined) checkConsumerName(v, ref.consumerName);
  if (ref.streamArn !== undefined) checkStreamArn(v, ref.streamArn);
  checkStreamId(v, ref.streamId);
  v.throwIfAny();
  if (ref.consumerArn === undefined) {
    if (ref.streamArn === undefined || ref.consumerName === undefined) {
      throw new KinesisError(
        "InvalidArgumentException",
        "ConsumerArn or both ConsumerName and StreamARN are required for this request.",
      );
    }
    return;
  }
  const named = parseConsumerArn(ref.consumerArn)!;
  if (
    (ref.streamArn !== undefined && ref.streamArn !== named.streamArn) ||
    (ref.consumerName !== undefined && ref.consumerName !== named.consumerName)
  ) {
    throw new KinesisError(
      "InvalidArgumentException",
      `ConsumerARN ${ref.consumerArn} does not name the consumer of the given StreamARN and ConsumerName.`,
    );
  }
}

/**
 * SubscribeToShard's model constraints, members in name order. The wire API
 * requires `ConsumerARN` (`requireConsumer`); gRPC may name the stream
 * instead, to read with the shard's shared throughput. Which position types
 * need a sequence number or a timestamp is checked with the shard in hand,
 * as for GetShardIterator.
 */
export function validateSubscribeToShard(
  input: SubscribeToShardInput,
  { requireConsumer }: { requireConsumer: boolean },
): void {
  const v = new Violations();
  const consumerArn = input.consumerArn;
  if (requireConsumer ? v.notNull(consumerArn ?? null, "consumerARN") : consumerArn !== undefined) {
    v.pattern(consumerArn!, "consumerARN", consumerArnRegex, CONSUMER_ARN_PATTERN);
    v.length(consumerArn!, "consumerARN", 1, MAX_CONSUMER_ARN_LENGTH);
  }
  if (v.notNull(input.shardId, "shardId")) checkShardId(v, input.shardId!, "shardId");
  const position = input.startingPosition;
  if (v.notNull(position, "startingPosition")) {
    if (v.notNull(position!.type, "startingPosition.type")) {
      v.oneOf(position!.type!, "startingPosition.type", SHARD_ITERATOR_TYPES);
    }
    if (position!.sequenceNumber !== undefined) {
      v.pattern(
        position!.sequenceNumber,
        "startingPosition.sequenceNumber",
        sequenceNumberRegex,
        SEQUENCE_NUMBER_PATTERN,
      );
    }
  }
  checkStreamRef(v, input);
  checkStreamId(v, input.streamId);
  v.throwIfAny();
  if (consumerArn === undefined) assertStreamIdentified(input);
}

export function validateListStreamConsumers(input: ListStreamConsumersInput): void {
  const v = new Violations();
  if (input.maxResults !== undefined) {
    v.range(input.maxResults, "maxResults", 1, MAX_LIST_STREAM_CONSUMERS);
  }
  checkNextToken(v, input.nextToken);
  if (v.notNull(input.streamArn, "streamARN")) checkStreamArn(v, input.streamArn!);
  checkStreamId(v, input.streamId);
  v.throwIfAny();
}

/** The model's bounds on `WarmThroughputMiBps`: an Integer of at least 0. */
function checkWarmThroughput(v: Violations, mibps: number | null | undefined): void {
  if (mibps !== undefined && mibps !== null) v.range(mibps, "warmThroughputMiBps", 0, MAX_INTEGER);
}

/** Java's Integer.MAX_VALUE: the model's integers are Java's. */
const MAX_INTEGER = 2_147_483_647;

/**
 * Warm throughput is an on-demand stream's ("This field is only valid when
 * the stream mode is being updated to on-demand", AWS model). AWS documents
 * no text for it; this is kinesis-mock's, for CreateStream and
 * UpdateStreamWarmThroughput alike.
 */
export function warmThroughputOnlyOnDemand(): KinesisError {
  return new KinesisError(
    "InvalidArgumentException",
    "WarmThroughputMiBps is only valid for on-demand streams",
  );
}

function assertWarmThroughputOnDemand(mode: string): void {
  if (mode !== "ON_DEMAND") throw warmThroughputOnlyOnDemand();
}

/** Members in the model's order: the stream's ARN (required), its id, the mode, the warm throughput. */
export function validateUpdateStreamMode(input: UpdateStreamModeInput): void {
  const v = new Violations();
  if (v.notNull(input.streamArn, "streamARN")) checkStreamArn(v, input.streamArn!);
  checkStreamId(v, input.streamId);
  // Undefined: no StreamModeDetails at all; null: the details without their required mode.
  if (input.streamMode === undefined) v.notNull(undefined, "streamModeDetails");
  else if (v.notNull(input.streamMode, "streamModeDetails.streamMode")) {
    v.oneOf(input.streamMode!, "streamModeDetails.streamMode", STREAM_MODES);
  }
  checkWarmThroughput(v, input.warmThroughputMiBps);
  v.throwIfAny();
  if (input.warmThroughputMiBps !== undefined) assertWarmThroughputOnDemand(input.streamMode!);
}

/** A stream by name or ARN (or both), and the warm throughput it should have. */
export function validateUpdateStreamWarmThroughput(input: UpdateStreamWarmThroughputInput): void {
  const v = new Violations();
  checkStreamRef(v, input);
  if (v.notNull(input.warmThroughputMiBps, "warmThroughputMiBps")) {
    checkWarmThroughput(v, input.warmThroughputMiBps);
  }
  v.throwIfAny();
  assertStreamIdentified(input);
}

export function validateUpdateAccountSettings(input: UpdateAccountSettingsInput): void {
  const v = new Violations();
  const commitment = input.minimumThroughputBillingCommitment;
  const path = "minimumThroughputBillingCommitment";
  if (v.notNull(commitment, path) && v.notNull(commitment!.status, `${path}.status`)) {
    v.oneOf(commitment!.status!, `${path}.status`, BILLING_COMMITMENT_STATUSES);
  }
  v.throwIfAny();
}

/** `MaxRecordSizeInKiB`: 1,024 to 10,240 (AWS model, `MaxRecordSizeInKiB`). */
function checkMaxRecordSize(v: Violations, kib: number): void {
  v.range(kib, "maxRecordSizeInKiB", MIN_MAX_RECORD_SIZE_KIB, MAX_MAX_RECORD_SIZE_KIB);
}

/**
 * UpdateMaxRecordSize names its stream by ARN only. AWS's model leaves the
 * ARN optional (beside `StreamId`, "reserved for future use") and documents
 * no text for its absence, so that one is ours.
 */
export function validateUpdateMaxRecordSize(input: UpdateMaxRecordSizeInput): void {
  const v = new Violations();
  if (v.notNull(input.maxRecordSizeInKiB, "maxRecordSizeInKiB")) {
    checkMaxRecordSize(v, input.maxRecordSizeInKiB!);
  }
  if (input.streamArn !== undefined) checkStreamArn(v, input.streamArn);
  checkStreamId(v, input.streamId);
  v.throwIfAny();
  if (input.streamArn === undefined) {
    throw new KinesisError(
      "InvalidArgumentException",
      "StreamARN was not provided; UpdateMaxRecordSize names its stream by ARN.",
    );
  }
}
