import { KinesisError, writeRateExceededMessage } from "../kinesis/errors.ts";
import type {
  EncryptionType,
  MetricsName,
  PutRecordsRequestEntry,
  StreamMode,
} from "../kinesis/types.ts";
import { recordBytes } from "../kinesis/validation.ts";
import type { ConsumerState } from "./consumers.ts";
import { hashKeyHex, MAX_HASH_KEY, partitionKeyHashHex } from "./hash-key.ts";
import type { ReadLimiter } from "./read-limiter.ts";
import type { RecordStore } from "./record-store.ts";
import {
  createShardSequencer,
  type SequencerResume,
  type ShardSequencer,
} from "./sequence-number.ts";
import {
  type HashKeySpan,
  shardIdFor,
  shardIndexForHashKey,
  splitHashKeySpace,
} from "./shard-ranges.ts";
import { wakeSubscribers } from "./subscriptions.ts";
import type { WriteLimiter } from "./write-limiter.ts";

/** One shard of a stream and what writing to it needs. */
export interface ShardState {
  readonly index: number;
  readonly shardId: string;
  readonly startingHashKey: bigint;
  readonly endingHashKey: bigint;
  /** When the shard was created, in epoch seconds, as its sequence numbers carry it: its stream's `incarnationSeconds`. */
  readonly createdSeconds: number;
  readonly sequencer: ShardSequencer;
  /** Undefined when throttling is off. */
  readonly limiter: WriteLimiter | undefined;
  /** The ProvisionedThroughputExceededException text, built once rather than per refused record. */
  readonly throttledMessage: string;
  /** GetRecords throughput; undefined when throttling is off. */
  readonly readLimiter: ReadLimiter | undefined;
  /** The ProvisionedThroughputExceededException text of a throttled GetRecords. */
  readonly readThrottledMessage: string;
  /** When the shard was made, in epoch milliseconds: by CreateStream, or by the reshard that made it. */
  readonly createdAtMs: number;
  /** The shard it was split from, or the first of the two it was merged from. */
  readonly parentShardId: string | undefined;
  /** The second shard it was merged from. */
  readonly adjacentParentShardId: string | undefined;
  /** Set when a reshard closes it (see `resharding.ts`); it takes no more writes then. */
  closedAtMs: number | undefined;
  /** Set with `closedAtMs`: the last sequence number the shard could have issued. */
  endingSequenceNumber: string | undefined;
  /** Subscriptions waiting for the shard to change, each called once (`subscriptions.ts`). */
  readonly subscribers: Set<() => void>;
}

/**
 * A stream as the engine keeps it. Its status is not stored but follows from
 * the clock (see `streamStatus`): CREATING until `activeAtMs`, then ACTIVE
 * (UPDATING until `updatingUntilMs` after an encryption change or a reshard), and DELETING
 * from DeleteStream until `deletingUntilMs`, when it is gone.
 */
export interface StreamState {
  readonly name: string;
  readonly arn: string;
  readonly accountId: string;
  /** Changed by UpdateStreamMode (`capacity.ts`). */
  mode: StreamMode;
  /** When CreateStream made it, as DescribeStream and ListStreams report it. */
  readonly createdAt: Date;
  /**
   * Which stream of its name this is: the creation second its shards' sequence
   * numbers and its iterators carry, unique among the streams this engine
   * ever had of the name (see `NewStream.incarnationSeconds`).
   */
  readonly incarnationSeconds: number;
  /** When the stream turns from CREATING to ACTIVE, in epoch milliseconds. */
  readonly activeAtMs: number;
  /** Set by DeleteStream: the stream is DELETING until then, in epoch milliseconds, and gone after. */
  deletingUntilMs: number | undefined;
  /** Changed by Increase/DecreaseStreamRetentionPeriod; the store is told too. */
  retentionHours: number;
  /**
   * The encryption set last: by CreateStream's key, or Start/StopStreamEncryption.
   * It takes effect when the stream stops UPDATING (see `encryptionOf`).
   */
  encryption: StreamEncryption;
  /** The encryption in effect while the stream is UPDATING towards `encryption`. */
  encryptionBefore: StreamEncryption;
  /**
   * Set by Start/StopStreamEncryption and by a reshard: the stream is
   * UPDATING until then, in epoch milliseconds.
   */
  updatingUntilMs: number | undefined;
  readonly tags: Map<string, string>;
  /** Changed by Enable/DisableEnhancedMonitoring; never ALL. */
  readonly shardLevelMetrics: Set<MetricsName>;
  /** Set by PutResourcePolicy, as given; stored, never evaluated. */
  resourcePolicy: string | undefined;
  /** The largest record it takes, data plus key, in KiB: from CreateStream, changed by UpdateMaxRecordSize. */
  maxRecordSizeInKiB: number;
  /** Its registered consumers, by name; they go with the stream. */
  readonly consumers: Map<string, ConsumerState>;
  /** The ARN seconds of removed consumers, by name, while the clock has not passed them. */
  readonly removedConsumerSeconds: Map<string, number>;
  /** Every shard, by index: a reshard closes some and appends new ones. */
  readonly shards: ShardState[];
  /** The open shards in hash key order; their ranges cover the whole key space. */
  openShards: readonly ShardState[];
  /** `openShards[i].startingHashKey` as {@link hashKeyHex} renders it, for the search on every record. */
  openStartingHashKeys: readonly string[];
  readonly store: RecordStore;
  /** Makes a new shard's write limiter, or undefined when throttling is off. */
  readonly createLimiter: () => WriteLimiter | undefined;
  /** Makes a new shard's read limiter, or undefined when throttling is off. */
  readonly createReadLimiter: () => ReadLimiter | undefined;
  /**
   * Set by SplitShard, MergeShards and UpdateShardCount: the change the
   * stream is UPDATING towards, made when `updatingUntilMs` comes (`resharding.ts`).
   */
  pendingReshard: PendingReshard | undefined;
  /** When UpdateShardCount was called, in epoch milliseconds, over the last 24 hours. */
  readonly scalingTimesMs: number[];
}

