import { KinesisError, streamInUse, streamNotFound } from "../kinesis/errors.ts";
import {
  DEFAULT_MAX_RECORD_SIZE_KIB,
  DEFAULT_ON_DEMAND_STREAM_COUNT_LIMIT,
  DESCRIBE_STREAM_DEFAULT_LIMIT,
  MAX_CONSUMERS_PER_ADVANTAGE_STREAM,
  MAX_CONSUMERS_PER_STREAM,
  MAX_GET_RECORDS_LIMIT,
  MAX_LIST_LIMIT,
  SHARD_FILTER_TYPES,
} from "../kinesis/limits.ts";
import type {
  AccountSettingsOutput,
  AddTagsInput,
  ConsumerRef,
  CreateStreamInput,
  DeleteStreamInput,
  DescribeLimitsOutput,
  DescribeStreamConsumerOutput,
  DescribeStreamInput,
  EncryptionType,
  EnhancedMonitoringInput,
  EnhancedMonitoringOutput,
  GetRecordsInput,
  GetRecordsOutput,
  GetResourcePolicyOutput,
  GetShardIteratorInput,
  GetShardIteratorOutput,
  KinesisRecord,
  ListShardsInput,
  ListShardsOutput,
  ListStreamConsumersInput,
  ListStreamConsumersOutput,
  ListStreamsInput,
  ListStreamsOutput,
  ListTagsForResourceInput,
  ListTagsForResourceOutput,
  ListTagsInput,
  ListTagsOutput,
  MergeShardsInput,
  PutRecordInput,
  PutRecordOutput,
  PutRecordsInput,
  PutRecordsOutput,
  PutRecordsResultEntry,
  PutResourcePolicyInput,
  RegisterStreamConsumerInput,
  RegisterStreamConsumerOutput,
  RemoveTagsInput,
  ResourceRef,
  RetentionPeriodInput,
  Shard,
  ShardFilterType,
  SplitShardInput,
  StreamDescription,
  StreamDescriptionSummary,
  StreamEncryptionInput,
  StreamRef,
  SubscribeToShardInput,
  TagResourceInput,
  UntagResourceInput,
  UpdateAccountSettingsInput,
  UpdateMaxRecordSizeInput,
  UpdateShardCountInput,
  UpdateShardCountOutput,
  UpdateStreamModeInput,
  UpdateStreamWarmThroughputInput,
  UpdateStreamWarmThroughputOutput,
} from "../kinesis/types.ts";
import { parseConsumerArn } from "../kinesis/validation.ts";
import { createAccountSettings } from "./account-settings.ts";
import { createCapacity } from "./capacity.ts";
import {
  type ConsumerNamed,
  consumerNotFound,
  consumerOutput,
  consumerStatus,
  findConsumer,
  listConsumers,
  registerConsumer,
  removeDeregisteredConsumers,
} from "./consumers.ts";
import { changeMonitoring, enabledMetrics } from "./enhanced-monitoring.ts";
import {
  decodePageToken,
  decodeTimedPageToken,
  encodePageToken,
  encodeTimedPageToken,
  pageSize,
} from "./page-token.ts";
import {
  createReadLimiter,
  DEFAULT_SHARD_READ_BYTES_PER_SECOND,
  DEFAULT_SHARD_READ_CALLS_PER_SECOND,
  type ReadLimiter,
} from "./read-limiter.ts";
import { assertRecordsFit, changeMaxRecordSize } from "./record-size.ts";
import {
  createMemoryRecordStore,
  DEFAULT_MAX_STREAM_BYTES,
  DEFAULT_RETENTION_HOURS,
  type ReadOptions,
  type RecordStore,
  type RecordStoreFactory,
  type StoredRecord,
} from "./record-store.ts";
import {
  childShardsOf,
  isShardListed,
  requestMerge,
  requestScale,
  requestSplit,
  settleReshard,
} from "./resharding.ts";
import {
  assertIteratorNotExpired,
  decodeShardIterator,
  encodeShardIterator,
} from "./shard-iterator.ts";
import { type AppliedShardFilter, filteredShards } from "./shard-listing.ts";
import { shardIdFor, shardIndexFromId } from "./shard-ranges.ts";
import { readShardPage, startingPosition } from "./shard-reads.ts";
import { type EngineSnapshot, restoreStream, SNAPSHOT_VERSION, saveStream } from "./snapshot.ts";
import { type EngineStorage, streamKey } from "./storage/data-dir.ts";
import type { DiskRecordStore } from "./storage/disk-record-store.ts";
import {
  createStreamState,
  type ShardState,
  type StreamState,
  shardForEntry,
  writeToShard,
} from "./stream.ts";
import { parseStreamArn, streamArnFor } from "./stream-arn.ts";
import {
  addTags,
  assertStreamActive,
  changeEncryption,
  changeRetention,
  encryptionOf,
  listTags,
  removeTags,
  streamStatus,
  type TagOwner,
} from "./stream-control.ts";
import {
  createEngineSubscription,
  createSubscriptionSlots,
  type EngineSubscription,
  wakeSubscribers,
} from "./subscriptions.ts";
import {
  createWriteLimiter,
  DEFAULT_SHARD_WRITE_BYTES_PER_SECOND,
  DEFAULT_SHARD_WRITE_RECORDS_PER_SECOND,
  type WriteLimiter,
} from "./write-limiter.ts";

/** Options for {@link createEngine}. */
export interface EngineOptions {
  /** The account the streams belong to, in ARNs and error texts. Default: "000000000000". */
  accountId?: string | undefined;
  /** The region in stream ARNs and error texts. Default: "us-east-1". */
  region?: string | undefined;
  /** Whether writes and reads are throttled per shard as AWS does. Default: true. */
  throttle?: boolean | undefined;
  /** The clock, in epoch milliseconds. Default: `Date.now`. The engine never lets time run backwards. */
  now?: (() => number) | undefined;
  /** Records per second one shard accepts. Default: 1000 (AWS). */
  shardWriteRecordsPerSecond?: number | undefined;
  /** Bytes (data plus UTF-8 partition key) per second one shard accepts. Default: 1048576 (1 MiB, AWS). */
  shardWriteBytesPerSecond?: number | undefined;
  /**
   * How many seconds of a shard's write rate can be spent at once. Default: 1.
   * A single record larger than that (a large record) is still taken by an
   * idle shard, which then pays off the excess (see `WriteLimiter`).
   */
  burstSeconds?: number | undefined;
  /** GetRecords calls per second one shard serves. Default: 5 (AWS). */
  shardReadCallsPerSecond?: number | undefined;
  /**
   * Bytes (data plus UTF-8 partition key) per second GetRecords returns from
   * one shard. A call is charged after it read, so a large read makes the
   * shard's next calls wait (see `ReadLimiter`). Default: 2097152 (2 MiB, AWS).
   */
  shardReadBytesPerSecond?: number | undefined;
  /**
   * How long a new stream's records are kept, until Increase/DecreaseStreamRetentionPeriod
   * changes it. Default: 24 (AWS).
   */
  retentionHours?: number | undefined;
  /**
   * When the memory a stream's records hold (data, keys and bookkeeping)
   * exceeds this many bytes, its oldest records are dropped. Default: 268435456 (256 MiB).
   */
  maxStreamBytes?: number | undefined;
  /**
   * The same bound over all streams together: past it, the largest stream's
   * oldest records are dropped first, so one busy stream cannot push out the
   * others' records. Default: no bound beyond each stream's.
   */
  maxTotalBytes?: number | undefined;
  /** The most open shards all streams together may have, as the AWS account shard quota. Default: 1000. */
  shardLimit?: number | undefined;
  /** The most on-demand streams the account may have, as the AWS quota. Default: 50 (AWS). */
  onDemandStreamCountLimit?: number | undefined;
  /**
   * How long a new stream stays CREATING before it is ACTIVE, and a deleted
   * one DELETING before it is gone. Default: 0 (at once). AWS takes seconds;
   * kinesalite and kinesis-mock take 500 ms.
   */
  transitionDelayMs?: number | undefined;
  /** Makes each new stream's record store. Default: {@link createMemoryRecordStore}. */
  createStore?: RecordStoreFactory | undefined;
  /**
   * A data dir (`storage/data-dir.ts`): the engine comes back from it, keeps
   * its records and state there, and acknowledges writes once stored (see
   * {@link Engine.putRecordsStored}). `createStore` is not used then.
   */
  storage?: EngineStorage | undefined;
}

