/** Kinesis's limits, as the AWS API model and documentation state them. */
import type {
  EncryptionType,
  MetricsName,
  ScalingType,
  ShardFilterType,
  ShardIteratorType,
  StreamMode,
} from "./types.ts";

export const MIN_RECORDS_PER_PUT = 1;
export const MAX_RECORDS_PER_PUT = 500;
export const MAX_PARTITION_KEY_LENGTH = 256;
/**
 * Data plus partition key of one record, on a stream whose maximum record
 * size was never raised: every stream's default (AWS developer guide, "Handle
 * large records", https://docs.aws.amazon.com/streams/latest/dev/large-records.html).
 */
export const MAX_RECORD_BYTES = 1024 * 1024;
/**
 * Data plus partition keys of all records of one `PutRecords`: 10 MiB since
 * AWS raised it from 5 MiB with large records (API reference, PutRecords,
 * https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html).
 */
export const MAX_PUT_RECORDS_BYTES = 10 * 1024 * 1024;
/**
 * A stream's maximum record size, in KiB (`MaxRecordSizeInKiB` of CreateStream
 * and UpdateMaxRecordSize, "1024 and 10240 KiB (1 to 10 MiB)": API reference,
 * https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateMaxRecordSize.html).
 */
export const MIN_MAX_RECORD_SIZE_KIB = 1024;
export const MAX_MAX_RECORD_SIZE_KIB = 10240;
/** What a stream takes until CreateStream or UpdateMaxRecordSize says otherwise. */
export const DEFAULT_MAX_RECORD_SIZE_KIB = MIN_MAX_RECORD_SIZE_KIB;
/** The largest record any stream takes: the model's bound on `Data` (10485760). */
export const LARGEST_RECORD_BYTES = MAX_MAX_RECORD_SIZE_KIB * 1024;
export const MAX_STREAM_NAME_LENGTH = 128;
export const MAX_STREAM_ARN_LENGTH = 2048;
export const MAX_CONSUMER_NAME_LENGTH = 128;
export const MAX_CONSUMER_ARN_LENGTH = 2048;
/**
 * Consumers one stream may have registered (AWS API reference,
 * RegisterStreamConsumer: 20 for provisioned and on-demand standard streams;
 * 50 for on-demand advantage ones, {@link MAX_CONSUMERS_PER_ADVANTAGE_STREAM}).
 */
export const MAX_CONSUMERS_PER_STREAM = 20;
/**
 * Consumers that may be CREATING at once (AWS API reference,
 * RegisterStreamConsumer: "Registering a 6th consumer while there are 5 in a
 * CREATING status results in a LimitExceededException").
 */
export const MAX_CREATING_CONSUMERS = 5;
/** The most consumers one `ListStreamConsumers` returns (AWS model: `MaxResults` 1 to 10,000). */
export const MAX_LIST_STREAM_CONSUMERS = 10_000;
export const MAX_SHARD_ID_LENGTH = 128;
export const MAX_HASH_KEY = 2n ** 128n - 1n;
export const MAX_LIST_LIMIT = 10_000;
export const MAX_TAGS_PER_STREAM = 50;
/** Tags one `AddTagsToStream` may set, and keys one `RemoveTagsFromStream` may remove. */
export const MAX_TAGS_PER_CALL = 50;
/** The most tags one `ListTagsForStream` returns; also its default. */
export const MAX_LIST_TAGS_LIMIT = 50;
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;

/** The length of a `ShardIterator` (AWS model). */
export const MAX_SHARD_ITERATOR_LENGTH = 512;
/** Records one `GetRecords` returns at most; also its default `Limit`. */
export const MAX_GET_RECORDS_LIMIT = 10_000;
/** Bytes one `GetRecords` returns at most; a single larger record is still returned whole. */
export const MAX_GET_RECORDS_BYTES = 10 * 1024 * 1024;
/** The longest `NextToken` of the list operations (AWS's model: 1 to 1,048,576). */
export const MAX_NEXT_TOKEN_LENGTH = 1_048_576;
/** How long a shard iterator stays usable after `GetShardIterator` (or `GetRecords`) issued it. */
export const SHARD_ITERATOR_TTL_MS = 300_000;
/** Shards one `DescribeStream` returns by default; the most is {@link MAX_LIST_LIMIT}. */
export const DESCRIBE_STREAM_DEFAULT_LIMIT = 100;

export const MIN_RETENTION_HOURS = 24;
/** 365 days (current AWS documentation; older sources say 168). */
export const MAX_RETENTION_HOURS = 8760;

/** On-demand streams an account may have, by default. */
export const DEFAULT_ON_DEMAND_STREAM_COUNT_LIMIT = 50;

/*
 * The enum value sets, each in the order AWS's ValidationException lists it
 * ("Member must satisfy enum value set: [...]"). Where a message from AWS
 * itself was recorded, its order is used; otherwise the order of AWS's model
 * (botocore `data/kinesis/2013-12-02/service-2.json`, the shapes named below).
 */

/**
 * `ShardIteratorType`, for GetShardIterator (and SubscribeToShard's
 * `StartingPosition.Type`), in the order of AWS's message as kinesalite's
 * tests, which run against AWS too, recorded it (mhart/kinesalite
 * `test/getShardIterator.js`, "empty StreamName"). The model's order
 * (AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST,
 * AT_TIMESTAMP) is not the one AWS answers with.
 */
