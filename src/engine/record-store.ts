import { createFifo } from "./fifo.ts";
import { compareSequenceNumbers } from "./sequence-number.ts";
import { ShardLog } from "./shard-log.ts";

/** A record as the engine keeps it. */
export interface StoredRecord {
  /** The 56-digit sequence number; within a shard, appends come in increasing order. */
  readonly sequenceNumber: string;
  /** The payload: the bytes given to the engine, never copied (a new view on each read). */
  readonly data: Uint8Array;
  readonly partitionKey: string;
  /** The explicit hash key the producer gave, if any. */
  readonly explicitHashKey?: string | undefined;
  /** When the engine accepted the record, in epoch milliseconds. */
  readonly approximateArrivalTimestamp: number;
  /** Data bytes plus UTF-8 bytes of the partition key: what throttling and the byte cap count. */
  readonly sizeBytes: number;
}

/** Where a read starts in a shard, as the Kinesis shard iterator types name it. */
export type ReadStart =
  | { readonly type: "TRIM_HORIZON" }
  | { readonly type: "AT_SEQUENCE_NUMBER"; readonly sequenceNumber: string }
  | { readonly type: "AFTER_SEQUENCE_NUMBER"; readonly sequenceNumber: string }
  | { readonly type: "AT_TIMESTAMP"; readonly timestampMs: number };

export interface ReadOptions {
  /** Where to start. Default: `{ type: "TRIM_HORIZON" }`, the oldest record kept. */
  from?: ReadStart | undefined;
  /** The most records to return. Default: 10000, the GetRecords maximum. */
  limit?: number | undefined;
}

/**
 * The records of one stream, by shard. The engine holds one store per stream
 * and only ever appends to it in arrival order; a durable implementation can
 * replace the in-memory one through `EngineOptions.createStore`.
 */
export interface RecordStore {
  /** Adds a record at the end of a shard, then drops what retention or the byte cap no longer allow. */
  append(shardIndex: number, record: StoredRecord): void;
  /** Records of a shard in sequence order from a start position, after dropping expired ones. */
  read(shardIndex: number, options?: ReadOptions): StoredRecord[];
  /** Drops records older than the retention period at `nowMs`. */
  trimExpired(nowMs?: number): void;
  /**
   * Changes the retention period. A longer one keeps what is still kept for
   * longer but brings nothing dropped back; a shorter one drops at the next
   * trim what it no longer allows.
   */
  setRetentionHours(hours: number): void;
  /** The total `sizeBytes` of the records kept. */
  readonly sizeBytes: number;
  /** How many records are kept, over all shards. */
  readonly recordCount: number;
  /** Drops everything, e.g. when the stream is deleted. */
  clear(): void;
}

/** Options for a stream's record store. */
export interface RecordStoreOptions {
  /** How long records are kept. Default: 24, the Kinesis default retention. */
  retentionHours?: number | undefined;
  /** When the records of the stream exceed this many bytes, the oldest are dropped. Default: 256 MiB. */
  maxBytes?: number | undefined;
  /** The clock, in milliseconds, for trimming on reads. Default: `Date.now`. */
  now?: (() => number) | undefined;
}

/** Makes the record store of a new stream. */
export type RecordStoreFactory = (options: RecordStoreOptions) => RecordStore;

export const DEFAULT_RETENTION_HOURS = 24;
export const DEFAULT_MAX_STREAM_BYTES = 256 * 1024 * 1024;
export const DEFAULT_READ_LIMIT = 10000;

const MS_PER_HOUR = 3_600_000;

/**
 * Keeps records in memory. Besides one log per shard (see {@link ShardLog}), it keeps the shard
 * index of every record in arrival order, so the oldest record of the whole
 * stream — the one retention or the byte cap drops next — is found in O(1)
 * however many shards there are. Memory accounting counts record sizes, not
 * the objects around them.
 */
export function createMemoryRecordStore(options: RecordStoreOptions = {}): RecordStore {
  let retentionMs = (options.retentionHours ?? DEFAULT_RETENTION_HOURS) * MS_PER_HOUR;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_STREAM_BYTES;
  const now = options.now ?? Date.now;
  const shards: ShardLog[] = [];
  const arrivalOrder = createFifo<number>();
  let sizeBytes = 0;

  function trim(nowMs: number): void {
    const cutoff = nowMs - retentionMs;
    for (;;) {
      const shardIndex = arrivalOrder.at(0);
      if (shardIndex === undefined) return;
      const shard = shards[shardIndex]!;
      if (sizeBytes <= maxBytes && shard.arrivalAt(0) >= cutoff) return;
      sizeBytes -= shard.sizeAt(0);
      shard.shift();
      arrivalOrder.shift();
    }
  }

  return {
    append(shardIndex, record) {
      let shard = shards[shardIndex];
      if (shard === undefined) {
        shard = new ShardLog();
        shards[shardIndex] = shard;
      }
      shard.push(record);
      arrivalOrder.push(shardIndex);
      sizeBytes += record.sizeBytes;
      trim(record.approximateArrivalTimestamp);
    },
    read(shardIndex, readOptions = {}) {
      trim(now());
      const shard = shards[shardIndex];
      if (shard === undefined) return [];
      const limit = readOptions.limit ?? DEFAULT_READ_LIMIT;
      const from = readOptions.from ?? { type: "TRIM_HORIZON" };
      const records: StoredRecord[] = [];
      for (let i = startIndex(shard, from); i < shard.length && records.length < limit; i++) {
        records.push(shard.at(i));
      }
      return records;
    },
    trimExpired(nowMs = now()) {
      trim(nowMs);
    },
    setRetentionHours(hours) {
      retentionMs = hours * MS_PER_HOUR;
    },
    get sizeBytes() {
      return sizeBytes;
    },
    get recordCount() {
      return arrivalOrder.length;
    },
    clear() {
      shards.length = 0;
      arrivalOrder.clear();
      sizeBytes = 0;
    },
  };
}

/** The index of the first record of `shard` at or after `from`. */
function startIndex(shard: ShardLog, from: ReadStart): number {
  switch (from.type) {
    case "TRIM_HORIZON":
      return 0;
    case "AT_SEQUENCE_NUMBER":
      return firstIndex(
        shard,
        (i) => compareSequenceNumbers(shard.sequenceNumberAt(i), from.sequenceNumber) >= 0,
      );
    case "AFTER_SEQUENCE_NUMBER":
      return firstIndex(
        shard,
        (i) => compareSequenceNumbers(shard.sequenceNumberAt(i), from.sequenceNumber) > 0,
      );
    case "AT_TIMESTAMP":
      return firstIndex(shard, (i) => shard.arrivalAt(i) >= from.timestampMs);
  }
}

/** Binary search: the first index that satisfies `isAtOrAfter`, which is monotonic over the shard. */
function firstIndex(shard: ShardLog, isAtOrAfter: (index: number) => boolean): number {
  let low = 0;
  let high = shard.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (isAtOrAfter(middle)) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  return low;
}
