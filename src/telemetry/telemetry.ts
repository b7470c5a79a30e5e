/**
 * The OpenTelemetry SDK, configured by the standard `OTEL_*` variables
 * through the Node SDK (loaded only when something is exported). The only module that imports the SDK; everything
 * else uses `@opentelemetry/api`.
 *
 * Our defaults where the SDK's do not fit a per-record span model (each can
 * still be set through its variable):
 * - no traces are exported, and no tracer is installed, unless an OTLP
 *   endpoint or `OTEL_TRACES_EXPORTER` is set — no export and no noise;
 * - `OTEL_TRACES_SAMPLER` `parentbased_traceidratio` with
 *   `OTEL_TRACES_SAMPLER_ARG` 0.01 when no sampler is chosen;
 * - `OTEL_SPAN_LINK_COUNT_LIMIT` 1000, so a 500-record send span keeps all links;
 * - `OTEL_BSP_MAX_QUEUE_SIZE` 65536 (about 130 sampled 500-record batches),
 *   so a batch is not dropped silently; drops are counted in
 *   `kinesis_gateway.telemetry.spans.dropped` (the SDK's own span metrics
 *   would count every span, which costs more than the spans);
 * - metrics are always served on `GET /metrics` (Prometheus text), and
 *   exported over OTLP too when an endpoint is set.
 */
import type { ServerResponse } from "node:http";
import { type DiagLogger, DiagLogLevel, diag, metrics } from "@opentelemetry/api";
import { getNumberFromEnv } from "@opentelemetry/core";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  type IMetricReader,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import type { SpanProcessor } from "@opentelemetry/sdk-trace";
import type { Logger } from "pino";

export interface TelemetryOptions {
  logger: Logger;
  /** Replaces the exporters the variables choose (tests use an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  /** `service.version` of the resource. */
  serviceVersion?: string;
}

/** Writes the Prometheus text to any HTTP/1.1 or HTTP/2 response. */
export type MetricsHandler = (res: {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}) => void;

/** No SDK: spans are not recorded and `/metrics` is not served. */
export const NO_TELEMETRY: Telemetry = {
  tracing: false,
  parentBasedSampling: false,
  metricsHandler: undefined,
  shutdown: async () => undefined,
};

export interface Telemetry {
  /** Whether spans are recorded at all (a tracer provider is installed). */
  readonly tracing: boolean;
  /** Whether the sampler follows the parent's decision (`parentbased_*`). */
  readonly parentBasedSampling: boolean;
  /** Serves the Prometheus text format; undefined when the SDK is disabled. */
  readonly metricsHandler: MetricsHandler | undefined;
  /** Flushes what is queued and stops. */
  shutdown(): Promise<void>;
}

const OUR_DEFAULTS: Readonly<Record<string, string>> = {
  OTEL_SERVICE_NAME: "kinesis-gateway",
  OTEL_SPAN_LINK_COUNT_LIMIT: "1000",
  OTEL_BSP_MAX_QUEUE_SIZE: "65536",
};

/**
 * Without a sampler chosen, 1 % of the traces that start here are sampled,
 * and a caller's decision is followed: a span per record makes the SDK's
 * always-on default cost about half the throughput (see the README).
 */
const DEFAULT_SAMPLED_RATIO = "0.01";

const isSet = (env: NodeJS.ProcessEnv, name: string) => (env[name] ?? "").trim() !== "";

/** The OTLP metric exporter the protocol variables choose (loaded only when used). */
async function otlpMetricExporter(env: NodeJS.ProcessEnv) {
  const protocol = (
    env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    ""
  ).trim();
  if (protocol === "grpc") {
    return new (await import("@opentelemetry/exporter-metrics-otlp-grpc")).OTLPMetricExporter();
  }
  if (protocol === "http/json") {
    return new (await import("@opentelemetry/exporter-metrics-otlp-http")).OTLPMetricExporter();
  }
  return new (await import("@opentelemetry/exporter-metrics-otlp-proto")).OTLPMetricExporter();
}

/**
 * How long one rendering of `/metrics` serves every scrape that asks: a
 * scraper polls every 15 s or more, while a client asking thousands of times
 * a second would otherwise make the gateway render the text each time.
 */
export const METRICS_RENDER_INTERVAL_MS = 1_000;

