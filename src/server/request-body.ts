/**
 * Reading request bodies within bounds. Every body the port reads — gRPC,
 * Connect, the Kinesis wire API — goes through {@link guardBody}:
 * - its bytes are taken from a process-wide budget, and from the share of it
 *   one connection may hold, and given back once it is read whole (a
 *   streaming call's, chunk by chunk as the call reads on); a body that would
 *   pass either is refused at once (the client should back off and retry),
 *   so a thousand half-sent bodies cannot fill the memory;
 * - it must keep up a minimum rate while the call waits for it (see
 *   `connections.ts`), so a body trickled a byte a second does not hold a
 *   call, a connection and its bytes for ever;
 * - a call refused before its body is read (no valid token) reads none of it.
 */
import type http2 from "node:http2";
import { constants as http2Constants } from "node:http2";
import type { BodyProgress, Connection } from "./connections.ts";
import type { RequestHandler } from "./one-port.ts";

type NodeRequest = Parameters<RequestHandler>[0];
type NodeResponse = Parameters<RequestHandler>[1];

/** Why a body was not read whole. */
export type BodyRefusal =
  /** The process (or the connection) holds as many body bytes as it may. */
  | "budget"
  /** The body came in slower than the minimum rate. */
  | "too-slow"
  /** The call was refused before its body was read. */
  | "refused"
  /** A streaming call past the limit of those open at once. */
  | "streams"
  /** A read while answers waiting for their clients hold as much as they may. */
  | "answers";

/** A body refused, for protocols without an error type of their own (the wire API). */
export class BodyRefusedError extends Error {
  override readonly name = "BodyRefusedError";
  readonly reason: BodyRefusal;

