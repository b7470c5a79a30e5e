/**
 * SubscribeToShard, for every protocol: the wire API's event stream and the
 * gRPC API's server stream are adapters over this.
 *
 * A source (the engine's push, the upstream's event stream, or GetRecords
 * polled for the shared mode of a forwarded stream) yields events; this layer
 * validates the request, checks the caller may use the stream, picks the
 * source by the stream's route and ends the subscription when its lifetime
 * is over (AWS: 5 minutes), when the caller goes away, or when the gateway
 * drains. How it ended tells the adapter what to say: a clean end after the
 * lifetime or a drain (AWS SDKs resubscribe from the last continuation), an
 * exception when the source failed.
 */
import type { Meter } from "@opentelemetry/api";
import type { CallContext } from "../backends/backend.ts";
import { GatewayError } from "../kinesis/errors.ts";
import type { SubscribeToShardEvent, SubscribeToShardInput } from "../kinesis/types.ts";
import { parseConsumerArn, streamNameOf, validateSubscribeToShard } from "../kinesis/validation.ts";
import { createSubscriptionTelemetry } from "./subscription-telemetry.ts";

/** The events of one subscription, from the source that serves its stream. */
export type EventSource = AsyncIterable<SubscribeToShardEvent>;

/**
 * A source of subscriptions: resolves once the subscription is accepted (a
 * refusal rejects, and the caller answers it as a failed call); the events
 * then come until the source ends them, the signal aborts (the iteration
 * then ends), or it fails with the KinesisError a subscriber is told. The
 * signal always aborts in the end (the lifetime at the latest): a source lets
 * go of what it holds then, whether its events were read or not.
 */
export type SubscriptionSource = (
  input: SubscribeToShardInput,
  call: CallContext,
) => Promise<EventSource>;

/** How a subscription ended, for the adapter to say. */
export type SubscriptionEnd =
  /** Its lifetime is over: the subscriber resubscribes from the continuation. */
  | "lifetime"
  /** The gateway is draining. */
  | "shutdown"
  /** The caller went away or its deadline passed. */
  | "caller"
  /** The source ended it: a closed shard read to its end, or the upstream's own lifetime. */
  | "source";

export interface Subscription {
  readonly events: EventSource;
  /** Set once the events have ended without an exception. */
  readonly end: () => SubscriptionEnd;
  /** The stream, once validated: for telemetry. */
  readonly streamName: string;
  /**
   * Ends it, whether or not its events were read: the adapter calls it once
   * it is done (the consumer may then subscribe to the shard again).
   */
  readonly close: () => void;
}

export interface SubscriptionsOptions {
  /** The source of each backend, by the name the router gives it (`engine`, `kinesis`). */
  readonly sources: ReadonlyMap<string, SubscriptionSource>;
  /** The backend a stream's calls go to, or `none`. */
  readonly backendNameFor: (streamName: string) => string;
  /** How long a consumer's subscription lasts. Default 300,000 (5 minutes, AWS). */
  readonly lifetimeMs?: number | undefined;
  /** Aborted when the gateway drains. */
  readonly shutdown?: AbortSignal | undefined;
  /** Counts events and records and observes each subscription's lag. Default: none. */
  readonly meter?: Meter | undefined;
}

export interface Subscriptions {
  /**
   * Subscribes: `requireConsumer` for the wire API, where a consumer ARN is
   * required; gRPC may name the stream instead.
   */
  subscribe(
    input: SubscribeToShardInput,
    call: CallContext,
    options: { requireConsumer: boolean },
  ): Promise<Subscription>;
}

export const DEFAULT_SUBSCRIPTION_LIFETIME_MS = 300_000;

const shuttingDown = () =>
  new GatewayError("unavailable", "The gateway is shutting down; subscribe again.");

const forbidden = () =>
  new GatewayError(
    "forbidden",
    "The caller is not allowed to perform this operation on this stream.",
  );

/** The stream a validated request reads: its consumer's, or the one it names. */
function streamOfSubscription(input: SubscribeToShardInput): string {
  if (input.consumerArn !== undefined) return parseConsumerArn(input.consumerArn)!.streamName;
  return streamNameOf(input) ?? "";
}

export function createSubscriptions(options: SubscriptionsOptions): Subscriptions {
  const lifetimeMs = options.lifetimeMs ?? DEFAULT_SUBSCRIPTION_LIFETIME_MS;
  const shutdown = options.shutdown ?? new AbortController().signal;
  const telemetry = createSubscriptionTelemetry(options.meter);
  return {
    async subscribe(input, call, { requireConsumer }) {
      validateSubscribeToShard(input, { requireConsumer });
      const streamName = streamOfSubscription(input);
      if (call.principal?.restricted === true && !call.principal.mayUse(streamName)) {
        throw forbidden();
      }
      const source = options.sources.get(options.backendNameFor(streamName));
      if (source === undefined) {
        throw new GatewayError(
          "unrouted",
          `Stream ${streamName} is not served by this gateway: no --route matches it and there is no default backend.`,
        );
      }
      // A consumer's subscription lasts its lifetime; a shared one (gRPC only) until cancelled.
      const lifetime = new AbortController();
      const timer =
        input.consumerArn === undefined
          ? undefined
          : setTimeout(() => lifetime.abort(), lifetimeMs).unref();
      const closed = new AbortController();
      const signal = AbortSignal.any([call.signal, shutdown, lifetime.signal, closed.signal]);
      const close = () => {
        clearTimeout(timer);
        closed.abort();
      };
      let events: EventSource;
      try {
        events = await source(input, { ...call, signal });
      } catch (err) {
        close();
        // A drain that cut the subscribing short is the gateway's doing: say so, as for one under way.
        if (shutdown.aborted && !call.signal.aborted) throw shuttingDown();
        throw err;
      }
      // Accepted: the stream, shard and consumer exist, so they may become labels (bounded still).
      const end = (): SubscriptionEnd => {
        if (call.signal.aborted) return "caller";
        if (shutdown.aborted) return "shutdown";
        if (lifetime.signal.aborted) return "lifetime";
        return "source";
      };
      const observed = telemetry.observe(input, streamName);
      async function* bounded(): EventSource {
        try {
          for await (const event of events) {
            if (signal.aborted) return;
            observed.event(event);
            yield event;
          }
        } catch (err) {
          // A source cut short by the signal fails with its reason: that is an end, not a failure.
          if (!signal.aborted) throw err;
        } finally {
          close();
          observed.end();
        }
      }
      return {
        events: bounded(),
        end,
        streamName,
        close: () => {
          close();
          observed.end();
        },
      };
    },
  };
}
