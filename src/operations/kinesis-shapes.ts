/**
 * The AWS structures several operations share, in `aws-shape.ts`'s terms.
 * Enum members are read as the client sent them: the shared validation
 * refuses a value outside the enum, with AWS's text, before any backend sees it.
 */
import type * as k from "../kinesis/types.ts";
import { type Custom, listOf, type MemberSpec, readOnly, shape } from "./aws-shape.ts";

/** AWS's reserved `StreamId`, which the current model adds to nearly every request. */
export const streamIdMember = {
  StreamId: ["streamId", "string"],
} as const satisfies Record<string, MemberSpec>;

/** `StreamName` and `StreamARN` (and the reserved `StreamId`), as most requests name their stream. */
export const streamRefMembers = {
  StreamName: ["streamName", "string"],
  StreamARN: ["streamArn", "string"],
  ...streamIdMember,
} as const satisfies Record<string, MemberSpec>;

/** An answer's encryption: anything but KMS reads as NONE, as the domain has only those two. */
export const encryption: Custom = {
  read: (members, aws) => {
    const value = members.string(aws);
    return value === undefined ? undefined : value === "KMS" ? "KMS" : "NONE";
  },
  write: (value) => value,
};

/**
 * `StreamModeDetails.StreamMode` as the domain's `streamMode`. Details sent
 * without their required mode read as null, for validation to name.
 */
export const streamModeDetails: Custom = {
  read: (members, aws) => {
    const details = members.structure(aws);
    return details === undefined ? undefined : (details.string("StreamMode") ?? null);
  },
  write: (mode) => (mode == null ? undefined : { StreamMode: mode }),
};

/** A stream's `EnhancedMonitoring`: one entry, its enabled shard-level metrics. */
const enhancedMonitoring = listOf(
  shape<k.EnhancedMetrics>({ ShardLevelMetrics: ["shardLevelMetrics", "strings", []] }),
);
/** What a stream answered without `EnhancedMonitoring` has: no metrics enabled. */
const NO_ENHANCED_MONITORING: k.EnhancedMetrics[] = [{ shardLevelMetrics: [] }];

/** The request id the SDK reports beside a forwarded answer (for telemetry). */
export const requestId = readOnly((members) => members.structure("$metadata")?.string("requestId"));

const hashKeyRange = [
  "hashKeyRange",
  shape<k.HashKeyRange>({
    StartingHashKey: ["startingHashKey", "string", ""],
    EndingHashKey: ["endingHashKey", "string", ""],
  }),
  { startingHashKey: "", endingHashKey: "" },
] as const satisfies MemberSpec;

export const shardShape = shape<k.Shard>({
  ShardId: ["shardId", "string", ""],
  ParentShardId: ["parentShardId", "string"],
  AdjacentParentShardId: ["adjacentParentShardId", "string"],
  HashKeyRange: hashKeyRange,
  SequenceNumberRange: [
    "sequenceNumberRange",
    shape<k.SequenceNumberRange>({
      StartingSequenceNumber: ["startingSequenceNumber", "string", ""],
      EndingSequenceNumber: ["endingSequenceNumber", "string"],
    }),
    { startingSequenceNumber: "" },
  ],
});

/** A record to write, in PutRecords and (beside the stream) PutRecord. */
export const recordMembers = {
  // Null when a wire client sent none: validation names it.
  Data: ["data", "blob", null],
  PartitionKey: ["partitionKey", "string", null],
  ExplicitHashKey: ["explicitHashKey", "string"],
} as const satisfies Record<string, MemberSpec>;

export const putRecordsEntry = shape<k.PutRecordsRequestEntry>(recordMembers);

export const putRecordsResult = shape<k.PutRecordsResultEntry>({
  SequenceNumber: ["sequenceNumber", "string"],
  ShardId: ["shardId", "string"],
  ErrorCode: ["errorCode", "string"],
  ErrorMessage: ["errorMessage", "string"],
});

const streamHeader = {
  StreamName: ["streamName", "string", ""],
  StreamARN: ["streamArn", "string", ""],
  StreamStatus: ["streamStatus", "string", "ACTIVE"],
  StreamModeDetails: ["streamMode", streamModeDetails, "PROVISIONED"],
} as const satisfies Record<string, MemberSpec>;

const UNKNOWN_TIME = new Date(0);

export const streamSummary = shape<k.StreamSummary>({
  ...streamHeader,
  StreamCreationTimestamp: ["streamCreationTimestamp", "timestamp", UNKNOWN_TIME],
});

/** A stream's `WarmThroughput` (DescribeStreamSummary, UpdateStreamWarmThroughput). */
export const warmThroughputShape = shape<k.WarmThroughput>({
  TargetMiBps: ["targetMiBps", "integer"],
  CurrentMiBps: ["currentMiBps", "integer"],
});

export const streamDescriptionSummary = shape<k.StreamDescriptionSummary>({
  ...streamHeader,
  RetentionPeriodHours: ["retentionPeriodHours", "integer", 24],
  StreamCreationTimestamp: ["streamCreationTimestamp", "timestamp", UNKNOWN_TIME],
  EnhancedMonitoring: ["enhancedMonitoring", enhancedMonitoring, NO_ENHANCED_MONITORING],
  EncryptionType: ["encryptionType", encryption, "NONE"],
  KeyId: ["keyId", "string"],
  OpenShardCount: ["openShardCount", "integer", 0],
  ConsumerCount: ["consumerCount", "integer", 0],
  WarmThroughput: ["warmThroughput", warmThroughputShape],
  MaxRecordSizeInKiB: ["maxRecordSizeInKiB", "integer"],
});

