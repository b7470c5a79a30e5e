/**
 * Every protocol on one port. With TLS, ALPN offers h2 and http/1.1 and
 * Node's secure HTTP/2 server serves both. In cleartext Node offers both on
 * one listener only through this module: it reads the first bytes of each
 * connection, and the HTTP/2 connection preface (prior knowledge, as gRPC
 * clients connect) goes to the HTTP/2 server, anything else to HTTP/1.1.
 *
 * Either way, every connection passes admission (`connections.ts`) before a
 * byte of it is read, HTTP/1.1 has the same header limits and time-outs with
 * and without TLS, and HTTP/2 sessions are guarded (`http2-guards.ts`).
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type tls from "node:tls";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectionRegistry } from "./connections.ts";
import { createHttp2Guards, GUARDED_LIMIT_OPTIONS } from "./http2-guards.ts";

/** A request handler for both HTTP/1.1 and HTTP/2, as Connect's adapter makes. */
export type RequestHandler = ReturnType<typeof connectNodeAdapter>;

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** What one HTTP/2 stream may send before the gateway has read it. */
const STREAM_WINDOW_BYTES = 1024 * 1024;
/**
 * What each HTTP/2 connection may send unread: a 5 MiB `PutRecords` whole;
 * a larger one (up to 10 MiB of records) flows through as it is read.
 */
const CONNECTION_WINDOW_BYTES = 8 * 1024 * 1024;
/**
 * HTTP/1.1 requests a connection may have waiting for their answers. Node
 * parses a whole read of pipelined requests before it stops reading (about
 * 1,900 tiny ones), and buffers every answer for a client that never reads.
 */
export const MAX_PIPELINED_REQUESTS = 16;

export interface PortLimits {
  /** Calls at once on one HTTP/2 connection. */
  maxConcurrentStreams: number;
  /** Largest request header block, in bytes. */
  maxHeaderBytes: number;
  /** Idle time after which a connection is closed. */
  idleTimeoutMs: number;
  /** How long a client may take to send a request's headers (and a new connection its first bytes). */
  headerTimeoutMs: number;
}

export const DEFAULT_PORT_LIMITS: PortLimits = {
  maxConcurrentStreams: 100,
  maxHeaderBytes: 16 * 1024,
  idleTimeoutMs: 60_000,
  headerTimeoutMs: 10_000,
};

export interface TlsOptions {
  cert: Buffer;
  key: Buffer;
  /** With it, clients must present a certificate it signed. */
  clientCa?: Buffer | undefined;
}

export interface OnePortOptions {
  handler: RequestHandler;
  /** Admits each connection and tells which connection a request came on. */
  connections: ConnectionRegistry;
  limits?: Partial<PortLimits> | undefined;
  tls?: TlsOptions | undefined;
  /** Told when an HTTP/2 session is closed for misbehaving. */
  onCalm?: ((why: string) => void) | undefined;
}

export interface OnePortServer {
  /** What listens: a TCP server in cleartext, the secure HTTP/2 server with TLS. */
  readonly listener: net.Server;
  /** HTTP/1.1 in cleartext; with TLS, HTTP/1.1 is served by `http2`. */
  readonly http1: http.Server | undefined;
  readonly http2: http2.Http2Server | http2.Http2SecureServer;
  /** Every open connection, for the end of a drain. */
  readonly sockets: ReadonlySet<net.Socket>;
  /** Tells the guards that a stream of this session was refused (see `http2-guards.ts`). */
  refused(session: http2.ServerHttp2Session): void;
}