  constructor(reason: BodyRefusal, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface BodyBudget {
  /** Bytes all bodies together may hold. */
  readonly maxBytes: number;
  /** Bytes the bodies of one connection may hold. */
  readonly maxBytesPerConnection: number;
  /** Bytes held now. */
  readonly heldBytes: number;
  /** Takes `bytes` for `connection`, or returns false when either bound would be passed. */
  tryTake(connection: Connection | undefined, bytes: number): boolean;
  give(connection: Connection | undefined, bytes: number): void;
}

/**
 * What every connection may hold whatever the others hold: enough for a
 * small call, so that clients filling the shared budget with large bodies do
 * not shut out the ones that send small calls. It comes on top of the shared
 * budget (see `memory-plan.ts`, which sets that much aside per connection).
 */
export const GUARANTEED_BYTES_PER_CONNECTION = 16 * 1024;

export function createBodyBudget(maxBytes: number, maxBytesPerConnection: number): BodyBudget {
  let heldBytes = 0;
  return {
    maxBytes,
    maxBytesPerConnection,
    get heldBytes() {
      return heldBytes;
    },
    tryTake(connection, bytes) {
      const held = connection?.bodyBytesHeld ?? 0;
      const guaranteed =
        connection !== undefined && held + bytes <= GUARANTEED_BYTES_PER_CONNECTION;
      if (!guaranteed) {
        // The first bytes are always taken: a lone request never waits on others.
        if (heldBytes > 0 && heldBytes + bytes > maxBytes) return false;
        if (held > 0 && held + bytes > maxBytesPerConnection) return false;
      }
      if (connection !== undefined) connection.bodyBytesHeld += bytes;
      heldBytes += bytes;
      return true;
    },
    give(connection, bytes) {
      heldBytes -= bytes;
      if (connection !== undefined) connection.bodyBytesHeld -= bytes;
    },
  };
}

export interface GuardedBody extends AsyncIterable<Uint8Array> {
  /** Gives the body's bytes back to the budget (done when it is read whole, or else when the answer is). */
  release(): void;
  /** Ends the body with this refusal: a read waiting for bytes fails at once. */
  refuse(reason: BodyRefusal): void;
  /** Why the body was refused, if it was. */
  readonly refusal: BodyRefusal | undefined;
}

export interface GuardBodyOptions {
  budget: BodyBudget;
  connection: Connection | undefined;
  /** Watches the rate (from `ConnectionRegistry.watchBody`), or undefined for no minimum. */
  watch: ((tooSlow: () => void) => BodyProgress) | undefined;
  /** The error a read fails with, in the protocol's own terms. */
  errorFor: (reason: BodyRefusal) => Error;
  /**
   * A stream of messages, for as long as the call lasts: each chunk is given
   * back once the next is asked for. What the call keeps of it is its decoded
   * messages, which its own bounds hold (a Produce stream's buffer budget);
   * held to the end, a stream's bytes would add up to the whole budget, and
   * refuse it and every other call.
   */
  streaming?: boolean | undefined;
}

export function guardBody(
  source: AsyncIterable<Uint8Array>,
  options: GuardBodyOptions,
): GuardedBody {
  const { budget, connection } = options;
  let taken = 0;
  let refusal: BodyRefusal | undefined;
  /** Wakes the read waiting for bytes, if one is. */
  let wake: ((reason: BodyRefusal) => void) | undefined;
  const refuse = (reason: BodyRefusal) => {
    if (refusal !== undefined) return;
    refusal = reason;
    wake?.(reason);
  };

  /**
   * The source's next chunk, or the refusal if it comes first. (Not a
   * `Promise.race` with one promise that stands for the refusal: every race
   * would leave it a reaction holding its chunk, for the body's lifetime.)
   */
  const nextOrRefusal = (it: AsyncIterator<Uint8Array>) =>
    new Promise<IteratorResult<Uint8Array> | BodyRefusal>((resolve, reject) => {
      wake = resolve;
      it.next().then(resolve, reject);
    }).finally(() => {
      wake = undefined;
    });

  async function* read(): AsyncGenerator<Uint8Array> {
    if (refusal !== undefined) throw options.errorFor(refusal);
    const progress = options.watch?.(() => refuse("too-slow"));
    const it = source[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await nextOrRefusal(it);
        if (typeof next === "string") throw options.errorFor(next);
        if (next.done) {
          // Read whole: what the call keeps of it from now on is the decoded
          // request, which the per-service size limits bound. A long-lived
          // call must not hold the budget for its lifetime.
          release();
          return;
        }
        const chunk = next.value;
        if (!budget.tryTake(connection, chunk.byteLength)) {
          refuse("budget");
          throw options.errorFor("budget");
        }
        taken += chunk.byteLength;
        progress?.received(chunk.byteLength);
        yield chunk;
        if (options.streaming) {
          budget.give(connection, chunk.byteLength);
          taken -= chunk.byteLength;
        }
      }
    } finally {
      progress?.done();
    }
  }

  const release = () => {
    budget.give(connection, taken);
    taken = 0;
  };

  return {
    [Symbol.asyncIterator]: read,
    release,
    refuse,
    get refusal() {
      return refusal;
    },
  };
}

/** Whether the client went away (reset the stream, closed the connection) before its answer was sent. */
export function clientGone(req: NodeRequest, res: NodeResponse): boolean {
  if (res.writableFinished) return false;
  return req.httpVersionMajor === 2
    ? (req as unknown as http2.Http2ServerRequest).stream.destroyed
    : req.socket.destroyed;
}

/**
 * Lets go of a request answered before its body was read whole (refused,
 * too slow, not found), once the answer is out.
 *
 * HTTP/2: if the client is still sending, the stream is destroyed, which
 * resets it with NO_ERROR ("stop sending", RFC 9113 §8.1) and frees what Node
 * buffered of it. Node on its own would keep the stream open, and the unread
 * part of its window (1 MiB) in memory, for as long as the client
 * cares to keep it. Node's compatibility layer sends every answer's end on
 * `wantTrailers`; the reset waits a turn of the event loop, until those last
 * frames are written.
 *
 * HTTP/1.1: the connection is closed, as it cannot be reused without reading
 * the rest of the body.
 */
export function releaseAfterAnswer(req: NodeRequest, res: NodeResponse): void {
  if (req.httpVersionMajor === 2) {
    const { stream } = req as unknown as http2.Http2ServerRequest;
    stream.once("wantTrailers", () =>
      setImmediate(() => {
        if (!stream.destroyed && stream.state.remoteClose === 0) stream.destroy();
      }),
    );
  } else {
    res.once("finish", () => {
      if (!req.complete) req.socket.destroySoon();
    });
  }
}

/**
 * Ends a call at once, as a server under load may: HTTP/2 resets its stream
 * with REFUSED_STREAM (gRPC clients see UNAVAILABLE and try again), HTTP/1.1
 * closes its connection.
 */
export function cancelCall(req: NodeRequest): void {
  if (req.httpVersionMajor === 2) {
    const { stream } = req as unknown as http2.Http2ServerRequest;
    if (!stream.destroyed) stream.close(http2Constants.NGHTTP2_REFUSED_STREAM);
  } else {
    req.socket.destroy();
  }
}
