/**
 * The composition root: configuration → logger → engine and backend →
 * server → signals. `startGateway` is what tests and the command share.
 */
import { readFileSync } from "node:fs";
import { metrics, type ObservableCallback, trace } from "@opentelemetry/api";
import type { Logger } from "pino";
import { createAuthenticator } from "./auth/tokens.ts";
import type { Backend } from "./backends/backend.ts";
import { createEngineBackend } from "./backends/engine-backend.ts";
import { matchesAny } from "./backends/glob.ts";
import { withInFlightLimit } from "./backends/in-flight-limit.ts";
import type { KinesisBackend } from "./backends/kinesis-backend.ts";
import { createPageTokenSealer, withSealedPageTokens } from "./backends/page-tokens.ts";
import { withRetry } from "./backends/retry.ts";
import { createRouter } from "./backends/router.ts";
import { withStreamAccess } from "./backends/stream-access.ts";
import { createUpstreamMonitor, type UpstreamMonitor } from "./backends/upstream-monitor.ts";
import { withValidation } from "./backends/validation.ts";
import { type BackendKind, type Config, parseConfig } from "./config.ts";
import { createEngine, type Engine, openDataDir } from "./engine/index.ts";
import { createFaultInjector } from "./faults/injector.ts";
import { withFaults, withSubscriptionFaults } from "./faults/with-faults.ts";
import { KinesisError } from "./kinesis/errors.ts";
import { createLogger, LISTENING } from "./logger.ts";
import { DEFAULT_MEMORY_MIB, planMemory } from "./memory-plan.ts";
import { heapLimitFlag, heapLimitGiven } from "./node-flags.ts";
import { createBufferBudget } from "./producer/buffer-budget.ts";
import { withCoalescing } from "./producer/coalesce.ts";
import { createProducer } from "./producer/producer.ts";
import { createProducerMetrics } from "./producer/producer-metrics.ts";
import { createShardMaps } from "./producer/shard-map.ts";
import { createAnswerBudget } from "./server/answer-budget.ts";
import { BODY_RATE_WINDOW_MS } from "./server/connections.ts";
import { createGatewayServer, DEFAULT_READ_MAX_BYTES } from "./server/gateway-server.ts";
import { startMetricsServer } from "./server/metrics-server.ts";
import { createBodyBudget } from "./server/request-body.ts";
import { createAuthInterceptor } from "./services/auth-interceptor.ts";
import { createHealthRegistry, ServingStatus } from "./services/health.ts";
import { drainOnSignals } from "./signals.ts";
import { createEngineSource } from "./subscriptions/engine-source.ts";
import { createPollingSource } from "./subscriptions/polling-source.ts";
import { createSubscriptions, type SubscriptionSource } from "./subscriptions/subscriptions.ts";
import { createRecordTelemetry } from "./telemetry/record-telemetry.ts";
import { createRpcTracingInterceptor } from "./telemetry/rpc-tracing.ts";
import {
  type MetricsHandler,
  NO_TELEMETRY,
  startTelemetry,
  type Telemetry,
} from "./telemetry/telemetry.ts";
import { createWireHandler } from "./wire/wire-handler.ts";

/** What a drain leaves for writing the acks of records the producer gives up on. */
const ACK_TIME_MS = 250;

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
  /** Drains for up to `drainMs` (default 0: at once), then closes. */
  stop(drainMs?: number): Promise<void>;
}

/**
 * What a worker of several (`--workers`, `src/workers/`) shares with the
 * others through the primary: readiness is the gateway's, not the worker's,
 * and `/metrics` is every worker's.
 */
export interface WorkerMembership {
  /** Tells the primary whether this worker alone could serve. */
  reportServing(serving: boolean): void;
  /** The gateway's readiness, as the primary decides it, whenever it changes. */
  onServing(listener: (serving: boolean) => void): void;
  /** Serves every worker's metrics on the public port; undefined: not there (`--metrics-port`). */
  readonly metricsHandler: MetricsHandler | undefined;
}

