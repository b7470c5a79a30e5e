/**
 * HTTP/2 sessions that misbehave are closed with GOAWAY(ENHANCE_YOUR_CALM),
 * as the servers that fixed CVE-2023-44487 do, instead of costing a core:
 *
 * - **Rapid reset**: more than {@link MAX_RESETS_PER_SECOND} streams reset by
 *   the client within a second, when they are most of the streams it closed.
 *   A stream reset once half its call's declared time-out (`grpc-timeout`,
 *   `connect-timeout-ms`) has passed, and at least {@link MIN_CANCEL_AGE_MS},
 *   is a call cancelled on its deadline, not counted: a client whose calls
 *   all outlast their deadlines (a fault rule's latency does that) cancels
 *   them all, and the server ends their work at the deadline anyway. The
 *   floor keeps a declared nanosecond from excusing resets made at once:
 *   past it, a connection's 100 streams turn over no faster than calls that
 *   run their course. Counted
 *   from the `http2.server.stream.close` diagnostics channel, which costs no
 *   listener per stream. nghttp2's own reset limit is raised out of the way
 *   (it closes with INTERNAL_ERROR after ~1,000 resets, cancelling clients
 *   included).
 * - **Refused streams**: streams the gateway refuses (past a limit) count
 *   as strikes too, so a client that keeps asking costs no more than a few.
 *   Streams refused before JavaScript sees them (header blocks nghttp2
 *   refuses, streams past the concurrency limit) close the session when more
 *   than {@link MAX_REFUSED_PER_SECOND} are refused within a second and they
 *   outnumber the streams let in four to one. A client that keeps to the
 *   limit is refused too, often: one that reuses a slot the moment it
 *   cancels a call (gRPC's C core, on every deadline) finds the slot still
 *   taken, as Node frees a stream only once its close has run in
 *   JavaScript, and tries again (a refused stream is safe to retry).
 * - **Refused header blocks**: a header list over `maxHeaderListBytes` is
 *   answered 431 here (nghttp2 enforces the advertised limit only once the
 *   client has acknowledged our SETTINGS); streams nghttp2 refused on its own
 *   (they never reach JavaScript) show as gaps in the client's stream ids.
 *   Each is a strike; more than {@link MAX_STRIKES_PER_SECOND} in a second
 *   closes the session.
 * - **No SETTINGS acknowledgement** within `settingsTimeoutMs`: the session is
 *   closed with SETTINGS_TIMEOUT (RFC 9113 §6.5.3), since until then none of
 *   our limits is in force.
 *
 * Not here: a stream-level WINDOW_UPDATE overflow makes nghttp2 close the
 * whole connection (FLOW_CONTROL_ERROR) before any callback runs; only that
 * client's own connection is lost.
 */
import dc from "node:diagnostics_channel";
import type http2 from "node:http2";
import { constants } from "node:http2";

export const MAX_RESETS_PER_SECOND = 200;
export const MAX_STRIKES_PER_SECOND = 20;
export const MAX_REFUSED_PER_SECOND = 200;
/** The youngest a reset stream may be to count as a call cancelled on its deadline. */
export const MIN_CANCEL_AGE_MS = 50;
const REFUSED_SWEEP_MS = 100;
const STREAM_CLOSE_CHANNEL = "http2.server.stream.close";

/**
 * Options that take nghttp2's and Node's own limits out of the way, as the
 * guards replace them: nghttp2 closes with INTERNAL_ERROR after about 1,000
 * resets (a client cancelling its calls on their deadlines included), and
 * Node after 100 streams refused for going past the concurrency limit.
 */
export const GUARDED_LIMIT_OPTIONS = {
  streamResetBurst: 1e6,
  streamResetRate: 1e6,
  maxSessionRejectedStreams: 1e6,
} as const;

export interface Http2GuardOptions {
  maxHeaderListBytes: number;
  settingsTimeoutMs: number;
  /** Told when a session is closed for misbehaving (for a debug log line). */
  onCalm?: ((session: http2.ServerHttp2Session, why: string) => void) | undefined;
}

interface SessionCounts {
  /** Start of the current one-second window. */
  windowStartMs: number;
  streamsClosed: number;
  resets: number;
  strikes: number;
  /** Streams opened (seen) and refused by nghttp2 in the current window. */
  opened: number;
  refused: number;
  /** The highest client stream id seen, and streams seen since it was taken. */
  lastStreamId: number;
  streamsSeen: number;
}

export interface Http2Guards {
  /** Starts guarding a new session. */
  guard(session: http2.ServerHttp2Session): void;
  /**
   * Whether a request may go on: false when its header list is too large,
   * in which case it has been answered 431.
   */
  admitHeaders(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): boolean;
  /** A stream the gateway refused (past a limit): a strike against its session. */
  refused(session: http2.ServerHttp2Session): void;
  close(): void;
}

/** A header list's size as HTTP/2 counts it (RFC 9113 §6.5.2): name, value and 32 per field. */
export function headerListBytes(rawHeaders: readonly string[]): number {
  let size = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    size += rawHeaders[i]!.length + rawHeaders[i + 1]!.length + 32;
  }
  return size;
}

const GRPC_TIMEOUT_UNITS_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** The call's time-out a request declares (gRPC's `grpc-timeout`, Connect's `connect-timeout-ms`). */
function declaredTimeoutMs(headers: http2.IncomingHttpHeaders): number | undefined {
  const grpc = headers["grpc-timeout"];
  if (typeof grpc === "string") {
    const match = /^(\d{1,8})([HMSmun])$/.exec(grpc);
    if (match) return Number(match[1]) * GRPC_TIMEOUT_UNITS_MS[match[2]!]!;
  }
  const connect = headers["connect-timeout-ms"];
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect)) return Number(connect);
  return undefined;
}