/** A reshard a stream is UPDATING towards; shards are named by index. */
export type PendingReshard =
  | { readonly kind: "split"; readonly shardIndex: number; readonly newStartingHashKey: bigint }
  | { readonly kind: "merge"; readonly shardIndex: number; readonly adjacentShardIndex: number }
  | { readonly kind: "scale"; readonly targetShardCount: number };

/** A stream's encryption: KMS with the key's id, or NONE without one. */
export interface StreamEncryption {
  readonly encryptionType: EncryptionType;
  readonly keyId: string | undefined;
}

export interface NewStream {
  name: string;
  arn: string;
  mode: StreamMode;
  shardCount: number;
  createdAtMs: number;
  /**
   * The second of `createdAtMs`, or, when an earlier stream of the name
   * carried that second or a later one, the second after that stream's.
   *
   * Why a second, and not an incarnation number of our own: AWS's sequence
   * numbers (see `sequence-number.ts`) have no field for one. What ties a
   * number to a stream there is its shard creation second; the one byte of
   * unknown use is 00 in every AWS sample, and numbers with anything else in
   * it would be no longer AWS's layout. So the creation second is made unique
   * per name: numbers keep AWS's 56 digits and their order, and those of a
   * deleted stream are refused by its successor even when it was created in
   * the same millisecond. Iterators carry the same second, so one identity
   * serves both. The cost: a name recreated n times within a second has its
   * latest stream's second up to n seconds ahead of the clock. Only a client
   * decoding sequence numbers sees that; the creation time reported
   * (StreamCreationTimestamp) stays `createdAtMs`.
   */
  incarnationSeconds: number;
  /** When the stream becomes ACTIVE; `createdAtMs` for a stream that is never CREATING. */
  activeAtMs: number;
  retentionHours: number;
  keyId: string | undefined;
  tags: Readonly<Record<string, string>>;
  accountId: string;
  /** The largest record it takes, in KiB. */
  maxRecordSizeInKiB: number;
  store: RecordStore;
  /** Makes a shard's write limiter, or undefined when throttling is off. */
  createLimiter: () => WriteLimiter | undefined;
  /** Makes a shard's read limiter, or undefined when throttling is off. */
  createReadLimiter: () => ReadLimiter | undefined;
}

/** What a new shard is made from: where it sits, when, and the shards it came from. */
export interface NewShard {
  readonly index: number;
  readonly span: HashKeySpan;
  readonly createdAtMs: number;
  /** Its sequence numbers' creation second (see `NewStream.incarnationSeconds`). */
  readonly createdSeconds: number;
  readonly parentShardId?: string | undefined;
  readonly adjacentParentShardId?: string | undefined;
  /** A shard brought back from a data dir: where its sequence numbers go on. */
  readonly resume?: SequencerResume | undefined;
}