export function createOnePortServer(options: OnePortOptions): OnePortServer {
  const limits = { ...DEFAULT_PORT_LIMITS, ...options.limits };
  const { connections } = options;
  const sockets = new Set<net.Socket>();
  /** Admits a connection and tracks it for the drain; false when admission refused it. */
  const accept = (socket: net.Socket): boolean => {
    if (connections.admit(socket) === undefined) return false;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    return true;
  };
  const guards = createHttp2Guards({
    maxHeaderListBytes: limits.maxHeaderBytes,
    settingsTimeoutMs: limits.headerTimeoutMs,
    onCalm: (_session, why) => options.onCalm?.(why),
  });

  /** Pipelining depth and HTTP/2 header limits, before the handler sees a request. */
  const handler: RequestHandler = (req, res) => {
    if (req.httpVersionMajor === 2) {
      const h2req = req as unknown as http2.Http2ServerRequest;
      if (!guards.admitHeaders(h2req, res as unknown as http2.Http2ServerResponse)) return;
      if (connections.atCallLimit()) {
        // As cheap a "not now" as there is (gRPC clients see UNAVAILABLE, and may
        // try again); a session that keeps asking is closed.
        h2req.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        guards.refused(h2req.stream.session as http2.ServerHttp2Session);
        return;
      }
    } else if (connections.atCallLimit()) {
      res.writeHead(503, {
        "content-type": "application/json",
        connection: "close",
        "retry-after": "1",
      });
      res.end(JSON.stringify({ error: "the gateway serves as many calls as it may; retry" }));
      return;
    } else {
      const connection = connections.of(req);
      if (connection !== undefined && connection.callsInFlight >= MAX_PIPELINED_REQUESTS) {
        req.socket.destroy();
        return;
      }
    }
    options.handler(req, res);
  };

  const http1Options: http.ServerOptions = {
    headersTimeout: limits.headerTimeoutMs,
    // How often the time-out is checked (Node's default, 30 s, lets a slow client linger).
    connectionsCheckingInterval: Math.min(1_000, limits.headerTimeoutMs / 4),
    maxHeaderSize: limits.maxHeaderBytes,
    requestTimeout: 0, // a deadline is the caller's; bodies have a minimum rate instead
    keepAliveTimeout: 5_000,
  };
  const http2Options = {
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderBytes,
      // A PutRecords can be 10 MiB: let clients send it in large frames
      // without waiting on flow control every 64 KiB. The window is also
      // what a stream can make Node buffer before the gateway reads it (and
      // refuses it, if the body budget is spent): 1 MiB, not more.
      maxFrameSize: 1024 * 1024 - 1,
      initialWindowSize: STREAM_WINDOW_BYTES,
    },
    maxHeaderListPairs: 256,
    // Node's own cap on a session's memory (10 MB by default) counts an
    // answer queued for a stream even after the client reset it, for the
    // session's life (measured with Node 24.21: five subscriptions cancelled
    // over a backlog, and every new stream on the connection was reset with
    // ENHANCE_YOUR_CALM). The gateway bounds what sessions hold itself
    // (unread answers, calls in flight, header lists), so Node's cap is off.
    maxSessionMemory: 1e6,
    ...GUARDED_LIMIT_OPTIONS,
  };
  /**
   * The connection's receive window starts at 64 KiB, which HTTP/2 settings
   * cannot change: with several large calls in flight on one connection,
   * clients would stop every 64 KiB to wait for a window update. Measured
   * with 8 calls of 500 × 1 KiB in flight: about 1.4 × the throughput.
   */
  const onSession = (session: http2.ServerHttp2Session) => {
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    connections.attachSession(session);
    guards.guard(session);
  };

  if (options.tls) {
    const secure = http2.createSecureServer(
      {
        ...http2Options,
        ...http1Options, // applied to the HTTP/1.1 connections it serves
        cert: options.tls.cert,
        key: options.tls.key,
        allowHTTP1: true,
        ALPNProtocols: ["h2", "http/1.1"],
        noDelay: true,
        handshakeTimeout: limits.headerTimeoutMs,
        ...(options.tls.clientCa
          ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }
          : {}),
      },
      handler,
    );
    secure.on("session", onSession);
    secure.on("connection", (socket: net.Socket) => accept(socket));
    secure.on("tlsClientError", (_err: Error, socket: tls.TLSSocket) => socket.destroy());
    secure.once("close", () => guards.close());
    return { listener: secure, http1: undefined, http2: secure, sockets, refused: guards.refused };
  }

  const http1 = http.createServer(http1Options, handler);
  http1.setTimeout(limits.idleTimeoutMs);
  // No idle timer of Node's for HTTP/2: admission closes idle connections,
  // and Node keeps a closed session's timer (and the session) for its whole
  // duration — under connection churn, tens of megabytes for a minute.
  const h2 = http2.createServer(http2Options, handler);
  h2.on("session", onSession);

  // No Nagle delay: an answer's last frame goes out at once, as in grpc-go.
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    if (!accept(socket)) return;
    let received: Buffer = Buffer.alloc(0);
    // Its own listener, taken off once the protocol is known: left on, it
    // destroyed an HTTP/1.1 socket at the server's first idle time-out even
    // with an answer under way (an idle SubscribeToShard, which takes the
    // time-out, was cut after --idle-timeout-seconds).
    const tooSlowToStart = () => socket.destroy();
    socket.setTimeout(limits.headerTimeoutMs);
    socket.once("timeout", tooSlowToStart);
    socket.on("error", () => socket.destroy());
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const compared = Math.min(received.length, HTTP2_PREFACE.length);
      const looksLikeHttp2 = received
        .subarray(0, compared)
        .equals(HTTP2_PREFACE.subarray(0, compared));
      if (looksLikeHttp2 && received.length < HTTP2_PREFACE.length) return; // wait for the rest
      socket.off("data", onData);
      socket.pause();
      socket.setTimeout(0);
      socket.off("timeout", tooSlowToStart);
      socket.unshift(received);
      if (looksLikeHttp2) {
        h2.emit("connection", socket); // reads from the socket itself
      } else {
        http1.emit("connection", socket);
        socket.resume(); // the HTTP/1.1 parser reads through the stream, which is paused
      }
    };
    socket.on("data", onData);
  });
  // The HTTP/1.1 server never listens itself, yet its connection tracking
  // (header time-outs, closeAllConnections) starts on 'listening'.
  tcp.on("listening", () => http1.emit("listening"));
  tcp.on("close", () => {
    http1.close();
    guards.close();
  });
  return { listener: tcp, http1, http2: h2, sockets, refused: guards.refused };
}
