/**
 * A stream's records on disk: one append-only log in segment files, after
 * Kafka's. Appends are gathered until the next flush (the group commit, or a
 * read), which writes each shard's new records as checksummed blocks
 * (`block-codec.ts`), in writes of up to 4 MiB; the group commit then
 * fdatasyncs the log once for every call waiting on it. Only an index of the
 * blocks lives in memory (`block-index.ts`); reads are positioned reads of
 * whole blocks, from the page cache when it has them. Retention and the
 * stream's byte cap delete whole segment files, oldest first.
 *
 * A segment is named by the log position its first byte has (20 digits), so
 * a block's position in the log is one number; its file starts with a header
 * whose random salt seeds its blocks' checksums. On opening, every segment is
 * read through and checked block by block: a torn or corrupt tail is cut at
 * the last intact block; a corrupt stretch with intact blocks after it is
 * skipped, reported, and what follows it kept.
 */

import { randomBytes } from "node:crypto";
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
} from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_READ_LIMIT,
  DEFAULT_RETENTION_HOURS,
  type ReadStart,
  type RecordStore,
  type RecordStoreOptions,
  type StoredRecord,
} from "../record-store.ts";
import { parseSequenceNumber } from "../sequence-number.ts";
import {
  BLOCK_HEADER_BYTES,
  blockIsIntact,
  decodeRecords,
  encodeSegmentHeader,
  readBlockHeader,
  readSegmentSalt,
  recordLayoutAt,
  SEGMENT_HEADER_BYTES,
} from "./block-codec.ts";
import { BlockIndex } from "./block-index.ts";
import { readJsonFile, syncDirectory, writeAtomically } from "./files.ts";
import {
  blocksOf,
  chunkReader,
  createScratch,
  type Scratch,
  syncFile,
  writeBlocks,
  writeFully,
} from "./segment-io.ts";

/** The last record a shard ever stored: where its sequencer goes on from. */
export interface ShardHighWater {
  readonly counter: number;
  readonly sequenceNumber: string;
}

/** What opening a log found wrong, for the operator. */
export interface StorageProblem {
  readonly message: string;
  readonly segment: string;
  readonly offset: number;
  readonly bytes: number;
}

export interface DiskRecordStoreOptions extends RecordStoreOptions {
  /** The stream's directory; made on the first write. */
  readonly dir: string;
  /** Whether the group commit fdatasyncs (true) or only hands writes to the OS (false). */
  readonly fsync: boolean;
  /** Schedules a flush and commit of this store: the data dir's group commit. */
  readonly requestCommit: (store: DiskRecordStore) => void;
  /** Told what opening found wrong and what a read found corrupt. */
  readonly onProblem?: ((problem: StorageProblem) => void) | undefined;
  /** Told when a write fails (e.g. the disk is full) and when one succeeds after that. */
  readonly onWriteHealth?: ((error: Error | undefined) => void) | undefined;
  /**
   * Why this process may no longer write the dir (its lock was taken over),
   * or undefined while it may; asked before each write to the files.
   */
  readonly writeRefusal?: (() => Error | undefined) | undefined;
  /** Largest segment file before a new one is started. Default: 64 MiB, less under a small cap. */
  readonly segmentBytes?: number | undefined;
  /** The buffer flushes and the scan on opening write and read through; a data dir's stores share one. */
  readonly scratch?: Scratch | undefined;
}

