/**
 * The records of one gRPC read answer (a GetRecords answer or a
 * SubscribeToShard event): which of a read's Kinesis records fit the
 * caller's budget, and as what.
 *
 * A KPL-aggregated record (magic, protobuf, MD5: see
 * `producer/aggregation.ts`) is answered as the user records it holds, each
 * with the Kinesis record's sequence number, arrival time and encryption
 * type, and its own key, data, explicit hash key and `sub_sequence_number`;
 * with `keep_aggregated`, as stored, flagged `aggregated`. An answer holds an
 * aggregate's user records all or none, since iterators and continuations
 * point at Kinesis records: one that does not fit ends the answer before it.
 * One that would not fit even alone (a large aggregate of tiny records grows
 * many times over) is answered as stored, flagged `aggregated`, for the
 * caller to take apart. Data that starts with the magic but is not a sound
 * aggregate is a plain record, as the KCL reads it.
 *
 * Sizes are counted as `read-budget.ts` counts them, before anything is
 * encoded. A plain record costs `hasMagic`, a length and a byte compared.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { EncryptionType } from "../gen/kinesis/gateway/v1/common_pb.ts";
import type { RecordSchema } from "../gen/kinesis/gateway/v1/consumer_pb.ts";
import type * as kinesis from "../kinesis/types.ts";
import { decodeAggregatedUpTo, hasMagic, type UserRecord } from "../producer/aggregation.ts";
import { entryBytes, kinesisFieldsBytes, OTHER_FIELDS_BYTES } from "./read-budget.ts";

export type RecordInit = MessageInitShape<typeof RecordSchema>;

export interface FittedRecords {
  /** How many of the read's Kinesis records the answer holds, from the first one offered on. */
  readonly count: number;
  /** Their entries: a Kinesis record as stored, or the user records it holds. */
  readonly records: RecordInit[];
}

export interface FitOptions {
  /** The first record to offer. Default 0. */
  readonly from?: number | undefined;
  /** Aggregated records as stored, flagged (`keep_aggregated`). */
  readonly keepAggregated: boolean;
}

/**
 * As many of `records`, from `from` on, as fit in an answer of
 * `budgetBytes`: at least one (a record larger than the budget comes alone,
 * as stored), none when there are none.
 */
export function fitRecords(
  records: readonly kinesis.KinesisRecord[],
  budgetBytes: number,
  options: FitOptions,
): FittedRecords {
  const from = options.from ?? 0;
  const out: RecordInit[] = [];
  let bytes = OTHER_FIELDS_BYTES;
  let end = from;
  for (; end < records.length; end++) {
    const record = records[end]!;
    const kinesisBytes = kinesisFieldsBytes(record);
    const answered = hasMagic(record.data)
      ? answeredAggregate(record, kinesisBytes, budgetBytes, options.keepAggregated)
      : PLAIN;
    if (answered.users !== undefined) {
      if (end > from && bytes + answered.bytes > budgetBytes) break;
      bytes += answered.bytes;
      const stored = recordToProto(record);
      answered.users.forEach((user, subSequenceNumber) => {
        out.push({
          ...stored,
          data: user.data,
          partitionKey: user.partitionKey,
          explicitHashKey: user.explicitHashKey ?? "",
          subSequenceNumber: BigInt(subSequenceNumber),
        });
      });
    } else {
      const size = entryBytes(kinesisBytes, record, 0, answered.aggregated);
      if (end > from && bytes + size > budgetBytes) break;
      bytes += size;
      const entry = recordToProto(record);
      if (answered.aggregated) entry.aggregated = true;
      out.push(entry);
    }
  }
  return { count: end - from, records: out };
}

/** How a Kinesis record is answered: as stored (flagged or not), or as its user records, of `bytes`. */
type Answered =
  | { readonly users: undefined; readonly aggregated: boolean }
  | { readonly users: readonly UserRecord[]; readonly bytes: number };

const PLAIN: Answered = { users: undefined, aggregated: false };
const KEPT: Answered = { users: undefined, aggregated: true };

function answeredAggregate(
  record: kinesis.KinesisRecord,
  kinesisBytes: number,
  budgetBytes: number,
  keepAggregated: boolean,
): Answered {
  // No user record's entry is smaller than one with no data, key or
  // sub-sequence number: more of them than this cannot fit alone, and are
  // only counted, not kept, however many tiny ones the data packs.
  const leastBytes = entryBytes(kinesisBytes, { data: EMPTY, partitionKey: "" });
  const maxRecords = keepAggregated
    ? 0
    : Math.floor((budgetBytes - OTHER_FIELDS_BYTES) / leastBytes);
  const decoding = decodeAggregatedUpTo(record.data, maxRecords);
  // Not a sound aggregate, or one with no user records (to drop it would lose the record): plain.
  if (!decoding.aggregated || decoding.records?.length === 0) return PLAIN;
  if (decoding.records === undefined) return KEPT;
  let bytes = 0;
  decoding.records.forEach((user, subSequenceNumber) => {
    bytes += entryBytes(kinesisBytes, user, subSequenceNumber);
  });
  if (OTHER_FIELDS_BYTES + bytes > budgetBytes) return KEPT;
  return { users: decoding.records, bytes };
}

const EMPTY = new Uint8Array(0);

function recordToProto(r: kinesis.KinesisRecord): RecordInit {
  return {
    sequenceNumber: r.sequenceNumber,
    approximateArrivalTimestamp: timestampFromDate(r.approximateArrivalTimestamp),
    data: r.data,
    partitionKey: r.partitionKey,
    encryptionType: EncryptionType[r.encryptionType ?? "NONE"],
  };
}
