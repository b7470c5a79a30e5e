import { KinesisError } from "../kinesis/errors.ts";
import { MAX_GET_RECORDS_BYTES } from "../kinesis/limits.ts";
import type { GetShardIteratorInput } from "../kinesis/types.ts";
import type { ReadStart, StoredRecord } from "./record-store.ts";
import { parseSequenceNumber } from "./sequence-number.ts";
import { shardIdFor } from "./shard-ranges.ts";
import type { ShardState, StreamState } from "./stream.ts";

const MS_PER_HOUR = 3_600_000;

/**
 * Where a GetShardIterator request starts reading in `shard`, with AWS's
 * InvalidArgumentException texts (as kinesalite recorded them) for a
 * request that does not fit the iterator type or names a sequence number
 * of another shard or stream.
 */
export function startingPosition(
  stream: StreamState,
  shard: ShardState,
  input: GetShardIteratorInput,
): ReadStart {
  const type = input.shardIteratorType;
  if (type === null)
    throw new Error("GetShardIterator without an iterator type reached the engine");
  // "" counts as absent: proto3 has no absent strings.
  const sequenceNumber = input.startingSequenceNumber || undefined;
  const mustEither =
    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber " +
    "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. ";
  switch (type) {
    case "TRIM_HORIZON":
    case "LATEST":
      if (sequenceNumber !== undefined) {
        throw invalidArgument(
          `${mustEither}Request specified ${type} and also a StartingSequenceNumber.`,
        );
      }
      return type === "TRIM_HORIZON"
        ? { type }
        : // Everything written from now on: after the last number the shard handed out.
          { type: "AFTER_SEQUENCE_NUMBER", sequenceNumber: shard.sequencer.lastSequenceNumber };
    case "AT_SEQUENCE_NUMBER":
    case "AFTER_SEQUENCE_NUMBER":
      if (sequenceNumber === undefined) {
        throw invalidArgument(
          `${mustEither}Request specified ${type} and no StartingSequenceNumber.`,
        );
      }
      assertSequenceNumberOfShard(stream, shard, sequenceNumber);
      return { type, sequenceNumber };
    case "AT_TIMESTAMP": {
      const timestampMs = input.timestamp?.getTime();
      if (timestampMs === undefined || Number.isNaN(timestampMs)) {
        throw invalidArgument(
          "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. " +
            "Current request has no timestamp parameter.",
        );
      }
      return { type, timestampMs };
    }
    default:
      throw new Error(`GetShardIterator with iterator type ${String(type)} reached the engine`);
  }
}

function assertSequenceNumberOfShard(
  stream: StreamState,
  shard: ShardState,
  sequenceNumber: string,
): void {
  const used =
    `StartingSequenceNumber ${sequenceNumber} used in GetShardIterator on shard ${shard.shardId} ` +
    `in stream ${stream.name} under account ${stream.accountId} is invalid`;
  const fields = parseSequenceNumber(sequenceNumber);
  if (fields === undefined) throw invalidArgument(`${used}.`);
  if (fields.shardIndex !== shard.index) {
    throw invalidArgument(
      `Invalid StartingSequenceNumber. It encodes ${shardIdFor(fields.shardIndex)}, ` +
        `while it was used in a call to a shard with ${shard.shardId}`,
    );
  }
  // Also a number of an earlier stream of the name: each has its own creation second.
  if (fields.shardCreatedSeconds !== shard.createdSeconds) {
    throw invalidArgument(`${used} because it did not come from this stream.`);
  }
}

/** One GetRecords worth of a shard. */
export interface ShardPage {
  /** In sequence order; never older than the stream's retention. */
  readonly records: StoredRecord[];
  /** Where the next read starts: after the last record looked at, or where this one started. */
  readonly next: ReadStart;
  /** The `sizeBytes` of the records, for the read throughput. */
  readonly bytes: number;
  /**
   * How far the response is from the tip of the stream, as AWS defines it:
   * 0 when no record is left after the ones returned (caught up), otherwise
   * how long ago the last record returned arrived.
   */
  readonly millisBehindLatest: number;
  /** Whether no record is left after the page's: the end, for a shard that is closed. */
  readonly atEnd: boolean;
}

/**
 * Reads up to `limit` records from `from`, stopping before a record that
 * would take the page past `maxBytes` (10 MiB, GetRecords' bound, unless
 * less is asked; a first record is returned whatever its size). Records past the stream's retention are skipped even if the store
 * still has them, and the page moves past them, so a reader never stalls.
 */
export function readShardPage(
  stream: StreamState,
  shard: ShardState,
  from: ReadStart,
  limit: number,
  nowMs: number,
  maxBytes: number = MAX_GET_RECORDS_BYTES,
): ShardPage {
  // One record more than needed tells whether anything is left after the page.
  const batch = stream.store.read(shard.index, {
    from,
    limit: limit + 1,
    maxBytes: Math.min(maxBytes, MAX_GET_RECORDS_BYTES),
  });
  const cutoffMs = nowMs - stream.retentionHours * MS_PER_HOUR;
  let next = 0;
  while (next < batch.length && batch[next]!.approximateArrivalTimestamp < cutoffMs) next++;
  const records: StoredRecord[] = [];
  let bytes = 0;
  for (; next < batch.length && records.length < limit; next++) {
    const record = batch[next]!;
    if (
      records.length > 0 &&
      bytes + record.sizeBytes > Math.min(maxBytes, MAX_GET_RECORDS_BYTES)
    ) {
      break;
    }
    records.push(record);
    bytes += record.sizeBytes;
  }
  const lastSeen = next > 0 ? batch[next - 1] : undefined;
  const caughtUp = next === batch.length && batch.length <= limit;
  const behindSince = records.at(-1) ?? lastSeen;
  return {
    records,
    next:
      lastSeen === undefined
        ? from
        : { type: "AFTER_SEQUENCE_NUMBER", sequenceNumber: lastSeen.sequenceNumber },
    bytes,
    millisBehindLatest:
      caughtUp || behindSince === undefined
        ? 0
        : Math.max(0, nowMs - behindSince.approximateArrivalTimestamp),
    atEnd: caughtUp,
  };
}

function invalidArgument(message: string): KinesisError {
  return new KinesisError("InvalidArgumentException", message);
}