/**
 * The built-in Kinesis engine: streams, shards, hashing, sequence numbers,
 * per-shard throttling and retention, in one process. Methods are synchronous
 * and throw {@link KinesisError} for what a caller should see.
 */
export interface Engine {
  readonly accountId: string;
  readonly region: string;
  createStream(input: CreateStreamInput): void;
  /** Deletes at once, or after `transitionDelayMs` in which the stream is DELETING. */
  deleteStream(input: DeleteStreamInput): void;
  listStreams(input?: ListStreamsInput): ListStreamsOutput;
  describeStreamSummary(ref: StreamRef): StreamDescriptionSummary;
  /** The stream with a page of its shards; no shards while it is CREATING or DELETING, as on AWS. */
  describeStream(input: DescribeStreamInput): StreamDescription;
  listShards(input: ListShardsInput): ListShardsOutput;
  /**
   * Writes a batch, throttling record by record. Each record's `data` is kept
   * as given, not copied: callers must not reuse the buffer afterwards.
   */
  putRecords(input: PutRecordsInput): PutRecordsOutput;
  /** Writes one record; throws ProvisionedThroughputExceededException when its shard is full. */
  putRecord(input: PutRecordInput): PutRecordOutput;
  /**
   * {@link putRecords}, answered once its records are stored: at once in
   * memory; with a data dir, once they are fdatasynced (or handed to the OS
   * with fsync off), sharing the sync with every call waiting at the time.
   * Records that could not be stored (the disk is full) fail with InternalFailure.
   */
  putRecordsStored(input: PutRecordsInput): Promise<PutRecordsOutput>;
  /** {@link putRecord}, answered once stored; InternalFailure when it could not be. */
  putRecordStored(input: PutRecordInput): Promise<PutRecordOutput>;
  /** Why writes fail now (the data dir's disk is full), or undefined. */
  storageProblem(): string | undefined;
  /** Stores what is pending and lets go of the data dir; without one, nothing. */
  close(): void;
  /** An iterator for {@link getRecords}; see `shard-iterator.ts` for what it carries. */
  getShardIterator(input: GetShardIteratorInput): GetShardIteratorOutput;
  /**
   * Records from where the iterator points, with the iterator for the next
   * call. Records' `data` is the stored buffer, not a copy: do not modify it.
   */
  getRecords(input: GetRecordsInput): GetRecordsOutput;
  increaseStreamRetentionPeriod(input: RetentionPeriodInput): void;
  decreaseStreamRetentionPeriod(input: RetentionPeriodInput): void;
  addTagsToStream(input: AddTagsInput): void;
  removeTagsFromStream(input: RemoveTagsInput): void;
  listTagsForStream(input: ListTagsInput): ListTagsOutput;
  /** A stream's or a consumer's tags, named by its ARN. */
  listTagsForResource(input: ListTagsForResourceInput): ListTagsForResourceOutput;
  /** Adds or overwrites a stream's or a consumer's tags, all or none; a stream must be ACTIVE or UPDATING. */
  tagResource(input: TagResourceInput): void;
  /** Removes a stream's or a consumer's tags by key; a stream must be ACTIVE or UPDATING. */
  untagResource(input: UntagResourceInput): void;
  /** Stores a policy for a stream or a consumer, as given; it is never evaluated. */
  putResourcePolicy(input: PutResourcePolicyInput): void;
  /** The stored policy, or "{}" when there is none. */
  getResourcePolicy(input: ResourceRef): GetResourcePolicyOutput;
  /** Removes the stored policy; a resource without one stays without. */
  deleteResourcePolicy(input: ResourceRef): void;
  /** Registers an enhanced fan-out consumer: CREATING for `transitionDelayMs`, then ACTIVE. */
  registerStreamConsumer(input: RegisterStreamConsumerInput): RegisterStreamConsumerOutput;
  /** DELETING for `transitionDelayMs`, then gone. */
  deregisterStreamConsumer(input: ConsumerRef): void;
  describeStreamConsumer(input: ConsumerRef): DescribeStreamConsumerOutput;
  listStreamConsumers(input: ListStreamConsumersInput): ListStreamConsumersOutput;
  /** Enables shard-level metrics (recorded, not published); the stream must be ACTIVE or UPDATING. */
  enableEnhancedMonitoring(input: EnhancedMonitoringInput): EnhancedMonitoringOutput;
  /** Disables shard-level metrics; the stream must be ACTIVE or UPDATING. */
  disableEnhancedMonitoring(input: EnhancedMonitoringInput): EnhancedMonitoringOutput;
  /** Encrypts with a KMS key: the stream must be ACTIVE, and is UPDATING for `transitionDelayMs`. */
  startStreamEncryption(input: StreamEncryptionInput): void;
  /** Stops encrypting: the stream must be ACTIVE, and is UPDATING for `transitionDelayMs`. */
  stopStreamEncryption(input: StreamEncryptionInput): void;
  /** The account's shard and on-demand stream quotas and their use; DELETING streams still count. */
  describeLimits(): DescribeLimitsOutput;
  /** Sets the largest record a stream takes, at once; the stream must be ACTIVE. */
  updateMaxRecordSize(input: UpdateMaxRecordSizeInput): void;
  /**
   * Switches a stream between PROVISIONED and ON_DEMAND, keeping its shards:
   * ACTIVE only, UPDATING for `transitionDelayMs`, twice in 24 hours at most
   * (see `capacity.ts` for the capacity each mode gives).
   */
  updateStreamMode(input: UpdateStreamModeInput): void;
  /** Sets an on-demand stream's warm throughput; needs the account's billing commitment. */
  updateStreamWarmThroughput(
    input: UpdateStreamWarmThroughputInput,
  ): UpdateStreamWarmThroughputOutput;
  /** The account's minimum throughput billing commitment (`account-settings.ts`). */
  describeAccountSettings(): AccountSettingsOutput;
  /** Enables or disables the billing commitment; a disable within 24 hours is scheduled. */
  updateAccountSettings(input: UpdateAccountSettingsInput): AccountSettingsOutput;
  /**
   * The records of a shard in sequence order, from a start position (default:
   * the oldest kept). For tests and tools: no iterator, status check or throttling.
   */
  readRecords(ref: StreamRef, shardId: string, options?: ReadOptions): StoredRecord[];
  /**
   * A subscription to a shard (`subscriptions.ts`): with a consumer ARN, the
   * consumer's enhanced fan-out; without, the shard's shared reads.
   */
  subscribeToShard(input: SubscribeToShardInput): EngineSubscription;
  /** Each throttled shard's write utilization now (see `WriteLimiter.utilization`). */
  shardWriteUtilization(): ShardUtilization[];
  /** Splits an open shard in two: UPDATING for `transitionDelayMs`, then the children are open. */
  splitShard(input: SplitShardInput): void;
  /** Merges two adjacent open shards into one, after UPDATING as for a split. */
  mergeShards(input: MergeShardsInput): void;
  /** Scales the open shards to an even split of the key space by splits and merges, after UPDATING. */
  updateShardCount(input: UpdateShardCountInput): UpdateShardCountOutput;
}

export interface ShardUtilization {
  readonly streamName: string;
  readonly shardId: string;
  /** 0 (idle) to 1 (throttling). */
  readonly utilization: number;
}

/** A stream as a request names it: whether it can be one of this engine's (its account and region). */
interface StreamNamed {
  readonly name: string;
  readonly account: string;
  readonly ours: boolean;
}

/**
 * Shards of an on-demand stream at creation, as on AWS (4 MiB/s and 4,000
 * records/s); `capacity.ts` keeps an on-demand stream at least this capacity.
 */
const ON_DEMAND_SHARD_COUNT = 4;
/** Shards of a provisioned stream created without a count, as kinesis-mock does. */
const DEFAULT_SHARD_COUNT = 4;
const LIST_STREAMS_DEFAULT_LIMIT = 100;
const LIST_SHARDS_DEFAULT_MAX_RESULTS = 1000;

