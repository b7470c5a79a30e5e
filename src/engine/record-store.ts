import { createDataArena, DEFAULT_SLAB_BYTES } from "./data-arena.ts";
import { createFifo } from "./fifo.ts";
import { compareSequenceNumbers } from "./sequence-number.ts";
import { bookkeepingBytes, SHARD_LOG_OVERHEAD_BYTES, ShardLog } from "./shard-log.ts";

/** A record as the engine keeps it. */
export interface StoredRecord {
  /** The 56-digit sequence number; within a shard, appends come in increasing order. */
  readonly sequenceNumber: string;
  /** The payload: a copy the store keeps (a new view of it on each read). */
  readonly data: Uint8Array;
  readonly partitionKey: string;
  /** The explicit hash key the producer gave, if any. */
  readonly explicitHashKey?: string | undefined;
  /** When the engine accepted the record, in epoch milliseconds. */
  readonly approximateArrivalTimestamp: number;
  /** Data bytes plus UTF-8 bytes of the partition key: what throttling counts. */
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
  /**
   * A store may stop once the records it returns exceed this many bytes
   * (`sizeBytes`), returning the one that crossed it and one more, if there
   * is one, so the caller can tell that records follow. Default: no bound.
   */
  maxBytes?: number | undefined;
}

/**
 * The records of one stream, by shard. The engine holds one store per stream
 * and only ever appends to it in arrival order; a durable implementation can
 * replace the in-memory one through `EngineOptions.createStore`.
 */
export interface RecordStore {
  /**
   * Adds a record at the end of a shard, then drops what retention or the
   * byte cap no longer allow. The store keeps a copy of the record's data, so
   * the caller's buffer (a whole request, often) is not kept alive by it.
   */
  append(shardIndex: number, record: StoredRecord): void;
  /** Records of a shard in sequence order from a start position, after dropping expired ones. */
  read(shardIndex: number, options?: ReadOptions): StoredRecord[];
  /** Drops records older than the retention period at `nowMs`. */
  trimExpired(nowMs?: number): void;
  /** Drops the oldest records until the store holds at most `maxBytes` (or nothing). */
  shrinkTo(maxBytes: number): void;
  /**
   * Changes the retention period. A longer one keeps what is still kept for
   * longer but brings nothing dropped back; a shorter one drops at the next
   * trim what it no longer allows.
   */
  setRetentionHours(hours: number): void;
  /**
   * The memory the kept records hold: their data's buffers, their keys and
   * their bookkeeping. The byte cap bounds this, not the records' sizes.
   */
  readonly heldBytes: number;
  /** How many records are kept, over all shards. */
  readonly recordCount: number;
  /** Drops everything, e.g. when the stream is deleted. */
  clear(): void;
}

/** Options for a stream's record store. */
export interface RecordStoreOptions {
  /** How long records are kept. Default: 24, the Kinesis default retention. */
  retentionHours?: number | undefined;
  /** When the memory the stream's records hold exceeds this many bytes, the oldest are dropped. Default: 256 MiB. */
  maxBytes?: number | undefined;
  /** The clock, in milliseconds, for trimming on reads. Default: `Date.now`. */
  now?: (() => number) | undefined;
  /** Told of every change of {@link RecordStore.heldBytes}, e.g. for a budget over all streams. */
  onHeldBytesChange?: ((delta: number) => void) | undefined;
}

/** Makes the record store of a new stream. */
export type RecordStoreFactory = (options: RecordStoreOptions) => RecordStore;

export const DEFAULT_RETENTION_HOURS = 24;
export const DEFAULT_MAX_STREAM_BYTES = 256 * 1024 * 1024;
export const DEFAULT_READ_LIMIT = 10000;

const MS_PER_HOUR = 3_600_000;

/**
 * Keeps records in memory. Besides one log per shard (see {@link ShardLog}),
 * it keeps the shard index of every record in arrival order, so the oldest
 * record of the whole stream — the one retention or the byte cap drops next —
 * is found in O(1) however many shards there are. Record data is copied into
 * the stream's {@link DataArena}, which is filled and emptied in that same
 * order.
 */
export function createMemoryRecordStore(options: RecordStoreOptions = {}): RecordStore {
  let retentionMs = (options.retentionHours ?? DEFAULT_RETENTION_HOURS) * MS_PER_HOUR;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_STREAM_BYTES;
  const now = options.now ?? Date.now;
  const onHeldBytesChange = options.onHeldBytesChange;
  const shards: ShardLog[] = [];
  const arrivalOrder = createFifo<number>();
  const arena = createDataArena(Math.min(DEFAULT_SLAB_BYTES, slabBytesFor(maxBytes)));
  /** The records' bookkeeping; the arena counts their data. */
  let bookkeepingTotal = 0;
  let reportedBytes = 0;

  const heldBytes = () => arena.heldBytes + bookkeepingTotal;

  function report(): void {
    if (onHeldBytesChange === undefined) return;
    const held = heldBytes();
    if (held !== reportedBytes) onHeldBytesChange(held - reportedBytes);
    reportedBytes = held;
  }

  function dropOldest(): void {
    const shard = shards[arrivalOrder.shift()!]!;
    bookkeepingTotal -= shard.bookkeepingBytesAt(0);
    arena.release(shard.bufferAt(0));
    shard.shift();
  }

  function trim(nowMs: number, limitBytes: number): void {
    const cutoff = nowMs - retentionMs;
    for (;;) {
      const shardIndex = arrivalOrder.at(0);
      if (shardIndex === undefined) break;
      if (heldBytes() <= limitBytes && shards[shardIndex]!.arrivalAt(0) >= cutoff) break;
      dropOldest();
    }
    report();
  }

  return {
    append(shardIndex, record) {
      let shard = shards[shardIndex];
      if (shard === undefined) {
        shard = new ShardLog();
        shards[shardIndex] = shard;
        bookkeepingTotal += SHARD_LOG_OVERHEAD_BYTES;
      }
      shard.push(record, arena.copy(record.data));
      arrivalOrder.push(shardIndex);
      bookkeepingTotal += bookkeepingBytes(
        record.partitionKey,
        record.sizeBytes - record.data.byteLength,
        record.explicitHashKey,
      );
      trim(record.approximateArrivalTimestamp, maxBytes);
    },
    read(shardIndex, readOptions = {}) {
      trim(now(), maxBytes);
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
      trim(nowMs, maxBytes);
    },
    shrinkTo(limitBytes) {
      trim(Number.NEGATIVE_INFINITY, Math.min(limitBytes, maxBytes));
    },
    setRetentionHours(hours) {
      retentionMs = hours * MS_PER_HOUR;
    },
    get heldBytes() {
      return heldBytes();
    },
    get recordCount() {
      return arrivalOrder.length;
    },
    clear() {
      shards.length = 0;
      arrivalOrder.clear();
      arena.clear();
      bookkeepingTotal = 0;
      report();
    },
  };
}

/** Slabs small enough that a stream's cap holds many of them. */
function slabBytesFor(maxBytes: number): number {
  return Math.max(4096, 2 ** Math.floor(Math.log2(maxBytes / 16)));
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