/** The Prometheus text and how it is answered. */
export interface RenderedMetrics {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What `write` answers, to a stand-in response that keeps it. */
export const rendered = (write: MetricsHandler) =>
  new Promise<RenderedMetrics>((resolve) => {
    const headers: Record<string, string> = {};
    const capture = {
      statusCode: 200,
      setHeader(name: string, value: string) {
        headers[name] = value;
      },
      end(body: string) {
        resolve({ status: capture.statusCode, headers, body });
      },
    };
    write(capture);
  });

/** Writes what was rendered to a response. */
export function answerWith(metrics: RenderedMetrics, res: Parameters<MetricsHandler>[0]): void {
  res.statusCode = metrics.status;
  for (const [name, value] of Object.entries(metrics.headers)) res.setHeader(name, value);
  res.end(metrics.body);
}

/**
 * `render`, called at most once per interval: every caller within it shares
 * the same rendering (concurrent scrapes, and a scraper polling in a loop).
 */
export function atMostEvery<T>(intervalMs: number, render: () => Promise<T>): () => Promise<T> {
  let rendering: Promise<T> | undefined;
  let startedAtMs = Number.NEGATIVE_INFINITY;
  return () => {
    const nowMs = performance.now();
    if (rendering === undefined || nowMs - startedAtMs >= intervalMs) {
      rendering = render();
      startedAtMs = nowMs;
    }
    return rendering;
  };
}

/** Serves the exporter's text, rendered at most once per interval. */
function renderedAtMostEvery(intervalMs: number, prometheus: PrometheusExporter): MetricsHandler {
  // The exporter writes only statusCode, setHeader and end.
  const render = atMostEvery(intervalMs, () =>
    rendered((res) =>
      prometheus.getMetricsRequestHandler(undefined as never, res as unknown as ServerResponse),
    ),
  );
  return (res) => void render().then((metrics) => answerWith(metrics, res));
}

/** How the batch span processor reports spans it dropped from a full queue. */
const DROPPED_SPANS = /^Dropped (\d+) spans because maxQueueSize reached/;

/**
 * SDK diagnostics go to the gateway's log, not to the console; reports of
 * dropped spans also go to a counter.
 */
function diagToLog(logger: Logger): DiagLogger {
  const log = logger.child({ component: "opentelemetry" });
  const dropped = metrics
    .getMeter("kinesis-gateway")
    .createCounter("kinesis_gateway.telemetry.spans.dropped", {
      description: "Spans dropped because the export queue was full (OTEL_BSP_MAX_QUEUE_SIZE)",
      unit: "{span}",
    });
  return {
    error: (message, ...args) => log.error({ args }, message),
    warn: (message, ...args) => {
      const count = DROPPED_SPANS.exec(message)?.[1];
      if (count !== undefined) dropped.add(Number(count));
      log.warn({ args }, message);
    },
    info: (message, ...args) => log.debug({ args }, message),
    debug: (message, ...args) => log.trace({ args }, message),
    verbose: (message, ...args) => log.trace({ args }, message),
  };
}

/** `OTEL_SDK_DISABLED=true`: no SDK, no spans, no `/metrics`. */
export const telemetryDisabled = (env: NodeJS.ProcessEnv) =>
  (env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true";

/**
 * Starts the SDK for this process (its providers are global: call once).
 * Reads and completes `process.env`, where the SDK reads its variables.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = process.env;
  if (telemetryDisabled(env)) return NO_TELEMETRY;
  for (const [name, value] of Object.entries(OUR_DEFAULTS)) {
    if (!isSet(env, name)) env[name] = value;
  }
  if (!isSet(env, "OTEL_TRACES_SAMPLER")) {
    env.OTEL_TRACES_SAMPLER = "parentbased_traceidratio";
    env.OTEL_TRACES_SAMPLER_ARG = DEFAULT_SAMPLED_RATIO;
  }
  const otlpEndpoint = isSet(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  const tracesChosen =
    otlpEndpoint ||
    isSet(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ||
    isSet(env, "OTEL_TRACES_EXPORTER");
  const metricsExporters = (env.OTEL_METRICS_EXPORTER ?? "otlp").split(",").map((e) => e.trim());
  const metricsOverOtlp =
    metricsExporters.includes("otlp") &&
    (otlpEndpoint || isSet(env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"));

  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const metricReaders: IMetricReader[] = [prometheus];
  if (metricsOverOtlp) {
    // The SDK reads these two only for readers it builds itself.
    const exportIntervalMillis = getNumberFromEnv("OTEL_METRIC_EXPORT_INTERVAL") ?? 60_000;
    const exportTimeoutMillis = Math.min(
      getNumberFromEnv("OTEL_METRIC_EXPORT_TIMEOUT") ?? 30_000,
      exportIntervalMillis,
    );
    metricReaders.push(
      new PeriodicExportingMetricReader({
        exporter: await otlpMetricExporter(env),
        exportIntervalMillis,
        exportTimeoutMillis,
      }),
    );
  }
  // An empty list installs no tracer provider: spans cost next to nothing.
  const spanProcessors = options.spanProcessors ?? (tracesChosen ? undefined : []);
  const parentBasedSampling = (env.OTEL_TRACES_SAMPLER ?? "").trim().startsWith("parentbased_");
  const metricsHandler = renderedAtMostEvery(METRICS_RENDER_INTERVAL_MS, prometheus);

  if (spanProcessors?.length === 0 && !metricsOverOtlp) {
    // Nothing is exported: metrics for /metrics only, without loading the
    // Node SDK and its exporters (faster start, less memory).
    const serviceName = env.OTEL_SERVICE_NAME ?? OUR_DEFAULTS.OTEL_SERVICE_NAME!;
    const provider = new MeterProvider({
      resource: defaultResource().merge(resourceFromAttributes({ "service.name": serviceName })),
      readers: metricReaders,
    });
    metrics.setGlobalMeterProvider(provider);
    diag.setLogger(diagToLog(options.logger), {
      logLevel: DiagLogLevel.WARN,
      suppressOverrideMessage: true,
    });
    return {
      tracing: false,
      parentBasedSampling,
      metricsHandler,
      shutdown: () => provider.shutdown(),
    };
  }

  const { startNodeSdk } = await import("@opentelemetry/sdk-node");
  const sdk = startNodeSdk({
    logLevel: "none",
    metricReaders,
    logRecordProcessors: [], // logs go to stdout as JSON lines, with trace ids

    ...(spanProcessors === undefined ? {} : { spanProcessors }),
    ...(options.serviceVersion === undefined
      ? {}
      : { resourceAttributes: { "service.version": options.serviceVersion } }),
  });
  diag.setLogger(diagToLog(options.logger), {
    logLevel: DiagLogLevel.WARN,
    suppressOverrideMessage: true,
  });

  return {
    tracing: spanProcessors === undefined || spanProcessors.length > 0,
    parentBasedSampling,
    metricsHandler,
    shutdown: () => sdk.shutdown(),
  };
}