export interface DiskRecordStore extends RecordStore {
  /**
   * Resolves once every record appended so far is stored — fdatasynced, or
   * written to the OS with fsync off — and rejects when they could not be
   * (the disk is full): then none of them is kept.
   */
  stored(): Promise<void>;
  /** Writes the records appended since the last flush; a failure is kept for `stored`. */
  flush(): void;
  /** The group commit's step: flushes, then syncs what was flushed. */
  commit(): Promise<void>;
  /** The newest record of each shard that ever stored one, dropped ones included. */
  highWater(): ReadonlyMap<number, ShardHighWater>;
  /**
   * Flushes, syncs and closes the files; the store is unusable afterwards.
   * Returns whether everything it was given is stored, high water included:
   * only then may the data dir mark the shutdown clean.
   */
  close(): boolean;
  /** Whether `close` or `clear` was called: the data dir opens it again from its files if asked. */
  readonly closed: boolean;
  /**
   * Whether opening found damage and cut or skipped it: records lost there
   * may have been read, so their shards' numbers must move on past them.
   */
  readonly damaged: boolean;
  /** When the newest record kept arrived (-Infinity without any): a restarted engine's clock goes on from it. */
  readonly newestArrivalMs: number;
}

interface Segment {
  /** The log position of its first byte, its name. */
  readonly base: number;
  /** Bytes in the file, its header included. */
  size: number;
  /** Its blocks' checksum seed, from its header; undefined for a segment whose header is damaged (no blocks). */
  readonly salt: number | undefined;
  /** Open while it is the last (it takes writes); an earlier one only for a read. */
  fd: number | undefined;
  firstArrival: number;
  lastArrival: number;
  /** Whether its index entries were merged into spans: done once it is stored and takes no more writes. */
  merged: boolean;
}

