/**
 * SubscribeToShard on the wire API: an accepted subscription answered as an
 * AWS event stream, over HTTP/2 or as a chunked HTTP/1.1 answer (botocore).
 *
 * The answer is `initial-response` (the SDKs and botocore require it first),
 * then a `SubscribeToShardEvent` per event the subscription yields, in the
 * request's format (JSON: data in base64, times in epoch seconds; CBOR: bytes
 * and tag-1 times), until the subscription ends: its lifetime over, the
 * gateway draining, or a closed shard read to its end end the answer cleanly,
 * and the SDK subscribes again from the last `ContinuationSequenceNumber`. A
 * failure while it runs is an exception message of the types AWS's event
 * stream models, and ends the answer too.
 *
 * Events are pulled from the subscription one at a time, and the next only
 * once the transport has taken the last (`drain`): a client that reads slowly
 * is paced by flow control, and one that stops reading makes the engine read
 * nothing more (and is cut off by the port's stall watch).
 */

import { GatewayError, KinesisError } from "../kinesis/errors.ts";
import type { SubscribeToShardEvent, SubscribeToShardInput } from "../kinesis/types.ts";
import type { LogLine } from "../logger.ts";
import { read, write } from "../operations/aws-shape.ts";
import { subscribeToShardEvent, subscribeToShardInput } from "../operations/kinesis-shapes.ts";
import type { AnswerAdmission } from "../services/consumer-service.ts";
import type { Subscription, SubscriptionEnd } from "../subscriptions/subscriptions.ts";
import { CONTENT_TYPES, encodeBody, type Members, type WireFormat } from "./codec.ts";
import { EVENT_STREAM_CONTENT_TYPE, eventMessage, exceptionMessage } from "./event-stream.ts";

export const SUBSCRIBE_TO_SHARD = "SubscribeToShard";

/** What an event-stream answer needs of a response, on HTTP/1.1 and HTTP/2 alike. */
export interface StreamingResponse {
  statusCode: number;
  setHeader(name: string, value: string | number): unknown;
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close" | "timeout", listener: () => void): unknown;
  on(event: "timeout", listener: () => void): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
}

/** How a subscription's answer went, for telemetry. */
export interface SubscriptionOutcome {
  /** How it ended; `exception` when an exception message ended it. */
  readonly end: SubscriptionEnd | "exception";
  /** The exception type sent, if one was. */
  readonly exceptionType?: string | undefined;
  readonly events: number;
  readonly records: number;
}

/** The exceptions SubscribeToShard's event stream models (`SubscribeToShardEventStream`). */
const STREAM_EXCEPTIONS = new Set([
  "ResourceNotFoundException",
  "ResourceInUseException",
  "KMSDisabledException",
  "KMSInvalidStateException",
  "KMSAccessDeniedException",
  "KMSNotFoundException",
  "KMSOptInRequired",
  "KMSThrottlingException",
  "InternalFailureException",
]);

const INTERNAL_FAILURE = "Internal service failure.";

export const readSubscribeToShardInput = (members: Members): SubscribeToShardInput =>
  read(subscribeToShardInput, members);

/**
 * The exception message's type and text for a failure while events flow:
 * a modelled type as it is, anything else as AWS's InternalFailureException
 * (its `InternalFailure` included), the unexpected logged.
 */
function streamException(err: unknown, logFailure: LogLine): { type: string; message: string } {
  if (err instanceof KinesisError && STREAM_EXCEPTIONS.has(err.type)) {
    return { type: err.type, message: err.message };
  }
  // A failure the gateway describes (an upstream gone, say) keeps its words; others are logged.
  if (err instanceof KinesisError || err instanceof GatewayError) {
    return { type: "InternalFailureException", message: err.message || INTERNAL_FAILURE };
  }
  logFailure({ err }, "a subscription failed");
  return { type: "InternalFailureException", message: INTERNAL_FAILURE };
}

/**
 * What making an event holds at most while it is encoded: twice its encoded
 * size (the encoded body, then the message around it), as for GetRecords.
 */
