/**
 * A small OTLP/HTTP receiver for tests of the real process: it records every
 * export request as it came and decodes the JSON ones (`http/json`) into
 * spans and metric points that are easy to assert on. Protobuf bodies are
 * kept raw; their content type is what tests check.
 */
import { once } from "node:events";
import http from "node:http";
import type net from "node:net";

/** One export request as it arrived. */
export interface OtlpRequest {
  /** `/v1/traces`, `/v1/metrics` or `/v1/logs`. */
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

type Truthy<T> = Exclude<T, false | 0 | 0n | "" | null | undefined>;

export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;
export type Attributes = Record<string, AttributeValue>;

/** A span from a JSON trace export. */
export interface ReceivedSpan {
  readonly name: string;
  /** OTLP's numbering: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  /** Lower-case hex, as OTLP/JSON writes ids. */
  readonly traceId: string;
  readonly spanId: string;
  /** Undefined for a root span. */
  readonly parentSpanId: string | undefined;
  readonly attributes: Attributes;
  readonly links: readonly { traceId: string; spanId: string }[];
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly resource: Attributes;
}

/** A data point of a metric from a JSON metrics export. */
export interface ReceivedMetricPoint {
  readonly name: string;
  readonly attributes: Attributes;
  /** A sum's or gauge's value; a histogram's count. */
  readonly value: number;
  readonly resource: Attributes;
}

export interface OtlpReceiver {
  /** The base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly url: string;
  /** Every request so far, in order of arrival. */
  readonly requests: readonly OtlpRequest[];
  /** Every span of the JSON trace exports so far. */
  spans(): ReceivedSpan[];
  /** Every metric data point of the JSON metrics exports so far (cumulative: later exports repeat earlier points). */
  metricPoints(): ReceivedMetricPoint[];
  /**
   * Resolves with the predicate's first truthy answer, asked now and after each
   * request; rejects after `timeoutMs` (default 5 s) with a summary of what did arrive.
   */
  waitFor<T>(predicate: () => T, timeoutMs?: number): Promise<Truthy<T>>;
  close(): Promise<void>;
}

interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
  bytesValue?: string;
}

interface JsonResource {
  resource?: { attributes?: JsonKeyValue[] };
}

interface JsonTraces {
  resourceSpans?: (JsonResource & {
    scopeSpans?: {
      spans?: {
        name: string;
        kind?: number;
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        attributes?: JsonKeyValue[];
        links?: { traceId: string; spanId: string }[];
        status?: { code?: number };
      }[];
    }[];
  })[];
}

interface JsonDataPoint {
  attributes?: JsonKeyValue[];
  asInt?: number | string;
  asDouble?: number;
  count?: number | string;
}

interface JsonMetrics {
  resourceMetrics?: (JsonResource & {
    scopeMetrics?: {
      metrics?: {
        name: string;
        sum?: { dataPoints?: JsonDataPoint[] };
        gauge?: { dataPoints?: JsonDataPoint[] };
        histogram?: { dataPoints?: JsonDataPoint[] };
      }[];
    }[];
  })[];
}

const DEFAULT_WAIT_MS = 5_000;

/** OTLP/JSON writes 64-bit integers as numbers or as strings; both become numbers. */
function anyValue(value: JsonAnyValue | undefined): AttributeValue {
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(anyValue);
  return value.bytesValue;
}

function attributesOf(list: JsonKeyValue[] | undefined): Attributes {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
}

function decodeSpans(body: JsonTraces): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const resource = attributesOf(rs.resource?.attributes);
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((span) => ({
        name: span.name,
        kind: span.kind ?? 0,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId || undefined,
        attributes: attributesOf(span.attributes),
        links: (span.links ?? []).map((link) => ({ traceId: link.traceId, spanId: link.spanId })),
        statusCode: span.status?.code ?? 0,
        resource,
      })),
    );
  });
}

function decodeMetricPoints(body: JsonMetrics): ReceivedMetricPoint[] {
  return (body.resourceMetrics ?? []).flatMap((rm) => {
    const resource = attributesOf(rm.resource?.attributes);
    return (rm.scopeMetrics ?? []).flatMap((sm) =>
      (sm.metrics ?? []).flatMap((metric) => {
        const data = metric.sum ?? metric.gauge ?? metric.histogram;
        return (data?.dataPoints ?? []).map((point) => ({
          name: metric.name,
          attributes: attributesOf(point.attributes),
          value: Number(point.asInt ?? point.asDouble ?? point.count ?? Number.NaN),
          resource,
        }));
      }),
    );
  });
}

/** Starts a receiver on an ephemeral loopback port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: OtlpRequest[] = [];
  const spans: ReceivedSpan[] = [];
  const metricPoints: ReceivedMetricPoint[] = [];
  const listeners = new Set<() => void>();
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request: OtlpRequest = {
        path: req.url ?? "",
        contentType: req.headers["content-type"] ?? "",
        body: Buffer.concat(chunks),
      };
      requests.push(request);
      if (request.contentType.startsWith("application/json")) {
        const decoded: unknown = JSON.parse(request.body.toString("utf8"));
        if (request.path === "/v1/traces") spans.push(...decodeSpans(decoded as JsonTraces));
        if (request.path === "/v1/metrics") {
          metricPoints.push(...decodeMetricPoints(decoded as JsonMetrics));
        }
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
      for (const listener of listeners) listener();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;

  const summary = () =>
    requests.length === 0
      ? "no requests"
      : requests.map((r) => `${r.path} ${r.contentType} ${r.body.length} bytes`).join("; ") +
        `; spans: ${spans.map((s) => s.name).join(", ") || "none"}`;

  return {
    url,
    requests,
    spans: () => [...spans],
    metricPoints: () => [...metricPoints],
    waitFor<T>(predicate: () => T, timeoutMs = DEFAULT_WAIT_MS) {
      return new Promise<Truthy<T>>((resolve, reject) => {
        const check = () => {
          let answer: T;
          try {
            answer = predicate();
          } catch (err) {
            done();
            reject(err);
            return;
          }
          if (!answer) return;
          done();
          resolve(answer as Truthy<T>);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`OTLP receiver: not there after ${timeoutMs} ms (${summary()})`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
