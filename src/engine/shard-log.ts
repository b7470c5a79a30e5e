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

/** Records per chunk: appends fill the last chunk, removals empty the first. */
const CHUNK_BITS = 12;
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

  push(record: StoredRecord): void {
    const position = this.head + this.count;
    const slot = position & CHUNK_MASK;
    if (slot === 0) this.chunks.push(new Chunk());
    const chunk = this.chunks[position >>> CHUNK_BITS]!;
    const data = record.data;
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
