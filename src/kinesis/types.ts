/**
 * The Kinesis operations in domain form: the AWS shapes with camelCase
 * members. Protocol adapters convert to and from these; backends and the
 * engine speak only these.
 */

export type EncryptionType = "NONE" | "KMS";
export type StreamMode = "PROVISIONED" | "ON_DEMAND";
export type StreamStatus = "CREATING" | "DELETING" | "ACTIVE" | "UPDATING";

/** A stream named by name, by ARN, or both. */
export interface StreamRef {
  streamName?: string | undefined;
  streamArn?: string | undefined;
  /** AWS's `StreamId`: "Not Implemented. Reserved for future use." See {@link StreamIdMember}. */
  streamId?: string | undefined;
}

export interface PutRecordsRequestEntry {
  /** Null only when a wire client sent no `Data` at all; validation rejects it. */
  data: Uint8Array | null;
  /** Null only when a wire client sent no `PartitionKey`; validation rejects it. */
  partitionKey: string | null;
  explicitHashKey?: string | undefined;
  /** A gateway addition: the trace the record belongs to (never sent to Kinesis). */
  traceContext?: TraceContext | undefined;
}

/** A W3C Trace Context, as its HTTP headers carry it. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string | undefined;
}

export interface PutRecordsInput extends StreamRef {
  /** Null only when a wire client sent no `Records`; validation rejects it. */
  records: PutRecordsRequestEntry[] | null;
}

export interface PutRecordsResultEntry {
  sequenceNumber?: string;
  shardId?: string;
  errorCode?: "ProvisionedThroughputExceededException" | "InternalFailure";
  errorMessage?: string;
}

export interface PutRecordsOutput {
  failedRecordCount: number;
  records: PutRecordsResultEntry[];
  encryptionType: EncryptionType;
  /** The AWS request id, when the call was forwarded (for telemetry). */
  requestId?: string | undefined;
}

export interface PutRecordInput extends StreamRef, PutRecordsRequestEntry {
  sequenceNumberForOrdering?: string | undefined;
}

export interface PutRecordOutput {
  shardId: string;
  sequenceNumber: string;
  encryptionType: EncryptionType;
  /** The AWS request id, when the call was forwarded (for telemetry). */
  requestId?: string | undefined;
}

export interface CreateStreamInput {
  streamName: string;
  /** Required for provisioned streams; on-demand streams start with 4 shards. */
  shardCount?: number | undefined;
  /**
   * As the client sent it, which validation checks against the enum before
   * any backend sees it. Null only when a wire client sent `StreamModeDetails`
   * without a `StreamMode`; validation rejects it.
   */
  streamMode?: StreamMode | null | undefined;
  tags?: Record<string, string> | undefined;
  /** A gateway addition: create the stream encrypted with this KMS key id. */
  kmsKeyId?: string | undefined;
  /** On-demand Advantage: the write throughput to have warm from the start (on-demand streams only). */
  warmThroughputMiBps?: number | undefined;
  /** The largest record the stream takes, 1,024 to 10,240 KiB; 1,024 when unset (0 over gRPC). */
  maxRecordSizeInKiB?: number | undefined;
}

export interface DeleteStreamInput extends StreamRef {
  enforceConsumerDeletion?: boolean | undefined;
}

export interface ListStreamsInput {
  limit?: number | undefined;
  exclusiveStartStreamName?: string | undefined;
  nextToken?: string | undefined;
}

export interface StreamSummary {
  streamName: string;
  streamArn: string;
  streamStatus: StreamStatus;
  streamMode: StreamMode;
  streamCreationTimestamp: Date;
}

export interface ListStreamsOutput {
  streamNames: string[];
  hasMoreStreams: boolean;
  nextToken?: string;
  streamSummaries: StreamSummary[];
}

export interface StreamDescriptionSummary {
  streamName: string;
  streamArn: string;
  streamStatus: StreamStatus;
  streamMode: StreamMode;
  retentionPeriodHours: number;
  streamCreationTimestamp: Date;
  encryptionType: EncryptionType;
  keyId?: string;
  /** One entry, as AWS answers: the shard-level metrics enabled. */
  enhancedMonitoring: EnhancedMetrics[];
  openShardCount: number;
  consumerCount: number;
  /** Only for an on-demand stream while the account's billing commitment is in effect, as on AWS. */
  warmThroughput?: WarmThroughput | undefined;
  /** The largest record the stream takes; undefined when a forwarded endpoint does not say. */
  maxRecordSizeInKiB?: number | undefined;
}

