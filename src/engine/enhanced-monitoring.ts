import { METRICS_NAMES } from "../kinesis/limits.ts";
import type { EnhancedMonitoringOutput, MetricsName } from "../kinesis/types.ts";
import type { StreamState } from "./stream.ts";

/** Every metric ALL stands for, in the model's order. */
const EACH_METRIC = METRICS_NAMES.filter((metric) => metric !== "ALL");

/** A stream's enabled metrics in the model's order, as AWS lists them. */
export function enabledMetrics(stream: StreamState): MetricsName[] {
  return EACH_METRIC.filter((metric) => stream.shardLevelMetrics.has(metric));
}

/**
 * Enables or disables validated shard-level metrics (ALL is each of them)
 * and answers the metrics before and after, as Enable/DisableEnhancedMonitoring do.
 * The gateway records the setting only; it publishes no metrics.
 */
export function changeMonitoring(
  stream: StreamState,
  metrics: readonly string[],
  enable: boolean,
): EnhancedMonitoringOutput {
  const current = enabledMetrics(stream);
  const named = metrics.includes("ALL")
    ? EACH_METRIC
    : EACH_METRIC.filter((metric) => metrics.includes(metric));
  for (const metric of named) {
    if (enable) stream.shardLevelMetrics.add(metric);
    else stream.shardLevelMetrics.delete(metric);
  }
  return {
    streamName: stream.name,
    streamArn: stream.arn,
    currentShardLevelMetrics: current,
    desiredShardLevelMetrics: enabledMetrics(stream),
  };
}
