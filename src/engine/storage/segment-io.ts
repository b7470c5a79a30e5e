/**
 * The file side of a stream's log: writing blocks a piece at a time through
 * a reused buffer, syncing, and reading a segment through for the scan on
 * opening (`disk-record-store.ts` keeps what they mean).
 */
import { close, fdatasync, fstatSync, open, readSync, writeSync } from "node:fs";
import type { StoredRecord } from "../record-store.ts";
import {
  BLOCK_HEADER_BYTES,
  blockIsIntact,
  blockIsWellFormed,
  encodeBlock,
  encodedRecordBytes,
  readBlockHeader,
  sealBlock,
  TARGET_BLOCK_BYTES,
} from "./block-codec.ts";

/**
 * Bytes encoded before a write, and read at once by the scan: flushes and
 * the scan share one buffer of this size, reused (a fresh one costs a page
 * fault a page here, more than encoding into it), so a burst of writes costs
 * no more memory than this, whatever its size.
 */
export const SCRATCH_BYTES = 4 * 1024 * 1024;

/**
 * `bytes` of one buffer, reused by whoever holds the function (a data dir's
 * stores: flushes and scans run start to end without yielding), or a buffer
 * of their own past its size.
 */
export type Scratch = (bytes: number) => Buffer;

export function createScratch(): Scratch {
  let buffer: Buffer | undefined;
  return (bytes) => {
    if (bytes > SCRATCH_BYTES) return Buffer.allocUnsafe(bytes);
    buffer ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    return buffer.subarray(0, bytes);
  };
}

export interface PendingBlock {
  readonly shardIndex: number;
  readonly records: StoredRecord[];
  /** Encoded bytes of the records, the block's header not included. */
  bytes: number;
}

/** Each shard's records as blocks of about TARGET_BLOCK_BYTES at most (or one larger record). */
export function blocksOf(batch: ReadonlyMap<number, StoredRecord[]>): PendingBlock[] {
  const blocks: PendingBlock[] = [];
  for (const [shardIndex, records] of batch) {
    let block: PendingBlock = { shardIndex, records: [], bytes: 0 };
    for (const record of records) {
      const bytes = encodedRecordBytes(record);
      if (
        block.records.length > 0 &&
        BLOCK_HEADER_BYTES + block.bytes + bytes > TARGET_BLOCK_BYTES
      ) {
        blocks.push(block);
        block = { shardIndex, records: [], bytes: 0 };
      }
      block.records.push(record);
      block.bytes += bytes;
    }
    blocks.push(block);
  }
  return blocks;
}

/** Encodes and seals `blocks` and writes them at `position` of `fd`, a piece at a time. */
export function writeBlocks(
  fd: number,
  position: number,
  salt: number,
  blocks: readonly PendingBlock[],
  scratch: Scratch,
): void {
  const buffer = scratch(SCRATCH_BYTES);
  let filled = 0;
  let at = position;
  const writeOut = (buffer: Buffer, length: number) => {
    writeFully(fd, buffer.subarray(0, length), at);
    at += length;
  };
  for (const block of blocks) {
    const length = BLOCK_HEADER_BYTES + block.bytes;
    if (filled + length > SCRATCH_BYTES && filled > 0) {
      writeOut(buffer, filled);
      filled = 0;
    }
    // A block larger than the scratch (one large record) gets a buffer of its own.
    const target: Buffer = length > SCRATCH_BYTES ? Buffer.allocUnsafe(length) : buffer;
    const offset = target === buffer ? filled : 0;
    encodeBlock(target, offset, block.shardIndex, block.records, block.bytes);
    sealBlock(target, offset, length, salt);
    if (target === buffer) filled += length;
    else writeOut(target, length);
  }
  if (filled > 0) writeOut(buffer, filled);
}

/**
 * fdatasync of a file through a descriptor of its own, so that closing the
 * writer's meanwhile (a segment rolled over) cannot touch the sync. An error
 * of the writeback no one has seen yet is reported to it all the same.
 */
export function syncFile(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    open(path, "r", (openError, fd) => {
      if (openError) return reject(openError);
      fdatasync(fd, (syncError) => close(fd, () => (syncError ? reject(syncError) : resolve())));
    });
  });
}

export function writeFully(fd: number, buffer: Buffer, position: number): void {
  let written = 0;
  while (written < buffer.byteLength) {
    written += writeSync(fd, buffer, written, buffer.byteLength - written, position + written);
  }
}

/**
 * Reads a segment in large chunks for the scan on opening, so a segment of
 * many small blocks costs a few reads, not two per block.
 */
export function chunkReader(fd: number, salt: number, scratch: Scratch) {
  const fileSize = fstatSync(fd).size;
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = 0;

  /** Makes `[offset, offset + length)` readable from `chunk`, as far as the file has it. */
  function cover(offset: number, length: number): boolean {
    if (offset >= chunkStart && offset + length <= chunkStart + chunk.byteLength) return true;
    if (offset + length > fileSize) return false;
    const size = Math.min(Math.max(length, SCRATCH_BYTES), fileSize - offset);
    chunk = scratch(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, chunk, read, size - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    chunk = chunk.subarray(0, read);
    chunkStart = offset;
    return read >= length;
  }

  return {
    fileSize,
    /** The intact block at `offset`, with the buffer that holds it. */
    intactBlockAt(offset: number) {
      if (!cover(offset, BLOCK_HEADER_BYTES)) return undefined;
      const header = readBlockHeader(chunk, offset - chunkStart);
      if (header === undefined || !cover(offset, header.length)) return undefined;
      const at = offset - chunkStart;
      if (!blockIsIntact(chunk, at, header, salt) || !blockIsWellFormed(chunk, at, header)) {
        return undefined;
      }
      return { buffer: chunk, offset: at, length: header.length };
    },
    /** The offset of the next intact block from `offset` on, if any: the end of a corrupt stretch. */
    nextIntactBlock(offset: number): number | undefined {
      const magic = Buffer.from("KGB1", "latin1");
      let from = offset;
      while (from + BLOCK_HEADER_BYTES <= fileSize) {
        if (!cover(from, Math.min(SCRATCH_BYTES, fileSize - from))) return undefined;
        const found = chunk.indexOf(magic, from - chunkStart);
        if (found < 0) {
          from = chunkStart + chunk.byteLength - 3;
          if (chunkStart + chunk.byteLength >= fileSize) return undefined;
          continue;
        }
        const candidate = chunkStart + found;
        if (this.intactBlockAt(candidate) !== undefined) return candidate;
        from = candidate + 1;
      }
      return undefined;
    },
  };
}