export interface ListShardsInput extends StreamRef {
  nextToken?: string | undefined;
  /**
   * The stream a `nextToken` pages through, read from the sealed token by
   * `backends/page-tokens.ts` (never from a request): for access control
   * and routing, as AWS forbids naming the stream beside a token.
   */
  tokenStream?: StreamRef | undefined;
  exclusiveStartShardId?: string | undefined;
  maxResults?: number | undefined;
  /** Which shards to list (AWS's ShardFilter types; see `engine/shard-listing.ts`). */
  shardFilter?: ShardFilter | undefined;
}

export type ShardFilterType =
  | "AFTER_SHARD_ID"
  | "AT_TRIM_HORIZON"
  | "FROM_TRIM_HORIZON"
  | "AT_LATEST"
  | "AT_TIMESTAMP"
  | "FROM_TIMESTAMP";

export interface ShardFilter {
  /**
   * As the client sent it, which validation checks against the enum. Null
   * only when a wire client sent no `Type`; validation rejects it.
   */
  type: ShardFilterType | null;
  /** For AFTER_SHARD_ID. */
  shardId?: string | undefined;
  /** For AT_TIMESTAMP and FROM_TIMESTAMP. */
  timestamp?: Date | undefined;
}

export interface HashKeyRange {
  startingHashKey: string;
  endingHashKey: string;
}

export interface SequenceNumberRange {
  startingSequenceNumber: string;
  endingSequenceNumber?: string;
}

export interface Shard {
  shardId: string;
  parentShardId?: string;
  adjacentParentShardId?: string;
  hashKeyRange: HashKeyRange;
  sequenceNumberRange: SequenceNumberRange;
}

export interface ListShardsOutput {
  shards: Shard[];
  nextToken?: string;
}

/** Where a shard iterator starts, as GetShardIterator names it. */
export type ShardIteratorType =
  | "TRIM_HORIZON"
  | "LATEST"
  | "AT_SEQUENCE_NUMBER"
  | "AFTER_SEQUENCE_NUMBER"
  | "AT_TIMESTAMP";

export interface GetShardIteratorInput extends StreamRef {
  /** Null only when a wire client sent none; validation rejects it. */
  shardId: string | null;
  /**
   * As the client sent it, which validation checks against the enum. Null
   * only when a client sent none; validation rejects it.
   */
  shardIteratorType: ShardIteratorType | null;
  /** For AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER. */
  startingSequenceNumber?: string | undefined;
  /** For AT_TIMESTAMP. */
  timestamp?: Date | undefined;
}

export interface GetShardIteratorOutput {
  shardIterator: string;
}

export interface GetRecordsInput {
  /** AWS's `StreamId`, reserved: validated, never used (see {@link StreamIdMember}). */
  streamId?: string | undefined;
  /** Null only when a wire client sent none; validation rejects it. */
  shardIterator: string | null;
  /** 1 to 10,000; default 10,000. */
  limit?: number | undefined;
  streamArn?: string | undefined;
}

/** A record as a reader gets it. */
export interface KinesisRecord {
  sequenceNumber: string;
  approximateArrivalTimestamp: Date;
  data: Uint8Array;
  partitionKey: string;
  encryptionType?: EncryptionType | undefined;
}

export interface GetRecordsOutput {
  records: KinesisRecord[];
  /** Absent when the shard is closed and fully read. */
  nextShardIterator?: string | undefined;
  /**
   * How far the response is from the tip of the stream (AWS): 0 when no record
   * is left after the ones returned; otherwise, in the engine, how long ago the
   * last record returned arrived.
   */
  millisBehindLatest: number;
  /** Set only at the end of a closed shard: the shards made from it. */
  childShards?: ChildShard[] | undefined;
}

