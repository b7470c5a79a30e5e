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
  streamMode?: StreamMode | undefined;
  tags?: Record<string, string> | undefined;
  /** A gateway addition: create the stream encrypted with this KMS key id. */
  kmsKeyId?: string | undefined;
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
  openShardCount: number;
  consumerCount: number;
}

export interface ListShardsInput extends StreamRef {
  nextToken?: string | undefined;
  exclusiveStartShardId?: string | undefined;
  maxResults?: number | undefined;
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