/** A new open shard of `stream`, with its own sequencer and write and read limiters. */
export function createShardState(
  stream: Pick<StreamState, "name" | "accountId" | "createLimiter" | "createReadLimiter">,
  shard: NewShard,
): ShardState {
  const shardId = shardIdFor(shard.index);
  return {
    index: shard.index,
    shardId,
    startingHashKey: shard.span.startingHashKey,
    endingHashKey: shard.span.endingHashKey,
    createdSeconds: shard.createdSeconds,
    sequencer: createShardSequencer(shard.createdSeconds, shard.index, shard.resume),
    limiter: stream.createLimiter(),
    throttledMessage: writeRateExceededMessage(shardId, stream.name, stream.accountId),
    readLimiter: stream.createReadLimiter(),
    // The newer AWS text for reads (awslabs/amazon-kinesis-client#1521).
    readThrottledMessage: `Rate exceeded for Shard - ${stream.accountId}/${stream.name}/${shardId}`,
    createdAtMs: shard.createdAtMs,
    parentShardId: shard.parentShardId,
    adjacentParentShardId: shard.adjacentParentShardId,
    closedAtMs: undefined,
    endingSequenceNumber: undefined,
    subscribers: new Set(),
  };
}

export function createStreamState(stream: NewStream): StreamState {
  const shards = splitHashKeySpace(stream.shardCount).map((span, index) =>
    createShardState(stream, {
      index,
      span,
      createdAtMs: stream.createdAtMs,
      createdSeconds: stream.incarnationSeconds,
    }),
  );
  const initialEncryption: StreamEncryption =
    stream.keyId === undefined
      ? { encryptionType: "NONE", keyId: undefined }
      : { encryptionType: "KMS", keyId: stream.keyId };
  return {
    name: stream.name,
    arn: stream.arn,
    accountId: stream.accountId,
    mode: stream.mode,
    createdAt: new Date(stream.createdAtMs),
    incarnationSeconds: stream.incarnationSeconds,
    activeAtMs: stream.activeAtMs,
    deletingUntilMs: undefined,
    retentionHours: stream.retentionHours,
    encryption: initialEncryption,
    encryptionBefore: initialEncryption,
    updatingUntilMs: undefined,
    tags: new Map(Object.entries(stream.tags)),
    shardLevelMetrics: new Set(),
    resourcePolicy: undefined,
    maxRecordSizeInKiB: stream.maxRecordSizeInKiB,
    consumers: new Map(),
    removedConsumerSeconds: new Map(),
    shards,
    // A copy: a reshard appends to `shards` alone.
    openShards: [...shards],
    openStartingHashKeys: shards.map((shard) => hashKeyHex(shard.startingHashKey)),
    store: stream.store,
    createLimiter: stream.createLimiter,
    createReadLimiter: stream.createReadLimiter,
    pendingReshard: undefined,
    scalingTimesMs: [],
  };
}

/**
 * The open shard an entry goes to: by its explicit hash key when it has one,
 * else by the MD5 of its partition key. Throws, before anything is written,
 * for an entry validation should have stopped.
 */
export function shardForEntry(stream: StreamState, entry: PutRecordsRequestEntry): ShardState {
  if (entry.data === null || entry.partitionKey === null) {
    throw new Error("a record without data or partition key reached the engine");
  }
  // "" counts as absent: proto3 has no absent strings.
  const hashKey =
    entry.explicitHashKey === undefined || entry.explicitHashKey === ""
      ? partitionKeyHashHex(entry.partitionKey)
      : hashKeyHex(parseExplicitHashKey(entry.explicitHashKey));
  return stream.openShards[shardIndexForHashKey(stream.openStartingHashKeys, hashKey)]!;
}

function parseExplicitHashKey(explicitHashKey: string): bigint {
  // Validation checks this too; the engine repeats the range check because a
  // key out of range would otherwise land silently in the last shard.
  const hashKey = /^\d{1,39}$/.test(explicitHashKey) ? BigInt(explicitHashKey) : -1n;
  if (hashKey < 0n || hashKey > MAX_HASH_KEY) {
    throw new KinesisError(
      "InvalidArgumentException",
      `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${explicitHashKey}`,
    );
  }
  return hashKey;
}

/**
 * Writes one entry to `shard` if its throughput allows, and returns the new
 * sequence number, or undefined when the shard refused it (nothing is charged
 * or stored then). The store keeps a copy of the data.
 */
export function writeToShard(
  stream: StreamState,
  shard: ShardState,
  entry: PutRecordsRequestEntry,
  nowMs: number,
): string | undefined {
  const sizeBytes = recordBytes(entry); // what throttling and the byte cap count
  if (shard.limiter !== undefined && !shard.limiter.tryAdmit(sizeBytes, nowMs)) {
    return undefined;
  }
  const sequenceNumber = shard.sequencer.next(Math.floor(nowMs / 1000));
  stream.store.append(shard.index, {
    sequenceNumber,
    data: entry.data!,
    partitionKey: entry.partitionKey!,
    explicitHashKey: entry.explicitHashKey || undefined,
    approximateArrivalTimestamp: nowMs,
    sizeBytes,
  });
  if (shard.subscribers.size > 0) wakeSubscribers(shard);
  return sequenceNumber;
}
