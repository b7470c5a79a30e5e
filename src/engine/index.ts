/** The built-in Kinesis engine. Pure domain code: no Connect, protobuf or AWS SDK. */
export { createEngine, type Engine, type EngineOptions } from "./engine.ts";
export { hashKeyForPartitionKey, MAX_HASH_KEY } from "./hash-key.ts";
export {
  DEFAULT_SHARD_READ_BYTES_PER_SECOND,
  DEFAULT_SHARD_READ_CALLS_PER_SECOND,
} from "./read-limiter.ts";
export {
  createMemoryRecordStore,
  DEFAULT_MAX_STREAM_BYTES,
  DEFAULT_READ_LIMIT,
  DEFAULT_RETENTION_HOURS,
  type ReadOptions,
  type ReadStart,
  type RecordStore,
  type RecordStoreFactory,
  type RecordStoreOptions,
  type StoredRecord,
} from "./record-store.ts";
export {
  compareSequenceNumbers,
  formatSequenceNumber,
  parseSequenceNumber,
  type SequenceNumberFields,
} from "./sequence-number.ts";
export {
  decodeShardIterator,
  ENGINE_ITERATOR_PREFIX,
  isEngineShardIterator,
  type ShardIteratorState,
} from "./shard-iterator.ts";
export {
  type HashKeySpan,
  shardIdFor,
  shardIndexForHashKey,
  shardIndexFromId,
  splitHashKeySpace,
} from "./shard-ranges.ts";
export { type DataDirOptions, type EngineStorage, openDataDir } from "./storage/data-dir.ts";
export { parseStreamArn, type StreamArnParts, streamArnFor } from "./stream-arn.ts";
export {
  CONSUMER_READ_BYTES_PER_SECOND,
  type EngineSubscription,
  type SubscriptionRead,
} from "./subscriptions.ts";
export { createTokenBucket, type TokenBucket, type TokenBucketOptions } from "./token-bucket.ts";
