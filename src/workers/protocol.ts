/**
 * What the primary (the main thread) and its workers tell each other. The
 * workers serve the port; the primary holds what must be one for the
 * gateway: readiness, the metrics, the drain.
 */
import type { Config } from "../config.ts";
import type { RenderedMetrics } from "../telemetry/telemetry.ts";

/** What a worker is started with. */
export interface WorkerData {
  /** Its configuration: its share of the gateway's limits, and the port to share (0: it picks). */
  readonly config: Config;
  /** 1 to N, in logs. */
  readonly index: number;
}

export type FromWorker =
  | { readonly kind: "listening"; readonly port: number; readonly url: string }
  /** Whether this worker alone could serve (its upstream reachable, not draining). */
  | { readonly kind: "health"; readonly serving: boolean }
  /** `/metrics` was asked of this worker: the gateway's is wanted. */
  | { readonly kind: "collect"; readonly id: number }
  | { readonly kind: "rendered"; readonly id: number; readonly metrics: RenderedMetrics }
  /** Its event loop turns (the answer to a ping). */
  | { readonly kind: "alive" }
  | { readonly kind: "stopped" };

export type ToWorker =
  /** The gateway's readiness, which every worker reports. */
  | { readonly kind: "health"; readonly serving: boolean }
  /** Render this worker's own metrics. */
  | { readonly kind: "render"; readonly id: number }
  | { readonly kind: "collected"; readonly id: number; readonly metrics: RenderedMetrics }
  | { readonly kind: "drain"; readonly drainMs: number }
  | { readonly kind: "ping" };
