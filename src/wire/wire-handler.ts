/**
 * The Kinesis wire API on the gateway's port: `POST /` with
 * `X-Amz-Target: Kinesis_20131202.<Operation>`, JSON 1.1 or CBOR 1.1 bodies,
 * over HTTP/1.1 or HTTP/2, so the AWS CLI and every AWS SDK work with
 * `--endpoint-url`. Signatures are accepted without being checked; a request
 * with no `Authorization` at all gets AWS's MissingAuthenticationTokenException.
 * Errors are AWS's: `__type` and `message`, 400 or 500, `x-amzn-RequestId`.
 * SubscribeToShard, given the subscriptions, answers an event stream
 * (`subscribe-to-shard.ts`); a refused subscription is a failed call like any.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import {
  type Attributes,
  context,
  type Meter,
  propagation,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { Logger } from "pino";
import { type Authenticator, accessKeyId, type Principal } from "../auth/tokens.ts";
import type { Backend } from "../backends/backend.ts";
import { GatewayError, KinesisError } from "../kinesis/errors.ts";
import { assertRecordCountDecodable, MAX_DECODED_RECORDS } from "../kinesis/validation.ts";
import { type LogLine, rateLimitedLog } from "../logger.ts";
import { BodyRefusedError } from "../server/request-body.ts";
import type { AnswerAdmission } from "../services/consumer-service.ts";
import type { Subscriptions } from "../subscriptions/subscriptions.ts";
import { DURATION_BUCKETS_SECONDS } from "../telemetry/buckets.ts";
import {
  type Body,
  CONTENT_TYPES,
  decodeBody,
  encodeBody,
  formatOf,
  Members,
  type WireFormat,
} from "./codec.ts";
import { operations } from "./operations.ts";
import {
  cborHasMoreContainers,
  countWireRecords,
  jsonHasMoreContainers,
  MAX_DECODED_CONTAINERS,
  tooManyContainers,
} from "./record-count.ts";
import {
  readSubscribeToShardInput,
  type StreamingResponse,
  SUBSCRIBE_TO_SHARD,
  type SubscriptionOutcome,
  streamSubscription,
} from "./subscribe-to-shard.ts";

export const TARGET_PREFIX = "Kinesis_20131202.";

/** What the handler needs of a request and a response, on HTTP/1.1 and HTTP/2 alike. */
export interface WireRequest extends AsyncIterable<Uint8Array> {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

export interface WireResponse extends StreamingResponse {
  end(): unknown;
  end(body: Uint8Array): unknown;
  readonly writableFinished: boolean;
}

export interface WireHandlerOptions {
  backend: Backend;
  /** Tokens, as AWS access key ids; without any, every signed request is allowed. */
  auth: Authenticator;
  logger: Logger;
  tracer: Tracer;
  meter: Meter;
  /** Whether spans are recorded at all; without, only the duration is measured. */
  tracing: boolean;
  /** Largest body read; larger ones get 413, as from AWS. */
  maxBodyBytes: number;
  /** SubscribeToShard's sources; without them SubscribeToShard is an unknown operation. */
  subscriptions?: Subscriptions | undefined;
  /** Admits each SubscribeToShard event to be made within a memory budget. Default: no budget. */
  answers?: AnswerAdmission | undefined;
}

/** Whether a request is meant for the Kinesis wire API rather than Connect. */
export const isWireRequest = (headers: IncomingHttpHeaders) =>
  headers["x-amz-target"] !== undefined;

interface WireError {
  status: number;
  type: string;
  message?: string | undefined;
}

/** Refuses a body that would cost far more to decode than any request does (see record-count.ts). */
function refuseCostly(format: WireFormat, bytes: Buffer): void {
  const tooMany =
    format === "json"
      ? jsonHasMoreContainers(bytes, MAX_DECODED_CONTAINERS)
      : cborHasMoreContainers(bytes, MAX_DECODED_CONTAINERS);
  if (tooMany) throw tooManyContainers();
}

/** Refuses a PutRecords body with too many entries to decode, before it is decoded. */
function refuseCostlyRecords(format: WireFormat, bytes: Buffer): void {
  assertRecordCountDecodable(countWireRecords(format, bytes, MAX_DECODED_RECORDS));
  refuseCostly(format, bytes);
}

/** How a call whose client went away is counted: it has no answer, and is not the server's failure. */
const CLIENT_GONE: WireError = { status: 499, type: "CANCELLED" };

/** A body the gateway stopped reading, as AWS SDKs retry it. */
function refusedBodyError(err: BodyRefusedError): WireError {
  return err.reason === "too-slow"
    ? { status: 408, type: "RequestTimeout", message: err.message }
    : { status: 503, type: "ServiceUnavailable", message: err.message };
}

/** A failure as AWS would answer it. */
function wireErrorOf(err: unknown, logFailure: LogLine): WireError {
  if (err instanceof KinesisError) {
    const status =
      err.type === "ServiceUnavailable" ? 503 : err.type === "InternalFailure" ? 500 : 400;
    return { status, type: err.type, message: err.message || undefined };
  }
  if (err instanceof GatewayError) {
    switch (err.kind) {
      case "unavailable":
        return { status: 503, type: "ServiceUnavailable", message: err.message };
      case "timeout":
        return { status: 500, type: "InternalFailure", message: err.message };
      case "overloaded":
        return { status: 400, type: "ThrottlingException", message: err.message };
      case "unrouted":
        return { status: 400, type: "ResourceNotFoundException", message: err.message };
      case "forbidden":
        return { status: 400, type: "AccessDeniedException", message: err.message };
    }
  }
  logFailure({ err }, "unexpected error");
  return { status: 500, type: "InternalFailure", message: "Internal service failure." };
}

class BodyTooLarge extends Error {}

async function readBody(req: WireRequest, maxBytes: number): Promise<Body> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyTooLarge();
    const bytes: Uint8Array = chunk;
    chunks.push(
      Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
    );
  }
  return { chunks, size };
}