function makingBytes(format: WireFormat, event: SubscribeToShardEvent): number {
  let bytes = 256;
  for (const record of event.records) {
    const data =
      format === "json" ? Math.ceil(record.data.byteLength / 3) * 4 : record.data.byteLength;
    bytes += data + record.partitionKey.length * 3 + 160;
  }
  return 2 * bytes;
}

/** Resolves once the response can take more (`drain`), or has closed. */
function drained(res: StreamingResponse, closed: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    // A 'close' already emitted comes no more: waiting for it would hang the subscription.
    if (closed()) {
      resolve();
      return;
    }
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}

/**
 * Answers an accepted subscription as an event stream and ends the answer,
 * however the subscription ends. The subscription is closed when it returns.
 */
export async function streamSubscription(
  res: StreamingResponse,
  format: WireFormat,
  subscription: Subscription,
  headers: Readonly<Record<string, string>>,
  logFailure: LogLine,
  making:
    | { readonly answers: AnswerAdmission; readonly signal: AbortSignal }
    | undefined = undefined,
): Promise<SubscriptionOutcome> {
  const contentType = CONTENT_TYPES[format];
  let events = 0;
  let records = 0;
  let exceptionType: string | undefined;
  // HTTP/2's compatibility response has no `destroyed` (it is undefined), and
  // its stream may be destroyed, and the response closed, with a write under
  // way: once the client has gone, a write returns false and no 'drain' or
  // 'close' follows. Closed is what the response said, or its stream shows.
  let closedSeen = false;
  const onClose = () => {
    closedSeen = true;
  };
  res.once("close", onClose);
  const closed = () =>
    closedSeen ||
    res.destroyed === true ||
    (res as { stream?: { destroyed?: boolean } }).stream?.destroyed === true;
  /**
   * Writes a message; waits while the transport holds what it was given.
   * False once it closed. `handedOver` is called once the message is written.
   */
  const send = async (message: Uint8Array, handedOver?: () => void): Promise<boolean> => {
    if (closed()) {
      handedOver?.();
      return false;
    }
    const room = res.write(message);
    handedOver?.();
    if (!room) await drained(res, closed);
    return !closed();
  };
  // HTTP/1.1's socket time-out (the port's idle time-out) destroys a socket
  // nobody wrote to for that long, unless the answer under way takes the
  // time-out. A subscription is idle when its shard is: that is no reason to
  // cut it. One that stops being read is the stall watch's (gateway-server.ts).
  const idleIsFine = () => {};
  res.on("timeout", idleIsFine);
  try {
    res.statusCode = 200;
    res.setHeader("content-type", EVENT_STREAM_CONTENT_TYPE);
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    // SubscribeToShard's output has no members besides the event stream: `{}`.
    let open = await send(eventMessage("initial-response", contentType, encodeBody(format, {})));
    try {
      for await (const event of subscription.events) {
        if (!open) break;
        // An event is encoded (JSON: base64, a string, a buffer, the message)
        // within the budget of answers being made, as GetRecords' answers and
        // gRPC's events are: hundreds of subscriptions woken by one write
        // would otherwise encode megabytes each at once.
        let release: (() => void) | undefined;
        if (making !== undefined) {
          try {
            release = await making.answers.admit(makingBytes(format, event), making.signal);
          } catch (err) {
            if (making.signal.aborted) break;
            throw err;
          }
        }
        try {
          const payload = encodeBody(format, write(subscribeToShardEvent, event));
          events++;
          records += event.records.length;
          open = await send(eventMessage("SubscribeToShardEvent", contentType, payload), release);
        } finally {
          release?.();
        }
      }
    } catch (err) {
      const exception = streamException(err, logFailure);
      exceptionType = exception.type;
      await send(
        exceptionMessage(
          exception.type,
          contentType,
          encodeBody(format, { message: exception.message }),
        ),
      );
    }
  } finally {
    res.off("timeout", idleIsFine);
    res.off("close", onClose);
    subscription.close();
    if (!closed() && !res.writableEnded) res.end();
  }
  // The caller's signal aborts when the client goes away: the subscription then ended as "caller".
  const end = exceptionType === undefined ? subscription.end() : "exception";
  return { end, exceptionType, events, records };
}
