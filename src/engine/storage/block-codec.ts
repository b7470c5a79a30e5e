/**
 * The on-disk form of records: a block holds consecutive records of one
 * shard, written together, under one checksum.
 *
 * Block (little-endian):
 *
 * | bytes | field                                                   |
 * | ----- | ------------------------------------------------------- |
 * | 4     | magic `KGB1`                                            |
 * | 4     | length of the whole block, header included              |
 * | 4     | CRC-32 of every byte after this field, seeded with the segment's salt |
 * | 4     | shard index                                             |
 * | 4     | record count                                            |
 * | 4     | reserved, 0                                             |
 * | …     | the records                                             |
 *
 * Record: arrival time in epoch ms (float64), data length (u32), partition
 * key length in UTF-8 bytes (u16), explicit hash key length (u8), sequence
 * number length (u8), then the sequence number (ASCII digits), the key, the
 * explicit hash key (ASCII digits) and the data.
 *
 * The sequence number is kept whole rather than rebuilt from the shard and a
 * counter: 56 bytes a record buy reads that need no bigint arithmetic and a
 * file that says what it holds without the engine's metadata.
 */
import { crc32 } from "node:zlib";
import type { StoredRecord } from "../record-store.ts";

export const BLOCK_MAGIC = 0x3142474b; // "KGB1" read little-endian
export const BLOCK_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;
/** No block is larger (a block of one 10 MiB record is far below it): a length above is damage. */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
/**
 * Writers start a new block past this: a read loads whole blocks, so what a
 * read holds beyond its answer stays under a block of this size (or of one
 * large record).
 */
export const TARGET_BLOCK_BYTES = 1024 * 1024;

/** A block's header, as read back. */
export interface BlockHeader {
  readonly length: number;
  readonly crc: number;
  readonly shardIndex: number;
  readonly recordCount: number;
}

/** The encoded size of one record in a block. */
export function encodedRecordBytes(record: StoredRecord): number {
  const keyBytes = record.sizeBytes - record.data.byteLength;
  return (
    RECORD_HEADER_BYTES +
    record.sequenceNumber.length +
    keyBytes +
    (record.explicitHashKey?.length ?? 0) +
    record.data.byteLength
  );
}

/**
 * Writes a block of `records` (all of `shardIndex`, `bytes` as
 * {@link encodedRecordBytes} summed) into `target` at `offset`; returns the block's length.
 */
export function encodeBlock(
  target: Buffer,
  offset: number,
  shardIndex: number,
  records: readonly StoredRecord[],
  bytes: number,
): number {
  const length = BLOCK_HEADER_BYTES + bytes;
  target.writeUInt32LE(BLOCK_MAGIC, offset);
  target.writeUInt32LE(length, offset + 4);
  target.writeUInt32LE(shardIndex, offset + 12);
  target.writeUInt32LE(records.length, offset + 16);
  target.writeUInt32LE(0, offset + 20);
  let at = offset + BLOCK_HEADER_BYTES;
  for (const record of records) {
    const keyBytes = record.sizeBytes - record.data.byteLength;
    const hashKey = record.explicitHashKey ?? "";
    target.writeDoubleLE(record.approximateArrivalTimestamp, at);
    target.writeUInt32LE(record.data.byteLength, at + 8);
    target.writeUInt16LE(keyBytes, at + 12);
    target.writeUInt8(hashKey.length, at + 14);
    target.writeUInt8(record.sequenceNumber.length, at + 15);
    at += RECORD_HEADER_BYTES;
    at += target.write(record.sequenceNumber, at, "latin1");
    at += target.write(record.partitionKey, at, "utf8");
    at += target.write(hashKey, at, "latin1");
    target.set(record.data, at);
    at += record.data.byteLength;
  }
  return length;
}

/**
 * Writes the checksum of the block at `offset`, seeded with its segment's
 * salt: a client's record data that copies a block, checksum and all, does
 * not pass for one in another segment, or in its own (the salt is not in
 * any answer).
 */
export function sealBlock(target: Buffer, offset: number, length: number, salt: number): void {
  target.writeUInt32LE(crc32(target.subarray(offset + 12, offset + length), salt), offset + 8);
}

