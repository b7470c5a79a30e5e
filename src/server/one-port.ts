/**
 * Cleartext HTTP/1.1 and HTTP/2 (prior knowledge, as gRPC clients connect) on
 * one port. Node offers both on one listener only with TLS (ALPN), so this
 * reads the first bytes of each connection: the HTTP/2 connection preface
 * goes to the HTTP/2 server, anything else to the HTTP/1.1 server.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { connectNodeAdapter } from "@connectrpc/connect-node";

/** A request handler for both HTTP/1.1 and HTTP/2, as Connect's adapter makes. */
export type RequestHandler = ReturnType<typeof connectNodeAdapter>;

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export interface OnePortOptions {
  /** Handles every request, whichever the protocol. */
  handler: RequestHandler;
  /** How long a new connection may take to send its first bytes. Default 10 s. */
  firstBytesTimeoutMs?: number;
  /** How long an HTTP/1.1 client may take to send its headers. Default 10 s. */
  headersTimeoutMs?: number;
  /** Idle time after which a connection is closed. Default 60 s. */
  idleTimeoutMs?: number;
}

export interface OnePortServer {
  readonly tcp: net.Server;
  readonly http1: http.Server;
  readonly http2: http2.Http2Server;
}

export function createOnePortServer(options: OnePortOptions): OnePortServer {
  const firstBytesTimeoutMs = options.firstBytesTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const http1 = http.createServer(
    {
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: 0, // a deadline is the caller's; streams may be long
      keepAliveTimeout: 5_000,
    },
    options.handler,
  );
  http1.setTimeout(idleTimeoutMs);
  const h2 = http2.createServer({}, options.handler);
  h2.setTimeout(idleTimeoutMs);

  const tcp = net.createServer((socket) => {
    let received: Buffer = Buffer.alloc(0);
    socket.setTimeout(firstBytesTimeoutMs, () => socket.destroy());
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
  // The HTTP/1.1 server never listens itself, yet its connection tracking
  // (header time-outs, closeAllConnections) starts on 'listening'.
  tcp.on("listening", () => http1.emit("listening"));
  tcp.on("close", () => http1.close());
  return { tcp, http1, http2: h2 };
}
