/**
 * Sequence numbers in the layout real Kinesis uses ("version 2", decoded by
 * kinesalite from AWS values): 47 hex digits, rendered as a 56-digit decimal.
 *
 * | hex digits | field                                     |
 * | ---------- | ----------------------------------------- |
 * | 1          | `2`                                       |
 * | 9          | shard creation time, epoch seconds        |
 * | 1          | low nibble of the shard index             |
 * | 16         | counter (top nibble ≤ 7)                  |
 * | 2          | `00`                                      |
 * | 9          | record arrival time, epoch seconds        |
 * | 8          | shard index                               |
 * | 1          | `2` (the version)                         |
 *
 * The counter sits above the record time, so a per-shard counter alone makes
 * the numbers of a shard strictly increasing even if the clock steps back; the
 * shard index in the low bits makes them unique across a stream.
 */

/** The fields a version 2 sequence number carries. */
export interface SequenceNumberFields {
  /** When the shard was created, in epoch seconds (< 16^9). */
  shardCreatedSeconds: number;
  /** The shard's index, as in `shardId-000000000007` (< 2^32). */
  shardIndex: number;
  /** The record's position in its shard: 0 for the shard's starting number, then 1, 2, … (< 2^63). */
  counter: bigint;
  /** When the record arrived, in epoch seconds (< 16^9). */
  recordSeconds: number;
}

const VERSION_2 = 2n;
const MAX_SECONDS = 16 ** 9 - 1;
const MAX_SHARD_INDEX = 2 ** 32 - 1;
const MAX_COUNTER = (1n << 63n) - 1n;
const COUNTER_SHIFT = 80n;
const COUNTER_UNIT = 1n << COUNTER_SHIFT;
const RECORD_SECONDS_SHIFT = 36n;
const SEQUENCE_NUMBER_DIGITS = 56;

/** Everything but the counter and the record time: constant for a shard. */
function shardBits(shardCreatedSeconds: number, shardIndex: number): bigint {
  checkRange("shardCreatedSeconds", shardCreatedSeconds, MAX_SECONDS);
  checkRange("shardIndex", shardIndex, MAX_SHARD_INDEX);
  const index = BigInt(shardIndex);
  return (
    (VERSION_2 << 184n) |
    (BigInt(shardCreatedSeconds) << 148n) |
    ((index & 15n) << 144n) |
    (index << 4n) |
    VERSION_2
  );
}

function recordSecondsBits(recordSeconds: number): bigint {
  checkRange("recordSeconds", recordSeconds, MAX_SECONDS);
  return BigInt(recordSeconds) << RECORD_SECONDS_SHIFT;
}

function checkRange(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer in [0, ${max}], got ${value}`);
  }
}

/** Renders the fields as the 56-digit decimal Kinesis returns. */
export function formatSequenceNumber(fields: SequenceNumberFields): string {
  if (fields.counter < 0n || fields.counter > MAX_COUNTER) {
    throw new RangeError(`counter must be in [0, 2^63 - 1], got ${fields.counter}`);
  }
  return (
    shardBits(fields.shardCreatedSeconds, fields.shardIndex) +
    (fields.counter << COUNTER_SHIFT) +
    recordSecondsBits(fields.recordSeconds)
  ).toString();
}

/**
 * The fields of a version 2 sequence number, or `undefined` for any string
 * that is not one (not 56 digits, another version, a non-zero reserved byte,
 * a counter nibble above 7, or shard index fields that disagree). Callers turn
 * `undefined` into their own InvalidArgumentException text.
 */
export function parseSequenceNumber(sequenceNumber: string): SequenceNumberFields | undefined {
  if (sequenceNumber.length !== SEQUENCE_NUMBER_DIGITS || !/^[1-9]\d*$/.test(sequenceNumber)) {
    return undefined;
  }
  const value = BigInt(sequenceNumber);
  if (value >> 184n !== VERSION_2 || (value & 15n) !== VERSION_2) return undefined;
  if (((value >> 72n) & 0xffn) !== 0n) return undefined;
  const counter = (value >> COUNTER_SHIFT) & 0xffff_ffff_ffff_ffffn;
  if (counter > MAX_COUNTER) return undefined;
  const shardIndex = (value >> 4n) & 0xffff_ffffn;
  if (((value >> 144n) & 15n) !== (shardIndex & 15n)) return undefined;
  return {
    shardCreatedSeconds: Number((value >> 148n) & 0xf_ffff_ffffn),
    shardIndex: Number(shardIndex),
    counter,
    recordSeconds: Number((value >> RECORD_SECONDS_SHIFT) & 0xf_ffff_ffffn),
  };
}

/**
 * Compares two sequence numbers (decimal strings without leading zeros)
 * numerically, without parsing them: the longer one is larger, equal lengths
 * compare digit by digit.
 */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Where a shard's sequencer goes on from after a restart: numbers above `lastCounter`. */
export interface SequencerResume {
  /** The counter below the next one handed out: the last stored, or further on, never less. */
  readonly lastCounter: bigint;
  /** The last number a record of the shard was stored under (what LATEST reads after); none: the starting number. */
  readonly lastSequenceNumber?: string | undefined;
}

/** Hands out one shard's sequence numbers in order. */
export interface ShardSequencer {
  /** The shard's `StartingSequenceNumber`: counter 0, record time = creation time. */
  readonly startingSequenceNumber: string;
  /** The last number handed out, or the starting number before the first record. */
  readonly lastSequenceNumber: string;
  /** The number for the shard's next record, which arrived at `recordSeconds`. */
  next(recordSeconds: number): string;
}

/**
 * A sequencer for a new shard. The constant bits are computed once and the
 * bits of the last record time are cached, so `next` costs two bigint
 * additions and one decimal rendering.
 */
export function createShardSequencer(
  shardCreatedSeconds: number,
  shardIndex: number,
  resume?: SequencerResume,
): ShardSequencer {
  const bits = shardBits(shardCreatedSeconds, shardIndex);
  // The shard bits plus the counter of the last number handed out.
  let current = bits;
  let lastRecordSeconds = shardCreatedSeconds;
  let lastRecordSecondsBits = recordSecondsBits(shardCreatedSeconds);
  const startingSequenceNumber = (current + lastRecordSecondsBits).toString();
  let last = startingSequenceNumber;
  if (resume !== undefined) {
    current = bits + (resume.lastCounter << COUNTER_SHIFT);
    last = resume.lastSequenceNumber ?? startingSequenceNumber;
  }
  return {
    startingSequenceNumber,
    get lastSequenceNumber() {
      return last;
    },
    next(recordSeconds) {
      if (recordSeconds !== lastRecordSeconds) {
        lastRecordSecondsBits = recordSecondsBits(recordSeconds);
        lastRecordSeconds = recordSeconds;
      }
      current += COUNTER_UNIT;
      last = (current + lastRecordSecondsBits).toString();
      return last;
    },
  };
}