/** The header at `offset`, or undefined when no block starts there (no magic, or a length that cannot be). */
export function readBlockHeader(source: Buffer, offset: number): BlockHeader | undefined {
  if (offset + BLOCK_HEADER_BYTES > source.byteLength) return undefined;
  if (source.readUInt32LE(offset) !== BLOCK_MAGIC) return undefined;
  const length = source.readUInt32LE(offset + 4);
  if (length < BLOCK_HEADER_BYTES || length > MAX_BLOCK_BYTES) return undefined;
  return {
    length,
    crc: source.readUInt32LE(offset + 8),
    shardIndex: source.readUInt32LE(offset + 12),
    recordCount: source.readUInt32LE(offset + 16),
  };
}

/** Whether the whole block (header at `offset`, all its bytes in `source`) matches its checksum. */
export function blockIsIntact(
  source: Buffer,
  offset: number,
  header: BlockHeader,
  salt: number,
): boolean {
  return crc32(source.subarray(offset + 12, offset + header.length), salt) === header.crc;
}

/**
 * A segment file starts with its own header: magic `KGS1`, the salt of its
 * blocks' checksums (random, per file), 8 bytes reserved.
 */
export const SEGMENT_HEADER_BYTES = 16;
const SEGMENT_MAGIC = 0x3153474b; // "KGS1" read little-endian

export function encodeSegmentHeader(salt: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  header.writeUInt32LE(SEGMENT_MAGIC, 0);
  header.writeUInt32LE(salt, 4);
  return header;
}

/** The salt of a segment whose file starts with `source`, or undefined when it has no intact header. */
export function readSegmentSalt(source: Buffer): number | undefined {
  if (source.byteLength < SEGMENT_HEADER_BYTES || source.readUInt32LE(0) !== SEGMENT_MAGIC) {
    return undefined;
  }
  return source.readUInt32LE(4);
}

/**
 * Whether the block's records fill it exactly, each within it. A block the
 * writer made always does; one that only passes its checksum may be a
 * client's record data that looks like a block, found when the scan after
 * damage looks for the next block, and must not be walked out of bounds.
 */
export function blockIsWellFormed(source: Buffer, offset: number, header: BlockHeader): boolean {
  const end = offset + header.length;
  let at = offset + BLOCK_HEADER_BYTES;
  for (let i = 0; i < header.recordCount; i++) {
    if (at + RECORD_HEADER_BYTES > end) return false;
    at = recordLayoutAt(source, at).end;
    if (at > end) return false;
  }
  return at === end;
}

/** Where the parts of the record at `at` lie, and where the next one starts. */
export interface RecordLayout {
  readonly arrival: number;
  readonly sequenceAt: number;
  readonly keyAt: number;
  readonly hashKeyAt: number;
  readonly dataAt: number;
  readonly end: number;
}

export function recordLayoutAt(source: Buffer, at: number): RecordLayout {
  const dataBytes = source.readUInt32LE(at + 8);
  const keyBytes = source.readUInt16LE(at + 12);
  const hashKeyBytes = source.readUInt8(at + 14);
  const sequenceAt = at + RECORD_HEADER_BYTES;
  const keyAt = sequenceAt + source.readUInt8(at + 15);
  const hashKeyAt = keyAt + keyBytes;
  const dataAt = hashKeyAt + hashKeyBytes;
  return {
    arrival: source.readDoubleLE(at),
    sequenceAt,
    keyAt,
    hashKeyAt,
    dataAt,
    end: dataAt + dataBytes,
  };
}

/**
 * The records of an intact block. Their data are views of `source`, which
 * the caller hands over: it must not be reused.
 */
export function decodeRecords(source: Buffer, offset: number, header: BlockHeader): StoredRecord[] {
  const records: StoredRecord[] = new Array(header.recordCount);
  let at = offset + BLOCK_HEADER_BYTES;
  for (let i = 0; i < header.recordCount; i++) {
    const r = recordLayoutAt(source, at);
    records[i] = {
      sequenceNumber: source.toString("latin1", r.sequenceAt, r.keyAt),
      data: new Uint8Array(source.buffer, source.byteOffset + r.dataAt, r.end - r.dataAt),
      partitionKey: source.toString("utf8", r.keyAt, r.hashKeyAt),
      explicitHashKey:
        r.dataAt === r.hashKeyAt ? undefined : source.toString("latin1", r.hashKeyAt, r.dataAt),
      approximateArrivalTimestamp: r.arrival,
      sizeBytes: r.end - r.keyAt - (r.dataAt - r.hashKeyAt),
    };
    at = r.end;
  }
  return records;
}
