/**
 * The gateway's one port: gRPC, gRPC-Web and Connect on HTTP/1.1 and h2c,
 * plus the health endpoints.
 */
import type http2 from "node:http2";
import type net from "node:net";
import { Code, ConnectError, createContextValues, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { type Authenticator, bearerToken } from "../auth/tokens.ts";
import type { Backend } from "../backends/backend.ts";
import { MAX_PUT_RECORDS_BYTES } from "../kinesis/limits.ts";
import { rateLimitedLog } from "../logger.ts";
import { principalKey } from "../services/auth-interceptor.ts";
import type { AnswerAdmission } from "../services/consumer-service.ts";
import type { FaultServiceOptions } from "../services/fault-service.ts";
import type { HealthRegistry } from "../services/health.ts";
import type { ProduceOptions } from "../services/produce.ts";
import { PUT_RECORDS_PATH } from "../services/put-records-fast-path.ts";
import { requestMaxBytes } from "../services/routes.ts";
import type { Subscriptions } from "../subscriptions/subscriptions.ts";
import type { MetricsHandler } from "../telemetry/telemetry.ts";
import { isWireRequest, type WireRequest, type WireResponse } from "../wire/wire-handler.ts";
import {
  type AdmissionLimits,
  BODY_RATE_WINDOW_MS,
  createConnectionRegistry,
} from "./connections.ts";
import { refusingCostlyBodies } from "./decode-guard.ts";
import {
  createOnePortServer,
  DEFAULT_PORT_LIMITS,
  type PortLimits,
  type RequestHandler,
  type TlsOptions,
} from "./one-port.ts";
import {
  type BodyBudget,
  type BodyRefusal,
  BodyRefusedError,
  cancelCall,
  clientGone,
  createBodyBudget,
  type GuardedBody,
  guardBody,
  releaseAfterAnswer,
} from "./request-body.ts";
import { createRpcHandler } from "./rpc-handler.ts";

/**
 * The largest request body read. A valid `PutRecords` holds at most 10 MiB
 * of data and keys (a single record too, on a stream raised to 10,240 KiB);
 * in Connect JSON and the wire API's JSON the data is base64 (4/3 larger),
 * plus field names and framing. Anything larger is refused as soon as its
 * length is known, without being buffered.
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
  /** Largest request message accepted. Default `DEFAULT_READ_MAX_BYTES` (about 14.3 MiB). */
  readMaxBytes?: number;
  /**
   * Tokens: a call without a valid one is refused from its headers, before
   * a byte of its body is read. Default: none needed.
   */
  auth?: Authenticator | undefined;
  /** Connection limits and time-outs. Default `DEFAULT_PORT_LIMITS`. */
  limits?: Partial<PortLimits> | undefined;
  /** Which connections are admitted and kept. Default `DEFAULT_ADMISSION`. */
  admission?: Partial<AdmissionLimits> | undefined;
  /** What request bodies may hold. Default: `DEFAULT_BODY_BUDGET_BYTES`, a quarter per connection. */
  bodyBudget?: BodyBudget | undefined;
  /** What read answers being made may hold. Default: no bound. */
  answers?: AnswerAdmission | undefined;
  /** SubscribeToShard's sources for gRPC. Default: GetRecords polled through the backend. */
  subscriptions?: Subscriptions | undefined;
  /** Serve TLS (h2 and http/1.1 by ALPN) instead of cleartext. */
  tls?: TlsOptions | undefined;
  /** Aborted when a drain begins: long-lived streams end with UNAVAILABLE. */
  shutdown?: AbortController;
  /** What `grpc.health.v1.Health` reports. */
  health?: HealthRegistry | undefined;
  /** What `Produce` works with. Default: a producer of its own over the backend. */
  produce?: ProduceOptions | undefined;
  /** The fault rules `FaultService` changes. Default: none, and the service refuses. */
  faults?: FaultServiceOptions | undefined;
  /**
   * Serve gRPC `PutRecords` through the specialised codec. Default true; the
   * tests turn it off to compare the answers of both paths.
   */
  fastPath?: boolean | undefined;
}