export function createEngine(options: EngineOptions = {}): Engine {
  const accountId = options.accountId ?? "000000000000";
  const region = options.region ?? "us-east-1";
  const throttle = options.throttle ?? true;
  const clock = options.now ?? Date.now;
  const retentionHours = options.retentionHours ?? DEFAULT_RETENTION_HOURS;
  const maxStreamBytes = options.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES;
  const maxTotalBytes = options.maxTotalBytes ?? Number.POSITIVE_INFINITY;
  let totalHeldBytes = 0;
  const onHeldBytesChange = (delta: number) => {
    totalHeldBytes += delta;
  };
  const shardLimit = options.shardLimit ?? 1000;
  const onDemandStreamCountLimit =
    options.onDemandStreamCountLimit ?? DEFAULT_ON_DEMAND_STREAM_COUNT_LIMIT;
  const transitionDelayMs = options.transitionDelayMs ?? 0;
  const createStore = options.createStore ?? createMemoryRecordStore;
  const limiterOptions = {
    recordsPerSecond: options.shardWriteRecordsPerSecond ?? DEFAULT_SHARD_WRITE_RECORDS_PER_SECOND,
    bytesPerSecond: options.shardWriteBytesPerSecond ?? DEFAULT_SHARD_WRITE_BYTES_PER_SECOND,
    burstSeconds: options.burstSeconds ?? 1,
  };
  const readLimiterOptions = {
    callsPerSecond: options.shardReadCallsPerSecond ?? DEFAULT_SHARD_READ_CALLS_PER_SECOND,
    bytesPerSecond: options.shardReadBytesPerSecond ?? DEFAULT_SHARD_READ_BYTES_PER_SECOND,
  };

  const streams = new Map<string, StreamState>();
  /** The DELETING streams, so that removing the ones whose time has come costs nothing when there are none. */
  const deleting = new Set<StreamState>();
  /** The streams UPDATING towards a reshard, made by `removeDeleted` when their time comes. */
  const resharding = new Set<StreamState>();
  /** Which consumer holds which shard (enhanced fan-out). */
  const slots = createSubscriptionSlots();
  /**
   * The `incarnationSeconds` of removed streams, by name, while the clock has
   * not passed them: a new stream of the name must take a later second.
   */
  const removedIncarnations = new Map<string, number>();
  let openShardCount = 0;
  let lastNowMs = Number.NEGATIVE_INFINITY;
  let account = createAccountSettings();
  let capacity = createCapacity({ account, transitionDelayMs });
  const storage = options.storage;
  /** The state saved last: what a change that could not be saved goes back to. */
  let savedState: EngineSnapshot | undefined;

  /** The clock, held from going backwards so arrival times and retention stay in order. */
  function now(): number {
    const nowMs = clock();
    if (nowMs > lastNowMs) lastNowMs = nowMs;
    return lastNowMs;
  }

  /** The stream a reference names; "" counts as absent, as proto3 has no absent strings. */
  function streamOf(ref: StreamRef): StreamNamed {
    if (ref.streamArn) {
      const arn = parseStreamArn(ref.streamArn);
      if (arn === undefined)
        throw new Error(`a malformed stream ARN reached the engine: ${ref.streamArn}`);
      // A stream of another account or region is one this engine does not have.
      const ours = arn.accountId === accountId && arn.region === region;
      return { name: arn.streamName, account: arn.accountId, ours };
    }
    if (ref.streamName) return { name: ref.streamName, account: accountId, ours: true };
    throw new Error("a request naming no stream reached the engine");
  }

  /** Drops the streams whose DELETING time is over and makes the reshards whose UPDATING is. */
  function removeDeleted(nowMs: number): void {
    let changed = false;
    for (const stream of resharding) {
      if (stream.pendingReshard === undefined) {
        resharding.delete(stream);
      } else {
        openShardCount += settleReshard(stream, nowMs);
        changed ||= stream.pendingReshard === undefined;
      }
    }
    for (const stream of deleting) {
      if (nowMs >= stream.deletingUntilMs!) {
        deleting.delete(stream);
        remove(stream);
        changed = true;
      }
    }
    // What the clock changed follows again from the saved state; saving it frees a removed stream's files.
    if (changed) persist({ quietly: true });
  }

  /** A new or restored stream's record store: in its data dir's files, or in memory. */
  function storeFor(name: string, incarnationSeconds: number, hours: number): RecordStore {
    const storeOptions = {
      retentionHours: hours,
      maxBytes: maxStreamBytes,
      now,
      onHeldBytesChange,
    };
    return storage === undefined
      ? createStore(storeOptions)
      : storage.openStore(streamKey(name, incarnationSeconds), storeOptions);
  }

  function createLimiter(): WriteLimiter | undefined {
    return throttle ? createWriteLimiter({ ...limiterOptions, now }) : undefined;
  }

  function createShardReadLimiter(): ReadLimiter | undefined {
    return throttle ? createReadLimiter({ ...readLimiterOptions, now }) : undefined;
  }

  function snapshot(): EngineSnapshot {
    return {
      version: SNAPSHOT_VERSION,
      account: account.saved(),
      removedIncarnations: Object.fromEntries(removedIncarnations),
      streams: [...streams.values()].map((stream) => saveStream(stream, capacity.saved(stream))),
    };
  }

  /**
   * Replaces the engine's state with a saved one. `jump` moves every shard's
   * sequence numbers on past what a crash may have lost after it was read
   * (see `RESUME_JUMP`); 0 when nothing can have been.
   */
  function restore(state: EngineSnapshot, jump: bigint, { opening = false } = {}): void {
    streams.clear();
    deleting.clear();
    resharding.clear();
    removedIncarnations.clear();
    openShardCount = 0;
    account = createAccountSettings(state.account);
    capacity = createCapacity({ account, transitionDelayMs });
    for (const [name, seconds] of Object.entries(state.removedIncarnations)) {
      removedIncarnations.set(name, seconds);
    }
    const nowMs = now();
    for (const saved of state.streams) {
      const store = storeFor(
        saved.name,
        saved.incarnationSeconds,
        saved.retentionHours,
      ) as DiskRecordStore;
      // A store kept open through an undone change has the changed retention: the saved one again.
      store.setRetentionHours(saved.retentionHours);
      // The clock goes on from the newest record kept, as it never runs back within a run.
      lastNowMs = Math.max(lastNowMs, store.newestArrivalMs);
      const highWater = store.highWater();
      // Damage found on opening cut off records someone may have read: their numbers are not handed out again.
      const shardJump = opening && store.damaged ? RESUME_JUMP : jump;
      const stream = restoreStream(saved, {
        store,
        createLimiter,
        createReadLimiter: createShardReadLimiter,
        resume(shardIndex) {
          const mark = highWater.get(shardIndex);
          if (mark === undefined && shardJump === 0n) return undefined;
          return {
            lastCounter: BigInt(mark?.counter ?? 0) + shardJump,
            lastSequenceNumber: mark?.sequenceNumber,
          };
        },
      });
      capacity.restore(stream, saved.capacity, nowMs);
      streams.set(stream.name, stream);
      openShardCount += stream.openShards.length;
      if (stream.deletingUntilMs !== undefined) deleting.add(stream);
      if (stream.pendingReshard !== undefined) resharding.add(stream);
    }
  }

  /**
   * Saves the state after a change, before the change is acknowledged. A
   * change that cannot be saved (the disk is full) is undone and refused;
   * `quietly`, for what the clock changed, it is kept and saved with the next.
   */
  function persist({ quietly = false } = {}): void {
    if (storage === undefined) return;
    const state = snapshot();
    try {
      storage.saveState(state);
    } catch (error) {
      if (quietly) return;
      for (const stream of streams.values()) {
        (stream.store as DiskRecordStore).flush();
        wakeStreamSubscribers(stream);
      }
      restore(savedState ?? emptySnapshot(), 0n);
      throw new KinesisError(
        "InternalFailure",
        `The change could not be stored (${(error as NodeJS.ErrnoException).code ?? "I/O error"}).`,
      );
    }
    savedState = state;
    storage.keepOnly(new Set(state.streams.map((s) => streamKey(s.name, s.incarnationSeconds))));
  }

  function remove(stream: StreamState): void {
    streams.delete(stream.name);
    resharding.delete(stream);
    // Shards made by a reshard may carry a later second than the stream's.
    const seconds = Math.max(...stream.shards.map((shard) => shard.createdSeconds));
    removedIncarnations.set(stream.name, seconds);
    openShardCount -= stream.openShards.length;
    // A data dir lets go of a stream's files once the state without it is saved (`keepOnly`):
    // until then a change that cannot be saved can still bring the stream back.
    if (storage === undefined) stream.store.clear();
  }

  /** The stream a reference names, in whatever status. */
  function resolve(ref: StreamRef, nowMs: number): StreamState {
    const { name, account, ours } = streamOf(ref);
    removeDeleted(nowMs);
    const stream = ours ? streams.get(name) : undefined;
    if (stream === undefined) throw streamNotFound(name, account);
    return stream;
  }

  /** The stream a reference names, which must take reads, writes and changes. */
  function resolveActive(ref: StreamRef, nowMs: number): StreamState {
    const stream = resolve(ref, nowMs);
    assertStreamActive(stream, nowMs);
    return stream;
  }

  /**
   * The stream and consumer a validated reference names. A consumer ARN whose
   * stream part is no stream ARN of ours names no consumer here.
   */
  function resolveConsumer(ref: ConsumerRef, nowMs: number) {
    let streamArn = ref.streamArn;
    let named: ConsumerNamed;
    if (ref.consumerArn !== undefined) {
      const parts = parseConsumerArn(ref.consumerArn);
      if (parts === undefined) throw new Error("a malformed consumer ARN reached the engine");
      // AWS's pattern lets more than `:stream/` stand before the stream's name.
      if (parseStreamArn(parts.streamArn) === undefined) {
        throw consumerNotFound(ref.consumerArn, {
          name: parts.streamName,
          accountId: parts.accountId,
        });
      }
      streamArn ??= parts.streamArn;
      named = { name: parts.consumerName, arn: ref.consumerArn };
    } else if (ref.consumerName !== undefined) {
      named = { name: ref.consumerName };
    } else {
      throw new Error("a request naming no consumer reached the engine");
    }
    if (streamArn === undefined) throw new Error("a request naming no stream reached the engine");
    const stream = resolve({ streamArn }, nowMs);
    return { stream, consumer: findConsumer(stream, named, nowMs) };
  }

  /**
   * The stream or consumer a validated resource ARN names. A stream about to
   * change must be ACTIVE or UPDATING, as for AddTagsToStream.
   */
  function resourceByArn(arn: string | null, nowMs: number, { changing = false } = {}) {
    if (arn === null) throw new Error("a request naming no resource reached the engine");
    if (parseConsumerArn(arn) !== undefined) {
      const { stream, consumer } = resolveConsumer({ consumerArn: arn }, nowMs);
      const owner: TagOwner = {
        kind: "consumer",
        name: consumer.name,
        accountId: stream.accountId,
        tags: consumer.tags,
      };
      return { owner, holder: consumer };
    }
    // AWS's pattern for a resource ARN takes any Kinesis resource; the
    // engine has streams, whose names have no "/", and their consumers.
    const named = parseStreamArn(arn)?.streamName;
    if (named === undefined || named.includes("/")) {
      throw new KinesisError(
        "InvalidArgumentException",
        `Resource ARN ${arn} is not a recognized Kinesis stream or consumer ARN.`,
      );
    }
    const stream = changing
      ? resolveActive({ streamArn: arn }, nowMs)
      : resolve({ streamArn: arn }, nowMs);
    return { owner: streamTagOwner(stream), holder: stream };
  }

  /**
   * The second a new stream of `name` carries (see `NewStream.incarnationSeconds`):
   * now's, unless a removed stream of the name carried it or a later one.
   */
  function incarnationSecondsFor(name: string, nowMs: number): number {
    const nowSeconds = Math.floor(nowMs / 1000);
    // The clock never runs back, so what it has passed can be forgotten.
    for (const [removed, seconds] of removedIncarnations) {
      if (seconds < nowSeconds) removedIncarnations.delete(removed);
    }
    const removed = removedIncarnations.get(name);
    return removed === undefined ? nowSeconds : removed + 1;
  }

  /** The index a read's shard id names, or AWS's text for a shard id that names none. */
  function readShardIndex(named: StreamNamed, shardId: string): number {
    const shardIndex = shardIndexFromId(shardId);
    if (shardIndex === undefined) {
      throw new KinesisError(
        "ResourceNotFoundException",
        `Could not find shard ${shardId} in stream ${named.name} under account ${named.account}.`,
      );
    }
    return shardIndex;
  }

  /**
   * The shard of a stream, or AWS's not-found text for reads, which names the
   * shard even when the stream is missing. With `incarnationSeconds` (an
   * iterator's), any other stream of the name refuses, whatever the shard, with
   * the text AWS has for an iterator it cannot use (kinesalite took it from
   * AWS); AWS's answer for an iterator of a deleted stream's successor is not
   * documented.
   */
  function resolveShard(
    named: StreamNamed,
    shardIndex: number,
    nowMs: number,
    incarnationSeconds?: number,
  ): { stream: StreamState; shard: ShardState } {
    removeDeleted(nowMs);
    const stream = named.ours ? streams.get(named.name) : undefined;
    if (
      stream !== undefined &&
      incarnationSeconds !== undefined &&
      stream.incarnationSeconds !== incarnationSeconds
    ) {
      throw invalidArgument("Invalid ShardIterator.");
    }
    const found = stream?.shards[shardIndex];
    // A closed shard whose records have all aged out is gone, as on AWS.
    const shard = found !== undefined && isShardListed(stream!, found, nowMs) ? found : undefined;
    if (stream === undefined || shard === undefined) {
      throw new KinesisError(
        "ResourceNotFoundException",
        `Shard ${shardIdFor(shardIndex)} in stream ${named.name} under account ${named.account} does not exist`,
      );
    }
    return { stream, shard };
  }

  /** Keeps all streams' records within `maxTotalBytes`, taking from the largest stream first. */
  function enforceTotalBound(): void {
    while (totalHeldBytes > maxTotalBytes) {
      let largest: StreamState | undefined;
      for (const stream of streams.values()) {
        if (largest === undefined || stream.store.heldBytes > largest.store.heldBytes) {
          largest = stream;
        }
      }
      if (largest === undefined) return;
      const before = largest.store.heldBytes;
      largest.store.shrinkTo(before - (totalHeldBytes - maxTotalBytes));
      if (largest.store.heldBytes === before) return; // nothing left it can drop
    }
  }

  function maxConsumersOf(stream: StreamState, nowMs: number): number {
    return maxConsumersFor(stream, account.commitmentInEffect(nowMs));
  }

  function onDemandStreamCount(): number {
    let count = 0;
    for (const stream of streams.values()) if (stream.mode === "ON_DEMAND") count++;
    return count;
  }

  function shardLimitExceeded(additional: number): KinesisError {
    return new KinesisError(
      "LimitExceededException",
      `This request would exceed the shard limit for the account ${accountId} in ${region}. ` +
        `Current shard count for the account: ${openShardCount}. Limit: ${shardLimit}. ` +
        `Number of additional shards that would have resulted from this request: ${additional}. ` +
        "Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) " +
        "for current limits and how to request higher limits.",
    );
  }

  /** Throws LimitExceededException when one more on-demand stream would exceed the quota. */
  function assertOnDemandAllowed(): void {
    const onDemand = onDemandStreamCount();
    if (onDemand >= onDemandStreamCountLimit) throw onDemandLimitExceeded(onDemand);
  }

  /** Ours, after the shard limit's AWS text: AWS's own for this quota is not documented. */
  function onDemandLimitExceeded(current: number): KinesisError {
    return new KinesisError(
      "LimitExceededException",
      `This request would exceed the on-demand stream count limit for the account ${accountId} ` +
        `in ${region}. Current on-demand stream count for the account: ${current}. ` +
        `Limit: ${onDemandStreamCountLimit}.`,
    );
  }

  function shardOutput(shard: ShardState): Shard {
    const output: Shard = {
      shardId: shard.shardId,
      hashKeyRange: {
        startingHashKey: shard.startingHashKey.toString(),
        endingHashKey: shard.endingHashKey.toString(),
      },
      sequenceNumberRange: { startingSequenceNumber: shard.sequencer.startingSequenceNumber },
    };
    if (shard.parentShardId !== undefined) output.parentShardId = shard.parentShardId;
    if (shard.adjacentParentShardId !== undefined) {
      output.adjacentParentShardId = shard.adjacentParentShardId;
    }
    if (shard.endingSequenceNumber !== undefined) {
      output.sequenceNumberRange.endingSequenceNumber = shard.endingSequenceNumber;
    }
    return output;
  }

  /** What a reshard request checks against the account. */
  function reshardLimits() {
    return { accountOpenShards: openShardCount, shardLimit, shardLimitExceeded };
  }

  /**
   * Runs a reshard request against the stream it names, then makes the
   * reshard at once when there is no delay, or leaves it for its time.
   */
  function reshard<T>(ref: StreamRef, request: (stream: StreamState, nowMs: number) => T): T {
    const nowMs = now();
    const stream = resolve(ref, nowMs);
    const output = request(stream, nowMs);
    resharding.add(stream);
    removeDeleted(nowMs);
    wakeStreamSubscribers(stream); // they wait for the reshard's end now
    return output;
  }

  /** Tells every subscription to the stream's shards that something changed. */
  function wakeStreamSubscribers(stream: StreamState): void {
    for (const shard of stream.shards) wakeSubscribers(shard);
  }

  function changeRetentionOf(input: RetentionPeriodInput, direction: "increase" | "decrease") {
    const hours = input.retentionPeriodHours;
    if (hours === null) throw new Error("a retention change without hours reached the engine");
    const nowMs = now();
    const stream = resolveActive(input, nowMs);
    changeRetention(stream, hours, direction);
  }

  function changeMonitoringOf(input: EnhancedMonitoringInput, enable: boolean) {
    const metrics = input.shardLevelMetrics;
    if (metrics === null) throw new Error("a monitoring change without metrics reached the engine");
    return changeMonitoring(resolveActive(input, now()), metrics, enable);
  }

  function writeRecords(input: PutRecordsInput): { stream: StreamState; output: PutRecordsOutput } {
    const nowMs = now();
    const stream = resolveActive(input, nowMs);
    capacity.settle(streams, nowMs);
    const entries = input.records;
    if (entries === null) throw new Error("PutRecords without records reached the engine");
    assertRecordsFit(stream, entries, false);
    // Route every entry first: whatever can throw does so before anything is written.
    const shards: ShardState[] = [];
    for (const entry of entries) shards.push(shardForEntry(stream, entry));
    const records: PutRecordsResultEntry[] = [];
    let failedRecordCount = 0;
    for (let i = 0; i < entries.length; i++) {
      const shard = shards[i]!;
      const sequenceNumber = writeToShard(stream, shard, entries[i]!, nowMs);
      if (sequenceNumber === undefined) {
        failedRecordCount++;
        records.push({
          errorCode: "ProvisionedThroughputExceededException",
          errorMessage: shard.throttledMessage,
        });
      } else {
        records.push({ sequenceNumber, shardId: shard.shardId });
      }
    }
    enforceTotalBound();
    const { encryptionType } = encryptionOf(stream, nowMs);
    return { stream, output: { failedRecordCount, records, encryptionType } };
  }

  function writeRecord(input: PutRecordInput): { stream: StreamState; output: PutRecordOutput } {
    const nowMs = now();
    const stream = resolveActive(input, nowMs);
    capacity.settle(streams, nowMs);
    assertRecordsFit(stream, [input], true);
    const shard = shardForEntry(stream, input);
    // SequenceNumberForOrdering needs no handling: a shard's numbers always increase.
    const sequenceNumber = writeToShard(stream, shard, input, nowMs);
    if (sequenceNumber === undefined) {
      throw new KinesisError("ProvisionedThroughputExceededException", shard.throttledMessage);
    }
    enforceTotalBound();
    const { encryptionType } = encryptionOf(stream, nowMs);
    return { stream, output: { shardId: shard.shardId, sequenceNumber, encryptionType } };
  }

  /** Whether the records a write left with the stream's data dir store are stored. */
  async function isStored(stream: StreamState): Promise<boolean> {
    try {
      await (stream.store as DiskRecordStore).stored();
      return true;
    } catch {
      return false;
    }
  }

  const engine: Engine = {
    accountId,
    region,

    createStream(input) {
      const name = input.streamName;
      if (!name) throw new Error("CreateStream without a stream name reached the engine");
      const nowMs = now();
      removeDeleted(nowMs);
      // A DELETING stream still holds its name, as on AWS.
      if (streams.has(name)) throw streamInUse(name, accountId);
      const mode = input.streamMode ?? "PROVISIONED";
      // shardCount 0 is proto3's "unset".
      const shardCount =
        mode === "ON_DEMAND" ? ON_DEMAND_SHARD_COUNT : input.shardCount || DEFAULT_SHARD_COUNT;
      if (!Number.isSafeInteger(shardCount) || shardCount < 1) {
        throw new Error(`CreateStream with shard count ${shardCount} reached the engine`);
      }
      if (openShardCount + shardCount > shardLimit) throw shardLimitExceeded(shardCount);
      if (mode === "ON_DEMAND") assertOnDemandAllowed();
      const incarnation = incarnationSecondsFor(name, nowMs);
      const stream = createStreamState({
        name,
        arn: streamArnFor(region, accountId, name),
        mode,
        shardCount,
        createdAtMs: nowMs,
        incarnationSeconds: incarnation,
        activeAtMs: nowMs + transitionDelayMs,
        retentionHours,
        keyId: input.kmsKeyId || undefined,
        tags: { ...input.tags },
        accountId,
        // 0 is proto3's "unset".
        maxRecordSizeInKiB: input.maxRecordSizeInKiB || DEFAULT_MAX_RECORD_SIZE_KIB,
        store: storeFor(name, incarnation, retentionHours),
        createLimiter,
        createReadLimiter: createShardReadLimiter,
      });
      // Before the stream is kept: warm throughput may be refused.
      capacity.created(stream, input.warmThroughputMiBps, nowMs);
      streams.set(name, stream);
      openShardCount += stream.openShards.length;
    },

    deleteStream(input) {
      const nowMs = now();
      const stream = resolve(input, nowMs);
      // Deleting a DELETING stream changes nothing; a CREATING one may be deleted, as on AWS.
      if (stream.deletingUntilMs !== undefined) return;
      removeDeregisteredConsumers(stream, nowMs);
      if (stream.consumers.size > 0 && input.enforceConsumerDeletion !== true) {
        // AWS's text, as a user quoted it (cloud-custodian/cloud-custodian#7260).
        throw new KinesisError(
          "ResourceInUseException",
          `DeleteStream can't delete ${stream.arn} because there are consumers associated with ` +
            `this data stream. To delete ${stream.name} anyway, set the EnforceConsumerDeletion ` +
            "parameter to true to force the deletion of all the consumers that are associated with it.",
        );
      }
      stream.deletingUntilMs = nowMs + transitionDelayMs;
      deleting.add(stream);
      removeDeleted(nowMs);
      wakeStreamSubscribers(stream);
    },

    listStreams(input = {}) {
      const nowMs = now();
      removeDeleted(nowMs);
      const names = [...streams.keys()].sort();
      const after = input.nextToken
        ? decodePageToken(input.nextToken, 1)[0]!
        : input.exclusiveStartStreamName || undefined;
      let start = 0;
      if (after !== undefined) {
        start = names.findIndex((name) => name > after);
        if (start < 0) start = names.length;
      }
      const limit = pageSize(input.limit, LIST_STREAMS_DEFAULT_LIMIT, MAX_LIST_LIMIT);
      const page = names.slice(start, start + limit);
      const hasMoreStreams = start + limit < names.length;
      const output: ListStreamsOutput = {
        streamNames: page,
        hasMoreStreams,
        streamSummaries: page.map((name) => {
          const stream = streams.get(name)!;
          return {
            streamName: stream.name,
            streamArn: stream.arn,
            streamStatus: streamStatus(stream, nowMs),
            streamMode: stream.mode,
            streamCreationTimestamp: new Date(stream.createdAt),
          };
        }),
      };
      if (hasMoreStreams) output.nextToken = encodePageToken([page[page.length - 1]!]);
      return output;
    },

    describeStreamSummary(ref) {
      const nowMs = now();
      const stream = resolve(ref, nowMs);
      const encryption = encryptionOf(stream, nowMs);
      const summary: StreamDescriptionSummary = {
        streamName: stream.name,
        streamArn: stream.arn,
        streamStatus: streamStatus(stream, nowMs),
        streamMode: stream.mode,
        retentionPeriodHours: stream.retentionHours,
        streamCreationTimestamp: new Date(stream.createdAt),
        encryptionType: encryption.encryptionType,
        enhancedMonitoring: [{ shardLevelMetrics: enabledMetrics(stream) }],
        openShardCount: stream.openShards.length,
        consumerCount: countConsumers(stream, nowMs),
        maxRecordSizeInKiB: stream.maxRecordSizeInKiB,
      };
      if (encryption.keyId !== undefined) summary.keyId = encryption.keyId;
      capacity.settle(streams, nowMs);
      const warmThroughput = capacity.warmThroughputOf(stream, nowMs);
      if (warmThroughput !== undefined) summary.warmThroughput = warmThroughput;
      return summary;
    },

    describeStream(input) {
      const nowMs = now();
      const stream = resolve(input, nowMs);
      const status = streamStatus(stream, nowMs);
      // kinesalite saw AWS describe a CREATING or DELETING stream without shards.
      const shards =
        status === "ACTIVE" || status === "UPDATING"
          ? stream.shards.filter((shard) => isShardListed(stream, shard, nowMs))
          : [];
      const after = input.exclusiveStartShardId || undefined;
      // Shard ids are zero-padded, so string order is index order.
      const start = after === undefined ? 0 : shards.findIndex((s) => s.shardId > after);
      const rest = start < 0 ? [] : shards.slice(start);
      const limit = pageSize(input.limit, DESCRIBE_STREAM_DEFAULT_LIMIT, MAX_LIST_LIMIT);
      const encryption = encryptionOf(stream, nowMs);
      const description: StreamDescription = {
        streamName: stream.name,
        streamArn: stream.arn,
        streamStatus: status,
        streamMode: stream.mode,
        shards: rest.slice(0, limit).map(shardOutput),
        hasMoreShards: rest.length > limit,
        retentionPeriodHours: stream.retentionHours,
        streamCreationTimestamp: new Date(stream.createdAt),
        encryptionType: encryption.encryptionType,
        enhancedMonitoring: [{ shardLevelMetrics: enabledMetrics(stream) }],
      };
      if (encryption.keyId !== undefined) description.keyId = encryption.keyId;
      return description;
    },

    listShards(input) {
      const nowMs = now();
      let stream: StreamState;
      let after: string | undefined;
      let filter: AppliedShardFilter | undefined;
      if (input.nextToken) {
        // The token names the stream, so AWS refuses anything that names it again.
        if (input.streamName)
          throw invalidArgument("NextToken and StreamName cannot be provided together.");
        if (input.streamArn)
          throw invalidArgument("NextToken and StreamARN cannot be provided together.");
        if (input.exclusiveStartShardId) {
          throw invalidArgument("NextToken and ExclusiveStartShardId cannot be provided together.");
        }
        // The token carries the filter too: AWS takes none beside it.
        const [name, lastShardId, type, timestamp] = decodeTimedPageToken(
          input.nextToken,
          4,
          nowMs,
        ) as [string, string, string, string];
        stream = resolve({ streamName: name }, nowMs);
        after = lastShardId;
        filter = pageFilter(type, timestamp);
      } else {
        if (!input.streamName && !input.streamArn) {
          throw invalidArgument("Either NextToken or StreamName should be provided.");
        }
        stream = resolve(input, nowMs);
        after = laterShardId(
          input.exclusiveStartShardId || undefined,
          input.shardFilter?.type === "AFTER_SHARD_ID" ? input.shardFilter.shardId : undefined,
        );
        const type = input.shardFilter?.type;
        filter =
          type == null ? undefined : { type, timestampMs: input.shardFilter?.timestamp?.getTime() };
      }
      const listed = filteredShards(stream, filter, nowMs);
      // Shard ids are zero-padded, so string order is index order.
      const start = after === undefined ? 0 : listed.findIndex((s) => s.shardId > after);
      const shards = start < 0 ? [] : listed.slice(start);
      const maxResults = pageSize(
        input.maxResults,
        LIST_SHARDS_DEFAULT_MAX_RESULTS,
        MAX_LIST_LIMIT,
      );
      const page = shards.slice(0, maxResults);
      const output: ListShardsOutput = { shards: page.map(shardOutput) };
      if (shards.length > maxResults) {
        output.nextToken = encodeTimedPageToken(
          [
            stream.name,
            page[page.length - 1]!.shardId,
            filter?.type ?? "",
            filter?.timestampMs === undefined ? "" : String(filter.timestampMs),
          ],
          nowMs,
        );
      }
      return output;
    },

    putRecords(input) {
      return writeRecords(input).output;
    },

    putRecord(input) {
      return writeRecord(input).output;
    },

    async putRecordsStored(input) {
      const { stream, output } = writeRecords(input);
      // In memory a write is stored once made: no wait on the hot path.
      if (storage === undefined || (await isStored(stream))) return output;
      const failure: PutRecordsResultEntry = {
        errorCode: "InternalFailure",
        errorMessage: INTERNAL_FAILURE_TEXT,
      };
      return {
        ...output,
        failedRecordCount: output.records.length,
        records: output.records.map((record) => (record.errorCode ? record : failure)),
      };
    },

    async putRecordStored(input) {
      const { stream, output } = writeRecord(input);
      if (storage === undefined || (await isStored(stream))) return output;
      throw new KinesisError("InternalFailure", INTERNAL_FAILURE_TEXT);
    },

    storageProblem() {
      const error = storage?.writeError as NodeJS.ErrnoException | undefined;
      return error === undefined
        ? undefined
        : `writes to the data dir fail (${error.code ?? "I/O error"})`;
    },

    close() {
      storage?.close();
    },

    getShardIterator(input) {
      const shardId = input.shardId;
      if (shardId === null)
        throw new Error("GetShardIterator without a shard id reached the engine");
      const named = streamOf(input);
      const shardIndex = readShardIndex(named, shardId);
      const nowMs = now();
      const { stream, shard } = resolveShard(named, shardIndex, nowMs);
      assertStreamActive(stream, nowMs);
      const position = startingPosition(stream, shard, input);
      return {
        shardIterator: encodeShardIterator({
          streamName: stream.name,
          incarnationSeconds: stream.incarnationSeconds,
          shardIndex,
          position,
          issuedAtMs: nowMs,
        }),
      };
    },

    getRecords(input) {
      if (input.shardIterator === null) {
        throw new Error("GetRecords without a shard iterator reached the engine");
      }
      const nowMs = now();
      const iterator = decodeShardIterator(input.shardIterator);
      // An iterator from the future is no iterator this engine issued.
      if (iterator === undefined || iterator.issuedAtMs > nowMs) {
        throw invalidArgument("Invalid ShardIterator.");
      }
      assertIteratorNotExpired(iterator.issuedAtMs, nowMs);
      if (input.streamArn) {
        const named = streamOf({ streamArn: input.streamArn });
        if (!named.ours || named.name !== iterator.streamName) {
          // Ours: AWS documents no text for an ARN that disagrees with the iterator.
          throw invalidArgument(
            `StreamARN ${input.streamArn} does not name the stream of the shard iterator.`,
          );
        }
      }
      const { stream, shard } = resolveShard(
        { name: iterator.streamName, account: accountId, ours: true },
        iterator.shardIndex,
        nowMs,
        iterator.incarnationSeconds,
      );
      assertStreamActive(stream, nowMs);
      if (shard.readLimiter !== undefined && !shard.readLimiter.tryAdmit(nowMs)) {
        throw new KinesisError(
          "ProvisionedThroughputExceededException",
          shard.readThrottledMessage,
        );
      }
      const limit = pageSize(input.limit, MAX_GET_RECORDS_LIMIT, MAX_GET_RECORDS_LIMIT);
      const page = readShardPage(stream, shard, iterator.position, limit, nowMs);
      shard.readLimiter?.charge(page.bytes, nowMs);
      const records = page.records.map((record) =>
        kinesisRecord(record, encryptionOf(stream, nowMs).encryptionType),
      );
      // At the end of a closed shard, AWS answers no iterator but the children to read next.
      if (shard.closedAtMs !== undefined && page.atEnd) {
        return { records, millisBehindLatest: 0, childShards: childShardsOf(stream, shard) };
      }
      return {
        records,
        nextShardIterator: encodeShardIterator({
          ...iterator,
          position: page.next,
          issuedAtMs: nowMs,
        }),
        millisBehindLatest: page.millisBehindLatest,
      };
    },

    increaseStreamRetentionPeriod(input) {
      changeRetentionOf(input, "increase");
    },

    decreaseStreamRetentionPeriod(input) {
      changeRetentionOf(input, "decrease");
    },

    addTagsToStream(input) {
      if (input.tags === null) throw new Error("AddTagsToStream without tags reached the engine");
      addTags(streamTagOwner(resolveActive(input, now())), input.tags);
    },

    removeTagsFromStream(input) {
      if (input.tagKeys === null) {
        throw new Error("RemoveTagsFromStream without tag keys reached the engine");
      }
      removeTags(streamTagOwner(resolveActive(input, now())), input.tagKeys);
    },

    updateMaxRecordSize(input) {
      const kib = input.maxRecordSizeInKiB;
      if (kib === null) throw new Error("UpdateMaxRecordSize without a size reached the engine");
      const nowMs = now();
      changeMaxRecordSize(resolve(input, nowMs), kib, nowMs);
    },

    startStreamEncryption(input) {
      if (input.keyId === null)
        throw new Error("StartStreamEncryption without a key reached the engine");
      const nowMs = now();
      const encryption = { encryptionType: "KMS", keyId: input.keyId } as const;
      changeEncryption(resolve(input, nowMs), encryption, nowMs, transitionDelayMs);
    },

    stopStreamEncryption(input) {
      const nowMs = now();
      const encryption = { encryptionType: "NONE", keyId: undefined } as const;
      changeEncryption(resolve(input, nowMs), encryption, nowMs, transitionDelayMs);
    },

    enableEnhancedMonitoring(input) {
      return changeMonitoringOf(input, true);
    },

    disableEnhancedMonitoring(input) {
      return changeMonitoringOf(input, false);
    },

    listTagsForStream(input) {
      return listTags(resolve(input, now()), input);
    },

    listTagsForResource(input) {
      const { owner } = resourceByArn(input.resourceArn, now());
      const keys = [...owner.tags.keys()].sort();
      // A resource holds at most 50 tags, one page.
      return { tags: keys.map((key) => ({ key, value: owner.tags.get(key)! })) };
    },

    tagResource(input) {
      if (input.tags === null) throw new Error("TagResource without tags reached the engine");
      addTags(resourceByArn(input.resourceArn, now(), { changing: true }).owner, input.tags);
    },

    untagResource(input) {
      if (input.tagKeys === null) {
        throw new Error("UntagResource without tag keys reached the engine");
      }
      removeTags(resourceByArn(input.resourceArn, now(), { changing: true }).owner, input.tagKeys);
    },

    putResourcePolicy(input) {
      if (input.policy === null)
        throw new Error("PutResourcePolicy without a policy reached the engine");
      resourceByArn(input.resourceArn, now(), { changing: true }).holder.resourcePolicy =
        input.policy;
    },

    getResourcePolicy(input) {
      return { policy: resourceByArn(input.resourceArn, now()).holder.resourcePolicy ?? "{}" };
    },

    deleteResourcePolicy(input) {
      resourceByArn(input.resourceArn, now(), { changing: true }).holder.resourcePolicy = undefined;
    },

    registerStreamConsumer(input) {
      if (input.streamArn === null || input.consumerName === null) {
        throw new Error("RegisterStreamConsumer without a stream ARN or a name reached the engine");
      }
      const nowMs = now();
      const stream = resolveActive({ streamArn: input.streamArn }, nowMs);
      const consumer = registerConsumer(
        stream,
        input.consumerName,
        input.tags ?? {},
        nowMs,
        transitionDelayMs,
        maxConsumersOf(stream, nowMs),
      );
      // AWS answers CREATING whatever follows; with a transition of 0 the
      // consumer is ACTIVE by the next call.
      return { consumer: { ...consumerOutput(consumer, nowMs), consumerStatus: "CREATING" } };
    },

    deregisterStreamConsumer(input) {
      const nowMs = now();
      const { stream, consumer } = resolveConsumer(input, nowMs);
      if (consumer.deletingUntilMs !== undefined) return;
      consumer.deletingUntilMs = nowMs + transitionDelayMs;
      removeDeregisteredConsumers(stream, nowMs);
      wakeStreamSubscribers(stream);
    },

    describeStreamConsumer(input) {
      const nowMs = now();
      const { stream, consumer } = resolveConsumer(input, nowMs);
      return {
        consumerDescription: { ...consumerOutput(consumer, nowMs), streamArn: stream.arn },
      };
    },

    listStreamConsumers(input) {
      if (input.streamArn === null) {
        throw new Error("ListStreamConsumers without a stream ARN reached the engine");
      }
      const nowMs = now();
      return listConsumers(resolve({ streamArn: input.streamArn }, nowMs), input, nowMs);
    },

    describeLimits() {
      removeDeleted(now());
      return {
        shardLimit,
        openShardCount,
        onDemandStreamCount: onDemandStreamCount(),
        onDemandStreamCountLimit,
      };
    },

    updateStreamMode(input) {
      const mode = input.streamMode;
      if (input.streamArn === null || (mode !== "PROVISIONED" && mode !== "ON_DEMAND")) {
        throw new Error("UpdateStreamMode without a stream ARN or a mode reached the engine");
      }
      const nowMs = now();
      const stream = resolve({ streamArn: input.streamArn }, nowMs);
      capacity.switchMode(stream, mode, input.warmThroughputMiBps, nowMs, assertOnDemandAllowed);
    },

    updateStreamWarmThroughput(input) {
      if (input.warmThroughputMiBps === null) {
        throw new Error("UpdateStreamWarmThroughput without a throughput reached the engine");
      }
      const nowMs = now();
      const stream = resolve(input, nowMs);
      const warmThroughput = capacity.setWarmThroughput(stream, input.warmThroughputMiBps, nowMs);
      return { streamArn: stream.arn, streamName: stream.name, warmThroughput };
    },

    describeAccountSettings() {
      const nowMs = now();
      capacity.settle(streams, nowMs);
      return account.describe(nowMs);
    },

    updateAccountSettings(input) {
      const status = input.minimumThroughputBillingCommitment?.status;
      if (status !== "ENABLED" && status !== "DISABLED") {
        throw new Error("UpdateAccountSettings without a commitment status reached the engine");
      }
      const nowMs = now();
      const settings = account.update(status, nowMs);
      capacity.settle(streams, nowMs);
      return settings;
    },

    shardWriteUtilization() {
      const nowMs = now();
      return [...streams.values()].flatMap((stream) =>
        stream.openShards.flatMap((shard) =>
          shard.limiter === undefined
            ? []
            : [
                {
                  streamName: stream.name,
                  shardId: shard.shardId,
                  utilization: shard.limiter.utilization(nowMs),
                },
              ],
        ),
      );
    },

    splitShard(input) {
      const { shardToSplit, newStartingHashKey } = input;
      if (shardToSplit === null || newStartingHashKey === null) {
        throw new Error("SplitShard without a shard or a hash key reached the engine");
      }
      reshard(input, (stream, nowMs) =>
        requestSplit(
          stream,
          shardToSplit,
          newStartingHashKey,
          reshardLimits(),
          nowMs,
          transitionDelayMs,
        ),
      );
    },

    mergeShards(input) {
      const { shardToMerge, adjacentShardToMerge } = input;
      if (shardToMerge === null || adjacentShardToMerge === null) {
        throw new Error("MergeShards without its two shards reached the engine");
      }
      reshard(input, (stream, nowMs) =>
        requestMerge(stream, shardToMerge, adjacentShardToMerge, nowMs, transitionDelayMs),
      );
    },

    updateShardCount(input) {
      const target = input.targetShardCount;
      if (target === null) throw new Error("UpdateShardCount without a target reached the engine");
      return reshard(input, (stream, nowMs) =>
        requestScale(stream, target, reshardLimits(), nowMs, transitionDelayMs),
      );
    },

    subscribeToShard(input) {
      const { shardId, startingPosition: position } = input;
      if (shardId === null || position === null || position.type === null) {
        throw new Error("SubscribeToShard without a shard or a position reached the engine");
      }
      const nowMs = now();
      let consumerArn: string | undefined;
      let streamRef: StreamRef = input;
      if (input.consumerArn !== undefined) {
        const { stream, consumer } = resolveConsumer({ consumerArn: input.consumerArn }, nowMs);
        // AWS's text is not documented; this one says what is wrong, in its words.
        if (consumerStatus(consumer, nowMs) !== "ACTIVE") {
          throw new KinesisError(
            "ResourceInUseException",
            `Consumer ${consumer.arn} is not in ACTIVE state: it is ${consumerStatus(consumer, nowMs)}.`,
          );
        }
        consumerArn = consumer.arn;
        streamRef = { streamArn: stream.arn };
      }
      const named = streamOf(streamRef);
      const shardIndex = readShardIndex(named, shardId);
      const { stream, shard } = resolveShard(named, shardIndex, nowMs);
      assertStreamActive(stream, nowMs);
      const from = startingPosition(stream, shard, {
        streamName: stream.name,
        shardId,
        shardIteratorType: position.type,
        startingSequenceNumber: position.sequenceNumber,
        timestamp: position.timestamp,
      });
      const slot = consumerArn === undefined ? undefined : slots.take(consumerArn, shard, nowMs);
      const incarnation = stream.incarnationSeconds;
      return createEngineSubscription({
        stream,
        shard,
        from,
        now,
        check(atMs) {
          // The same stream (not a successor of its name) and, for a consumer, the same consumer.
          const { stream: current } = resolveShard(named, shardIndex, atMs, incarnation);
          assertStreamActive(current, atMs);
          if (consumerArn !== undefined) resolveConsumer({ consumerArn }, atMs);
        },
        toRecord: (record, atMs) =>
          kinesisRecord(record, encryptionOf(stream, atMs).encryptionType),
        childShards: () => childShardsOf(stream, shard),
        transitionMs: () => {
          const times = [
            stream.pendingReshard === undefined ? undefined : stream.updatingUntilMs,
            stream.deletingUntilMs,
            consumerArn === undefined
              ? undefined
              : stream.consumers.get(parseConsumerArn(consumerArn)!.consumerName)?.deletingUntilMs,
          ].filter((t): t is number => t !== undefined);
          return times.length === 0 ? undefined : Math.min(...times);
        },
        consumer:
          consumerArn === undefined || slot === undefined
            ? undefined
            : { arn: consumerArn, holder: slot.holder, release: slot.release },
      });
    },

    readRecords(ref, shardId, readOptions) {
      const stream = resolve(ref, now());
      const shard = stream.shards.find((s) => s.shardId === shardId);
      if (shard === undefined) {
        throw new KinesisError(
          "ResourceNotFoundException",
          `Shard ${shardId} in stream ${stream.name} under account ${accountId} does not exist`,
        );
      }
      return stream.store.read(shard.index, readOptions);
    },
  };

  if (storage !== undefined) {
    // Every change is saved before it is acknowledged.
    const methods = engine as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of SAVED_CHANGES) {
      const change = methods[name]!;
      methods[name] = (...args) => {
        const output = change(...args);
        persist();
        return output;
      };
    }
    const state = storage.loadState();
    if (state !== undefined) {
      restore(state, storage.cleanStart ? 0n : RESUME_JUMP, { opening: true });
      savedState = state;
    }
    // Saves what the clock changed while the engine was down, and frees removed streams' files.
    persist({ quietly: true });
  }
  return engine;
}

