/**
 * The AWS event stream (`application/vnd.amazon.eventstream`), as
 * SubscribeToShard answers: each message a prelude, headers, a payload and
 * CRCs, framed and read by the maintained Smithy codec rather than by hand.
 * This module knows the framing and the headers an SDK reads; what a
 * payload holds is the caller's.
 */
import { EventStreamCodec } from "@smithy/eventstream-codec";
import type { Message, MessageHeaders } from "@smithy/types";

export const EVENT_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const codec = new EventStreamCodec(
  (bytes) => decoder.decode(bytes),
  (text) => encoder.encode(text),
);

const text = (value: string) => ({ type: "string", value }) as const;

/** A message with its type headers: `:message-type`, the header naming its type, `:content-type`. */
function message(
  kind: "event" | "exception",
  type: string,
  contentType: string,
  payload: Uint8Array,
): Uint8Array {
  const headers: MessageHeaders = {
    ":message-type": text(kind),
    [kind === "event" ? ":event-type" : ":exception-type"]: text(type),
    ":content-type": text(contentType),
  };
  return codec.encode({ headers, body: payload });
}

/**
 * An event (`:message-type: event`): `initial-response` first, then the
 * operation's events, each named by `:event-type`.
 */
export const eventMessage = (eventType: string, contentType: string, payload: Uint8Array) =>
  message("event", eventType, contentType, payload);

/**
 * A modelled exception (`:message-type: exception`), which ends the stream:
 * the SDKs throw the error its `:exception-type` names.
 */
export const exceptionMessage = (exceptionType: string, contentType: string, payload: Uint8Array) =>
  message("exception", exceptionType, contentType, payload);

/**
 * The messages of an event stream as its chunks arrive: a message may span
 * chunks and a chunk hold several, so the bytes are cut at each message's
 * total length (its first four bytes) and the codec checks and reads each.
 */
export async function* readEventStream(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Message> {
  let pending = Buffer.alloc(0);
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= pending.readUInt32BE(0)) {
      const length = pending.readUInt32BE(0);
      yield codec.decode(pending.subarray(0, length));
      pending = pending.subarray(length);
    }
  }
  if (pending.length > 0) throw new Error("the event stream ended inside a message");
}

/** A header's value as text (the SDKs' headers are strings). */
export const headerText = (message: Message, name: string): string | undefined => {
  const header = message.headers[name];
  return header === undefined ? undefined : String(header.value);
};
