/**
 * Keeps track of whether the upstream answers, for readiness: probes it now
 * and then (often while it is down, seldom while it is up), and learns of a
 * failure at once from the calls themselves.
 */
import type { Logger } from "pino";

export interface UpstreamMonitorOptions {
  /** Resolves true when the upstream answered. */
  probe(signal: AbortSignal): Promise<boolean>;
  logger: Logger;
  /** Between probes while reachable. Default 10 s. */
  upIntervalMs?: number;
  /** Between probes while unreachable. Default 1 s. */
  downIntervalMs?: number;
  /** How long one probe may take. Default 2 s. */
  probeTimeoutMs?: number;
  /** Told when reachability changes (the first probe counts). */
  onChange?: (reachable: boolean) => void;
}

export interface UpstreamMonitor {
  readonly reachable: boolean;
  /** A call just failed to reach the upstream. */
  markUnreachable(): void;
  /** Resolves after the first probe. */
  readonly firstProbe: Promise<void>;
  stop(): void;
}

export function createUpstreamMonitor(options: UpstreamMonitorOptions): UpstreamMonitor {
  const upIntervalMs = options.upIntervalMs ?? 10_000;
  const downIntervalMs = options.downIntervalMs ?? 1_000;
  let reachable: boolean | undefined; // unknown until the first probe
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const set = (value: boolean) => {
    const changed = value !== reachable;
    if (changed) {
      options.logger[value ? "info" : "warn"](
        value ? "upstream reachable; ready" : "upstream unreachable; not ready",
      );
    }
    reachable = value;
    if (changed) options.onChange?.(value);
  };

  const schedule = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void probeOnce(), reachable ? upIntervalMs : downIntervalMs);
    timer.unref();
  };

  async function probeOnce(): Promise<void> {
    const ok = await options
      .probe(AbortSignal.timeout(options.probeTimeoutMs ?? 2_000))
      .catch(() => false);
    if (!stopped) set(ok);
    schedule();
  }

  const firstProbe = probeOnce();
  return {
    get reachable() {
      return reachable === true;
    },
    markUnreachable() {
      if (reachable !== true) return;
      set(false);
      schedule();
    },
    firstProbe,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
