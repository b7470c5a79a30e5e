import { KinesisError, streamInUse, streamNotFound } from "../kinesis/errors.ts";
import type {
  CreateStreamInput,
  DeleteStreamInput,
  ListShardsInput,
  ListShardsOutput,
  ListStreamsInput,
  ListStreamsOutput,
  PutRecordInput,
  PutRecordOutput,
  PutRecordsInput,
  PutRecordsOutput,
  PutRecordsResultEntry,
  Shard,
  StreamDescriptionSummary,
  StreamRef,
} from "../kinesis/types.ts";
import { decodePageToken, encodePageToken } from "./page-token.ts";
import {
  createMemoryRecordStore,
  DEFAULT_MAX_STREAM_BYTES,
  DEFAULT_RETENTION_HOURS,
  type ReadOptions,
  type RecordStoreFactory,
  type StoredRecord,
} from "./record-store.ts";
import {
  createStreamState,
  type ShardState,
  type StreamState,
  shardForEntry,
  writeToShard,
} from "./stream.ts";
import { parseStreamArn, streamArnFor } from "./stream-arn.ts";
import {
  createWriteLimiter,
  DEFAULT_SHARD_WRITE_BYTES_PER_SECOND,
  DEFAULT_SHARD_WRITE_RECORDS_PER_SECOND,
} from "./write-limiter.ts";

/** Options for {@link createEngine}. */
export interface EngineOptions {
  /** The account the streams belong to, in ARNs and error texts. Default: "000000000000". */
  accountId?: string | undefined;
  /** The region in stream ARNs and error texts. Default: "us-east-1". */
  region?: string | undefined;
  /** Whether writes are throttled per shard as AWS does. Default: true. */
  throttle?: boolean | undefined;
  /** The clock, in epoch milliseconds. Default: `Date.now`. The engine never lets time run backwards. */
  now?: (() => number) | undefined;
  /** Records per second one shard accepts. Default: 1000 (AWS). */
  shardWriteRecordsPerSecond?: number | undefined;
  /** Bytes (data plus UTF-8 partition key) per second one shard accepts. Default: 1048576 (1 MiB, AWS). */
  shardWriteBytesPerSecond?: number | undefined;
  /** How many seconds of a shard's write rate can be spent at once. Default: 1. */
  burstSeconds?: number | undefined;
  /** How long records are kept. Default: 24 (AWS). */
  retentionHours?: number | undefined;
  /** When a stream's records exceed this many bytes, its oldest records are dropped. Default: 268435456 (256 MiB). */
  maxStreamBytes?: number | undefined;
  /** The most open shards all streams together may have, as the AWS account shard quota. Default: 1000. */
  shardLimit?: number | undefined;
  /** Makes each new stream's record store. Default: {@link createMemoryRecordStore}. */
  createStore?: RecordStoreFactory | undefined;
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
  deleteStream(input: DeleteStreamInput): void;
  listStreams(input?: ListStreamsInput): ListStreamsOutput;
  describeStreamSummary(ref: StreamRef): StreamDescriptionSummary;
  listShards(input: ListShardsInput): ListShardsOutput;
  /**
   * Writes a batch, throttling record by record. Each record's `data` is kept
   * as given, not copied: callers must not reuse the buffer afterwards.
   */
  putRecords(input: PutRecordsInput): PutRecordsOutput;
  /** Writes one record; throws ProvisionedThroughputExceededException when its shard is full. */
  putRecord(input: PutRecordInput): PutRecordOutput;
  /** The records of a shard in sequence order, from a start position (default: the oldest kept). */
  readRecords(ref: StreamRef, shardId: string, options?: ReadOptions): StoredRecord[];
  /** Each throttled shard's write utilization now (see `WriteLimiter.utilization`). */
  shardWriteUtilization(): ShardUtilization[];
}

export interface ShardUtilization {
  readonly streamName: string;
  readonly shardId: string;
  /** 0 (idle) to 1 (throttling). */
  readonly utilization: number;
}

/** Shards of an on-demand stream at creation, as on AWS (4 MiB/s and 4,000 records/s). */
const ON_DEMAND_SHARD_COUNT = 4;
/** Shards of a provisioned stream created without a count, as kinesis-mock does. */
const DEFAULT_SHARD_COUNT = 4;
const LIST_STREAMS_DEFAULT_LIMIT = 100;
const LIST_STREAMS_MAX_LIMIT = 10000;
const LIST_SHARDS_DEFAULT_MAX_RESULTS = 1000;
const LIST_SHARDS_MAX_RESULTS = 10000;

