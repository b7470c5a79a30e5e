/**
 * The gateway's one port: gRPC, gRPC-Web and Connect on HTTP/1.1 and h2c,
 * plus the health endpoints.
 */
import type http2 from "node:http2";
import type net from "node:net";
import { Code, ConnectError, createConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "pino";
import type { Backend } from "../backends/backend.ts";
import { MAX_PUT_RECORDS_BYTES } from "../kinesis/limits.ts";
import { createErrorInterceptor } from "../services/errors.ts";
import type { HealthRegistry } from "../services/health.ts";
import { createPutRecordsFastPath, PUT_RECORDS_PATH } from "../services/put-records-fast-path.ts";
import { createRoutes } from "../services/routes.ts";
import type { MetricsHandler } from "../telemetry/telemetry.ts";
import { isWireRequest, type WireRequest, type WireResponse } from "../wire/wire-handler.ts";
import {
  createOnePortServer,
  type PortLimits,
  type RequestHandler,
  type TlsOptions,
} from "./one-port.ts";

/**
 * The largest request body read. A valid `PutRecords` holds at most 5 MiB
 * of data and keys; in Connect JSON the data is base64 (4/3 larger), plus
 * field names and framing. Anything larger is refused as soon as its length
 * is known, without being buffered.
 */
export const DEFAULT_READ_MAX_BYTES = Math.ceil((MAX_PUT_RECORDS_BYTES * 4) / 3) + 1024 * 1024;

export interface GatewayServerOptions {
  backend: Backend;
  logger: Logger;
  /** Interceptors before the error mapping (they see Connect errors). */
  interceptors?: Interceptor[];
  /** Serves the Kinesis wire API (requests with `X-Amz-Target`); without it they are 404. */
  wireHandler?: ((req: WireRequest, res: WireResponse) => Promise<void>) | undefined;
  /** Serves `GET /metrics`; without it the path is 404. */
  metricsHandler?: MetricsHandler | undefined;
  /** Whether the backends can serve; `/readyz` also needs it. Default: always. */
  isReady?: () => boolean;
  /** Largest request message accepted. Default `DEFAULT_READ_MAX_BYTES` (about 7.7 MiB). */
  readMaxBytes?: number;
  /** Connection limits and time-outs. Default `DEFAULT_PORT_LIMITS`. */
  limits?: Partial<PortLimits> | undefined;
  /** Serve TLS (h2 and http/1.1 by ALPN) instead of cleartext. */
  tls?: TlsOptions | undefined;
  /** Aborted when a drain begins: long-lived streams end with UNAVAILABLE. */
  shutdown?: AbortController;
  /** What `grpc.health.v1.Health` reports. */
  health?: HealthRegistry | undefined;
  /**
   * Serve gRPC `PutRecords` through the specialised codec. Default true; the
   * tests turn it off to compare the answers of both paths.
   */
  fastPath?: boolean | undefined;
}

export interface GatewayServer {
  /** Listens; port 0 picks a free port. Resolves with the bound address. */
  listen(port: number, host?: string): Promise<net.AddressInfo>;
  /**
   * Drains: stops accepting connections, sends HTTP/2 GOAWAY, ends long-lived
   * streams, lets calls in flight finish for up to `drainMs`, then closes
   * every connection. Resolves when closed.
   */
  close(drainMs?: number): Promise<void>;
  /** Calls being served now. */
  readonly inFlight: number;
  /** Whether `/readyz` reports ready. */
  ready: boolean;
}

function sendJson(res: Parameters<RequestHandler>[1], status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}

export function createGatewayServer(options: GatewayServerOptions): GatewayServer {
  const { logger } = options;
  const state = { ready: false };

  const fallback: RequestHandler = (req, res) => {
    if (options.wireHandler && isWireRequest(req.headers)) {
      options.wireHandler(req, res).catch((err: unknown) => {
        logger.error({ err }, "wire request failed");
        res.destroy();
      });
      return;
    }
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (req.method === "GET" && path === "/readyz") {
      return state.ready && (options.isReady?.() ?? true)
        ? sendJson(res, 200, { status: "ready" })
        : sendJson(res, 503, { status: "not ready" });
    }
    if (req.method === "GET" && path === "/metrics" && options.metricsHandler) {
      return options.metricsHandler(res);
    }
    sendJson(res, 404, { error: "not found" });
  };

  const handler = createRpcHandler(options, fallback);
  let inFlight = 0;
  let draining = false;
  /** Counts calls in flight; while draining, HTTP/1.1 answers close their connection. */
  const tracked: RequestHandler = (req, res) => {
    inFlight++;
    res.once("close", () => inFlight--);
    if (draining && req.httpVersionMajor === 1) res.setHeader("connection", "close");
    handler(req, res);
  };
  const server = createOnePortServer({
    handler: tracked,
    limits: options.limits,
    tls: options.tls,
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.http2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  return {
    get ready() {
      return state.ready;
    },
    set ready(value: boolean) {
      state.ready = value;
    },
    get inFlight() {
      return inFlight;
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.listener.once("error", reject);
        server.listener.listen(port, host, () => {
          server.listener.off("error", reject);
          resolve(server.listener.address() as net.AddressInfo);
        });
      });
    },
    async close(drainMs = 0) {
      state.ready = false;
      draining = true;
      const closed = new Promise<void>((resolve) => server.listener.close(() => resolve()));
      options.shutdown?.abort();
      for (const session of sessions) session.close(); // GOAWAY; streams in flight go on
      const deadline = Date.now() + drainMs;
      while (inFlight > 0 && Date.now() < deadline) {
        server.http1?.closeIdleConnections();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (inFlight > 0) logger.warn({ inFlight }, "drain time-out: closing calls still in flight");
      for (const socket of server.sockets) socket.destroy();
      await closed;
    },
  };
}

/**
 * Connect's router behind a Node.js request handler, as `connectNodeAdapter`
 * builds it, except that gRPC `PutRecords` goes through the fast path (which
 * hands Connect whatever it does not take itself).
 */
function createRpcHandler(options: GatewayServerOptions, fallback: RequestHandler): RequestHandler {
  const acceptCompression = [compressionGzip, compressionBrotli];
  const interceptors = [...(options.interceptors ?? []), createErrorInterceptor(options.logger)];
  const readMaxBytes = options.readMaxBytes ?? DEFAULT_READ_MAX_BYTES;
  const router = createConnectRouter({
    interceptors,
    readMaxBytes,
    acceptCompression,
    // Compressed requests are accepted, but answers go out as they are: a
    // PutRecords answer is a small fraction of its request, and on loopback,
    // in a pod or a dev stack, gzip costs more CPU than it saves.
    compressMinBytes: Number.POSITIVE_INFINITY,
  });
  createRoutes(options.backend, {
    shutdown: options.shutdown?.signal,
    health: options.health,
  })(router);
  const paths = new Map<string, UniversalHandler>();
  for (const uHandler of router.handlers) paths.set(uHandler.requestPath, uHandler);
  const generic = paths.get(PUT_RECORDS_PATH);
  if (generic && options.fastPath !== false) {
    paths.set(
      PUT_RECORDS_PATH,
      createPutRecordsFastPath({
        backend: options.backend,
        interceptors,
        acceptCompression,
        readMaxBytes,
        generic,
      }),
    );
  }
  return (req, res) => {
    const uHandler = paths.get(req.url?.split("?", 2)[0] ?? "");
    if (!uHandler) return fallback(req, res);
    uHandler(universalRequestFromNodeRequest(req, res, undefined, undefined))
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        options.logger.error(
          { err: reason, procedure: uHandler.method.name },
          "writing an answer failed",
        );
      });
  };
}
