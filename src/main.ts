/**
 * The composition root: configuration → logger → engine and backend →
 * server → signals. `startGateway` is what tests and the command share.
 */
import type { Logger } from "pino";
import { createEngineBackend } from "./backends/engine-backend.ts";
import { type Config, parseConfig } from "./config.ts";
import { createEngine } from "./engine/index.ts";
import { createLogger } from "./logger.ts";
import { createGatewayServer } from "./server/gateway-server.ts";

export interface RunningGateway {
  /** The bound port (useful with port 0). */
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

export async function startGateway(config: Config, logger: Logger): Promise<RunningGateway> {
  if (config.backend === "kinesis" || config.routes.some((r) => r.backend === "kinesis")) {
    throw new Error("the kinesis backend is not available yet; use --backend engine");
  }
  const engine = createEngine({
    accountId: config.accountId,
    region: config.region,
    throttle: config.throttle,
    shardWriteRecordsPerSecond: config.shardRecordsPerSecond,
    shardWriteBytesPerSecond: config.shardBytesPerSecond,
    burstSeconds: config.throttleBurstSeconds,
    retentionHours: config.retentionHours,
    maxStreamBytes: config.maxStreamMiB * 1024 * 1024,
  });
  for (const stream of config.streams) {
    engine.createStream({ streamName: stream.name, shardCount: stream.shardCount });
    logger.info({ stream: stream.name, shards: stream.shardCount }, "stream created");
  }
  const server = createGatewayServer({ backend: createEngineBackend(engine), logger });
  const address = await server.listen(config.port, config.host);
  server.ready = true;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info(
    { url, port: address.port, backend: config.backend, throttle: config.throttle },
    "kinesis-gateway listening",
  );
  return { port: address.port, url, stop: () => server.close() };
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
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(result.config, logger);
  } catch (err) {
    logger.fatal({ err }, "could not start");
    process.exitCode = 1;
    return;
  }
  const stop = (signal: string) => {
    logger.info({ signal }, "shutting down");
    gateway.stop().then(
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
