/**
 * SIGTERM and SIGINT (Kubernetes, `docker stop`, Ctrl-C): the process
 * drains, then exits 0; a second signal exits at once with 1.
 */
import type { Logger } from "pino";

export function drainOnSignals(
  logger: Logger,
  drainSeconds: number,
  drain: () => Promise<void>,
): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, drainSeconds }, "draining");
    drain().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
