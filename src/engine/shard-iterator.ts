import { Buffer } from "node:buffer";
import { KinesisError } from "../kinesis/errors.ts";
import { SHARD_ITERATOR_TTL_MS } from "../kinesis/limits.ts";
import type { ReadStart } from "./record-store.ts";

/**
 * The engine's shard iterators. Like AWS's they are opaque and carry
 * everything a read needs, so the engine keeps no per-iterator state: the
 * stream (its name, and which stream of that name), the shard, where the next
 * read starts and when the iterator was issued. Unlike AWS's they are not
 * encrypted; nothing in them is secret, and a client that edits one only
 * moves its own read position.
 *
 * Layout: {@link ENGINE_ITERATOR_PREFIX}, then base64url of
 * `2/<issuedAtMs>/<incarnationSeconds>/<shardIndex>/<kind>/<value>/<streamName>`,
 * where kind is `T` (trim horizon), `A` (at sequence number), `F` (after
 * sequence number) or `S` (at timestamp, value in epoch ms). At most about
 * 415 characters.
 */

/** What an engine shard iterator carries. */
export interface ShardIteratorState {
  readonly streamName: string;
  /**
   * The stream's `incarnationSeconds`, so that a stream deleted and created
   * again under its name refuses the iterators of the one before.
   */
  readonly incarnationSeconds: number;
  readonly shardIndex: number;
  /** Where the next read starts. */
  readonly position: ReadStart;
  /** When the iterator was issued, in epoch milliseconds. */
  readonly issuedAtMs: number;
}

/**
 * How every engine iterator starts. AWS iterators are standard base64, which
 * has no `:`, so no AWS iterator starts like this.
 */
export const ENGINE_ITERATOR_PREFIX = "kgw-engine:";

/** Whether a shard iterator was made by this engine (rather than by AWS): a router's test. */
export function isEngineShardIterator(iterator: string): boolean {
  return iterator.startsWith(ENGINE_ITERATOR_PREFIX);
}

// Version 1 had no incarnation.
const VERSION = "2";
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MILLIS = /^-?\d{1,16}$/;
const SECONDS = /^\d{1,11}$/;
const SHARD_INDEX = /^\d{1,10}$/;
const SEQUENCE_NUMBER = /^[1-9]\d{0,128}$/;
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const MAX_SHARD_INDEX = 2 ** 32 - 1;

export function encodeShardIterator(state: ShardIteratorState): string {
  const payload = [
    VERSION,
    // Whole milliseconds, whatever the clock gives: the iterator then expires up to 1 ms early.
    String(Math.floor(state.issuedAtMs)),
    String(state.incarnationSeconds),
    String(state.shardIndex),
    ...encodePosition(state.position),
    state.streamName,
  ].join("/");
  return ENGINE_ITERATOR_PREFIX + Buffer.from(payload, "utf8").toString("base64url");
}

function encodePosition(position: ReadStart): [string, string] {
  switch (position.type) {
    case "TRIM_HORIZON":
      return ["T", ""];
    case "AT_SEQUENCE_NUMBER":
      return ["A", position.sequenceNumber];
    case "AFTER_SEQUENCE_NUMBER":
      return ["F", position.sequenceNumber];
    case "AT_TIMESTAMP":
      return ["S", String(position.timestampMs)];
  }
}

/** The state of an iterator made by {@link encodeShardIterator}, or undefined for any other string. */
export function decodeShardIterator(iterator: string): ShardIteratorState | undefined {
  if (!isEngineShardIterator(iterator)) return undefined;
  const encoded = iterator.slice(ENGINE_ITERATOR_PREFIX.length);
  if (!BASE64URL.test(encoded)) return undefined;
  const bytes = Buffer.from(encoded, "base64url");
  // Only the canonical encoding counts, so an iterator has one spelling.
  if (bytes.toString("base64url") !== encoded) return undefined;
  const parts = bytes.toString("utf8").split("/");
  if (parts.length !== 7) return undefined;
  const [version, issued, incarnation, shard, kind, value, streamName] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (version !== VERSION || !MILLIS.test(issued) || !SHARD_INDEX.test(shard)) return undefined;
  if (!SECONDS.test(incarnation)) return undefined;
  if (!STREAM_NAME.test(streamName)) return undefined;
  const shardIndex = Number(shard);
  if (shardIndex > MAX_SHARD_INDEX) return undefined;
  const position = decodePosition(kind, value);
  if (position === undefined) return undefined;
  return {
    streamName,
    incarnationSeconds: Number(incarnation),
    shardIndex,
    position,
    issuedAtMs: Number(issued),
  };
}

function decodePosition(kind: string, value: string): ReadStart | undefined {
  switch (kind) {
    case "T":
      return value === "" ? { type: "TRIM_HORIZON" } : undefined;
    case "A":
    case "F":
      if (!SEQUENCE_NUMBER.test(value)) return undefined;
      return {
        type: kind === "A" ? "AT_SEQUENCE_NUMBER" : "AFTER_SEQUENCE_NUMBER",
        sequenceNumber: value,
      };
    case "S":
      return MILLIS.test(value) ? { type: "AT_TIMESTAMP", timestampMs: Number(value) } : undefined;
    default:
      return undefined;
  }
}

/**
 * Throws AWS's ExpiredIteratorException when the iterator was issued more
 * than five minutes before `nowMs` (exactly five minutes is still valid).
 */
export function assertIteratorNotExpired(issuedAtMs: number, nowMs: number): void {
  if (nowMs - issuedAtMs > SHARD_ITERATOR_TTL_MS) {
    throw new KinesisError(
      "ExpiredIteratorException",
      `Iterator expired. The iterator was created at time ${javaDateString(issuedAtMs)} ` +
        `while right now it is ${javaDateString(nowMs)} which is further in the future than the ` +
        `tolerated delay of ${SHARD_ITERATOR_TTL_MS} milliseconds.`,
    );
  }
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** A time as Java's `Date.toString` writes it in UTC, as AWS's text has it: `Thu Jan 22 01:22:02 UTC 2015`. */
function javaDateString(ms: number): string {
  const d = new Date(ms);
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return (
    `${WEEKDAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())} ` +
    `${time} UTC ${d.getUTCFullYear()}`
  );
}