export const DEFAULT_ADMISSION: AdmissionLimits = {
  maxConnections: 1000,
  maxConnectionsPerAddress: 256,
  idleTimeoutMs: DEFAULT_PORT_LIMITS.idleTimeoutMs,
  headerTimeoutMs: DEFAULT_PORT_LIMITS.headerTimeoutMs,
  minBodyBytesPerWindow: 1024 * (BODY_RATE_WINDOW_MS / 1000),
  maxCallsInFlight: 2000,
  maxStreamingCalls: 1000,
  maxPendingAnswerBytes: 64 * 1024 * 1024,
  answerStallMs: 10_000,
};
export const DEFAULT_BODY_BUDGET_BYTES = 64 * 1024 * 1024;

export interface GatewayServer {
  /**
   * Listens; port 0 picks a free port. Resolves with the bound address.
   * With `reusePort`, other listeners on the same port share its connections
   * (Linux's SO_REUSEPORT: the kernel spreads them).
   */
  listen(port: number, host?: string, reusePort?: boolean): Promise<net.AddressInfo>;
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

/** The one RPC whose request is a stream of messages for the call's lifetime. */
const PRODUCE_PATH = "/kinesis.gateway.v1.ProducerService/Produce";

type NodeRequest = Parameters<RequestHandler>[0];
type NodeResponse = Parameters<RequestHandler>[1];

function sendJson(res: NodeResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}

/**
 * An answer's bytes not yet sent: on HTTP/2 what Node holds for the stream
 * until the client's flow-control window lets it go (`bufferSize`); on
 * HTTP/1.1 what waits in the response and the socket (`res.writableLength`
 * counts both).
 *
 * Node counts a write as waiting until all of it is out, so a 14 MB answer
 * written at once showed no progress while its client read it at 3 MB/s,
 * and was cut as stalled (an outside tester's finding). What the kernel has
 * taken of the write under way is what libuv no longer queues
 * (`writeQueueSize`, on the socket's handle; an answer is written in one
 * go, so the socket holds little besides that write). Where the handle does
 * not tell, the answer counts whole until written.
 */
function unsentBytes(req: NodeRequest, res: NodeResponse): number {
  if (req.httpVersionMajor === 2) {
    return (req as unknown as http2.Http2ServerRequest).stream.bufferSize ?? 0;
  }
  const inSocket = req.socket?.writableLength ?? 0;
  const handle = (req.socket as { _handle?: { writeQueueSize?: unknown } } | null)?._handle;
  const queued = handle?.writeQueueSize;
  const taken = typeof queued === "number" ? Math.max(0, inSocket - queued) : 0;
  return res.writableLength - taken;
}

/** Operations whose answers can be megabytes: they wait for room among the unread answers. */
const readsLarge = (pathOrTarget: string) =>
  pathOrTarget.endsWith("/GetRecords") ||
  pathOrTarget.endsWith(".GetRecords") ||
  pathOrTarget.endsWith("/SubscribeToShard") ||
  pathOrTarget.endsWith(".SubscribeToShard");

/**
 * Calls `admit` with the size of each chunk of the answer before it is
 * written; a chunk it refuses is not written (the call is being cut off).
 * Every protocol writes its answers through `write` and `end`.
 */
function meterAnswer(res: NodeResponse, admit: (bytes: number) => boolean): void {
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const end = res.end.bind(res) as (chunk?: unknown, ...rest: unknown[]) => NodeResponse;
  const sizeOf = (chunk: unknown) =>
    typeof chunk === "string" ? Buffer.byteLength(chunk) : ((chunk as Uint8Array)?.byteLength ?? 0);
  res.write = ((chunk: unknown, ...rest: unknown[]) =>
    admit(sizeOf(chunk)) ? write(chunk, ...rest) : false) as NodeResponse["write"];
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk === "function" || chunk === undefined || admit(sizeOf(chunk))) {
      return end(chunk, ...rest);
    }
    return res;
  }) as NodeResponse["end"];
}

