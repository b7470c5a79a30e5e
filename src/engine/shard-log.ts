/**
 * The records of one shard, oldest first, kept in columns rather than as an
 * object per record.
 *
 * A stored record outlives many garbage collections, and every object it
 * holds is copied by the young-generation collector before it settles in the
 * old one. Profiled under load, keeping a record object and a view of its
 * data per record doubled the CPU time of a write. Here a record costs a slot
 * in a few typed arrays, a reference to the buffer its data lies in (shared by
 * every record of a request), and its two strings; `at` builds the record
 * object only when a reader asks for it.
 */
import type { StoredRecord } from "./record-store.ts";

/**
 * Memory a kept record costs besides its data and its partition key's bytes:
 * its slots in the columns, its sequence number string, the string headers
 * and the stream's arrival-order entry. Measured: heap and array buffers after
 * a full collection grew by 168 bytes a record over 200,000 records of 1 byte
 * with 1-character keys; test/engine/record-store.test.ts measures it again.
 */
export const RECORD_OVERHEAD_BYTES = 176;

/**
 * What a shard's log holds besides its records' share of it: its first and
 * last chunks, partly filled (seven columns of 8-byte slots each).
 */
export const SHARD_LOG_OVERHEAD_BYTES = 2 * (1 << 8) * 7 * 8;

/**
 * Records per chunk: appends fill the last chunk, removals empty the first.
 * Small, because a shard that has any record holds a whole chunk: 256 slots
 * are ~14 KiB (4,096 were 224 KiB a shard, 220 MiB for a thousand shards).
 */
const CHUNK_BITS = 8;
const CHUNK_SIZE = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_SIZE - 1;

class Chunk {
  readonly buffers: (ArrayBufferLike | undefined)[] = new Array(CHUNK_SIZE);
  readonly dataOffsets = new Float64Array(CHUNK_SIZE);
  readonly dataLengths = new Float64Array(CHUNK_SIZE);
  readonly partitionKeys: (string | undefined)[] = new Array(CHUNK_SIZE);
  readonly sequenceNumbers: (string | undefined)[] = new Array(CHUNK_SIZE);
  /** Rare, so kept by slot only when present. */
  readonly explicitHashKeys = new Map<number, string>();
  readonly arrivals = new Float64Array(CHUNK_SIZE);
  readonly sizes = new Float64Array(CHUNK_SIZE);
}

export class ShardLog {
  private chunks: Chunk[] = [];
  /** The slot of the oldest record in `chunks[0]`. */
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** Appends a record, with `data` in place of its own (the store's copy of it). */
  push(record: StoredRecord, data: Uint8Array = record.data): void {
    const position = this.head + this.count;
    const slot = position & CHUNK_MASK;
    if (slot === 0) this.chunks.push(new Chunk());
    const chunk = this.chunks[position >>> CHUNK_BITS]!;
    chunk.buffers[slot] = data.buffer;
    chunk.dataOffsets[slot] = data.byteOffset;
    chunk.dataLengths[slot] = data.byteLength;
    chunk.partitionKeys[slot] = record.partitionKey;
    chunk.sequenceNumbers[slot] = record.sequenceNumber;
    if (record.explicitHashKey !== undefined) {
      chunk.explicitHashKeys.set(slot, record.explicitHashKey);
    }
    chunk.arrivals[slot] = record.approximateArrivalTimestamp;
    chunk.sizes[slot] = record.sizeBytes;
    this.count++;
  }

  /** The record at `index` from the oldest (0), built for the caller. */
  at(index: number): StoredRecord {
    const { chunk, slot } = this.locate(index);
    return {
      sequenceNumber: chunk.sequenceNumbers[slot]!,
      data: new Uint8Array(chunk.buffers[slot]!, chunk.dataOffsets[slot], chunk.dataLengths[slot]),
      partitionKey: chunk.partitionKeys[slot]!,
      explicitHashKey: chunk.explicitHashKeys.get(slot),
      approximateArrivalTimestamp: chunk.arrivals[slot]!,
      sizeBytes: chunk.sizes[slot]!,
    };
  }

  sequenceNumberAt(index: number): string {
    const { chunk, slot } = this.locate(index);
    return chunk.sequenceNumbers[slot]!;
  }

  arrivalAt(index: number): number {
    const { chunk, slot } = this.locate(index);
    return chunk.arrivals[slot]!;
  }

  sizeAt(index: number): number {
    const { chunk, slot } = this.locate(index);
    return chunk.sizes[slot]!;
  }

  /** The buffer the record's data lies in. */
  bufferAt(index: number): ArrayBufferLike {
    const { chunk, slot } = this.locate(index);
    return chunk.buffers[slot]!;
  }

  /**
   * What the record costs here besides its data's buffer: its key's bytes,
   * its explicit hash key (rare) and {@link RECORD_OVERHEAD_BYTES}.
   */
  bookkeepingBytesAt(index: number): number {
    const { chunk, slot } = this.locate(index);
    return bookkeepingBytes(
      chunk.partitionKeys[slot]!,
      chunk.sizes[slot]! - chunk.dataLengths[slot]!,
      chunk.explicitHashKeys.get(slot),
    );
  }

  /** Drops the oldest record, letting go of what it referenced. */
  shift(): void {
    if (this.count === 0) return;
    const chunk = this.chunks[0]!;
    const slot = this.head;
    chunk.buffers[slot] = undefined;
    chunk.partitionKeys[slot] = undefined;
    chunk.sequenceNumbers[slot] = undefined;
    chunk.explicitHashKeys.delete(slot);
    this.count--;
    this.head++;
    if (this.count === 0) {
      this.clear();
    } else if (this.head === CHUNK_SIZE) {
      this.chunks.shift(); // a handful of chunks: moving them is cheap
      this.head = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.count = 0;
  }

  private locate(index: number): { chunk: Chunk; slot: number } {
    if (!(index >= 0 && index < this.count)) {
      throw new RangeError(`no record ${index} in a shard of ${this.count}`);
    }
    const position = this.head + index;
    return { chunk: this.chunks[position >>> CHUNK_BITS]!, slot: position & CHUNK_MASK };
  }
}

/**
 * {@link ShardLog.bookkeepingBytesAt} of a record with this key (of
 * `keyUtf8Bytes` in UTF-8) and explicit hash key.
 */
export function bookkeepingBytes(
  partitionKey: string,
  keyUtf8Bytes: number,
  explicitHashKey: string | undefined,
): number {
  // V8 keeps an ASCII key in a byte per character, any other in two (or one,
  // for Latin-1 only, which two per character covers).
  const keyBytes = keyUtf8Bytes === partitionKey.length ? keyUtf8Bytes : 2 * partitionKey.length;
  // A map entry and a string of up to 39 digits.
  const hashKeyBytes = explicitHashKey === undefined ? 0 : 64 + explicitHashKey.length;
  return keyBytes + hashKeyBytes + RECORD_OVERHEAD_BYTES;
}
