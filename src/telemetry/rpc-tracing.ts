/**
 * A SERVER span per RPC, after the OpenTelemetry RPC conventions: named
 * `{rpc.method}` (`kinesis.gateway.v1.ProducerService/PutRecords`),
 * `rpc.system.name` `grpc` for gRPC and gRPC-Web and `connectrpc` for
 * Connect, `rpc.status_code`, and `error.type` only for the codes that are
 * server errors. The caller's context comes from the W3C `traceparent`,
 * `tracestate` and `baggage` headers (or whatever `OTEL_PROPAGATORS` says).
 * A streaming call is covered until its last message. The call's duration
 * goes to the `rpc.server.call.duration` histogram.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type Attributes,
  context,
  type Meter,
  propagation,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { DURATION_BUCKETS_SECONDS } from "./buckets.ts";

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

/** The codes a server reports as its own failure (the RPC conventions' list). */
const SERVER_ERRORS = new Set<Code>([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/** `DEADLINE_EXCEEDED` for gRPC, `deadline_exceeded` for Connect; gRPC spells `CANCELLED`, Connect `canceled`. */
function statusCodeName(code: Code | undefined, grpc: boolean): string {
  if (code === Code.Canceled) return grpc ? "CANCELLED" : "canceled";
  const name =
    code === undefined ? "OK" : Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
  return grpc ? name : name.toLowerCase();
}

export interface RpcTracingOptions {
  tracer: Tracer;
  meter: Meter;
  /** Whether spans are recorded at all; without, only the duration is measured. */
  tracing: boolean;
}

export function createRpcTracingInterceptor(options: RpcTracingOptions): Interceptor {
  const duration = options.meter.createHistogram("rpc.server.call.duration", {
    description: "Duration of RPCs handled by the gateway",
    unit: "s",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS },
  });
  return (next) => async (req) => {
    const started = performance.now();
    const grpc = (req.header.get("content-type") ?? "").startsWith("application/grpc");
    const method = `${req.service.typeName}/${req.method.name}`;
    const attributes: Attributes = {
      "rpc.system.name": grpc ? "grpc" : "connectrpc",
      "rpc.method": method,
    };
    const parent = options.tracing
      ? propagation.extract(context.active(), req.header, headerGetter)
      : undefined;
    const span =
      parent &&
      options.tracer.startSpan(
        method,
        { kind: SpanKind.SERVER, attributes: { ...attributes, ...serverOf(req) } },
        parent,
      );

    const finish = (err?: unknown) => {
      const code = err === undefined ? undefined : ConnectError.from(err).code;
      const status = statusCodeName(code, grpc);
      span?.setAttribute("rpc.status_code", status);
      const metricAttributes: Attributes = { ...attributes, "rpc.status_code": status };
      if (code !== undefined && SERVER_ERRORS.has(code)) {
        span?.setAttribute("error.type", status);
        span?.setStatus({ code: SpanStatusCode.ERROR, message: ConnectError.from(err).rawMessage });
        metricAttributes["error.type"] = status;
      }
      span?.end();
      duration.record((performance.now() - started) / 1000, metricAttributes);
    };

    try {
      const res =
        parent && span
          ? await context.with(trace.setSpan(parent, span), () => next(req))
          : await next(req);
      if (!res.stream) {
        finish();
        return res;
      }
      return { ...res, message: traceStream(res.message, finish) };
    } catch (err) {
      finish(err);
      throw err;
    }
  };
}

/** The longest host name DNS allows; a longer `Host` names no server. */
const MAX_HOST_NAME_LENGTH = 253;

/**
 * `server.address` and `server.port` from the request's authority, for the
 * span only: it is the client's text, so it never becomes a metric attribute
 * (each distinct value would be a time series kept until the process ends),
 * and on the span only when it is a plausible host name.
 */
function serverOf(req: { header: Headers; url: string }): Attributes {
  const authority = req.header.get("host") ?? new URL(req.url).host;
  if (!authority || authority.length > MAX_HOST_NAME_LENGTH + 8) return {};
  if (!URL.canParse(`http://${authority}`)) return {};
  const { hostname, port } = new URL(`http://${authority}`);
  const address = hostname.replace(/^\[(.*)\]$/, "$1");
  if (address.length > MAX_HOST_NAME_LENGTH) return {};
  return port
    ? { "server.address": address, "server.port": Number(port) }
    : { "server.address": address };
}

/** Ends the span when the stream ends, however it ends. */
async function* traceStream<T>(
  messages: AsyncIterable<T>,
  finish: (err?: unknown) => void,
): AsyncIterable<T> {
  let failure: unknown;
  try {
    yield* messages;
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    finish(failure);
  }
}
