/**
 * `--workers N`: N worker threads, each a whole gateway in forward mode,
 * listening on one port with SO_REUSEPORT (the kernel spreads connections
 * among them), and this thread, the primary, holding what must be one:
 *
 * - readiness: the gateway is ready when every worker is up and could serve
 *   alone, and not draining; every worker's `/readyz` and gRPC health say so;
 * - metrics: `/metrics`, asked of any worker (or of the primary on
 *   `--metrics-port`), is every worker's, merged;
 * - the drain: a signal drains every worker at once, and the process exits
 *   when all have stopped;
 * - a worker that dies is started again (the others serve meanwhile; the
 *   gateway is unready until it is back).
 *
 * The engine stays in one event loop: its streams are one process's state.
 */
import { createServer } from "node:net";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import { LISTENING } from "../logger.ts";
import { startMetricsServer } from "../server/metrics-server.ts";
import { drainOnSignals } from "../signals.ts";
import {
  answerWith,
  atMostEvery,
  METRICS_RENDER_INTERVAL_MS,
  type MetricsHandler,
  type RenderedMetrics,
  telemetryDisabled,
} from "../telemetry/telemetry.ts";
import { mergePrometheusTexts } from "./prometheus-merge.ts";
import type { FromWorker, ToWorker, WorkerData } from "./protocol.ts";

