/**
 * Every protocol on one port. With TLS, ALPN offers h2 and http/1.1 and
 * Node's secure HTTP/2 server serves both. In cleartext Node offers both on
 * one listener only through this module: it reads the first bytes of each
 * connection, and the HTTP/2 connection preface (prior knowledge, as gRPC
 * clients connect) goes to the HTTP/2 server, anything else to HTTP/1.1.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type tls from "node:tls";
import type { connectNodeAdapter } from "@connectrpc/connect-node";

/** A request handler for both HTTP/1.1 and HTTP/2, as Connect's adapter makes. */
export type RequestHandler = ReturnType<typeof connectNodeAdapter>;

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** Room for one 5 MiB `PutRecords` and more besides on each HTTP/2 connection. */
const CONNECTION_WINDOW_BYTES = 8 * 1024 * 1024;

export interface PortLimits {
  /** Open connections at once. */
  maxConnections: number;
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
  maxConnections: 1000,
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
  limits?: Partial<PortLimits> | undefined;
  tls?: TlsOptions | undefined;
}

export interface OnePortServer {
  /** What listens: a TCP server in cleartext, the secure HTTP/2 server with TLS. */
  readonly listener: net.Server;
  /** Cleartext HTTP/1.1; with TLS, HTTP/1.1 is served by `http2`. */
  readonly http1: http.Server | undefined;
  readonly http2: http2.Http2Server | http2.Http2SecureServer;
  /** Every open connection, for the end of a drain. */
  readonly sockets: ReadonlySet<net.Socket>;
}

export function createOnePortServer(options: OnePortOptions): OnePortServer {
  const limits = { ...DEFAULT_PORT_LIMITS, ...options.limits };
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const http2Options = {
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderBytes,
      // A PutRecords can be 5 MiB: let clients send it in large frames
      // without waiting on flow control every 64 KiB.
      maxFrameSize: 1024 * 1024 - 1,
      initialWindowSize: 4 * 1024 * 1024,
    },
    maxHeaderListPairs: 256,
  };
  /**
   * The connection's receive window starts at 64 KiB, which HTTP/2 settings
   * cannot change: with several large calls in flight on one connection,
   * clients would stop every 64 KiB to wait for a window update. Measured
   * with 8 calls of 500 × 1 KiB in flight: about 1.4 × the throughput.
   */
  const enlargeConnectionWindow = (session: http2.ServerHttp2Session) =>
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);

  if (options.tls) {
    const secure = http2.createSecureServer(
      {
        ...http2Options,
        cert: options.tls.cert,
        key: options.tls.key,
        allowHTTP1: true,
        ALPNProtocols: ["h2", "http/1.1"],
        noDelay: true,
        ...(options.tls.clientCa
          ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }
          : {}),
      },
      options.handler,
    );
    secure.setTimeout(limits.idleTimeoutMs);
    secure.on("session", enlargeConnectionWindow);
    secure.maxConnections = limits.maxConnections;
    secure.on("connection", track);
    secure.on("tlsClientError", (_err: Error, socket: tls.TLSSocket) => socket.destroy());
    return { listener: secure, http1: undefined, http2: secure, sockets };
  }

  const http1 = http.createServer(
    {
      headersTimeout: limits.headerTimeoutMs,
      // How often the time-out is checked (Node's default, 30 s, lets a slow client linger).
      connectionsCheckingInterval: Math.min(1_000, limits.headerTimeoutMs / 4),
      maxHeaderSize: limits.maxHeaderBytes,
      requestTimeout: 0, // a deadline is the caller's; streams may be long
      keepAliveTimeout: 5_000,
    },
    options.handler,
  );
  http1.setTimeout(limits.idleTimeoutMs);
  const h2 = http2.createServer(http2Options, options.handler);
  h2.setTimeout(limits.idleTimeoutMs);
  h2.on("session", enlargeConnectionWindow);

  // No Nagle delay: an answer's last frame goes out at once, as in grpc-go.
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    track(socket);
    let received: Buffer = Buffer.alloc(0);
    socket.setTimeout(limits.headerTimeoutMs, () => socket.destroy());
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
  tcp.maxConnections = limits.maxConnections;
  // The HTTP/1.1 server never listens itself, yet its connection tracking
  // (header time-outs, closeAllConnections) starts on 'listening'.
  tcp.on("listening", () => http1.emit("listening"));
  tcp.on("close", () => http1.close());
  return { listener: tcp, http1, http2: h2, sockets };
}
