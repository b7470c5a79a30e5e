/**
 * One worker thread of `--workers N`: a whole gateway (its own OpenTelemetry
 * SDK, AWS SDK client and connections) on the port the workers share, with
 * readiness, `/metrics` and the drain left to the primary (`primary.ts`).
 */
import { parentPort, workerData } from "node:worker_threads";
import { createLogger } from "../logger.ts";
import { type RunningGateway, startGateway } from "../main.ts";
import {
  answerWith,
  type MetricsHandler,
  rendered,
  startTelemetry,
} from "../telemetry/telemetry.ts";
import type { FromWorker, ToWorker, WorkerData } from "./protocol.ts";

const data = workerData as WorkerData;
const primary = parentPort!;
const send = (message: FromWorker) => primary.postMessage(message);

const { config } = data;
const logger = createLogger({ level: config.logLevel }).child({ worker: data.index });
const telemetry = await startTelemetry({ logger });

/** `/metrics` answers waiting for every worker's, by request. */
const collecting = new Map<number, Parameters<MetricsHandler>[0]>();
let nextCollect = 0;
const servingListeners: ((serving: boolean) => void)[] = [];
let gateway: RunningGateway | undefined;

primary.on("message", (message: ToWorker) => {
  switch (message.kind) {
    case "health":
      for (const listener of servingListeners) listener(message.serving);
      break;
    case "render":
      if (telemetry.metricsHandler !== undefined) {
        void rendered(telemetry.metricsHandler).then((metrics) =>
          send({ kind: "rendered", id: message.id, metrics }),
        );
      }
      break;
    case "collected": {
      const res = collecting.get(message.id);
      collecting.delete(message.id);
      if (res !== undefined) answerWith(message.metrics, res);
      break;
    }
    case "ping":
      send({ kind: "alive" });
      break;
    case "drain":
      void (gateway?.stop(message.drainMs) ?? Promise.resolve())
        .then(() => telemetry.shutdown())
        .finally(() => {
          send({ kind: "stopped" });
          process.exit(0); // this thread
        });
      break;
  }
});

try {
  gateway = await startGateway(config, logger, {
    telemetry,
    worker: {
      reportServing: (serving) => send({ kind: "health", serving }),
      onServing: (listener) => servingListeners.push(listener),
      // With --metrics-port, the primary serves the metrics there.
      metricsHandler:
        telemetry.metricsHandler === undefined || config.metricsPort !== undefined
          ? undefined
          : (res) => {
              const id = nextCollect++;
              collecting.set(id, res);
              send({ kind: "collect", id });
            },
    },
  });
  send({ kind: "listening", port: gateway.port, url: gateway.url });
} catch (err) {
  logger.fatal({ err }, "could not start");
  process.exit(1); // this thread
}