/** The engine's methods that change its state besides records: each is saved before it answers. */
const SAVED_CHANGES = [
  "createStream",
  "deleteStream",
  "increaseStreamRetentionPeriod",
  "decreaseStreamRetentionPeriod",
  "addTagsToStream",
  "removeTagsFromStream",
  "tagResource",
  "untagResource",
  "putResourcePolicy",
  "deleteResourcePolicy",
  "registerStreamConsumer",
  "deregisterStreamConsumer",
  "enableEnhancedMonitoring",
  "disableEnhancedMonitoring",
  "startStreamEncryption",
  "stopStreamEncryption",
  "updateMaxRecordSize",
  "updateStreamMode",
  "updateStreamWarmThroughput",
  "updateAccountSettings",
  "splitShard",
  "mergeShards",
  "updateShardCount",
] as const satisfies readonly (keyof Engine)[];

/**
 * How far every shard's sequence numbers move on after a crash: records a
 * reader saw may be lost with the machine (never with `--fsync on` once
 * acknowledged, but before), and their numbers must not be handed out
 * again. 2^32 records is more than a shard takes in the seconds a page cache
 * holds unsynced writes; counters stay exact (the index keeps them as
 * doubles, below 2^53) for 2^21 such restarts.
 */
const RESUME_JUMP = 1n << 32n;