/** A shard made from the one read, as GetRecords names it at that shard's end. */
export interface ChildShard {
  shardId: string;
  parentShards: string[];
  hashKeyRange: HashKeyRange;
}

export interface DescribeStreamInput extends StreamRef {
  /** 1 to 10,000 shards; default 100. */
  limit?: number | undefined;
  exclusiveStartShardId?: string | undefined;
}

export interface StreamDescription {
  streamName: string;
  streamArn: string;
  streamStatus: StreamStatus;
  streamMode: StreamMode;
  shards: Shard[];
  hasMoreShards: boolean;
  retentionPeriodHours: number;
  streamCreationTimestamp: Date;
  encryptionType: EncryptionType;
  keyId?: string;
  /** One entry, as AWS answers: the shard-level metrics enabled. */
  enhancedMonitoring: EnhancedMetrics[];
}

export interface RetentionPeriodInput extends StreamRef {
  /** Null only when a wire client sent none; validation rejects it. */
  retentionPeriodHours: number | null;
}

export interface AddTagsInput extends StreamRef {
  /** Null only when a wire client sent none; validation rejects it. */
  tags: Record<string, string> | null;
}

export interface RemoveTagsInput extends StreamRef {
  /** Null only when a wire client sent none; validation rejects it. */
  tagKeys: string[] | null;
}

export interface ListTagsInput extends StreamRef {
  exclusiveStartTagKey?: string | undefined;
  /** 1 to 50; default 50 (the AWS maximum per call). */
  limit?: number | undefined;
}

export interface ListTagsOutput {
  tags: { key: string; value: string }[];
  hasMoreTags: boolean;
}

export interface ListTagsForResourceInput {
  /** AWS's `StreamId`, reserved: validated, never used (see {@link StreamIdMember}). */
  streamId?: string | undefined;
  /** A stream's ARN (a consumer's, once consumers exist). Null only when a wire client sent none. */
  resourceArn: string | null;
}

export interface TagResourceInput {
  /** AWS's `StreamId`, reserved: validated, never used (see {@link StreamIdMember}). */
  streamId?: string | undefined;
  /** A stream's or a consumer's ARN. Null only when a wire client sent none. */
  resourceArn: string | null;
  /** Null only when a wire client sent none; validation rejects it. */
  tags: Record<string, string> | null;
}

export interface UntagResourceInput {
  /** AWS's `StreamId`, reserved: validated, never used (see {@link StreamIdMember}). */
  streamId?: string | undefined;
  /** A stream's or a consumer's ARN. Null only when a wire client sent none. */
  resourceArn: string | null;
  /** Null only when a wire client sent none; validation rejects it. */
  tagKeys: string[] | null;
}

/** A stream's or a consumer's ARN, for GetResourcePolicy and DeleteResourcePolicy. */
export interface ResourceRef {
  /** AWS's `StreamId`, reserved: validated, never used (see {@link StreamIdMember}). */
  streamId?: string | undefined;
  /** Null only when a wire client sent none. */
  resourceArn: string | null;
}

export interface PutResourcePolicyInput extends ResourceRef {
  /** A JSON document, stored as given. Null only when a wire client sent none. */
  policy: string | null;
}

export interface GetResourcePolicyOutput {
  /** The policy as PutResourcePolicy was given it; "{}" when the resource has none. */
  policy: string;
}

export interface ListTagsForResourceOutput {
  tags: { key: string; value: string }[];
}

export interface DescribeLimitsOutput {
  shardLimit: number;
  openShardCount: number;
  onDemandStreamCount: number;
  onDemandStreamCountLimit: number;
}

/** DescribeLimits takes no members. */
export type DescribeLimitsInput = Record<never, never>;

export type ConsumerStatus = "CREATING" | "DELETING" | "ACTIVE";

/** A registered consumer as RegisterStreamConsumer and ListStreamConsumers answer it. */
export interface Consumer {
  consumerName: string;
  consumerArn: string;
  consumerStatus: ConsumerStatus;
  consumerCreationTimestamp: Date;
}

/** A consumer as DescribeStreamConsumer answers it: with its stream's ARN. */
export interface ConsumerDescription extends Consumer {
  streamArn: string;
}

