/**
 * The books of a durability test: every record its producers sent, what each
 * call was answered, and the check of a shard read back against them.
 *
 * A record's data names it (`k9 <round>/<producer>/<counter>`, then filler
 * made from that name), so a record read back says who sent it and its bytes
 * can be checked without keeping them.
 */
import { Buffer } from "node:buffer";
import { seededRandom } from "../helpers/seeded-random.ts";

export { seededRandom };

/** A seed for one part of a run (a producer in a round), from the run's seed. */
export function derivedSeed(seed: number, ...parts: (string | number)[]): number {
  let hash = seed >>> 0;
  for (const char of parts.join("/")) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return hash >>> 0;
}

/** What a call answered about one record. */
export type Outcome =
  | { readonly kind: "in flight" }
  | { readonly kind: "acknowledged"; readonly shardId: string; readonly sequenceNumber: string }
  | { readonly kind: "refused"; readonly errorCode: string }
  /** Its call failed without an answer (the process was killed): it may or may not be stored. */
  | { readonly kind: "cut off" };

export interface SentRecord {
  /** `<round>/<producer>/<counter>`. */
  readonly id: string;
  readonly round: number;
  readonly partitionKey: string;
  readonly size: number;
  outcome: Outcome;
}

/** A record as GetRecords returned it. */
export interface ReadBackRecord {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly sequenceNumber: string;
}

/** Where a record read back was found. */
export interface Found {
  readonly shardId: string;
  readonly sequenceNumber: string;
}

const HEADER = "k9 ";
const LARGE_BYTES = 100 * 1024;

/** The data of record `id`, `size` bytes: its name, a newline, then filler seeded by the name. */
export function payloadOf(id: string, size: number): Buffer {
  const header = Buffer.from(`${HEADER}${id}\n`, "latin1");
  const data = Buffer.allocUnsafe(Math.max(size, header.byteLength));
  header.copy(data);
  const random = seededRandom(derivedSeed(0, id));
  for (let i = header.byteLength; i < data.byteLength; i++) data[i] = (random() * 256) | 0;
  return data;
}

/** The name a record's data starts with, or undefined when it has none. */
function idOf(data: Uint8Array): string | undefined {
  const text = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, 64)).toString(
    "latin1",
  );
  const end = text.indexOf("\n");
  return text.startsWith(HEADER) && end > 0 ? text.slice(HEADER.length, end) : undefined;
}

/** Mostly small records, a quarter of a few KiB, and one in thirty about 100 KiB. */
function recordSize(random: () => number): number {
  const draw = random();
  if (draw < 1 / 30) return LARGE_BYTES - 4096 + Math.floor(random() * 8192);
  if (draw < 0.28) return 1024 + Math.floor(random() * 7 * 1024);
  return 20 + Math.floor(random() * 400);
}

export interface Ledger {
  /** A new record for `producer` to send, in flight from now on. */
  send(round: number, producer: string, random: () => number): SentRecord;
  /** Every record sent. */
  readonly records: readonly SentRecord[];
  /**
   * Checks a stretch of one shard read back: sequence numbers increase (from
   * `after` on, when given), each record is one that was sent, with its data
   * and partition key, acknowledged at this very place or cut off by a kill,
   * and read nowhere else before (`seen`, which it adds to). Returns what is wrong.
   */
  check(
    shardId: string,
    records: readonly ReadBackRecord[],
    seen: Map<string, Found>,
    after?: string,
  ): string[];
  /** The acknowledged records of rounds up to `round` that `seen` lacks. */
  missing(seen: ReadonlyMap<string, Found>, throughRound: number): string[];
  /**
   * The records of `round` acknowledged with a sequence number not after the
   * last one their shard had before the round (`lastBefore`, by shard id): a
   * number handed out again after a restart.
   */
  numberedBackwards(round: number, lastBefore: ReadonlyMap<string, string>): string[];
}

export function createLedger(): Ledger {
  const records: SentRecord[] = [];
  const byId = new Map<string, SentRecord>();
  const counters = new Map<string, number>();

  return {
    records,

    send(round, producer, random) {
      const key = `${round}/${producer}`;
      const counter = counters.get(key) ?? 0;
      counters.set(key, counter + 1);
      const id = `${key}/${counter}`;
      const record: SentRecord = {
        id,
        round,
        partitionKey: `pk-${producer}-${counter}`,
        size: recordSize(random),
        outcome: { kind: "in flight" },
      };
      records.push(record);
      byId.set(id, record);
      return record;
    },

    check(shardId, readBack, seen, after) {
      const problems: string[] = [];
      let previous = after === undefined ? -1n : BigInt(after);
      for (const got of readBack) {
        const at = `${shardId} ${got.sequenceNumber}`;
        const sequence = BigInt(got.sequenceNumber);
        if (sequence <= previous) {
          problems.push(`${at}: not after ${previous} (sequence numbers must increase)`);
        }
        previous = sequence;
        const id = idOf(got.data);
        const sent = id === undefined ? undefined : byId.get(id);
        if (sent === undefined) {
          problems.push(`${at}: ${id ?? "unnamed data"} was never sent`);
          continue;
        }
        const before = seen.get(sent.id);
        if (before !== undefined) {
          problems.push(
            `${at}: ${sent.id} again (first at ${before.shardId} ${before.sequenceNumber})`,
          );
          continue;
        }
        seen.set(sent.id, { shardId, sequenceNumber: got.sequenceNumber });
        const { outcome } = sent;
        if (outcome.kind === "acknowledged") {
          if (outcome.shardId !== shardId || outcome.sequenceNumber !== got.sequenceNumber) {
            problems.push(
              `${at}: ${sent.id} was acknowledged as ${outcome.shardId} ${outcome.sequenceNumber}`,
            );
          }
        } else if (outcome.kind !== "cut off") {
          problems.push(`${at}: ${sent.id} is stored, but its call answered ${outcome.kind}`);
        }
        if (got.partitionKey !== sent.partitionKey) {
          problems.push(`${at}: ${sent.id} has another partition key`);
        }
        if (!payloadOf(sent.id, sent.size).equals(got.data)) {
          problems.push(`${at}: ${sent.id}'s data differs from what was sent`);
        }
      }
      return problems;
    },

    missing(seen, throughRound) {
      const problems: string[] = [];
      for (const record of records) {
        const { outcome } = record;
        if (record.round > throughRound || outcome.kind !== "acknowledged") continue;
        if (!seen.has(record.id)) {
          problems.push(
            `${record.id}, acknowledged as ${outcome.shardId} ${outcome.sequenceNumber}, is missing`,
          );
        }
      }
      return problems;
    },

    numberedBackwards(round, lastBefore) {
      const problems: string[] = [];
      for (const record of records) {
        const { outcome } = record;
        if (record.round !== round || outcome.kind !== "acknowledged") continue;
        const last = lastBefore.get(outcome.shardId);
        if (last !== undefined && BigInt(outcome.sequenceNumber) <= BigInt(last)) {
          problems.push(
            `${record.id}, acknowledged as ${outcome.shardId} ${outcome.sequenceNumber}, ` +
              `is not after ${last}, which the shard had before the restart`,
          );
        }
      }
      return problems;
    },
  };
}