export const SHARD_ITERATOR_TYPES: readonly ShardIteratorType[] = [
  "AFTER_SEQUENCE_NUMBER",
  "LATEST",
  "AT_TIMESTAMP",
  "AT_SEQUENCE_NUMBER",
  "TRIM_HORIZON",
];

/** `StreamMode`, for CreateStream's `StreamModeDetails`: the model's order. */
export const STREAM_MODES: readonly StreamMode[] = ["PROVISIONED", "ON_DEMAND"];

/** `ShardFilterType`, for ListShards' `ShardFilter`: the model's order. */
export const SHARD_FILTER_TYPES: readonly ShardFilterType[] = [
  "AFTER_SHARD_ID",
  "AT_TRIM_HORIZON",
  "FROM_TRIM_HORIZON",
  "AT_LATEST",
  "AT_TIMESTAMP",
  "FROM_TIMESTAMP",
];

/** `MetricsName`, for Enable/DisableEnhancedMonitoring: the model's order. */
export const METRICS_NAMES: readonly MetricsName[] = [
  "IncomingBytes",
  "IncomingRecords",
  "OutgoingBytes",
  "OutgoingRecords",
  "WriteProvisionedThroughputExceeded",
  "ReadProvisionedThroughputExceeded",
  "IteratorAgeMilliseconds",
  "ALL",
];
/** `EncryptionType`, for Start/StopStreamEncryption, in the order AWS's text lists them. */
export const ENCRYPTION_TYPES: readonly EncryptionType[] = ["KMS", "NONE"];
/** The model's bound on `KeyId` (a key's id, ARN, alias name or alias ARN). */
export const MAX_KEY_ID_LENGTH = 2048;
/** The model's bounds on `ShardLevelMetrics` (a request's list). */
export const MAX_SHARD_LEVEL_METRICS = 7;

// The patterns as AWS writes them in its messages; the regexes match the whole value.
export const STREAM_NAME_PATTERN = "[a-zA-Z0-9_.-]+";
export const STREAM_ARN_PATTERN = "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+";
/** A stream's or a consumer's ARN, as TagResource and its kin take it (AWS API reference). */
export const RESOURCE_ARN_PATTERN = "arn:aws.*:kinesis:.*:\\d{12}:.+";
/** A consumer's name (AWS model `ConsumerName`). */
export const CONSUMER_NAME_PATTERN = "[a-zA-Z0-9_.-]+";
/** A consumer's ARN, as AWS's model writes it: `stream/<name>/consumer/<name>:<creation second>`. */
export const CONSUMER_ARN_PATTERN =
  "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+";
export const SHARD_ID_PATTERN = "[a-zA-Z0-9_.-]+";
export const HASH_KEY_PATTERN = "0|([1-9]\\d{0,38})";
export const SEQUENCE_NUMBER_PATTERN = "0|([1-9]\\d{0,128})";

/**
 * Consumers an on-demand stream may have registered while the account's
 * minimum throughput billing commitment is in effect ("On-demand Advantage";
 * AWS API reference, RegisterStreamConsumer). Other streams keep
 * {@link MAX_CONSUMERS_PER_STREAM}.
 */
export const MAX_CONSUMERS_PER_ADVANTAGE_STREAM = 50;
/** `MinimumThroughputBillingCommitmentInputStatus`, for UpdateAccountSettings: the model's order. */
export const BILLING_COMMITMENT_STATUSES: readonly string[] = ["ENABLED", "DISABLED"];
/** How long a billing commitment lasts at least before it can end (AWS model doc). */
export const MIN_BILLING_COMMITMENT_MS = 24 * 60 * 60 * 1000;
/** The most warm throughput an on-demand stream may ask for: 10 GiB/s (AWS API reference). */
export const MAX_WARM_THROUGHPUT_MIBPS = 10 * 1024;
/** What an on-demand stream can write at least, as AWS starts a new one: 4 MiB/s and 4,000 records/s. */
export const ON_DEMAND_MIN_WRITE_MIBPS = 4;
/**
 * How many times a stream's capacity mode may change within 24 hours
 * (AWS developer guide, "Switch between capacity modes": twice).
 */
export const MAX_STREAM_MODE_SWITCHES_PER_DAY = 2;
/** `StreamId`: "Not Implemented. Reserved for future use." Its bounds and pattern as the model gives them. */
export const MAX_STREAM_ID_LENGTH = 24;
export const STREAM_ID_PATTERN = "[a-z0-9]{20}-[a-z0-9]{3}";
/** How long a ListShards or ListStreamConsumers `NextToken` can be used (AWS API reference: 300 s). */
export const NEXT_TOKEN_TTL_MS = 300_000;
/** The most open shards UpdateShardCount may leave a stream with (AWS's default quota). */
export const MAX_SHARDS_PER_STREAM = 10_000;
/** How many times UpdateShardCount may scale a stream in a rolling 24 hours (AWS's default quota). */
export const MAX_UPDATE_SHARD_COUNT_PER_DAY = 10;
/** The model's bounds on UpdateShardCount's `TargetShardCount`. */
export const MAX_TARGET_SHARD_COUNT = 100_000;
/** `ScalingType`, for UpdateShardCount: the model's one value. */
export const SCALING_TYPES: readonly ScalingType[] = ["UNIFORM_SCALING"];