export interface RegisterStreamConsumerInput {
  /** AWS's `StreamId`, reserved: validated, never used (see {@link StreamIdMember}). */
  streamId?: string | undefined;
  /** Null only when a wire client sent none; validation rejects it. */
  streamArn: string | null;
  /** Null only when a wire client sent none; validation rejects it. */
  consumerName: string | null;
  tags?: Record<string, string> | undefined;
}

export interface RegisterStreamConsumerOutput {
  consumer: Consumer;
}

/**
 * A consumer named by its ARN, or by its stream's ARN and its name, or by all
 * three when they agree (DescribeStreamConsumer, DeregisterStreamConsumer).
 */
export interface ConsumerRef {
  /** AWS's `StreamId`, reserved: validated, never used (see {@link StreamIdMember}). */
  streamId?: string | undefined;
  streamArn?: string | undefined;
  consumerName?: string | undefined;
  consumerArn?: string | undefined;
}

export interface DescribeStreamConsumerOutput {
  consumerDescription: ConsumerDescription;
}

export interface ListStreamConsumersInput {
  /** AWS's `StreamId`, reserved: validated, never used (see {@link StreamIdMember}). */
  streamId?: string | undefined;
  /** Null only when a wire client sent none; validation rejects it. */
  streamArn: string | null;
  nextToken?: string | undefined;
  maxResults?: number | undefined;
  /** Accepted as AWS takes it; a stream of the engine is known by its ARN alone. */
  streamCreationTimestamp?: Date | undefined;
}

export interface ListStreamConsumersOutput {
  consumers: Consumer[];
  nextToken?: string | undefined;
}

/** A shard-level metric, or ALL of them (in requests only). */
export type MetricsName =
  | "IncomingBytes"
  | "IncomingRecords"
  | "OutgoingBytes"
  | "OutgoingRecords"
  | "WriteProvisionedThroughputExceeded"
  | "ReadProvisionedThroughputExceeded"
  | "IteratorAgeMilliseconds"
  | "ALL";

export interface EnhancedMetrics {
  shardLevelMetrics: MetricsName[];
}

/** For EnableEnhancedMonitoring and DisableEnhancedMonitoring. */
export interface EnhancedMonitoringInput extends StreamRef {
  /** As sent, checked against the enum by validation; null only when a wire client sent none. */
  shardLevelMetrics: string[] | null;
}

export interface EnhancedMonitoringOutput {
  streamName: string;
  streamArn: string;
  /** Before the change. */
  currentShardLevelMetrics: MetricsName[];
  /** After it. */
  desiredShardLevelMetrics: MetricsName[];
}

/** For StartStreamEncryption and StopStreamEncryption, which take the same members. */
export interface StreamEncryptionInput extends StreamRef {
  /** As sent, checked against the enum by validation; null only when a wire client sent none. */
  encryptionType: string | null;
  /** Null only when a wire client sent none; validation rejects it. */
  keyId: string | null;
}

/**
 * AWS's `StreamId`, which the current model puts beside `StreamName` and
 * `StreamARN` on almost every request: "Not Implemented. Reserved for future
 * use." Validated (its length and pattern, with AWS's texts) and otherwise
 * ignored by the engine; forwarded as given.
 */
export interface StreamIdMember {
  streamId?: string | undefined;
}

export interface UpdateStreamModeInput {
  /** Null only when a wire client sent none; validation rejects it. */
  streamArn: string | null;
  streamId?: string | undefined;
  /**
   * `StreamModeDetails.StreamMode` as sent, checked against the enum by
   * validation: undefined when no details were sent, null when they came
   * without their mode.
   */
  streamMode?: string | null | undefined;
  /** The warm throughput to have once ON_DEMAND (On-demand Advantage). */
  warmThroughputMiBps?: number | undefined;
}

/** A stream's warm write throughput, in MiB/s: what it scales towards and what it has. */
export interface WarmThroughput {
  targetMiBps?: number | undefined;
  currentMiBps?: number | undefined;
}

export interface UpdateStreamWarmThroughputInput extends StreamRef {
  /** Null only when a wire client sent none; validation rejects it. */
  warmThroughputMiBps: number | null;
}

