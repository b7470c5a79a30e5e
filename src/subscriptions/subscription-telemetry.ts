/**
 * What subscriptions report: events and records delivered, and how far each
 * live subscription is behind its shard's tip (`MillisBehindLatest`), by
 * stream, shard and consumer. Only accepted subscriptions are labelled (the
 * source found the stream, shard and consumer), and each kind of label is
 * capped (`stream-labels.ts`), so no request can grow the number of series:
 * past the caps, values are counted under `_OTHER`. The lag is observed for
 * live subscriptions only.
 */
import type { Attributes, Meter } from "@opentelemetry/api";
import { shardIdFor, shardIndexFromId } from "../engine/shard-ranges.ts";
import type { SubscribeToShardEvent, SubscribeToShardInput } from "../kinesis/types.ts";
import { parseConsumerArn } from "../kinesis/validation.ts";
import { createStreamLabels } from "../telemetry/stream-labels.ts";

export interface ObservedSubscription {
  event(event: SubscribeToShardEvent): void;
  /** The subscription ended: its lag is no longer observed. */
  end(): void;
}

export interface SubscriptionTelemetry {
  observe(input: SubscribeToShardInput, streamName: string): ObservedSubscription;
}

/** Shards of every stream of a busy account: AWS's default quota is 1,000 open shards. */
const MAX_SHARD_LABELS = 1000;

const NOTHING: ObservedSubscription = { event: () => {}, end: () => {} };

export function createSubscriptionTelemetry(meter: Meter | undefined): SubscriptionTelemetry {
  if (meter === undefined) return { observe: () => NOTHING };
  const events = meter.createCounter("kinesis_gateway.subscription.events", {
    description: "SubscribeToShard events delivered, by stream, shard and consumer",
    unit: "{event}",
  });
  const records = meter.createCounter("kinesis_gateway.subscription.records", {
    description: "Records delivered by SubscribeToShard, by stream, shard and consumer",
    unit: "{record}",
  });
  const lag = meter.createObservableGauge("kinesis_gateway.subscription.millis_behind_latest", {
    description: "How far each live subscription is behind its shard's tip (MillisBehindLatest)",
    unit: "ms",
  });
  const streams = createStreamLabels();
  const shards = createStreamLabels(MAX_SHARD_LABELS);
  const consumers = createStreamLabels();
  const live = new Map<object, { attributes: Attributes; behind: number }>();
  lag.addCallback((result) => {
    for (const { attributes, behind } of live.values()) result.observe(behind, attributes);
  });

  return {
    observe(input, streamName) {
      const consumer =
        input.consumerArn === undefined ? "" : parseConsumerArn(input.consumerArn)!.consumerName;
      // AWS reads a shard id by its digits (`1`, `x-01` and `shardId-000000000001`
      // name one shard): labelled as caller spelled it, one shard would make
      // as many series as spellings.
      const given = input.shardId ?? "";
      const index = shardIndexFromId(given);
      const shard = index === undefined ? given : shardIdFor(index);
      for (const [labels, value] of [
        [streams, streamName],
        [shards, shard],
        [consumers, consumer],
      ] as const) {
        labels.confirm(value);
      }
      const attributes: Attributes = {
        "messaging.destination.name": streams.label(streamName),
        "messaging.destination.partition.id": shards.label(shard),
        // The shared mode (gRPC without a consumer) has none: "".
        "messaging.consumer.group.name": consumer === "" ? "" : consumers.label(consumer),
      };
      const key = {};
      const state = { attributes, behind: 0 };
      live.set(key, state);
      return {
        event(event) {
          events.add(1, attributes);
          if (event.records.length > 0) records.add(event.records.length, attributes);
          state.behind = event.millisBehindLatest;
        },
        end() {
          live.delete(key);
        },
      };
    },
  };
}