/**
 * Sends GOAWAY with `code` and closes the session. Node's `destroy` takes the
 * code as its first argument (its typings only know an Error there; an Error
 * would also be emitted as the session's 'error').
 */
function closeWith(session: http2.ServerHttp2Session, code: number): void {
  (session.destroy as unknown as (code: number) => void).call(session, code);
}

export function createHttp2Guards(options: Http2GuardOptions): Http2Guards {
  const counts = new Map<http2.ServerHttp2Session, SessionCounts>();
  /**
   * From when a reset of each stream with a declared time-out is a
   * cancellation on its deadline: half the time-out after it was seen, and
   * {@link MIN_CANCEL_AGE_MS} at the least.
   */
  const cancellableFrom = new WeakMap<http2.ServerHttp2Stream, number>();

  function countsOf(session: http2.ServerHttp2Session): SessionCounts | undefined {
    const c = counts.get(session);
    if (c === undefined) return undefined;
    const nowMs = performance.now();
    if (nowMs - c.windowStartMs >= 1_000) {
      c.windowStartMs = nowMs;
      c.streamsClosed = 0;
      c.resets = 0;
      c.strikes = 0;
      c.opened = 0;
      c.refused = 0;
    }
    return c;
  }

  function calm(session: http2.ServerHttp2Session, why: string): void {
    if (session.destroyed) return;
    counts.delete(session);
    options.onCalm?.(session, why);
    closeWith(session, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  }

  function strike(session: http2.ServerHttp2Session, n: number, why: string): void {
    const c = countsOf(session);
    if (c === undefined || n <= 0) return;
    c.strikes += n;
    if (c.strikes > MAX_STRIKES_PER_SECOND) calm(session, why);
  }

  /** Client stream ids are odd and rise by two: the ones never seen were refused. */
  function countRefused(session: http2.ServerHttp2Session, highestId: number): void {
    const c = counts.get(session);
    if (c === undefined || highestId <= c.lastStreamId) return;
    const refused = (highestId - c.lastStreamId) / 2 - c.streamsSeen;
    c.lastStreamId = highestId;
    c.streamsSeen = 0;
    if (refused <= 0) return;
    const w = countsOf(session);
    if (w === undefined) return;
    w.refused += refused;
    if (w.refused > MAX_REFUSED_PER_SECOND && w.refused > 4 * w.opened) {
      calm(session, `${w.refused} streams refused, ${w.opened} let in, within a second`);
    }
  }

  const onStreamClose = (message: unknown) => {
    const stream = (message as { stream: http2.ServerHttp2Stream }).stream;
    const session = stream.session as http2.ServerHttp2Session | undefined;
    if (session === undefined) return;
    const c = countsOf(session);
    if (c === undefined) return;
    c.streamsClosed++;
    if (stream.rstCode === constants.NGHTTP2_NO_ERROR) return;
    const from = cancellableFrom.get(stream);
    if (from !== undefined && performance.now() >= from) return;
    c.resets++;
    if (c.resets > MAX_RESETS_PER_SECOND && c.resets > c.streamsClosed / 2) {
      calm(session, `${c.resets} of ${c.streamsClosed} streams reset within a second`);
    }
  };
  dc.subscribe(STREAM_CLOSE_CHANNEL, onStreamClose);

  const sweep = setInterval(() => {
    for (const session of counts.keys()) {
      if (!session.destroyed) countRefused(session, session.state.lastProcStreamID ?? 0);
    }
  }, REFUSED_SWEEP_MS);
  sweep.unref();

  return {
    guard(session) {
      counts.set(session, {
        windowStartMs: performance.now(),
        streamsClosed: 0,
        resets: 0,
        strikes: 0,
        opened: 0,
        refused: 0,
        lastStreamId: -1,
        streamsSeen: 0,
      });
      session.once("close", () => counts.delete(session));
      session.on(
        "stream",
        (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
          const c = counts.get(session);
          if (c === undefined) return;
          const timeoutMs = declaredTimeoutMs(headers);
          if (timeoutMs !== undefined)
            cancellableFrom.set(
              stream,
              performance.now() + Math.max(timeoutMs / 2, MIN_CANCEL_AGE_MS),
            );
          c.streamsSeen++;
          const w = countsOf(session);
          if (w !== undefined) w.opened++;
          countRefused(session, stream.id ?? 0);
        },
      );
      if (session.pendingSettingsAck) {
        const timer = setTimeout(() => {
          if (!session.destroyed && session.pendingSettingsAck) {
            options.onCalm?.(session, "SETTINGS not acknowledged");
            closeWith(session, constants.NGHTTP2_SETTINGS_TIMEOUT);
          }
        }, options.settingsTimeoutMs);
        timer.unref();
        session.once("localSettings", () => clearTimeout(timer));
        session.once("close", () => clearTimeout(timer));
      }
    },
    admitHeaders(req, res) {
      const size = headerListBytes(req.rawHeaders);
      if (size <= options.maxHeaderListBytes) return true;
      res.writeHead(431, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "request header fields too large" }));
      strike(req.stream.session as http2.ServerHttp2Session, 1, `a header list of ${size} bytes`);
      return false;
    },
    refused(session) {
      strike(session, 1, "streams refused past a limit");
    },
    close() {
      dc.unsubscribe(STREAM_CLOSE_CHANNEL, onStreamClose);
      clearInterval(sweep);
      counts.clear();
    },
  };
}