/** All optional, as in AWS's model: kinesis-mock answers without `StreamARN`. */
export interface UpdateStreamWarmThroughputOutput {
  streamArn?: string | undefined;
  streamName?: string | undefined;
  warmThroughput?: WarmThroughput | undefined;
}

/**
 * The account's minimum throughput billing commitment. ENABLED_UNTIL_EARLIEST_ALLOWED_END:
 * disabled before its 24 hours were over, so it ends then.
 */
export type BillingCommitmentStatus = "ENABLED" | "DISABLED" | "ENABLED_UNTIL_EARLIEST_ALLOWED_END";

export interface MinimumThroughputBillingCommitment {
  status: BillingCommitmentStatus;
  startedAt?: Date | undefined;
  endedAt?: Date | undefined;
  earliestAllowedEndAt?: Date | undefined;
}

/** DescribeAccountSettings' and UpdateAccountSettings' answer. */
export interface AccountSettingsOutput {
  minimumThroughputBillingCommitment?: MinimumThroughputBillingCommitment | undefined;
}

/** DescribeAccountSettings takes no members. */
export type DescribeAccountSettingsInput = Record<never, never>;

export interface UpdateAccountSettingsInput {
  /** As sent: null when a wire client sent none, `status` null when it came without one. */
  minimumThroughputBillingCommitment: { status: string | null } | null;
}

/** UpdateMaxRecordSize: a stream, named by its ARN only, and its new maximum record size. */
export interface UpdateMaxRecordSizeInput {
  streamArn?: string | undefined;
  /** AWS's `StreamId`, reserved: validated, never used (see {@link StreamIdMember}). */
  streamId?: string | undefined;
  /** Null only when a wire client sent none; validation rejects it. */
  maxRecordSizeInKiB: number | null;
}

/** For SplitShard. */
export interface SplitShardInput extends StreamRef {
  /** Null only when a wire client sent none; validation rejects it. */
  shardToSplit: string | null;
  /** A decimal hash key; null only when a wire client sent none. */
  newStartingHashKey: string | null;
}

/** For MergeShards. */
export interface MergeShardsInput extends StreamRef {
  /** Null only when a wire client sent none; validation rejects it. */
  shardToMerge: string | null;
  /** Null only when a wire client sent none; validation rejects it. */
  adjacentShardToMerge: string | null;
}

export type ScalingType = "UNIFORM_SCALING";

/** For UpdateShardCount. */
export interface UpdateShardCountInput extends StreamRef {
  /** Null only when a wire client sent none; validation rejects it. */
  targetShardCount: number | null;
  /** As sent, checked against the enum by validation; null only when a client sent none. */
  scalingType: string | null;
}

export interface UpdateShardCountOutput {
  streamName: string;
  streamArn: string;
  /** The open shards before the change. */
  currentShardCount: number;
  targetShardCount: number;
}

/** Where a subscription starts, as SubscribeToShard's `StartingPosition`. */
export interface StartingPosition {
  /** Null only when a wire client sent none; validation rejects it. */
  type: ShardIteratorType | null;
  /** For AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER. */
  sequenceNumber?: string | undefined;
  /** For AT_TIMESTAMP. */
  timestamp?: Date | undefined;
}

/**
 * SubscribeToShard. On the wire API `consumerArn` is required (enhanced
 * fan-out); gRPC may leave it out and name the stream instead, to read with
 * the shard's shared throughput as GetRecords does.
 */
export interface SubscribeToShardInput extends StreamRef {
  /** AWS's `StreamId`, reserved: validated, never used. */
  streamId?: string | undefined;
  consumerArn?: string | undefined;
  /** Null only when a wire client sent none; validation rejects it. */
  shardId: string | null;
  startingPosition: StartingPosition | null;
}

/** One `SubscribeToShardEvent`. */
export interface SubscribeToShardEvent {
  records: KinesisRecord[];
  /**
   * Where a new subscription continues (AFTER_SEQUENCE_NUMBER) to miss
   * nothing; absent in the event that names a closed shard's children, as on AWS.
   */
  continuationSequenceNumber?: string | undefined;
  millisBehindLatest: number;
  /** In the last event of a closed shard: the shards to read next. */
  childShards?: ChildShard[] | undefined;
}
