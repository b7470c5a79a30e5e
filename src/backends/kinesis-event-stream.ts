/**
 * SubscribeToShard forwarded: the upstream's own event stream, read through
 * the AWS SDK over HTTP/2 and relayed event by event as it arrives. Only
 * `kinesis-backend.ts` imports this (the AWS SDK stays in the kinesis backend).
 */

import { PassThrough, type Readable } from "node:stream";
import type { SubscribeToShardEventStream } from "@aws-sdk/client-kinesis";
import { NodeHttp2Handler } from "@smithy/node-http-handler";
import { PlainMembers, read } from "../operations/aws-shape.ts";
import { subscribeToShardEvent } from "../operations/kinesis-shapes.ts";
import type { EventSource } from "../subscriptions/subscriptions.ts";

/**
 * A connection without a frame for this long is closed: longer than AWS
 * keeps a subscription (5 minutes), so a live one is never cut here however
 * quiet its shard (AWS documents no interval for its events without records;
 * kinesis-mock sends one a second). What ends here is a connection left idle
 * between subscriptions, or a dead one.
 */
const IDLE_CONNECTION_MS = 330_000;

type HandleOptions = Parameters<NodeHttp2Handler["handle"]>[1];

/**
 * One HTTP/2 connection per live subscription, as the SDK gives each event
 * stream (so one slow reader's flow control never holds up another's), but
 * kept for the next subscription instead of closed with a GOAWAY as soon as
 * the answer starts, which is what the SDK does with an event stream's
 * connection: kinesis-mock (kinesis-local 0.6.2) answers that GOAWAY with an
 * unsolicited PING ACK, which Node's HTTP/2 takes for a protocol error that
 * ends the connection and the subscription in it (measured with Node 24.21).
 */
class EventStreamHandler extends NodeHttp2Handler {
  override async handle(
    request: Parameters<NodeHttp2Handler["handle"]>[0],
    options?: HandleOptions,
  ) {
    const out = await super.handle(request, { ...options, isEventStream: false });
    const body = out.response.body as Readable | undefined;
    if (body === undefined || typeof body.pipe !== "function") return out;
    // An answer cut off with its connection (the upstream's process killed,
    // the network gone) ends Node's HTTP/2 stream as a finished one would,
    // only with a reset code (CANCEL) where a finished one has none, and the
    // SDK's event stream then ended as if the upstream had ended it: the
    // subscriber was told a clean end (an outside tester's finding). Relayed
    // through a stream that ends only on a clean close, it is the error it is.
    const relayed = new PassThrough({ highWaterMark: 0 });
    body.pipe(relayed, { end: false });
    body.once("error", (err) => relayed.destroy(err));
    body.once("close", () => {
      const code = (body as { rstCode?: number }).rstCode ?? 0;
      if (code === 0) relayed.end();
      else
        relayed.destroy(
          new Error(`The upstream's event stream was cut off (HTTP/2 code ${code}).`),
        );
    });
    out.response.body = relayed;
    return out;
  }
}

/** The request handler of the client that subscribes. */
export function createEventStreamHandler(): NodeHttp2Handler {
  return new EventStreamHandler({ maxConcurrentStreams: 1, sessionTimeout: IDLE_CONNECTION_MS });
}

/**
 * The upstream's events as the domain's: records with their arrival times and
 * bytes, the continuation (absent when the upstream sent none), child shards.
 * The SDK throws an exception event as the error it names, and `failure`
 * translates that (and a broken connection) for the subscriber; the
 * upstream's clean end ends the events. Events the SDK does not know are
 * skipped, as the SDK itself would.
 */
export async function* relayEvents(
  stream: AsyncIterable<SubscribeToShardEventStream> | undefined,
  failure: (err: unknown) => Error,
): EventSource {
  if (stream === undefined) return;
  try {
    for await (const message of stream) {
      if (message.SubscribeToShardEvent === undefined) continue;
      yield read(subscribeToShardEvent, new PlainMembers(message.SubscribeToShardEvent));
    }
  } catch (err) {
    throw failure(err);
  }
}