export interface GatewayOptions {
  /** The process's OpenTelemetry SDK, started once per process. Default: none. */
  telemetry?: Telemetry;
  /** One worker of several, on a port they share. Default: the gateway alone. */
  worker?: WorkerMembership;
  /** Serve gRPC `PutRecords` through the specialised codec. Default: true (tests compare both). */
  fastPath?: boolean;
}

export async function startGateway(
  config: Config,
  logger: Logger,
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  const telemetry = options.telemetry ?? NO_TELEMETRY;
  const tracer = trace.getTracer("kinesis-gateway");
  const meter = metrics.getMeter("kinesis-gateway");
  const memory = planMemory(
    config.maxMemoryMiB,
    DEFAULT_READ_MAX_BYTES,
    config.limits.maxConnections,
  );
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
  /** What `stop` undoes besides the server: metric callbacks, the upstream client. */
  const onStop: (() => void)[] = [];
  // Fault rules act in front of each backend (and subscription source): what
  // they fail is not written, whichever protocol or producer sent it. Without
  // fault control or rules, the backends are not wrapped at all.
  const faultsOn = config.faults !== undefined || config.faultControl;
  const faults = createFaultInjector({
    logger,
    meter,
    onReadinessChange: () => updateHealth(),
  });
  onStop.push(() => faults.close());
  const faulty = (backend: Backend) =>
    faultsOn ? withFaults(backend, faults, { accountId: config.accountId }) : backend;

  let engine: Engine | undefined;
  if (uses("engine")) {
    const openingAt = performance.now();
    const storage =
      config.dataDir === undefined
        ? undefined
        : openDataDir({
            path: config.dataDir,
            fsync: config.fsync,
            onProblem: (stream, problem) =>
              logger.warn({ stream, ...problem }, "data dir: damage found and dealt with"),
            onLockLost: (holder) =>
              logger.error(
                { holder },
                "data dir: another process took its lock over while this one was frozen; writes are refused until a restart",
              ),
            onWriteHealth: (error) => {
              if (error === undefined) logger.info("data dir: writes are stored again");
              else
                logger.error(
                  { code: (error as NodeJS.ErrnoException).code },
                  "data dir: writes fail",
                );
              updateHealth();
            },
          });
    engine = createEngine({
      storage,
      accountId: config.accountId,
      region: config.region,
      throttle: config.throttle,
      shardWriteRecordsPerSecond: config.shardRecordsPerSecond,
      shardWriteBytesPerSecond: config.shardBytesPerSecond,
      burstSeconds: config.throttleBurstSeconds,
      retentionHours: config.retentionHours,
      maxStreamBytes:
        config.maxStreamMiB === undefined
          ? Number.POSITIVE_INFINITY
          : config.maxStreamMiB * 1024 * 1024,
      maxTotalBytes: memory.engineRecordBytes,
      transitionDelayMs: config.streamTransitionMs,
    });
    if (storage !== undefined) {
      const kept = engine.listStreams({ limit: 10_000 }).streamNames.length;
      logger.info(
        {
          dataDir: config.dataDir,
          fsync: config.fsync,
          streams: kept,
          // After an unclean one, every shard's numbers moved on (see "On disk" in the README).
          cleanShutdownBefore: storage.cleanStart,
          openedMs: Math.round(performance.now() - openingAt),
        },
        "data dir opened",
      );
    }
    for (const stream of config.streams) {
      try {
        engine.createStream({ streamName: stream.name, shardCount: stream.shardCount });
        logger.info({ stream: stream.name, shards: stream.shardCount }, "stream created");
      } catch (error) {
        // Kept from the data dir: it stays as it is, shards and records.
        if (!(error instanceof KinesisError && error.type === "ResourceInUseException"))
          throw error;
        logger.info({ stream: stream.name }, "stream kept from the data dir");
      }
    }
    backends.set(
      "engine",
      recordTelemetry.send(faulty(createEngineBackend(engine)), { backend: "engine" }),
    );
    const shards = engine;
    const utilization = meter.createObservableGauge("kinesis_gateway.shard.write.utilization", {
      description: "How much of each engine shard's write capacity is spent (1: throttling)",
      unit: "1",
    });
    const observeShards: ObservableCallback = (result) => {
      for (const s of shards.shardWriteUtilization()) {
        result.observe(s.utilization, {
          "messaging.destination.name": s.streamName,
          "messaging.destination.partition.id": s.shardId,
        });
      }
    };
    utilization.addCallback(observeShards);
    onStop.push(() => utilization.removeCallback(observeShards));
  }

  // SERVING when ready: not while draining, nor (forward mode) while the upstream is unreachable.
  const health = createHealthRegistry({ initialStatus: ServingStatus.NOT_SERVING });
  let draining = false;
  let upstream: { backend: KinesisBackend; monitor: UpstreamMonitor } | undefined;
  const setHealth = (serving: boolean) =>
    health.setAll(serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  const updateHealth = () => {
    const serving =
      !draining &&
      (upstream?.monitor.reachable ?? true) &&
      engine?.storageProblem() === undefined &&
      !faults.unready();
    if (options.worker === undefined) setHealth(serving);
    else options.worker.reportServing(serving);
  };
  options.worker?.onServing(setHealth);
  if (uses("kinesis")) {
    // The AWS SDK is loaded only when a route forwards: the engine starts faster without it.
    const { createKinesisBackend } = await import("./backends/kinesis-backend.ts");
    const backend = createKinesisBackend({
      region: config.region,
      endpoint: config.kinesisEndpoint,
      logger,
      maxSockets: config.kinesisMaxSockets,
      connectTimeoutMs: config.kinesisConnectTimeoutMs,
      requestTimeoutMs: config.kinesisRequestTimeoutMs,
      onUnreachable: () => monitor.markUnreachable(),
    });
    const monitor = createUpstreamMonitor({
      probe: (signal) => backend.reachable(signal),
      logger,
      onChange: updateHealth,
    });
    upstream = { backend, monitor };
    backends.set(
      "kinesis",
      recordTelemetry.send(faulty(backend), {
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
  // The producer (Produce, and coalesced calls to aggregating streams) sends
  // through routing and the backends' telemetry; records come to it validated.
  const producerBudget = createBufferBudget(memory.producerBytes, memory.producerBytes / 2);
  const producerMetrics = createProducerMetrics(meter, {
    records: () => producer.held,
    bytes: () => producerBudget.bytes,
  });
  onStop.push(() => producerMetrics.stop());
  const shardMaps = createShardMaps(router);
  const aggregates = matchesAny(config.aggregate);
  const unordered = matchesAny(config.unordered);
  const producer = createProducer({
    backend: router,
    shardMaps,
    lingerMs: config.lingerMs,
    aggregates,
    aggregationMaxBytes: config.aggregationMaxBytes,
    ordered: (stream) => !unordered(stream),
    hooks: { ...producerMetrics, carries: recordTelemetry.carries },
  });
  // Merged calls go through routing, the backends and their telemetry as one call.
  const coalesced =
    config.coalesce.length === 0
      ? router
      : withCoalescing(router, {
          patterns: config.coalesce,
          lingerMs: config.lingerMs,
          aggregates,
          aggregationMaxBytes: config.aggregationMaxBytes,
          shardMaps,
          budget: producerBudget,
          waitMs: config.recordTtlMs,
          carries: recordTelemetry.carries,
        });
  const bounded = withInFlightLimit(
    withRetry(coalesced, {
      retries: config.retryFailedRecords,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
    }),
    {
      maxRecords: config.maxInFlightRecords,
      maxBytes:
        config.maxInFlightMiB === undefined
          ? memory.inFlightBytes
          : config.maxInFlightMiB * 1024 * 1024,
    },
  );
  const recordsInFlight = meter.createObservableUpDownCounter("kinesis_gateway.records.in_flight", {
    description: "Records being written",
    unit: "{record}",
  });
  const observeInFlight: ObservableCallback = (result) => result.observe(bounded.inFlight.records);
  recordsInFlight.addCallback(observeInFlight);
  onStop.push(() => recordsInFlight.removeCallback(observeInFlight));
  // Outermost first: telemetry sees every record, valid or not; validation
  // refuses before anything is held in flight or sent; page tokens are
  // unsealed, so that a token limited to some streams reaches nothing else,
  // page tokens included.
  const backend = recordTelemetry.outer(
    withValidation(withSealedPageTokens(withStreamAccess(bounded), createPageTokenSealer())),
  );

  const auth = createAuthenticator(config.authTokens);
  const shutdown = new AbortController();
  const sources = new Map<string, SubscriptionSource>();
  const faultySource = (source: SubscriptionSource) =>
    faultsOn ? withSubscriptionFaults(source, faults, { accountId: config.accountId }) : source;
  if (engine !== undefined) sources.set("engine", faultySource(createEngineSource(engine)));
  if (upstream !== undefined) {
    // A consumer's subscription is the upstream's own, relayed. Without a
    // consumer there is no upstream event stream: GetRecords is polled.
    const polled = createPollingSource(backend);
    const relayed = upstream.backend.subscribeToShard;
    sources.set(
      "kinesis",
      faultySource((input, call) =>
        input.consumerArn === undefined ? polled(input, call) : relayed(input, call),
      ),
    );
  }
  const subscriptions = createSubscriptions({
    sources,
    backendNameFor: router.backendNameFor,
    lifetimeMs: config.subscriptionLifetimeMs,
    shutdown: shutdown.signal,
    meter,
  });
  // Read answers being made, GetRecords' and SubscribeToShard's, every protocol's.
  const answers = createAnswerBudget(memory.answersInMakingBytes);
  const server = createGatewayServer({
    backend,
    logger,
    interceptors: [
      createRpcTracingInterceptor({ tracer, meter, tracing: telemetry.tracing }),
      createAuthInterceptor(auth),
    ],
    wireHandler: createWireHandler({
      backend,
      auth,
      logger,
      tracer,
      meter,
      tracing: telemetry.tracing,
      maxBodyBytes: DEFAULT_READ_MAX_BYTES,
      subscriptions,
      answers,
    }),
    // With --metrics-port, /metrics is served there and not on the public port.
    metricsHandler:
      options.worker !== undefined
        ? options.worker.metricsHandler
        : config.metricsPort === undefined
          ? telemetry.metricsHandler
          : undefined,
    // /readyz and the gRPC health check always agree.
    isReady: () => health.status("") === ServingStatus.SERVING,
    health,
    auth,
    limits: {
      maxConcurrentStreams: config.limits.maxConcurrentStreams,
      maxHeaderBytes: config.limits.maxHeaderBytes,
      idleTimeoutMs: config.limits.idleTimeoutSeconds * 1000,
      headerTimeoutMs: config.limits.headerTimeoutSeconds * 1000,
    },
    admission: {
      maxConnections: config.limits.maxConnections,
      maxConnectionsPerAddress: config.limits.maxConnectionsPerAddress,
      idleTimeoutMs: config.limits.idleTimeoutSeconds * 1000,
      headerTimeoutMs: config.limits.headerTimeoutSeconds * 1000,
      minBodyBytesPerWindow: config.limits.minRequestBytesPerSecond * (BODY_RATE_WINDOW_MS / 1000),
      maxCallsInFlight: memory.callsInFlight,
      maxStreamingCalls: memory.streamingCalls,
      maxPendingAnswerBytes: memory.pendingAnswerBytes,
      answerStallMs: Math.min(10_000, config.limits.idleTimeoutSeconds * 1000),
    },
    bodyBudget: createBodyBudget(memory.requestBodyBytes, memory.requestBodyBytesPerConnection),
    answers,
    subscriptions,
    tls: config.tls && {
      cert: readFileSync(config.tls.cert),
      key: readFileSync(config.tls.key),
      clientCa: config.tls.clientCa === undefined ? undefined : readFileSync(config.tls.clientCa),
    },
    shutdown,
    produce: {
      producer,
      budget: producerBudget,
      // A quarter of a stream's share: a call that stops reading its acks leaves the rest.
      maxCallBytes: memory.producerBytes / 8,
      recordTtlMs: config.recordTtlMs,
      shutdown: shutdown.signal,
      track: recordTelemetry.produced,
    },
    faults: { injector: faults, control: config.faultControl, logger },
    fastPath: options.fastPath,
  });
  const address = await server.listen(config.port, config.host, options.worker !== undefined);
  // A worker's primary serves --metrics-port.
  const metricsServer =
    config.metricsPort !== undefined &&
    telemetry.metricsHandler !== undefined &&
    options.worker === undefined
      ? await startMetricsServer(telemetry.metricsHandler, config.metricsPort, config.metricsHost)
      : undefined;
  server.ready = true;
  if (config.faults !== undefined) {
    faults.set(config.faults);
    logger.info(
      { seed: config.faults.seed, rules: config.faults.rules.length },
      "fault rules set from --faults",
    );
  }
  updateHealth();
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `${config.tls ? "https" : "http"}://${host}:${address.port}`;
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
      tls: config.tls === undefined ? "off" : config.tls.clientCa === undefined ? "on" : "mutual",
      auth: auth.enabled ? `${config.authTokens.length} tokens` : "off",
      metrics: metricsServer?.url ?? (telemetry.metricsHandler ? `${url}/metrics` : "off"),
      maxMemoryMiB: config.maxMemoryMiB,
      faultControl: config.faultControl ? "on" : "off",
    },
    // The primary says when the gateway listens: once every worker does.
    options.worker === undefined ? LISTENING : "worker listening",
  );
  return {
    port: address.port,
    url,
    engine,
    async stop(drainMs = 0) {
      draining = true;
      // Calls waiting out an injected latency go on now, and no rule fails what is drained.
      faults.close();
      updateHealth(); // readiness goes first
      // What the producer holds goes out now; what it cannot write before the
      // drain ends is acked as not written, with time left to send the acks.
      producer.flushAll();
      const abandon = setTimeout(() => producer.abandon(), Math.max(0, drainMs - ACK_TIME_MS));
      await server.close(drainMs);
      clearTimeout(abandon);
      producer.abandon();
      await metricsServer?.close();
      upstream?.monitor.stop();
      upstream?.backend.close();
      for (const undo of onStop) undo();
      engine?.close();
    },
  };
}

/**
 * Re-executes the command with V8's old generation limited to a memory bound
 * below the default (see src/node-flags.ts), unless `node` was given a limit
 * already; where `process.execve` is missing (Windows), runs on as it is.
 * At the default and above, V8 keeps its own sizing: the limit there cost a
 * third of the gRPC throughput and the measured peaks stayed under the bound
 * without it.
 */
function limitHeapToMemoryBound(maxMemoryMiB: number): void {
  if (maxMemoryMiB >= DEFAULT_MEMORY_MIB) return;
  if (heapLimitGiven(process.execArgv, process.env.NODE_OPTIONS)) return;
  if (typeof process.execve !== "function") return;
  process.execve(process.execPath, [
    process.execPath,
    ...process.execArgv,
    heapLimitFlag(maxMemoryMiB),
    ...process.argv.slice(1),
  ]);
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
  limitHeapToMemoryBound(result.config.maxMemoryMiB);
  const logger = createLogger({ level: result.config.logLevel });
  if (result.config.workers > 1) {
    // Threads that share the port; this one holds readiness, metrics and the drain.
    const { runWorkers } = await import("./workers/primary.ts");
    await runWorkers(result.config, logger);
    return;
  }
  const telemetry = await startTelemetry({ logger });
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(result.config, logger, { telemetry });
  } catch (err) {
    logger.fatal({ err }, "could not start");
    process.exitCode = 1;
    return;
  }
  drainOnSignals(logger, result.config.drainTimeoutSeconds, async () => {
    await gateway.stop(result.config.drainTimeoutSeconds * 1000);
    await telemetry.shutdown();
  });
}

if (import.meta.main) await runMain();
