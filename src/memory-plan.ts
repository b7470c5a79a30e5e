/**
 * How `--max-memory-mib` is spent: every buffer the gateway fills on a
 * client's behalf has a budget carved from it, so that no mix of clients can
 * take the process past it. What is left after the runtime's own needs is
 * shared out:
 *
 * | budget | share | what it bounds |
 * | --- | --- | --- |
 * | request bodies | 15 % | bytes of bodies being read, until read whole: 16 KiB per connection it may always hold, the rest shared, of which one connection may hold a quarter |
 * | records in flight | 9 % | data being written to a backend by unary calls (forward mode serialises a copy) |
 * | producer | 6 % | records `Produce` and coalesced calls hold: waiting, in flight, awaiting a retry, half to one stream |
 * | engine records | 22 % | records kept by the engine, all streams together |
 * | calls in flight | 20 % | ~128 KiB each, what Node and the gateway keep for a call; streaming ones (subscriptions, watches) at most half |
 * | answers being made | 8 % | GetRecords answers and SubscribeToShard events being read and encoded (twice their size), at least the largest; past it, reads wait their turn |
 * | answers pending | 8 % | answers written and not yet read by their clients (past it, the stalled are cut off) |
 * | the rest | 12 % | what reading and decoding a body costs beyond its bytes (a JSON body about twice over), connections' buffers, telemetry |
 */

import { GUARANTEED_BYTES_PER_CONNECTION } from "./server/request-body.ts";
import { MAX_ANSWER_BYTES } from "./services/read-budget.ts";

/** What the runtime needs before any request: V8, the code, the telemetry SDK, idle connections. */
export const RUNTIME_RESERVE_MIB = 96;
/** The smallest bound that leaves room for one largest request in each budget. */
export const MIN_MEMORY_MIB = 192;
export const DEFAULT_MEMORY_MIB = 384;

const MiB = 1024 * 1024;
/**
 * What a call in flight costs Node and the gateway: an open health watch
 * holds ~76 KiB (500 on 250 connections took 38 MiB besides the connections'
 * own), and a call being set up makes about as much garbage again.
 */
const CALL_BYTES = 128 * 1024;
/**
 * What a connection may hold past the largest request message: its framing,
 * and the frame (HTTP/2 frames are up to 1 MiB here) that shows a message to
 * be too large, so that it is refused as too large rather than as over budget.
 */
const BODY_SLACK_BYTES = MiB;
/** What making the largest read answer may hold: the answer encoded, and again in its envelope. */
export const MAKING_LARGEST_ANSWER_BYTES = 2 * MAX_ANSWER_BYTES;

export interface MemoryPlan {
  /** Bytes of request bodies all calls together may hold, besides each connection's guaranteed share. */
  readonly requestBodyBytes: number;
  /** Bytes of request bodies one connection's calls may hold. */
  readonly requestBodyBytesPerConnection: number;
  /** Bytes of records being written to backends at once. */
  readonly inFlightBytes: number;
  /** Bytes of records the producer holds (Produce, coalesced calls). */
  readonly producerBytes: number;
  /** Bytes the engine's records may hold, all streams together. */
  readonly engineRecordBytes: number;
  /** Calls in flight at once, of every kind. */
  readonly callsInFlight: number;
  /** Streaming calls open at once. */
  readonly streamingCalls: number;
  /** Bytes of answers written and not yet read by their clients. */
  readonly pendingAnswerBytes: number;
  /** Bytes of read answers being made (read, encoded), counted at twice their most. */
  readonly answersInMakingBytes: number;
}

/**
 * The budgets for a memory bound. `largestRequestBytes` is the largest body
 * a call may send: a connection may always hold one.
 * `maxConnections` connections may each hold their guaranteed share besides.
 */
export function planMemory(
  maxMemoryMiB: number,
  largestRequestBytes: number,
  maxConnections: number,
): MemoryPlan {
  const spare = Math.max(0, maxMemoryMiB - RUNTIME_RESERVE_MIB) * MiB;
  const guaranteed = maxConnections * GUARANTEED_BYTES_PER_CONNECTION;
  const requestBodyBytes = Math.max(
    largestRequestBytes + BODY_SLACK_BYTES,
    Math.floor(spare * 0.15) - guaranteed,
  );
  return {
    requestBodyBytes,
    requestBodyBytesPerConnection: Math.max(
      largestRequestBytes + BODY_SLACK_BYTES,
      Math.floor(requestBodyBytes / 4),
    ),
    // At least the largest request: one is always admitted.
    inFlightBytes: Math.max(largestRequestBytes, Math.floor(spare * 0.09)),
    producerBytes: Math.max(2 * largestRequestBytes, Math.floor(spare * 0.06)),
    engineRecordBytes: Math.floor(spare * 0.22),
    callsInFlight: Math.max(32, Math.floor((spare * 0.2) / CALL_BYTES)),
    streamingCalls: Math.max(16, Math.floor((spare * 0.1) / CALL_BYTES)),
    pendingAnswerBytes: Math.floor(spare * 0.08),
    answersInMakingBytes: Math.max(MAKING_LARGEST_ANSWER_BYTES, Math.floor(spare * 0.08)),
  };
}