interface Waiter {
  readonly generation: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

const MS_PER_HOUR = 3_600_000;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** A cap holds at least eight segments above this, so it never drops most of a stream at once. */
const MIN_SEGMENT_BYTES = 64 * 1024;
/** A merged index entry spans at most this much of its segment: what a read of it loads. */
const MAX_SPAN_BYTES = 1024 * 1024;
/** A segment takes new blocks for at most this long, so retention frees disk hour by hour. */
const MAX_SEGMENT_AGE_MS = MS_PER_HOUR;
const HIGH_WATER_FILE = "high-water.json";
const SEGMENT_SUFFIX = ".log";

export function openDiskRecordStore(options: DiskRecordStoreOptions): DiskRecordStore {
  const { dir, fsync } = options;
  let retentionMs = (options.retentionHours ?? DEFAULT_RETENTION_HOURS) * MS_PER_HOUR;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const segmentBytes =
    options.segmentBytes ??
    Math.max(MIN_SEGMENT_BYTES, Math.min(DEFAULT_SEGMENT_BYTES, Math.floor(maxBytes / 8)));
  const now = options.now ?? Date.now;
  const onHeldBytesChange = options.onHeldBytesChange;
  const scratch = options.scratch ?? createScratch();

  const segments: Segment[] = [];
  const shards = new Map<number, BlockIndex>();
  /** Every shard's newest record ever stored; `high-water.json` keeps it for shards whose files are gone. */
  const highWater = new Map<number, ShardHighWater>();
  let diskBytes = 0;
  /** Where the log ends when every segment was dropped. */
  let droppedEnd = 0;
  let dirMade = false;
  let closed = false;

  /** Appended, not yet written, by shard. */
  let pending = new Map<number, StoredRecord[]>();
  /** Counts appends; a waiter is done once the generation it saw is stored. */
  let appendGeneration = 0;
  let flushedGeneration = 0;
  let storedGeneration = 0;
  /** The newest generation whose waiters were answered, stored or not. */
  let settledGeneration = 0;
  /** Where the log ended when everything flushed was last stored: a failed sync cuts back to it. */
  let storedEnd = 0;
  let waiters: Waiter[] = [];
  let writeError: Error | undefined;
  let reportedHeld = 0;
  /** Whether opening cut or skipped anything: what was lost may have been read, and handed numbers. */
  let damaged = false;
  /** Log positions of damage reads found, reported once each. */
  const reportedCorrupt = new Set<number>();
  /** Stretches the scan on opening skipped as damaged: no merged entry spans one. */
  const skipped: { readonly start: number; readonly end: number }[] = [];

  recover();

  function logEnd(): number {
    const last = segments.at(-1);
    return last === undefined ? droppedEnd : last.base + last.size;
  }

  function heldBytes(): number {
    // Only the index: records waiting for the next flush are their requests', which the
    // in-flight budget counts, and counting them here would drop stored records for them.
    let held = 0;
    for (const index of shards.values()) held += index.heldBytes;
    return held;
  }

  function report(): void {
    if (onHeldBytesChange === undefined) return;
    const held = heldBytes();
    if (held !== reportedHeld) onHeldBytesChange(held - reportedHeld);
    reportedHeld = held;
  }

  function segmentPath(base: number): string {
    return join(dir, `${String(base).padStart(20, "0")}${SEGMENT_SUFFIX}`);
  }

  function fdOf(segment: Segment): number {
    // Only the last takes writes: earlier ones are opened read-only (they read on a read-only mount too).
    segment.fd ??= openSync(segmentPath(segment.base), segment === segments.at(-1) ? "r+" : "r");
    return segment.fd;
  }

  /** Closes a segment's file; it is opened again when next needed. */
  function releaseFd(segment: Segment): void {
    if (segment.fd === undefined) return;
    closeSync(segment.fd);
    segment.fd = undefined;
  }

  function indexOf(shardIndex: number): BlockIndex {
    let index = shards.get(shardIndex);
    if (index === undefined) {
      index = new BlockIndex();
      shards.set(shardIndex, index);
    }
    return index;
  }

  function noteHighWater(shardIndex: number, counter: number, sequenceNumber: string): void {
    const known = highWater.get(shardIndex);
    if (known === undefined || counter > known.counter) {
      highWater.set(shardIndex, { counter, sequenceNumber });
    }
  }

  /** Reads back what the directory holds: segments, checked block by block, and the high water. */
  function recover(): void {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    dirMade = true;
    if (names.includes(HIGH_WATER_FILE)) {
      const saved = readJsonFile(join(dir, HIGH_WATER_FILE)) as Record<string, ShardHighWater>;
      for (const [shard, mark] of Object.entries(saved)) {
        noteHighWater(Number(shard), mark.counter, mark.sequenceNumber);
      }
    }
    const bases = names
      .filter((name) => /^\d{20}\.log$/.test(name))
      .map((name) => Number(name.slice(0, 20)))
      .sort((a, b) => a - b);
    bases.forEach((base, i) => {
      scanSegment(base, i === bases.length - 1);
    });
    diskBytes = segments.reduce((sum, segment) => sum + segment.size, 0);
    storedEnd = logEnd();
    mergeStored();
    report();
  }

  /** Indexes one segment's intact blocks; cuts a torn tail off the last one. */
  function scanSegment(base: number, isLast: boolean): void {
    const name = `${String(base).padStart(20, "0")}${SEGMENT_SUFFIX}`;
    const fd = openSync(join(dir, name), "r+");
    const fileHeader = Buffer.alloc(SEGMENT_HEADER_BYTES);
    const salt = readSegmentSalt(
      fileHeader.subarray(0, readSync(fd, fileHeader, 0, SEGMENT_HEADER_BYTES, 0)),
    );
    const reader = chunkReader(fd, salt ?? 0, scratch);
    const segment: Segment = {
      base,
      size: reader.fileSize,
      salt,
      fd,
      firstArrival: Number.POSITIVE_INFINITY,
      lastArrival: Number.NEGATIVE_INFINITY,
      merged: false,
    };
    if (salt === undefined) {
      const tornAsMade = reader.fileSize <= SEGMENT_HEADER_BYTES;
      if (reader.fileSize > 0) {
        damaged = true;
        options.onProblem?.({
          message: tornAsMade
            ? "segment torn as it was made removed: it held nothing"
            : "segment without an intact header kept but skipped: its blocks cannot be checked",
          segment: name,
          offset: 0,
          bytes: reader.fileSize,
        });
      }
      if (tornAsMade && isLast) {
        closeSync(fd);
        rmSync(join(dir, name), { force: true });
        droppedEnd = base;
        return;
      }
      // Kept, for whoever looks into it; it takes no writes and goes with retention, dated by its file.
      segment.lastArrival = fstatSync(fd).mtimeMs;
      releaseFd(segment);
      segments.push(segment);
      return;
    }
    let offset = SEGMENT_HEADER_BYTES;
    while (offset < reader.fileSize) {
      const block = reader.intactBlockAt(offset);
      if (block !== undefined) {
        indexBlock(segment, offset, block.buffer, block.offset);
        offset += block.length;
        continue;
      }
      const next = reader.nextIntactBlock(offset + 1);
      if (next === undefined) {
        const bytes = reader.fileSize - offset;
        damaged = true;
        options.onProblem?.({
          message: isLast
            ? "torn or corrupt tail cut off: what it held was never acknowledged as stored"
            : "corrupt end of an earlier segment skipped",
          segment: name,
          offset,
          bytes,
        });
        if (isLast) {
          ftruncateSync(fd, offset);
          fdatasyncSync(fd);
        }
        break;
      }
      damaged = true;
      skipped.push({ start: base + offset, end: base + next });
      options.onProblem?.({
        message: "corrupt blocks skipped; the intact blocks after them are kept",
        segment: name,
        offset,
        bytes: next - offset,
      });
      offset = next;
    }
    segment.size = isLast ? offset : reader.fileSize;
    // Only the last segment, which takes writes, keeps its file open: a stream may have thousands.
    if (!isLast) releaseFd(segment);
    segments.push(segment);
  }

  /** Adds a block found in a segment to its shard's index (the records are walked, not decoded). */
  function indexBlock(segment: Segment, offset: number, buffer: Buffer, at: number): void {
    const header = readBlockHeader(buffer, at)!;
    let cursor = at + BLOCK_HEADER_BYTES;
    let firstArrival = 0;
    let lastArrival = 0;
    let firstSequence = "";
    let lastSequence = "";
    for (let i = 0; i < header.recordCount; i++) {
      const record = recordLayoutAt(buffer, cursor);
      const sequence = buffer.toString("latin1", record.sequenceAt, record.keyAt);
      if (i === 0) {
        firstArrival = record.arrival;
        firstSequence = sequence;
      }
      lastArrival = record.arrival;
      lastSequence = sequence;
      cursor = record.end;
    }
    if (header.recordCount === 0) return;
    const firstCounter = counterOf(firstSequence);
    const lastCounter = counterOf(lastSequence);
    indexOf(header.shardIndex).push(
      segment.base + offset,
      header.length,
      firstCounter,
      lastCounter,
      header.recordCount,
      firstArrival,
      lastArrival,
    );
    noteHighWater(header.shardIndex, lastCounter, lastSequence);
    segment.firstArrival = Math.min(segment.firstArrival, firstArrival);
    segment.lastArrival = Math.max(segment.lastArrival, lastArrival);
  }

  /** The segment to write `bytes` into: the last, or a new one when it is full, old, or missing. */
  function writableSegment(bytes: number, nowMs: number): Segment {
    const last = segments.at(-1);
    if (
      last !== undefined &&
      last.salt !== undefined &&
      (!holdsBlocks(last) ||
        (last.size + bytes <= segmentBytes && nowMs - last.firstArrival < MAX_SEGMENT_AGE_MS))
    ) {
      return last;
    }
    if (!dirMade) {
      mkdirSync(dir, { recursive: true });
      syncDirectory(join(dir, ".."));
      dirMade = true;
    }
    if (last?.fd !== undefined) {
      // What it holds is stored before the log goes on in another file.
      if (fsync) fdatasyncSync(last.fd);
      releaseFd(last);
    }
    const base = logEnd();
    const salt = randomBytes(4).readUInt32LE(0);
    const fd = openSync(segmentPath(base), "w+");
    try {
      writeFully(fd, encodeSegmentHeader(salt), 0);
      // The new file's name is stored before anything in it is acknowledged.
      if (fsync) syncDirectory(dir);
    } catch (error) {
      closeSync(fd);
      rmSync(segmentPath(base), { force: true });
      throw error;
    }
    const segment: Segment = {
      base,
      size: SEGMENT_HEADER_BYTES,
      salt,
      fd,
      firstArrival: Number.POSITIVE_INFINITY,
      lastArrival: Number.NEGATIVE_INFINITY,
      merged: false,
    };
    segments.push(segment);
    return segment;
  }

  function flush(): void {
    if (pending.size === 0 || closed) return;
    const batch = pending;
    const generation = appendGeneration;
    pending = new Map();
    const refusal = options.writeRefusal?.();
    if (refusal !== undefined) {
      // Another process owns the files now: nothing more is written to them, and nothing acknowledged.
      failWrite(refusal, flushedGeneration, generation);
      report();
      return;
    }
    const nowMs = now();
    const blocks = blocksOf(batch);
    let total = 0;
    for (const block of blocks) total += BLOCK_HEADER_BYTES + block.bytes;
    let segment: Segment | undefined;
    let startSize = 0;
    try {
      segment = writableSegment(total, nowMs);
      startSize = segment.size;
      writeBlocks(fdOf(segment), startSize, segment.salt!, blocks, scratch);
    } catch (error) {
      // Nothing of the batch is kept: the file is cut back to where it ended.
      if (segment !== undefined) {
        try {
          ftruncateSync(fdOf(segment), startSize);
        } catch {}
      }
      // Whatever went wrong (the disk is full), the callers waiting for these records get an answer.
      failWrite(error as Error, flushedGeneration, generation);
      report();
      return;
    }
    let position = segment.base + startSize;
    for (const block of blocks) {
      const first = block.records[0]!;
      const last = block.records.at(-1)!;
      const firstCounter = counterOf(first.sequenceNumber);
      const length = BLOCK_HEADER_BYTES + block.bytes;
      const lastCounter = counterOf(last.sequenceNumber);
      indexOf(block.shardIndex).push(
        position,
        length,
        firstCounter,
        lastCounter,
        block.records.length,
        first.approximateArrivalTimestamp,
        last.approximateArrivalTimestamp,
      );
      position += length;
      noteHighWater(block.shardIndex, lastCounter, last.sequenceNumber);
      segment.firstArrival = Math.min(segment.firstArrival, first.approximateArrivalTimestamp);
      segment.lastArrival = Math.max(segment.lastArrival, last.approximateArrivalTimestamp);
    }
    segment.size += total;
    diskBytes += total;
    flushedGeneration = generation;
    if (writeError !== undefined) {
      writeError = undefined;
      options.onWriteHealth?.(undefined);
    }
    try {
      trim(nowMs);
    } catch (error) {
      // Files that cannot be deleted now are tried again by the next trim; the write stands.
      options.onProblem?.({
        message: `expired segment files could not be deleted (${(error as NodeJS.ErrnoException).code ?? "I/O error"})`,
        segment: dir,
        offset: 0,
        bytes: 0,
      });
    }
  }

  /**
   * Fails the waiters after generation `after` up to `upTo`: their records
   * are not kept. Those up to `after` were written before and wait for the
   * next sync, which may still store them.
   */
  function failWrite(error: Error, after: number, upTo: number): void {
    writeError = error;
    options.onWriteHealth?.(error);
    settle(upTo, error, after);
  }

  /** Answers the waiters after generation `after` up to `upTo`: stored, or failed with `error`. */
  function settle(upTo: number, error?: Error, after = Number.NEGATIVE_INFINITY): void {
    settledGeneration = Math.max(settledGeneration, upTo);
    const isDone = (w: Waiter) => w.generation > after && w.generation <= upTo;
    const done = waiters.filter(isDone);
    if (done.length === 0) return;
    waiters = waiters.filter((w) => !isDone(w));
    for (const waiter of done) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  }

  /**
   * Cuts the log back to `end` (a sync failed): the blocks after it are
   * forgotten. A segment begun at or after `end` goes whole, its header too:
   * `end` is always the end of a segment's header or of a block.
   */
  function cutBack(end: number): void {
    for (const index of shards.values()) index.dropFrom(end);
    while (segments.length > 0 && segments.at(-1)!.base >= end) {
      const segment = segments.pop()!;
      diskBytes -= segment.size;
      releaseFd(segment);
      rmSync(segmentPath(segment.base), { force: true });
      droppedEnd = segment.base;
    }
    const last = segments.at(-1);
    if (last !== undefined && last.base + last.size > end) {
      diskBytes -= last.base + last.size - end;
      last.size = end - last.base;
      ftruncateSync(fdOf(last), last.size);
      fdatasyncSync(fdOf(last));
    }
  }

  async function commit(): Promise<void> {
    flush();
    const generation = flushedGeneration;
    const end = logEnd();
    if (generation <= storedGeneration) {
      settle(generation);
      return;
    }
    const last = segments.at(-1);
    if (fsync && last !== undefined) {
      try {
        await syncFile(segmentPath(last.base));
      } catch (error) {
        // Closed meanwhile: `close` synced everything itself.
        if (closed) return;
        // What the kernel could not store is not trusted: the log goes back to its last stored end.
        try {
          cutBack(storedEnd);
        } catch {}
        // Blocks flushed while it synced are cut too: their waiters fail with this batch's.
        failWrite(error as Error, storedGeneration, flushedGeneration);
        report();
        return;
      }
    }
    storedGeneration = generation;
    storedEnd = end;
    settle(generation);
    mergeStored();
    report();
  }

  /**
   * Merges the index entries of what is stored (a failed sync cuts only
   * after it), so the index follows the bytes kept and not the number of
   * commits that wrote them.
   */
  function mergeStored(): void {
    const last = segments.at(-1);
    for (const segment of segments) {
      if (segment.merged || segment.base >= storedEnd) continue;
      const end = Math.min(segment.base + segment.size, storedEnd);
      // Merged piece by piece between damaged stretches, which a span must not walk into.
      let start = segment.base;
      for (const gap of skipped) {
        if (gap.end <= start || gap.start >= end) continue;
        for (const index of shards.values()) index.merge(start, gap.start, MAX_SPAN_BYTES);
        start = gap.end;
      }
      for (const index of shards.values()) index.merge(start, end, MAX_SPAN_BYTES);
      // The last goes on taking writes: its stored part is merged again after each commit.
      if (segment !== last && end === segment.base + segment.size) segment.merged = true;
    }
  }

  /** Drops whole segments: expired ones (their newest record is past retention), then the oldest over the cap. */
  function trim(nowMs: number, limitBytes = maxBytes): void {
    const cutoff = nowMs - retentionMs;
    let dropped = false;
    while (segments.length > 0) {
      const oldest = segments[0]!;
      const expired = holdsBlocks(oldest) && oldest.lastArrival < cutoff;
      const overCap = diskBytes > limitBytes && holdsBlocks(oldest);
      if (!expired && !overCap) break;
      dropOldest();
      dropped = true;
    }
    if (dropped) {
      saveHighWater();
      report();
    }
  }

  function dropOldest(): void {
    const segment = segments[0]!;
    releaseFd(segment);
    // The file first: if it cannot go (a read-only remount), the segment stays as it was.
    rmSync(segmentPath(segment.base), { force: true });
    segments.shift();
    diskBytes -= segment.size;
    const end = segment.base + segment.size;
    for (const [shardIndex, index] of shards) {
      index.dropBefore(end);
      if (index.length === 0) shards.delete(shardIndex);
    }
    // The next segment starts where the log ended, even when none is left.
    droppedEnd = end;
  }

  /**
   * Keeps the high water of shards whose files may go, so their numbers are
   * never handed out again. A failure (the disk is full) leaves it for the
   * next drop or the close: dropping files must go on to free space, and a
   * crash meanwhile is covered by the jump of an unclean start.
   */
  function saveHighWater(): boolean {
    try {
      writeAtomically(
        join(dir, HIGH_WATER_FILE),
        JSON.stringify(Object.fromEntries(highWater)),
        fsync,
      );
      return true;
    } catch {
      // Saved again at the next drop and at the close.
      return false;
    }
  }

  /** The blocks' records from `from` on, up to `limit` records, and one past `maxBytes`. */
  function read(
    shardIndex: number,
    from: ReadStart,
    limit: number,
    maxBytes: number,
  ): StoredRecord[] {
    const index = shards.get(shardIndex);
    if (index === undefined) return [];
    let start: number;
    let keep: (record: StoredRecord) => boolean;
    switch (from.type) {
      case "TRIM_HORIZON":
        start = 0;
        keep = () => true;
        break;
      case "AT_SEQUENCE_NUMBER":
      case "AFTER_SEQUENCE_NUMBER": {
        const target = counterOf(from.sequenceNumber);
        const after = from.type === "AFTER_SEQUENCE_NUMBER";
        start = index.search((i) =>
          after ? index.lastCounter(i) > target : index.lastCounter(i) >= target,
        );
        keep = (record) => {
          const counter = counterOf(record.sequenceNumber);
          return after ? counter > target : counter >= target;
        };
        break;
      }
      case "AT_TIMESTAMP":
        start = index.search((i) => index.lastArrival(i) >= from.timestampMs);
        keep = (record) => record.approximateArrivalTimestamp >= from.timestampMs;
        break;
    }
    // Blocks whose records have all expired are not read: the caller would skip them anyway.
    const cutoff = now() - retentionMs;
    start = Math.max(
      start,
      index.search((i) => index.lastArrival(i) >= cutoff),
    );
    const records: StoredRecord[] = [];
    let bytes = 0;
    let looking = true;
    // Past `maxBytes`, one record more: the caller learns that something follows the one that crossed it.
    const done = () =>
      records.length >= limit ||
      (bytes > maxBytes &&
        records.at(-2) !== undefined &&
        bytes - records.at(-1)!.sizeBytes > maxBytes);
    // Earlier segments' files are opened for this read only: a stream may have thousands.
    const opened = new Set<Segment>();
    try {
      for (let i = start; i < index.length && !done(); i++) {
        for (const record of readSpan(index, i, shardIndex, opened)) {
          if (looking) {
            if (!keep(record)) continue;
            looking = false;
          }
          records.push(record);
          bytes += record.sizeBytes;
          if (done()) break;
        }
      }
    } finally {
      for (const segment of opened) if (segment !== segments.at(-1)) releaseFd(segment);
    }
    return records;
  }

  /**
   * The records of shard `shardIndex` in entry `i`'s span: its blocks, among
   * other shards' once the span was merged. A block that is not intact is
   * skipped (reported once); the walk stops where the span stops making sense.
   */
  function readSpan(
    index: BlockIndex,
    i: number,
    shardIndex: number,
    opened: Set<Segment>,
  ): StoredRecord[] {
    const position = index.position(i);
    const length = index.spanLength(i);
    const segment = segmentAt(position);
    const buffer = Buffer.allocUnsafe(length);
    const offset = position - segment.base;
    opened.add(segment);
    let read = 0;
    while (read < length) {
      const n = readSync(fdOf(segment), buffer, read, length - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    const records: StoredRecord[] = [];
    let at = 0;
    while (at < read) {
      const header = readBlockHeader(buffer, at);
      if (header === undefined || at + header.length > read) {
        reportCorrupt(segment, offset + at, read - at);
        break;
      }
      if (header.shardIndex === shardIndex) {
        if (blockIsIntact(buffer, at, header, segment.salt ?? 0)) {
          for (const record of decodeRecords(buffer, at, header)) records.push(record);
        } else {
          reportCorrupt(segment, offset + at, header.length);
        }
      }
      at += header.length;
    }
    return records;
  }

  /** Reports a damaged stretch found by a read, once. */
  function reportCorrupt(segment: Segment, offset: number, bytes: number): void {
    const key = segment.base + offset;
    if (reportedCorrupt.has(key)) return;
    reportedCorrupt.add(key);
    options.onProblem?.({
      message: "a block read back is corrupt; its records are skipped",
      segment: segmentPath(segment.base),
      offset,
      bytes,
    });
  }

  function segmentAt(position: number): Segment {
    let low = 0;
    let high = segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (segments[middle]!.base <= position) low = middle;
      else high = middle - 1;
    }
    return segments[low]!;
  }

  function closeFiles(): void {
    for (const segment of segments) {
      if (segment.fd !== undefined) closeSync(segment.fd);
      segment.fd = undefined;
    }
  }

  const store: DiskRecordStore = {
    append(shardIndex, record) {
      let records = pending.get(shardIndex);
      if (records === undefined) {
        records = [];
        pending.set(shardIndex, records);
      }
      records.push(record);
      appendGeneration++;
      if (pending.size === 1 && records.length === 1) options.requestCommit(store);
    },
    read(shardIndex, readOptions = {}) {
      flush();
      trim(now());
      return read(
        shardIndex,
        readOptions.from ?? { type: "TRIM_HORIZON" },
        readOptions.limit ?? DEFAULT_READ_LIMIT,
        readOptions.maxBytes ?? Number.POSITIVE_INFINITY,
      );
    },
    trimExpired(nowMs = now()) {
      trim(nowMs);
    },
    shrinkTo(limitBytes) {
      flush();
      // Memory is the index's: dropping segments until it fits frees it.
      // Never the last: it takes writes, and holds records whose callers may wait for their sync.
      while (segments.length > 1 && heldBytes() > limitBytes) dropOldest();
      saveHighWater();
      report();
    },
    setRetentionHours(hours) {
      retentionMs = hours * MS_PER_HOUR;
    },
    get heldBytes() {
      return heldBytes();
    },
    get recordCount() {
      let count = 0;
      for (const index of shards.values()) count += index.recordCount;
      for (const records of pending.values()) count += records.length;
      return count;
    },
    clear() {
      // The files stay until the data dir's state no longer has the stream (`keepOnly`).
      flush();
      settle(appendGeneration);
      closeFiles();
      closed = true;
      segments.length = 0;
      shards.clear();
      report();
    },
    get closed() {
      return closed;
    },
    get damaged() {
      return damaged;
    },
    get newestArrivalMs() {
      return Math.max(Number.NEGATIVE_INFINITY, ...segments.map((segment) => segment.lastArrival));
    },
    stored() {
      if (appendGeneration === settledGeneration) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiters.push({ generation: appendGeneration, resolve, reject });
        options.requestCommit(store);
      });
    },
    flush,
    commit,
    highWater: () => highWater,
    close() {
      flush();
      const last = segments.at(-1);
      let stored = writeError === undefined;
      try {
        if (fsync && last?.fd !== undefined) fdatasyncSync(last.fd);
      } catch {
        stored = false;
      }
      // Kept at every close: a clean start trusts it over the files, should they have lost their tail since.
      if (dirMade && !saveHighWater()) stored = false;
      if (stored) settle(flushedGeneration);
      else
        settle(appendGeneration, new Error("the data dir could not store them"), storedGeneration);
      closeFiles();
      closed = true;
      return stored;
    },
  };
  return store;
}

/** Whether a segment holds anything beside its header (a damaged one counts: its bytes are there). */
function holdsBlocks(segment: Segment): boolean {
  return segment.size > SEGMENT_HEADER_BYTES;
}

/** A sequence number's counter: its position in its shard, which orders the shard's numbers. */
function counterOf(sequenceNumber: string): number {
  const fields = parseSequenceNumber(sequenceNumber);
  return fields === undefined ? -1 : Number(fields.counter);
}