const headerGetter = {
  keys: (carrier: IncomingHttpHeaders) => Object.keys(carrier),
  get: (carrier: IncomingHttpHeaders, key: string) => carrier[key],
};

export function createWireHandler(options: WireHandlerOptions) {
  const { backend, logger, tracer } = options;
  const logFailure = rateLimitedLog((fields, message) => logger.error(fields, message));
  const duration = options.meter.createHistogram("rpc.server.call.duration", {
    description: "Duration of RPCs handled by the gateway",
    unit: "s",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS },
  });
  // Events and records are counted by the subscriptions (every protocol); here, how each ended.
  const wireSubscriptions = options.meter.createCounter(
    "kinesis_gateway.wire.subscriptions.ended",
    {
      description:
        "Wire API SubscribeToShard answers that ended, by how: lifetime, shutdown, caller, source, exception",
      unit: "{subscription}",
    },
  );

  /** The request ids AWS puts on every answer. */
  const requestIds = () => ({
    "x-amzn-RequestId": randomUUID(),
    "x-amz-id-2": randomBytes(48).toString("base64"),
  });

  function send(res: WireResponse, format: WireFormat, status: number, body: Uint8Array): void {
    res.statusCode = status;
    res.setHeader("content-type", CONTENT_TYPES[format]);
    for (const [name, value] of Object.entries(requestIds())) res.setHeader(name, value);
    res.setHeader("content-length", body.length);
    res.end(body);
  }

  /** The caller a signed request names, or the AWS error for an unsigned or unknown one. */
  function authenticate(req: WireRequest): Principal {
    // A presigned request carries its signature in the query instead.
    const signed =
      Boolean(req.headers.authorization) || /[?&]X-Amz-Algorithm=/i.test(req.url ?? "");
    if (!signed) {
      throw new KinesisError("MissingAuthenticationTokenException", "Missing Authentication Token");
    }
    const principal = options.auth.identify(accessKeyId(req.headers.authorization, req.url));
    if (principal === undefined) {
      throw new KinesisError(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      );
    }
    return principal;
  }

  return async function handleWire(req: WireRequest, res: WireResponse): Promise<void> {
    const started = performance.now();
    const format = formatOf(req.headers["content-type"]);
    if (format === undefined || req.method !== "POST") {
      // What AWS answers a body it cannot read as an AWS protocol.
      const body = Buffer.from(
        JSON.stringify({
          Output: { __type: "com.amazon.coral.service#UnknownOperationException" },
          Version: "1.0",
        }),
      );
      res.statusCode = 404;
      res.setHeader("content-type", "application/json");
      res.end(body);
      return;
    }
    const target = String(req.headers["x-amz-target"] ?? "");
    const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
    const subscribing = name === SUBSCRIBE_TO_SHARD && options.subscriptions !== undefined;
    const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
    const known = operation !== undefined || subscribing;

    const attributes: Attributes = {
      "rpc.system.name": "aws-api",
      "rpc.method": known ? target : "_OTHER",
    };
    const parent = options.tracing
      ? propagation.extract(context.active(), req.headers, headerGetter)
      : undefined;
    const span =
      parent &&
      tracer.startSpan(known ? target : "aws-api", { kind: SpanKind.SERVER, attributes }, parent);
    const aborted = new AbortController();
    res.once("close", () => {
      // Over HTTP/2 a stream the client reset may show `writableFinished`
      // with its answer never ended: only an ended answer is a finished one.
      if (!res.writableEnded || !res.writableFinished)
        aborted.abort(new GatewayError("unavailable", "The caller went away."));
    });

    let outcome: WireError | undefined;
    let subscribed: SubscriptionOutcome | undefined;
    const fail = (error: WireError) => {
      outcome = error;
      send(
        res,
        format,
        error.status,
        encodeBody(format, { __type: error.type, message: error.message }),
      );
    };
    try {
      const serve = async () => {
        // Everything that can be refused from the headers is, before a byte of the body is read.
        if (Number(req.headers["content-length"] ?? 0) > options.maxBodyBytes) {
          return tooLarge();
        }
        let principal: Principal | undefined;
        try {
          if (!known) {
            throw new KinesisError("UnknownOperationException", "");
          }
          principal = authenticate(req);
        } catch (err) {
          return fail(wireErrorOf(err, logFailure));
        }
        let body: Body;
        try {
          body = await readBody(req, options.maxBodyBytes);
        } catch (err) {
          if (err instanceof BodyTooLarge) return tooLarge();
          if (err instanceof BodyRefusedError) return fail(refusedBodyError(err));
          // The client went away mid-body: nobody is there to answer.
          outcome = CLIENT_GONE;
          logger.debug({ err }, "a wire API client went away before its request was read");
          return;
        }
        try {
          const members = new Members(
            decodeBody(format, body, name === "PutRecords" ? refuseCostlyRecords : refuseCostly),
            format,
          );
          if (subscribing) {
            // A refusal rejects here, and is answered as any failed call.
            const subscription = await options.subscriptions!.subscribe(
              readSubscribeToShardInput(members),
              { signal: aborted.signal, principal },
              { requireConsumer: true },
            );
            subscribed = await streamSubscription(
              res,
              format,
              subscription,
              requestIds(),
              logFailure,
              options.answers && { answers: options.answers, signal: aborted.signal },
            );
            return;
          }
          const out = await operation!(members, backend, { signal: aborted.signal, principal });
          send(res, format, 200, encodeBody(format, out));
        } catch (err) {
          if (res.destroyed) {
            outcome = CLIENT_GONE;
            return;
          }
          const error = wireErrorOf(err, logFailure);
          // A subscription's answer may have begun: it has been ended, and cannot carry an error.
          if (res.writableEnded) outcome = error;
          else fail(error);
        }
      };
      const tooLarge = () => {
        outcome = { status: 413, type: "RequestEntityTooLarge" };
        res.statusCode = 413;
        res.end(new Uint8Array(0));
      };
      await (parent && span ? context.with(trace.setSpan(parent, span), serve) : serve());
    } finally {
      const status = outcome?.status ?? 200;
      span?.setAttribute("http.response.status_code", status);
      // A subscription's answer is a 200 whatever follows: its status is how its stream ended.
      const statusCode = outcome?.type ?? subscribed?.exceptionType ?? "OK";
      const metricAttributes: Attributes = { ...attributes, "rpc.status_code": statusCode };
      span?.setAttribute("rpc.status_code", statusCode);
      if (subscribed !== undefined) {
        span?.setAttributes({
          "kinesis_gateway.subscription.end": subscribed.end,
          "kinesis_gateway.subscription.events": subscribed.events,
          "kinesis_gateway.subscription.records": subscribed.records,
        });
        wireSubscriptions.add(1, { "kinesis_gateway.subscription.end": subscribed.end });
        if (subscribed.exceptionType === "InternalFailureException") {
          span?.setAttribute("error.type", subscribed.exceptionType);
          span?.setStatus({ code: SpanStatusCode.ERROR, message: subscribed.exceptionType });
        }
      }
      if (status >= 500) {
        span?.setAttribute("error.type", outcome!.type);
        span?.setStatus({ code: SpanStatusCode.ERROR, message: outcome!.type });
        metricAttributes["error.type"] = outcome!.type;
      }
      span?.end();
      duration.record((performance.now() - started) / 1000, metricAttributes);
    }
  };
}
