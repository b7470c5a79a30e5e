/**
 * What the primary (the main thread) and its workers tell each other. The
 * workers serve the port; the primary holds what must be one for the
 * gateway: readiness, the metrics, the drain.
 */
import type { RenderedMetrics } from "../telemetry/telemetry.ts";

/** What a worker is started with. */
export interface WorkerData {
  /** The command line, parsed again in the worker (configuration does not cross threads). */
  readonly argv: readonly string[];
  /** 1 to N, in logs. */
  readonly index: number;
  /** The port to share (0 for the first worker: it picks it). */
  readonly port: number;
  /** This worker's share of `--max-memory-mib`. */
  readonly maxMemoryMiB: number;
}

export type FromWorker =
  | { readonly kind: "listening"; readonly port: number; readonly url: string }
  /** Whether this worker alone could serve (its upstream reachable, not draining). */
  | { readonly kind: "health"; readonly serving: boolean }
  /** `/metrics` was asked of this worker: the gateway's is wanted. */
  | { readonly kind: "collect"; readonly id: number }
  | { readonly kind: "rendered"; readonly id: number; readonly metrics: RenderedMetrics }
  | { readonly kind: "stopped" };

export type ToWorker =
  /** The gateway's readiness, which every worker reports. */
  | { readonly kind: "health"; readonly serving: boolean }
  /** Render this worker's own metrics. */
  | { readonly kind: "render"; readonly id: number }
  | { readonly kind: "collected"; readonly id: number; readonly metrics: RenderedMetrics }
  | { readonly kind: "drain"; readonly drainMs: number };
