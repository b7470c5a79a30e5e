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
/** How long the primary waits for a worker's metrics; a worker that does not answer is left out. */
const RENDER_TIMEOUT_MS = 2_000;
/** As for one gateway's `/metrics`: one rendering serves every scrape within it. */
const METRICS_RENDER_INTERVAL_MS = 1_000;

interface Slot {
  readonly index: number;
  thread: Worker | undefined;
  listening: boolean;
  serving: boolean;
  /** The wait before its next start, if it dies now. */
  restartDelayMs: number;
}

export async function runWorkers(
  config: Config,
  argv: readonly string[],
  logger: Logger,
): Promise<void> {
  const maxMemoryMiB = Math.floor(config.maxMemoryMiB / config.workers);
  const slots: Slot[] = Array.from({ length: config.workers }, (_, i) => ({
    index: i + 1,
    thread: undefined,
    listening: false,
    serving: false,
    restartDelayMs: RESTART_DELAY_MS,
  }));
  /** Whether every worker has listened once: from then on, a worker that dies is started again. */
  let startedUp = false;
  let draining = false;
  let port = config.port;
  let gatewayServing = false;

  const post = (slot: Slot, message: ToWorker) => slot.thread?.postMessage(message);
  const updateServing = () => {
    const serving = !draining && slots.every((slot) => slot.thread !== undefined && slot.serving);
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
  let collected: Promise<RenderedMetrics> | undefined;
  let collectedAtMs = Number.NEGATIVE_INFINITY;
  const collect = (): Promise<RenderedMetrics> => {
    const nowMs = performance.now();
    if (collected === undefined || nowMs - collectedAtMs >= METRICS_RENDER_INTERVAL_MS) {
      collectedAtMs = nowMs;
      collected = Promise.all(slots.filter((s) => s.listening).map(renderOne)).then((all) => {
        const rendered = all.filter((m) => m !== undefined && m.status === 200);
        return {
          status: 200,
          headers: rendered[0]?.headers ?? { "content-type": "text/plain; charset=utf-8" },
          body: mergePrometheusTexts(rendered.map((m) => m!.body)),
        };
      });
    }
    return collected;
  };

  const exited = new Set<Slot>();
  let allExited: () => void = () => {};
  const start = (slot: Slot) =>
    new Promise<{ port: number; url: string }>((resolve, reject) => {
      const data: WorkerData = { argv, index: slot.index, port, maxMemoryMiB };
      const thread = new Worker(WORKER_MODULE, { workerData: data });
      slot.thread = thread;
      thread.on("message", (message: FromWorker) => {
        switch (message.kind) {
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
        slot.thread = undefined;
        slot.listening = false;
        slot.serving = false;
        updateServing();
        if (draining) {
          exited.add(slot);
          if (exited.size === slots.length) allExited();
          return;
        }
        if (!startedUp) {
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