export function createGatewayServer(options: GatewayServerOptions): GatewayServer {
  const { logger } = options;
  const state = { ready: false };
  const admission = { ...DEFAULT_ADMISSION, ...options.admission };
  const connections = createConnectionRegistry(admission);
  const budget =
    options.bodyBudget ??
    createBodyBudget(DEFAULT_BODY_BUDGET_BYTES, DEFAULT_BODY_BUDGET_BYTES / 4);
  const logFailure = rateLimitedLog((fields, message) => logger.error(fields, message));

  /** The request's body, within the budget and the minimum rate, failing with `errorFor`'s errors. */
  const bodyOf = (
    req: NodeRequest,
    res: NodeResponse,
    errorFor: (reason: BodyRefusal) => Error,
    streamed = false,
  ): GuardedBody => {
    const body = guardBody(req, {
      budget,
      connection: connections.of(req),
      watch: admission.minBodyBytesPerWindow > 0 ? connections.watchBody : undefined,
      streamed,
      errorFor: (reason) => {
        // The connection cannot be reused: the rest of the body will not be read.
        if (req.httpVersionMajor === 1 && !res.headersSent) res.setHeader("connection", "close");
        return errorFor(reason);
      },
    });
    res.once("close", () => body.release());
    return body;
  };

  const serveWire = (req: NodeRequest, res: NodeResponse) => {
    const body = bodyOf(req, res, (reason) => new BodyRefusedError(reason, refusalText(reason)));
    const target = String(req.headers["x-amz-target"]);
    if (readsLarge(target) && !connections.answersHaveRoom()) body.refuse("answers");
    // A subscription is a streaming call, as gRPC's: counted, and given up first to make room.
    const connection = target.endsWith(".SubscribeToShard") ? connections.of(req) : undefined;
    if (connection !== undefined) {
      const end = connections.startStreamingCall(connection, () => cancelCall(req));
      if (end === undefined) body.refuse("streams");
      else res.once("close", end);
    }
    const wireReq: WireRequest = {
      method: req.method,
      url: req.url,
      headers: req.headers,
      [Symbol.asyncIterator]: () => body[Symbol.asyncIterator](),
    };
    options.wireHandler!(wireReq, res).catch((err: unknown) => {
      if (clientGone(req, res)) {
        logger.debug({ err }, "a wire API client went away");
      } else {
        logFailure({ err }, "wire request failed");
        res.destroy();
      }
    });
  };

  const fallback = (req: NodeRequest, res: NodeResponse) => {
    if (options.wireHandler && isWireRequest(req.headers)) return serveWire(req, res);
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

  function refusalText(reason: BodyRefusal): string {
    switch (reason) {
      case "budget":
        return `The gateway holds as many request bytes as it may (${budget.maxBytes} in all, ${budget.maxBytesPerConnection} per connection); retry after a backoff.`;
      case "too-slow":
        return `The request body arrived slower than ${admission.minBodyBytesPerWindow} bytes in ${BODY_RATE_WINDOW_MS / 1000} s; the gateway stopped waiting for it.`;
      case "refused":
        return "unauthenticated";
      case "answers":
        return `The gateway holds as many unread answers as it may (${admission.maxPendingAnswerBytes} bytes); retry after a backoff.`;
      case "streams":
        return `The gateway serves as many streaming calls as it may (${admission.maxStreamingCalls}); retry after a backoff.`;
    }
  }

  const rpcErrorFor = (reason: BodyRefusal): Error =>
    new ConnectError(
      refusalText(reason),
      reason === "budget" || reason === "streams" || reason === "answers"
        ? Code.ResourceExhausted
        : reason === "too-slow"
          ? Code.DeadlineExceeded
          : Code.Unauthenticated,
    );
  const readMaxBytes = options.readMaxBytes ?? DEFAULT_READ_MAX_BYTES;
  const handler = createRpcHandler({
    backend: options.backend,
    logger,
    interceptors: options.interceptors,
    readMaxBytes,
    shutdown: options.shutdown?.signal,
    health: options.health,
    answers: options.answers,
    subscriptions: options.subscriptions,
    produce: options.produce,
    faults: options.faults,
    fastPath: options.fastPath,
    fallback,
    prepare: (req, res, path, streaming) => {
      const connection = connections.of(req);
      let streamingRefused = false;
      if (streaming && connection !== undefined) {
        const end = connections.startStreamingCall(connection, () => cancelCall(req));
        if (end !== undefined) {
          res.once("close", end);
        } else if (req.httpVersionMajor === 2) {
          // HTTP/2's own "not now" (gRPC clients see UNAVAILABLE), which costs
          // next to nothing; a session that keeps asking is closed.
          cancelCall(req);
          server.refused(
            (req as unknown as http2.Http2ServerRequest).stream.session as http2.ServerHttp2Session,
          );
          return undefined;
        } else {
          streamingRefused = true;
        }
      }
      const body = bodyOf(req, res, rpcErrorFor, path === PRODUCE_PATH);
      const contextValues = createContextValues();
      if (streamingRefused) body.refuse("streams");
      if (readsLarge(path) && !connections.answersHaveRoom()) body.refuse("answers");
      const auth = options.auth;
      if (auth?.enabled && !path.startsWith("/grpc.health.")) {
        const principal = auth.identify(bearerToken(req.headers.authorization));
        if (principal === undefined) body.refuse("refused");
        else contextValues.set(principalKey, principal);
      }
      const encoding =
        req.headers["grpc-encoding"] ??
        req.headers["connect-content-encoding"] ??
        req.headers["content-encoding"];
      const counted = refusingCostlyBodies(body, {
        contentType: req.headers["content-type"] ?? "",
        encoding: typeof encoding === "string" ? encoding : undefined,
        readMaxBytes: requestMaxBytes(path, readMaxBytes),
        method: path.slice(1),
        declaredLength:
          req.headers["content-length"] === undefined
            ? undefined
            : Number(req.headers["content-length"]),
        putRecords: path === PUT_RECORDS_PATH || path === PRODUCE_PATH,
        everyMessage: path === PRODUCE_PATH,
        drainRefused: req.httpVersionMajor === 1,
      });
      return { body: counted, contextValues };
    },
    logFailure,
  });
  let inFlight = 0;
  let draining = false;
  /** Counts calls in flight, per connection too; while draining, HTTP/1.1 answers close their connection. */
  const tracked: RequestHandler = (req, res) => {
    inFlight++;
    const connection = connections.of(req);
    const endCall = connection === undefined ? undefined : connections.startCall(connection);
    const answer = connections.watchAnswer(
      () => unsentBytes(req, res),
      () => cancelCall(req),
    );
    meterAnswer(res, (bytes) => {
      if (answer.writing(bytes)) return true;
      cancelCall(req);
      return false;
    });
    res.once("close", () => {
      inFlight--;
      endCall?.();
      answer.stop();
    });
    releaseAfterAnswer(req, res);
    if (draining && req.httpVersionMajor === 1) res.setHeader("connection", "close");
    handler(req, res);
  };
  const server = createOnePortServer({
    handler: tracked,
    connections,
    limits: options.limits,
    tls: options.tls,
    onCalm: (why) => logger.debug({ why }, "closed an HTTP/2 connection that misbehaved"),
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
    listen(port, host, reusePort = false) {
      return new Promise((resolve, reject) => {
        server.listener.once("error", reject);
        server.listener.listen({ port, host: host || undefined, reusePort }, () => {
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
      connections.close();
      await closed;
    },
  };
}