export const streamDescription = shape<k.StreamDescription>({
  ...streamHeader,
  Shards: ["shards", listOf(shardShape), []],
  HasMoreShards: ["hasMoreShards", "boolean", false],
  RetentionPeriodHours: ["retentionPeriodHours", "integer", 24],
  StreamCreationTimestamp: ["streamCreationTimestamp", "timestamp", UNKNOWN_TIME],
  EnhancedMonitoring: ["enhancedMonitoring", enhancedMonitoring, NO_ENHANCED_MONITORING],
  EncryptionType: ["encryptionType", encryption, "NONE"],
  KeyId: ["keyId", "string"],
});

export const shardFilter = shape<k.ShardFilter>({
  Type: ["type", "string", null],
  ShardId: ["shardId", "string"],
  Timestamp: ["timestamp", "timestamp"],
});

export const kinesisRecord = shape<k.KinesisRecord>({
  SequenceNumber: ["sequenceNumber", "string", ""],
  ApproximateArrivalTimestamp: ["approximateArrivalTimestamp", "timestamp", UNKNOWN_TIME],
  Data: ["data", "blob", new Uint8Array(0)],
  PartitionKey: ["partitionKey", "string", ""],
  EncryptionType: ["encryptionType", encryption],
});

export const retentionPeriod = shape<k.RetentionPeriodInput>({
  ...streamRefMembers,
  RetentionPeriodHours: ["retentionPeriodHours", "integer", null],
});

export const tag = shape<{ key: string; value: string }>({
  Key: ["key", "string", ""],
  Value: ["value", "string", ""],
});

export const consumerShape = shape<k.Consumer>({
  ConsumerName: ["consumerName", "string", ""],
  ConsumerARN: ["consumerArn", "string", ""],
  ConsumerStatus: ["consumerStatus", "string", "ACTIVE"],
  ConsumerCreationTimestamp: ["consumerCreationTimestamp", "timestamp"],
});

export const consumerDescription = shape<k.ConsumerDescription>({
  ConsumerName: ["consumerName", "string", ""],
  ConsumerARN: ["consumerArn", "string", ""],
  ConsumerStatus: ["consumerStatus", "string", "ACTIVE"],
  ConsumerCreationTimestamp: ["consumerCreationTimestamp", "timestamp"],
  StreamARN: ["streamArn", "string", ""],
});

/** How DescribeStreamConsumer and DeregisterStreamConsumer name a consumer. */
export const consumerRef = shape<k.ConsumerRef>({
  StreamARN: ["streamArn", "string"],
  ConsumerName: ["consumerName", "string"],
  ConsumerARN: ["consumerArn", "string"],
  ...streamIdMember,
});

/** Enable/DisableEnhancedMonitoring's request and answer. */
export const enhancedMonitoringInput = shape<k.EnhancedMonitoringInput>({
  ...streamRefMembers,
  ShardLevelMetrics: ["shardLevelMetrics", "strings", null],
});

export const enhancedMonitoringOutput = shape<k.EnhancedMonitoringOutput>({
  StreamName: ["streamName", "string", ""],
  StreamARN: ["streamArn", "string", ""],
  CurrentShardLevelMetrics: ["currentShardLevelMetrics", "strings", []],
  DesiredShardLevelMetrics: ["desiredShardLevelMetrics", "strings", []],
});

/** Start/StopStreamEncryption's request. */
export const streamEncryptionInput = shape<k.StreamEncryptionInput>({
  ...streamRefMembers,
  EncryptionType: ["encryptionType", "string", null],
  KeyId: ["keyId", "string", null],
});

/** The billing commitment DescribeAccountSettings and UpdateAccountSettings answer. */
export const accountSettingsOutput = shape<k.AccountSettingsOutput>({
  MinimumThroughputBillingCommitment: [
    "minimumThroughputBillingCommitment",
    shape<k.MinimumThroughputBillingCommitment>({
      Status: ["status", "string", "DISABLED"],
      StartedAt: ["startedAt", "timestamp"],
      EndedAt: ["endedAt", "timestamp"],
      EarliestAllowedEndAt: ["earliestAllowedEndAt", "timestamp"],
    }),
  ],
});

/** A child shard, as GetRecords names it at the end of a closed shard. */
export const childShard = shape<k.ChildShard>({
  ShardId: ["shardId", "string", ""],
  ParentShards: ["parentShards", "strings", []],
  HashKeyRange: hashKeyRange,
});

/** SubscribeToShard's request; absent required members read as null, for validation to name. */
export const subscribeToShardInput = shape<k.SubscribeToShardInput>({
  ConsumerARN: ["consumerArn", "string"],
  ShardId: ["shardId", "string", null],
  StartingPosition: [
    "startingPosition",
    shape<k.StartingPosition>({
      Type: ["type", "string", null],
      SequenceNumber: ["sequenceNumber", "string"],
      Timestamp: ["timestamp", "timestamp"],
    }),
    null,
  ],
  ...streamIdMember,
});

/** One `SubscribeToShardEvent`: GetRecords' records and child shards, and where to continue. */
export const subscribeToShardEvent = shape<k.SubscribeToShardEvent>({
  Records: ["records", listOf(kinesisRecord), []],
  ContinuationSequenceNumber: ["continuationSequenceNumber", "string"],
  MillisBehindLatest: ["millisBehindLatest", "integer", 0],
  ChildShards: ["childShards", listOf(childShard)],
});
