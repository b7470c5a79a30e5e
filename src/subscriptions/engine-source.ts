/**
 * Subscriptions served by the built-in engine, pushed by writes: a
 * subscription reads what its shard has, then waits until the shard wakes it
 * (a record appended, the shard closed, the stream or consumer removed, the
 * subscription taken over) or a reshard it waits for is due. An idle
 * subscription holds a callback in its shard and, with a consumer, a timer
 * for the heartbeat; nothing runs until one fires.
 *
 * Events are made as the caller takes them (an async generator), so a caller
 * that does not read makes no reads and holds no records: the transport's
 * flow control paces the engine.
 */
import type { CallContext } from "../backends/backend.ts";
import { assertCallerWaiting } from "../backends/backend.ts";
import type { Engine, EngineSubscription } from "../engine/index.ts";
import type { SubscribeToShardEvent } from "../kinesis/types.ts";
import type { EventSource, SubscriptionSource } from "./subscriptions.ts";

export interface EngineSourceOptions {
  /**
   * With a consumer, an event without records is sent after this long
   * without one: AWS sends events to an idle enhanced fan-out subscription
   * (its continuation "captures your shard progress even when no data is
   * written"), at a period it does not document. Default 10,000: each event
   * costs the server 0.5-1 ms of CPU here (measured, mostly garbage
   * collection), so 100 idle subscriptions at 10 s cost 1-2 % of a core
   * where without heartbeats they cost 0.2 %. Shared subscriptions send
   * only the first event and events with records.
   */
  heartbeatMs?: number | undefined;
  /**
   * The most bytes of records one read takes, so one event holds (a single
   * larger record comes alone). Default 256 KiB: a subscriber that stops
   * reading holds the event it could not take, and 300 of them holding 2 MiB
   * events (2.7 MB in JSON) took the gateway to 900 MiB (an outside tester's
   * finding); a consumer's 2 MiB/s is then 8 events a second.
   */
  maxReadBytes?: number | undefined;
}

const DEFAULT_HEARTBEAT_MS = 10_000;
const DEFAULT_MAX_READ_BYTES = 256 * 1024;

/**
 * Resolves at the subscription's next change, at `untilMs` (engine clock,
 * which is the wall clock in the gateway), or when `signal` aborts.
 */
function nextChange(
  subscription: EngineSubscription | undefined,
  untilMs: number | undefined,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      cancel?.();
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const cancel = subscription?.onChange(done);
    if (untilMs !== undefined) timer = setTimeout(done, Math.max(0, untilMs - Date.now()));
    if (signal.aborted) done();
    else signal.addEventListener("abort", done, { once: true });
  });
}

export function createEngineSource(
  engine: Engine,
  options: EngineSourceOptions = {},
): SubscriptionSource {
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const maxReadBytes = options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES;

  async function* events(
    subscription: EngineSubscription,
    withHeartbeat: boolean,
    signal: AbortSignal,
  ): EventSource {
    let first = true;
    let lastSentMs = Date.now();
    try {
      while (!signal.aborted) {
        const read = subscription.read(maxReadBytes);
        if (read.kind === "wait") {
          await nextChange(undefined, read.untilMs, signal);
          continue;
        }
        const event: SubscribeToShardEvent = read.event;
        const heartbeatDue = withHeartbeat && Date.now() - lastSentMs >= heartbeatMs;
        const sent =
          event.records.length > 0 || first || heartbeatDue || event.childShards !== undefined;
        if (sent) {
          yield event;
          lastSentMs = Date.now();
        }
        first = false;
        if (event.childShards !== undefined) return; // a closed shard, read to its end
        // A write while the event was with the caller woke nobody: read again before waiting.
        if (!read.caughtUp || sent) continue;
        const wakeAt = [
          subscription.nextTransitionMs(),
          withHeartbeat ? lastSentMs + heartbeatMs : undefined,
        ].filter((t): t is number => t !== undefined);
        await nextChange(
          subscription,
          wakeAt.length === 0 ? undefined : Math.min(...wakeAt),
          signal,
        );
      }
    } finally {
      subscription.close();
    }
  }

  return async (input, call: CallContext) => {
    assertCallerWaiting(call);
    const subscription = engine.subscribeToShard(input);
    call.signal.addEventListener("abort", () => subscription.close(), { once: true });
    return events(subscription, input.consumerArn !== undefined, call.signal);
  };
}
