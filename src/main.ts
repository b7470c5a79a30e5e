/**
 * The composition root: configuration → logger → engine and backend →
 * server → signals. `startGateway` is what tests and the command share.
 */
import { metrics, trace } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { Backend } from "./backends/backend.ts";
import { createEngineBackend } from "./backends/engine-backend.ts";
import { withInFlightLimit } from "./backends/in-flight-limit.ts";
import { createKinesisBackend, type KinesisBackend } from "./backends/kinesis-backend.ts";
import { withRetry } from "./backends/retry.ts";
import { createRouter } from "./backends/router.ts";
import { createUpstreamMonitor, type UpstreamMonitor } from "./backends/upstream-monitor.ts";
import { withValidation } from "./backends/validation.ts";
import { type BackendKind, type Config, parseConfig } from "./config.ts";
import { createEngine, type Engine } from "./engine/index.ts";
import { createLogger } from "./logger.ts";
import { createGatewayServer, DEFAULT_READ_MAX_BYTES } from "./server/gateway-server.ts";
import { createRecordTelemetry } from "./telemetry/record-telemetry.ts";
import { createRpcTracingInterceptor } from "./telemetry/rpc-tracing.ts";
import { NO_TELEMETRY, startTelemetry, type Telemetry } from "./telemetry/telemetry.ts";
import { createWireHandler } from "./wire/wire-handler.ts";

/** Host and port of an endpoint URL, for telemetry. */
function serverOf(endpoint: string): { address: string; port: number } {
  const url = new URL(endpoint);
  return {
    address: url.hostname,
    port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
  };
}

export interface RunningGateway {
  /** The bound port (useful with port 0). */
  readonly port: number;
  readonly url: string;
  /** The built-in engine, when a route uses it (tests read records back through it). */
  readonly engine: Engine | undefined;
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** The process's OpenTelemetry SDK, started once per process. Default: none. */
  telemetry?: Telemetry;
}

export async function startGateway(
  config: Config,
  logger: Logger,
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  const telemetry = options.telemetry ?? NO_TELEMETRY;
  const tracer = trace.getTracer("kinesis-gateway");
  const meter = metrics.getMeter("kinesis-gateway");
  const recordTelemetry = createRecordTelemetry({
    tracer,
    meter,
    tracing: telemetry.tracing,
    parentBasedSampling: telemetry.parentBasedSampling,
    recordSpans: config.recordSpans,
  });
  const uses = (kind: BackendKind) =>
    config.backend === kind || config.routes.some((r) => r.backend === kind);
  const backends = new Map<string, Backend>();

  let engine: Engine | undefined;
  if (uses("engine")) {
    engine = createEngine({
      accountId: config.accountId,
      region: config.region,
      throttle: config.throttle,
      shardWriteRecordsPerSecond: config.shardRecordsPerSecond,
      shardWriteBytesPerSecond: config.shardBytesPerSecond,
      burstSeconds: config.throttleBurstSeconds,
      retentionHours: config.retentionHours,
      maxStreamBytes: config.maxStreamMiB * 1024 * 1024,
      transitionDelayMs: config.streamTransitionMs,
    });
    for (const stream of config.streams) {
      engine.createStream({ streamName: stream.name, shardCount: stream.shardCount });
      logger.info({ stream: stream.name, shards: stream.shardCount }, "stream created");
    }
    backends.set(
      "engine",
      recordTelemetry.send(createEngineBackend(engine), { backend: "engine" }),
    );
    const shards = engine;
    meter
      .createObservableGauge("kinesis_gateway.shard.write.utilization", {
        description: "How much of each engine shard's write capacity is spent (1: throttling)",
        unit: "1",
      })
      .addCallback((result) => {
        for (const s of shards.shardWriteUtilization()) {
          result.observe(s.utilization, {
            "messaging.destination.name": s.streamName,
            "messaging.destination.partition.id": s.shardId,
          });
        }
      });
  }

  let upstream: { backend: KinesisBackend; monitor: UpstreamMonitor } | undefined;
  if (uses("kinesis")) {
    const backend = createKinesisBackend({
      region: config.region,
      endpoint: config.kinesisEndpoint,
      logger,
      maxSockets: config.kinesisMaxSockets,
      connectTimeoutMs: config.kinesisConnectTimeoutMs,
      requestTimeoutMs: config.kinesisRequestTimeoutMs,
      onUnreachable: () => monitor.markUnreachable(),
    });
    const monitor = createUpstreamMonitor({ probe: (signal) => backend.reachable(signal), logger });
    upstream = { backend, monitor };
    backends.set(
      "kinesis",
      recordTelemetry.send(backend, {
        backend: "kinesis",
        region: config.region,
        server: serverOf(
          config.kinesisEndpoint ?? `https://kinesis.${config.region}.amazonaws.com`,
        ),
      }),
    );
  }

  const router = createRouter({
    backends,
    routes: config.routes,
    defaultBackend: config.backend,
  });
  const bounded = withInFlightLimit(
    withRetry(router, {
      retries: config.retryFailedRecords,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
    }),
    { maxRecords: config.maxInFlightRecords, maxBytes: config.maxInFlightMiB * 1024 * 1024 },
  );
  meter
    .createObservableUpDownCounter("kinesis_gateway.records.in_flight", {
      description: "Records being written",
      unit: "{record}",
    })
    .addCallback((result) => result.observe(bounded.inFlight.records));
  // Outermost first: telemetry sees every record, valid or not; validation
  // refuses before anything is held in flight or sent.
  const backend = recordTelemetry.outer(withValidation(bounded));

  const server = createGatewayServer({
    backend,
    logger,
    interceptors: [createRpcTracingInterceptor({ tracer, meter })],
    wireHandler: createWireHandler({
      backend,
      logger,
      tracer,
      meter,
      maxBodyBytes: DEFAULT_READ_MAX_BYTES,
    }),
    metricsHandler: telemetry.metricsHandler,
    isReady: () => upstream?.monitor.reachable ?? true,
  });
  const address = await server.listen(config.port, config.host);
  server.ready = true;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info(
    {
      url,
      port: address.port,
      backend: config.backend,
      routes: config.routes.map((r) => `${r.pattern}=${r.backend}`),
      ...(upstream
        ? { kinesisEndpoint: config.kinesisEndpoint ?? "AWS", region: config.region }
        : {}),
      throttle: config.throttle,
      retryFailedRecords: config.retryFailedRecords,
      recordSpans: config.recordSpans && telemetry.tracing,
    },
    "kinesis-gateway listening",
  );
  return {
    port: address.port,
    url,
    engine,
    async stop() {
      await server.close();
      upstream?.monitor.stop();
      upstream?.backend.close();
    },
  };
}

export async function runMain(): Promise<void> {
  const result = parseConfig(process.argv.slice(2), process.env);
  if (result.kind === "help") {
    process.stdout.write(`${result.text}\n`);
    return;
  }
  if (result.kind === "invalid") {
    process.stderr.write("kinesis-gateway: invalid configuration:\n");
    for (const problem of result.problems) process.stderr.write(`  - ${problem}\n`);
    process.stderr.write("Run with --help for the flags.\n");
    process.exitCode = 2;
    return;
  }
  const logger = createLogger({ level: result.config.logLevel });
  const telemetry = startTelemetry({ logger });
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(result.config, logger, { telemetry });
  } catch (err) {
    logger.fatal({ err }, "could not start");
    process.exitCode = 1;
    return;
  }
  const stop = (signal: string) => {
    logger.info({ signal }, "shutting down");
    gateway
      .stop()
      .then(() => telemetry.shutdown())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

if (import.meta.main) await runMain();