/** The worker's module, as this one is run: TypeScript from a checkout, JavaScript from dist/. */
const WORKER_MODULE = new URL(
  `./worker${extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);
/** How long a dead worker waits before it is started again; doubled while it keeps failing. */
const RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** How long the primary waits for a worker's metrics; then its last ones stand in. */
const RENDER_TIMEOUT_MS = 2_000;
/** How often the primary asks each worker whether its event loop turns. */
const HEARTBEAT_INTERVAL_MS = 1_000;
/** A worker that has not answered for this long is hung: the gateway is unready until it answers. */
const HUNG_AFTER_MS = 5_000;

interface Slot {
  readonly index: number;
  thread: Worker | undefined;
  listening: boolean;
  serving: boolean;
  /** The wait before its next start, if it dies now. */
  restartDelayMs: number;
  /** When it last answered a heartbeat (or started). */
  answeredAtMs: number;
  /** Its last metrics: they stand in while it does not answer, so that counters do not go back. */
  lastMetrics: string | undefined;
}

/**
 * A worker's configuration: the gateway's, with its share of what the
 * gateway bounds as a whole — memory, connections, records in flight — so
 * that N workers together keep the limits one gateway would. (The kernel
 * spreads connections about evenly; a share is a worker's, not borrowed.)
 */
export function workerConfig(config: Config): Config {
  const n = config.workers;
  const share = (total: number) => Math.max(1, Math.ceil(total / n));
  return {
    ...config,
    workers: 1,
    maxMemoryMiB: Math.floor(config.maxMemoryMiB / n),
    maxInFlightRecords: share(config.maxInFlightRecords),
    maxInFlightMiB: config.maxInFlightMiB === undefined ? undefined : share(config.maxInFlightMiB),
    limits: {
      ...config.limits,
      maxConnections: share(config.limits.maxConnections),
      maxConnectionsPerAddress: share(config.limits.maxConnectionsPerAddress),
    },
  };
}

export async function runWorkers(config: Config, logger: Logger): Promise<void> {
  const shared = workerConfig(config);
  const maxMemoryMiB = shared.maxMemoryMiB;
  /**
   * A worker's old generation: a third of its share; the rest is for its
   * runtime and for buffers, which live outside the heap. Under hostile load
   * (h2load, 128 PutRecords of 700 KB in flight) two workers at 384 MiB
   * peaked at 357–379 MiB with a third, 355–390 with half.
   */
  const heapMiB = Math.floor(maxMemoryMiB / 3);
  const slots: Slot[] = Array.from({ length: config.workers }, (_, i) => ({
    index: i + 1,
    thread: undefined,
    listening: false,
    serving: false,
    restartDelayMs: RESTART_DELAY_MS,
    answeredAtMs: 0,
    lastMetrics: undefined,
  }));
  /** Whether every worker has listened once: from then on, a worker that dies is started again. */
  let startedUp = false;
  let draining = false;
  let port = config.port;
  let gatewayServing = false;

  const post = (slot: Slot, message: ToWorker) => slot.thread?.postMessage(message);
  const responsive = (slot: Slot) => performance.now() - slot.answeredAtMs < HUNG_AFTER_MS;
  const updateServing = () => {
    const serving =
      !draining &&
      slots.every((slot) => slot.thread !== undefined && slot.serving && responsive(slot));
    if (serving === gatewayServing) return;
    gatewayServing = serving;
    for (const slot of slots) post(slot, { kind: "health", serving });
  };

  // Metrics: each worker renders its own; the merged text serves every scrape for a second.
  let nextRender = 0;
  const rendering = new Map<number, (metrics: RenderedMetrics) => void>();
  const renderOne = (slot: Slot) =>
    new Promise<RenderedMetrics | undefined>((resolve) => {
      const id = nextRender++;
      const timer = setTimeout(() => {
        rendering.delete(id);
        resolve(undefined);
      }, RENDER_TIMEOUT_MS);
      rendering.set(id, (metrics) => {
        clearTimeout(timer);
        rendering.delete(id);
        resolve(metrics);
      });
      post(slot, { kind: "render", id });
    });
  const collect = atMostEvery(METRICS_RENDER_INTERVAL_MS, async (): Promise<RenderedMetrics> => {
    const listening = slots.filter((slot) => slot.listening);
    const all = await Promise.all(listening.map(renderOne));
    all.forEach((metrics, i) => {
      if (metrics?.status === 200) listening[i]!.lastMetrics = metrics.body;
    });
    const texts = slots.flatMap((slot) => slot.lastMetrics ?? []);
    if (texts.length === 0) {
      return { status: 503, headers: { "content-type": "text/plain" }, body: "no worker up\n" };
    }
    return {
      status: 200,
      headers: all.find((m) => m?.status === 200)?.headers ?? {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
      },
      body: mergePrometheusTexts(texts),
    };
  });

  const exited = new Set<Slot>();
  let allExited: () => void = () => {};
  const start = (slot: Slot) =>
    new Promise<{ port: number; url: string }>((resolve, reject) => {
      const data: WorkerData = { config: { ...shared, port }, index: slot.index };
      const thread = new Worker(WORKER_MODULE, {
        workerData: data,
        // V8 sizes a worker's heap from the machine (4 GiB here), not from its
        // share: two workers under load peaked at 480–511 MiB against 384.
        resourceLimits: { maxOldGenerationSizeMb: heapMiB },
      });
      slot.thread = thread;
      slot.answeredAtMs = performance.now();
      thread.on("message", (message: FromWorker) => {
        switch (message.kind) {
          case "alive": {
            const wasResponsive = responsive(slot);
            slot.answeredAtMs = performance.now();
            if (!wasResponsive) updateServing();
            break;
          }
          case "listening":
            slot.listening = true;
            slot.restartDelayMs = RESTART_DELAY_MS;
            post(slot, { kind: "health", serving: gatewayServing });
            resolve(message);
            break;
          case "health":
            slot.serving = message.serving;
            updateServing();
            break;
          case "collect":
            void collect().then((metrics) =>
              post(slot, { kind: "collected", id: message.id, metrics }),
            );
            break;
          case "rendered":
            rendering.get(message.id)?.(message.metrics);
            break;
          case "stopped":
            break;
        }
      });
      thread.on("error", (err) => logger.error({ err, worker: slot.index }, "worker failed"));
      thread.on("exit", (code) => {
        const hadListened = slot.listening || startedUp;
        slot.thread = undefined;
        slot.listening = false;
        slot.serving = false;
        slot.lastMetrics = undefined; // its counters end with it, as a process's do
        updateServing();
        if (draining) {
          exited.add(slot);
          if (exited.size === slots.length) allExited();
          return;
        }
        if (!hadListened) {
          reject(new Error(`worker ${slot.index} exited with code ${code} before it listened`));
          return;
        }
        const delayMs = slot.restartDelayMs;
        slot.restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, delayMs * 2);
        logger.error(
          { worker: slot.index, code, restartInMs: delayMs },
          "worker stopped; starting it again",
        );
        setTimeout(() => {
          // A start that fails ends in this handler again, with a longer wait.
          if (!draining) start(slot).catch(() => undefined);
        }, delayMs);
      });
    });

  let first: { port: number; url: string };
  try {
    // SO_REUSEPORT would let a second gateway started on the same port share
    // it silently (a stale or misconfigured instance taking part of the
    // traffic): a port already held, by anyone, is refused as without workers.
    if (config.port !== 0) await portFree(config.port, config.host);
    // The first worker picks the port (with --port 0); the others join it.
    first = await start(slots[0]!);
    port = first.port;
    await Promise.all(slots.slice(1).map(start));
    startedUp = true;
  } catch (err) {
    logger.fatal({ err }, "could not start");
    await Promise.all(slots.map((slot) => slot.thread?.terminate()));
    process.exitCode = 1;
    return;
  }

  // Each worker's event loop answers every second; one that stops is hung.
  const heartbeat = setInterval(() => {
    for (const slot of slots) post(slot, { kind: "ping" });
    updateServing();
  }, HEARTBEAT_INTERVAL_MS);

  const metricsOn = !telemetryDisabled(process.env);
  const metricsHandler: MetricsHandler = (res) => {
    void collect().then((metrics) => answerWith(metrics, res));
  };

  const metricsServer =
    config.metricsPort !== undefined && metricsOn
      ? await startMetricsServer(metricsHandler, config.metricsPort, config.metricsHost)
      : undefined;
  logger.info(
    {
      url: first.url,
      port,
      workers: config.workers,
      maxMemoryMiBPerWorker: maxMemoryMiB,
      metrics: metricsServer?.url ?? (metricsOn ? `${first.url}/metrics` : "off"),
    },
    LISTENING,
  );

  drainOnSignals(logger, config.drainTimeoutSeconds, async () => {
    draining = true;
    clearInterval(heartbeat);
    updateServing();
    const done = new Promise<void>((resolve) => {
      allExited = resolve;
    });
    for (const slot of slots) {
      if (slot.thread === undefined) exited.add(slot);
      else post(slot, { kind: "drain", drainMs: config.drainTimeoutSeconds * 1000 });
    }
    if (exited.size < slots.length) await done;
    await metricsServer?.close();
  });
}

/** Resolves if nothing listens on `port` (a listener without SO_REUSEPORT could bind it). */
function portFree(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen({ port, host: host || undefined }, () => probe.close(() => resolve()));
  });
}