/** Per-record text of a write that could not be stored (AWS's example response). */
const INTERNAL_FAILURE_TEXT = "Internal service failure.";

function emptySnapshot(): EngineSnapshot {
  return {
    version: SNAPSHOT_VERSION,
    account: { status: "DISABLED" },
    removedIncarnations: {},
    streams: [],
  };
}

/**
 * How many consumers a stream may have: 50 for an on-demand stream while the
 * account's billing commitment holds (On-demand Advantage), 20 otherwise
 * (AWS API reference, RegisterStreamConsumer).
 */
function maxConsumersFor(stream: StreamState, advantage: boolean): number {
  return stream.mode === "ON_DEMAND" && advantage
    ? MAX_CONSUMERS_PER_ADVANTAGE_STREAM
    : MAX_CONSUMERS_PER_STREAM;
}

/** The consumers registered with a stream, whatever their status. */
function countConsumers(stream: StreamState, nowMs: number): number {
  removeDeregisteredConsumers(stream, nowMs);
  return stream.consumers.size;
}

/** A stored record as GetRecords returns it; the encryption type only for encrypted streams. */
function kinesisRecord(record: StoredRecord, encryptionType: EncryptionType): KinesisRecord {
  const output: KinesisRecord = {
    sequenceNumber: record.sequenceNumber,
    approximateArrivalTimestamp: new Date(record.approximateArrivalTimestamp),
    data: record.data,
    partitionKey: record.partitionKey,
  };
  if (encryptionType === "KMS") output.encryptionType = "KMS";
  return output;
}

function invalidArgument(message: string): KinesisError {
  return new KinesisError("InvalidArgumentException", message);
}

function streamTagOwner(stream: StreamState): TagOwner {
  return { kind: "stream", name: stream.name, accountId: stream.accountId, tags: stream.tags };
}

/** The later of two exclusive start shard ids: both must be passed. */
function laterShardId(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const index = (id: string) => shardIndexFromId(id) ?? -1;
  return index(a) >= index(b) ? a : b;
}

/** The filter a ListShards page token carries (see `listShards`). */
function pageFilter(type: string, timestamp: string): AppliedShardFilter | undefined {
  if (type === "") return undefined;
  if (!(SHARD_FILTER_TYPES as readonly string[]).includes(type)) {
    throw invalidArgument("Invalid NextToken.");
  }
  const timestampMs = timestamp === "" ? undefined : Number(timestamp);
  if (timestampMs !== undefined && !Number.isSafeInteger(timestampMs)) {
    throw invalidArgument("Invalid NextToken.");
  }
  return { type: type as ShardFilterType, timestampMs };
}