export function createEngine(options: EngineOptions = {}): Engine {
  const accountId = options.accountId ?? "000000000000";
  const region = options.region ?? "us-east-1";
  const throttle = options.throttle ?? true;
  const clock = options.now ?? Date.now;
  const retentionHours = options.retentionHours ?? DEFAULT_RETENTION_HOURS;
  const maxStreamBytes = options.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES;
  const shardLimit = options.shardLimit ?? 1000;
  const createStore = options.createStore ?? createMemoryRecordStore;
  const limiterOptions = {
    recordsPerSecond: options.shardWriteRecordsPerSecond ?? DEFAULT_SHARD_WRITE_RECORDS_PER_SECOND,
    bytesPerSecond: options.shardWriteBytesPerSecond ?? DEFAULT_SHARD_WRITE_BYTES_PER_SECOND,
    burstSeconds: options.burstSeconds ?? 1,
  };

  const streams = new Map<string, StreamState>();
  let openShardCount = 0;
  let lastNowMs = Number.NEGATIVE_INFINITY;

  /** The clock, held from going backwards so arrival times and retention stay in order. */
  function now(): number {
    const nowMs = clock();
    if (nowMs > lastNowMs) lastNowMs = nowMs;
    return lastNowMs;
  }

  function streamName(ref: StreamRef): string {
    // "" counts as absent: proto3 has no absent strings.
    if (ref.streamArn) {
      const arn = parseStreamArn(ref.streamArn);
      if (arn === undefined)
        throw new Error(`a malformed stream ARN reached the engine: ${ref.streamArn}`);
      // A stream of another account or region is one this engine does not have.
      if (arn.accountId !== accountId || arn.region !== region) {
        throw streamNotFound(arn.streamName, arn.accountId);
      }
      return arn.streamName;
    }
    if (ref.streamName) return ref.streamName;
    throw new Error("a request naming no stream reached the engine");
  }

  function resolve(ref: StreamRef): StreamState {
    const name = streamName(ref);
    const stream = streams.get(name);
    if (stream === undefined) throw streamNotFound(name, accountId);
    return stream;
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

  function shardOutput(shard: ShardState): Shard {
    return {
      shardId: shard.shardId,
      hashKeyRange: {
        startingHashKey: shard.startingHashKey.toString(),
        endingHashKey: shard.endingHashKey.toString(),
      },
      sequenceNumberRange: { startingSequenceNumber: shard.sequencer.startingSequenceNumber },
    };
  }

  return {
    accountId,
    region,

    createStream(input) {
      const name = input.streamName;
      if (!name) throw new Error("CreateStream without a stream name reached the engine");
      if (streams.has(name)) throw streamInUse(name, accountId);
      const mode = input.streamMode ?? "PROVISIONED";
      // shardCount 0 is proto3's "unset".
      const shardCount =
        mode === "ON_DEMAND" ? ON_DEMAND_SHARD_COUNT : input.shardCount || DEFAULT_SHARD_COUNT;
      if (!Number.isSafeInteger(shardCount) || shardCount < 1) {
        throw new Error(`CreateStream with shard count ${shardCount} reached the engine`);
      }
      if (openShardCount + shardCount > shardLimit) throw shardLimitExceeded(shardCount);
      const nowMs = now();
      const stream = createStreamState({
        name,
        arn: streamArnFor(region, accountId, name),
        mode,
        shardCount,
        createdAtMs: nowMs,
        retentionHours,
        keyId: input.kmsKeyId || undefined,
        tags: { ...input.tags },
        accountId,
        store: createStore({ retentionHours, maxBytes: maxStreamBytes, now }),
        createLimiter: () =>
          throttle ? createWriteLimiter({ ...limiterOptions, now }) : undefined,
      });
      streams.set(name, stream);
      openShardCount += stream.openShards.length;
    },

    deleteStream(input) {
      const stream = resolve(input);
      streams.delete(stream.name);
      openShardCount -= stream.openShards.length;
      stream.store.clear();
    },

    listStreams(input = {}) {
      const names = [...streams.keys()].sort();
      const after = input.nextToken
        ? decodePageToken(input.nextToken, 1)[0]!
        : input.exclusiveStartStreamName || undefined;
      let start = 0;
      if (after !== undefined) {
        start = names.findIndex((name) => name > after);
        if (start < 0) start = names.length;
      }
      const limit = pageSize(input.limit, LIST_STREAMS_DEFAULT_LIMIT, LIST_STREAMS_MAX_LIMIT);
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
            streamStatus: stream.status,
            streamMode: stream.mode,
            streamCreationTimestamp: new Date(stream.createdAt),
          };
        }),
      };
      if (hasMoreStreams) output.nextToken = encodePageToken([page[page.length - 1]!]);
      return output;
    },

    describeStreamSummary(ref) {
      const stream = resolve(ref);
      const summary: StreamDescriptionSummary = {
        streamName: stream.name,
        streamArn: stream.arn,
        streamStatus: stream.status,
        streamMode: stream.mode,
        retentionPeriodHours: stream.retentionHours,
        streamCreationTimestamp: new Date(stream.createdAt),
        encryptionType: stream.encryptionType,
        openShardCount: stream.openShards.length,
        consumerCount: 0,
      };
      if (stream.keyId !== undefined) summary.keyId = stream.keyId;
      return summary;
    },

    listShards(input) {
      let stream: StreamState;
      let after: string | undefined;
      if (input.nextToken) {
        // The token names the stream, so AWS refuses anything that names it again.
        if (input.streamName)
          throw invalidArgument("NextToken and StreamName cannot be provided together.");
        if (input.streamArn)
          throw invalidArgument("NextToken and StreamARN cannot be provided together.");
        if (input.exclusiveStartShardId) {
          throw invalidArgument("NextToken and ExclusiveStartShardId cannot be provided together.");
        }
        const [name, lastShardId] = decodePageToken(input.nextToken, 2) as [string, string];
        const found = streams.get(name);
        if (found === undefined) throw streamNotFound(name, accountId);
        stream = found;
        after = lastShardId;
      } else {
        if (!input.streamName && !input.streamArn) {
          throw invalidArgument("Either NextToken or StreamName should be provided.");
        }
        stream = resolve(input);
        after = input.exclusiveStartShardId || undefined;
      }
      // Shard ids are zero-padded, so string order is index order.
      const start = after === undefined ? 0 : stream.shards.findIndex((s) => s.shardId > after);
      const shards = start < 0 ? [] : stream.shards.slice(start);
      const maxResults = pageSize(
        input.maxResults,
        LIST_SHARDS_DEFAULT_MAX_RESULTS,
        LIST_SHARDS_MAX_RESULTS,
      );
      const page = shards.slice(0, maxResults);
      const output: ListShardsOutput = { shards: page.map(shardOutput) };
      if (shards.length > maxResults) {
        output.nextToken = encodePageToken([stream.name, page[page.length - 1]!.shardId]);
      }
      return output;
    },

    putRecords(input) {
      const stream = resolve(input);
      const entries = input.records;
      if (entries === null) throw new Error("PutRecords without records reached the engine");
      // Route every entry first: whatever can throw does so before anything is written.
      const shards: ShardState[] = [];
      for (const entry of entries) shards.push(shardForEntry(stream, entry));
      const nowMs = now();
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
      return { failedRecordCount, records, encryptionType: stream.encryptionType };
    },

    putRecord(input) {
      const stream = resolve(input);
      const shard = shardForEntry(stream, input);
      // SequenceNumberForOrdering needs no handling: a shard's numbers always increase.
      const sequenceNumber = writeToShard(stream, shard, input, now());
      if (sequenceNumber === undefined) {
        throw new KinesisError("ProvisionedThroughputExceededException", shard.throttledMessage);
      }
      return { shardId: shard.shardId, sequenceNumber, encryptionType: stream.encryptionType };
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

    readRecords(ref, shardId, readOptions) {
      const stream = resolve(ref);
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
}

function invalidArgument(message: string): KinesisError {
  return new KinesisError("InvalidArgumentException", message);
}

/** A requested page size, with 0 or absent (proto3's "unset") meaning the default, capped at the maximum. */
function pageSize(requested: number | undefined, defaultSize: number, maxSize: number): number {
  return requested !== undefined && requested > 0 ? Math.min(requested, maxSize) : defaultSize;
}
