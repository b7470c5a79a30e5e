/**
 * Connect's router behind a Node.js request handler, as `connectNodeAdapter`
 * builds it, with the gateway's own parts: gRPC `PutRecords` goes through the
 * fast path (which hands Connect whatever it does not take itself), and every
 * body is read through the gateway's guard (`prepare`).
 */

import http2, { type Http2ServerRequest } from "node:http2";
import {
  Code,
  ConnectError,
  type ContextValues,
  createConnectRouter,
  type Interceptor,
} from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { headerGrpcMessage, headerGrpcStatus } from "@connectrpc/connect/protocol-grpc";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "pino";
import type { Backend } from "../backends/backend.ts";
import type { LogLine } from "../logger.ts";
import type { AnswerAdmission } from "../services/consumer-service.ts";
import { fitGrpcStatus } from "../services/error-budget.ts";
import { createErrorInterceptor } from "../services/errors.ts";
import type { FaultServiceOptions } from "../services/fault-service.ts";
import type { HealthRegistry } from "../services/health.ts";
import type { ProduceOptions } from "../services/produce.ts";
import { createPutRecordsFastPath, PUT_RECORDS_PATH } from "../services/put-records-fast-path.ts";
import { createRoutes } from "../services/routes.ts";
import type { Subscriptions } from "../subscriptions/subscriptions.ts";
import type { RequestHandler } from "./one-port.ts";
import { clientGone } from "./request-body.ts";

type NodeRequest = Parameters<RequestHandler>[0];
type NodeResponse = Parameters<RequestHandler>[1];

export interface RpcHandlerOptions {
  backend: Backend;
  logger: Logger;
  /** Interceptors before the error mapping (they see Connect errors). */
  interceptors?: Interceptor[] | undefined;
  readMaxBytes: number;
  /** Aborted when a drain begins: long-lived streams end with UNAVAILABLE. */
  shutdown?: AbortSignal | undefined;
  health?: HealthRegistry | undefined;
  /** What read answers being made may hold. Default: no bound. */
  answers?: AnswerAdmission | undefined;
  /** SubscribeToShard's sources. Default: GetRecords polled through the backend. */
  subscriptions?: Subscriptions | undefined;
  /** What `Produce` works with. Default: a producer of its own over the backend. */
  produce?: ProduceOptions | undefined;
  /** The fault rules `FaultService` changes. Default: none, and the service refuses. */
  faults?: FaultServiceOptions | undefined;
  /** Serve gRPC `PutRecords` through the specialised codec. Default true. */
  fastPath?: boolean | undefined;
  /** Serves what is not an RPC. */
  fallback: RequestHandler;
  /** The body and context values Connect sees for a request to `path`; undefined: already refused. */
  prepare: PrepareRpc;
  /** Failures to write an answer that are not a client going away. */
  logFailure: LogLine;
}

/** What the RPC handler needs of a request before Connect sees it: its guarded body and context. */
export type PrepareRpc = (
  req: NodeRequest,
  res: NodeResponse,
  path: string,
  /** Whether the method streams (server, client or both): the call may last. */
  streaming: boolean,
) => { body: AsyncIterable<Uint8Array>; contextValues: ContextValues } | undefined;

export function createRpcHandler(options: RpcHandlerOptions): RequestHandler {
  const { fallback, prepare, logFailure, readMaxBytes } = options;
  const acceptCompression = [compressionGzip, compressionBrotli];
  const interceptors = [...(options.interceptors ?? []), createErrorInterceptor(options.logger)];
  const router = createConnectRouter({
    interceptors,
    readMaxBytes,
    // Unknown fields are skipped, not kept: each would be an object, and a
    // few kilobytes of them a hundred times as much once decoded.
    binaryOptions: { readUnknownFields: false },
    acceptCompression,
    // Compressed requests are accepted, but answers go out as they are: a
    // PutRecords answer is a small fraction of its request, and on loopback,
    // in a pod or a dev stack, gzip costs more CPU than it saves.
    compressMinBytes: Number.POSITIVE_INFINITY,
  });
  createRoutes(options.backend, {
    shutdown: options.shutdown,
    health: options.health,
    answers: options.answers,
    subscriptions: options.subscriptions,
    producerReadMaxBytes: readMaxBytes,
    produce: options.produce,
    faults: options.faults,
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
    const prepared = prepare(
      req,
      res,
      uHandler.requestPath,
      uHandler.method.methodKind !== "unary",
    );
    if (prepared === undefined) return; // refused before Connect saw it
    const { body, contextValues } = prepared;
    const uReq = universalRequestFromNodeRequest(req, res, undefined, contextValues);
    // The guard in `prepare` refuses a body declared too large, in the
    // gateway's words; Connect would refuse it first, in its own.
    uReq.header.delete("content-length");
    uHandler({ ...uReq, body })
      .then((uRes) => universalResponseToNodeResponse(withFittedStatus(uRes), res))
      .catch((reason: unknown) => {
        // A client that went away (reset, closed, cancelled) is not the server's failure.
        if (ConnectError.from(reason).code === Code.Aborted || clientGone(req, res)) {
          options.logger.debug({ procedure: uHandler.method.name }, "the client went away");
          return;
        }
        logFailure({ err: reason, procedure: uHandler.method.name }, "writing an answer failed");
        answerAnyway(req, res);
      });
  };
}

/**
 * The answer, its gRPC status fitted to the metadata budget once the body is
 * out (Connect sets the status when the body ends). gRPC-Web carries its
 * status in the body, where no metadata limit applies.
 */
function withFittedStatus(uRes: UniversalServerResponse): UniversalServerResponse {
  const { body, trailer } = uRes;
  if (trailer === undefined || !trailer.has(headerGrpcStatus)) return uRes;
  if (body === undefined || body instanceof Uint8Array) {
    fitGrpcStatus(trailer);
    return uRes;
  }
  return {
    ...uRes,
    body: (async function* () {
      yield* body;
      fitGrpcStatus(trailer);
    })(),
  };
}

/**
 * An answer for a call whose own could not be written: every call ends,
 * whatever happened on the way. Before anything is sent, a plain failure the
 * protocol's clients read (gRPC and gRPC-Web: status INTERNAL in the headers;
 * Connect: HTTP 500); after, the stream is reset (HTTP/2) or the connection
 * closed (HTTP/1.1), which every client reads as the end of the call.
 */
function answerAnyway(req: NodeRequest, res: NodeResponse): void {
  if (res.writableEnded) return;
  if (!res.headersSent) {
    const contentType = req.headers["content-type"] ?? "";
    if (/^application\/grpc/i.test(contentType)) {
      res.writeHead(200, {
        "content-type": contentType.startsWith("application/grpc-web")
          ? "application/grpc-web+proto"
          : "application/grpc",
        [headerGrpcStatus]: String(Code.Internal),
        [headerGrpcMessage]: "internal error",
      });
    } else {
      res.writeHead(500, { "content-type": "application/json" });
      res.write('{"code":"internal","message":"internal error"}');
    }
    res.end();
    return;
  }
  if (req.httpVersionMajor === 2) {
    (req as unknown as Http2ServerRequest).stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  } else {
    req.socket.destroy();
  }
}
