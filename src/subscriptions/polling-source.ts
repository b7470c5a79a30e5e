/**
 * Subscriptions without a consumer to a stream the engine does not serve: the
 * gRPC API's shared mode in forward mode, where no event stream exists to
 * relay. GetRecords is polled for the caller, with the shard's shared
 * throughput, and what it finds is pushed: at most 4 calls a second while
 * nothing comes (4 of a shard's 5), at once while records do.
 *
 * Events are read as the caller takes them, so a caller that stops reading
 * stops the polling.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Backend, CallContext } from "../backends/backend.ts";
import { KinesisError } from "../kinesis/errors.ts";
import type { GetShardIteratorInput, SubscribeToShardInput } from "../kinesis/types.ts";
import type { EventSource, SubscriptionSource } from "./subscriptions.ts";

/** Wait between polls that found nothing new: 4 of a shard's 5 reads a second. */
export const DEFAULT_IDLE_POLL_MS = 250;

/** Waits; false when the caller went away first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Calls the backend, waiting and trying again while the shard's read budget
 * is spent; undefined when the caller went away first.
 */
export async function whileThrottled<T>(
  attempt: () => Promise<T>,
  signal: AbortSignal,
  waitMs: number,
): Promise<T | undefined> {
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof KinesisError && err.type === "ProvisionedThroughputExceededException"))
        throw err;
      if (!(await pause(waitMs, signal))) return undefined;
    }
  }
}

/** The GetShardIterator request a subscription's position makes. */
export function iteratorRequest(input: SubscribeToShardInput): GetShardIteratorInput {
  const position = input.startingPosition;
  return {
    streamName: input.streamName,
    streamArn: input.streamArn,
    shardId: input.shardId,
    shardIteratorType: position?.type ?? null,
    startingSequenceNumber: position?.sequenceNumber,
    timestamp: position?.timestamp,
  };
}

export function createPollingSource(
  backend: Backend,
  idlePollMs: number = DEFAULT_IDLE_POLL_MS,
): SubscriptionSource {
  async function* events(
    firstIterator: string,
    startedAt: string | undefined,
    call: CallContext,
  ): EventSource {
    const { signal } = call;
    let shardIterator = firstIterator;
    let continuation = startedAt;
    let first = true;
    while (!signal.aborted) {
      const out = await whileThrottled(
        () => backend.getRecords({ shardIterator }, call),
        signal,
        idlePollMs,
      );
      if (out === undefined) return;
      const closedAndRead = out.nextShardIterator === undefined;
      continuation = out.records.at(-1)?.sequenceNumber ?? continuation;
      // The first event says the subscription is live even when there is nothing yet.
      if (out.records.length > 0 || first || closedAndRead) {
        yield {
          records: out.records,
          continuationSequenceNumber: closedAndRead ? undefined : continuation,
          millisBehindLatest: out.millisBehindLatest,
          childShards: out.childShards,
        };
      }
      first = false;
      if (closedAndRead) return;
      shardIterator = out.nextShardIterator!;
      if (out.records.length === 0 && !(await pause(idlePollMs, signal))) return;
    }
  }

  return async (input, call) => {
    const { shardIterator } = await backend.getShardIterator(iteratorRequest(input), call);
    return events(shardIterator, input.startingPosition?.sequenceNumber || undefined, call);
  };
}
