/**
 * Fault injection as a backend decorator, around each backend (the engine,
 * the forward backend) and each subscription source: the faults come before
 * the backend, so a record failed here is not written and a call failed here
 * does nothing. Every protocol, the producer and coalesced calls go through
 * it. Injected errors carry AWS's texts; `isInjected` tells telemetry which
 * outcomes were injected (`injected.ts`).
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  assertCallerWaiting,
  type Backend,
  backendOf,
  type CallContext,
  type Dispatch,
} from "../backends/backend.ts";
import { streamNameOfTarget } from "../backends/stream-access.ts";
import { decodeShardIterator, isEngineShardIterator } from "../engine/index.ts";
import { GatewayError, KinesisError, writeRateExceededMessage } from "../kinesis/errors.ts";
import type {
  GetRecordsInput,
  GetRecordsOutput,
  GetShardIteratorInput,
  GetShardIteratorOutput,
  PutRecordInput,
  PutRecordsInput,
  PutRecordsOutput,
  PutRecordsResultEntry,
  StreamRef,
} from "../kinesis/types.ts";
import { parseConsumerArn, streamNameOf } from "../kinesis/validation.ts";
import { type Operation, streamOf, type Target } from "../operations/table.ts";
import { createShardMaps, hashKeyOf, type ShardMap } from "../producer/shard-map.ts";
import type { EventSource, SubscriptionSource } from "../subscriptions/subscriptions.ts";
import { markInjected } from "./injected.ts";
import type { CallPlan, FaultInjector } from "./injector.ts";
import type { CallFailureCode, RecordFailureCode } from "./rules.ts";

export interface FaultsOptions {
  /** The account named in error texts when the stream's ARN does not name one. */
  readonly accountId: string;
}

const INTERNAL_FAILURE = "Internal service failure.";
// AWS's description of the exception (the API reference); no captured message was found.
const KMS_THROTTLING =
  "The request was denied due to request throttling. For more information about throttling, see Limits in the Amazon Web Services Key Management Service Developer Guide.";

/** Upstream iterators remembered with their stream, at most. */
const MAX_ITERATORS = 10_000;

const shardIdOf = (index: number) => `shardId-${String(index).padStart(12, "0")}`;

/** What a call addresses, for the error texts. */
interface Addressed {
  readonly streamName: string | undefined;
  readonly accountId: string;
  /** The shard, when the call names one (PutRecord's is predicted, GetRecords' read from its iterator). */
  readonly shardId?: string | undefined;
}

function accountOf(ref: StreamRef, fallback: string): string {
  return /^arn:[^:]+:kinesis:[^:]*:(\d{12}):/.exec(ref.streamArn ?? "")?.[1] ?? fallback;
}

/** The text AWS gives an error. */
function faultMessage(code: CallFailureCode | RecordFailureCode, at: Addressed): string {
  const stream = at.streamName ?? "";
  switch (code) {
    case "ProvisionedThroughputExceededException":
      return at.shardId === undefined
        ? `Rate exceeded for stream ${stream} under account ${at.accountId}.`
        : writeRateExceededMessage(at.shardId, stream, at.accountId);
    case "LimitExceededException":
      return at.streamName === undefined
        ? `Rate exceeded for account ${at.accountId}.`
        : `Rate exceeded for stream ${stream} under account ${at.accountId}.`;
    case "KMSThrottlingException":
      return KMS_THROTTLING;
    case "ServiceUnavailable":
      return "Service Unavailable";
    case "InternalFailure":
      return INTERNAL_FAILURE;
  }
}

/** An injected error with the text AWS gives it. */
const faultError = (code: CallFailureCode | RecordFailureCode, at: Addressed) =>
  markInjected(new KinesisError(code, faultMessage(code, at)));

/** A map's shard ids as a set, made once per map. */
const shardSets = new WeakMap<ShardMap, ReadonlySet<string>>();
function shardSetOf(map: ShardMap): ReadonlySet<string> {
  let set = shardSets.get(map);
  if (set === undefined) {
    set = new Set(map.shardIds);
    shardSets.set(map, set);
  }
  return set;
}

/**
 * Waits out an injected latency, or as much of it as the caller waits for: a
 * latency that outlasts the caller's deadline ends the call when the deadline
 * comes, whatever the clocks say then (a call must not be served just after
 * its caller gave up). Rules changed meanwhile end the wait, and the call
 * goes on. Returns whether the plan's other faults still apply.
 */
async function delay(ms: number, plan: CallPlan, call: CallContext): Promise<boolean> {
  const left = call.deadline === undefined ? Number.POSITIVE_INFINITY : call.deadline - Date.now();
  const wait = Math.max(0, Math.min(ms, left));
  if (wait > 0) {
    const signal = AbortSignal.any([call.signal, plan.released]);
    await sleep(wait, undefined, { signal, ref: false }).catch(() => {});
  }
  assertCallerWaiting(call);
  if (plan.released.aborted) return false;
  if (ms >= left)
    throw new GatewayError("timeout", "The caller's deadline passed; nothing was done.");
  return true;
}

/**
 * The outage, latency and call failure of a plan; after it the call goes on,
 * its records failed as the plan says, unless the rules changed meanwhile
 * (then false: the call goes on as it is).
 */
async function beforeCall(
  plan: CallPlan,
  operation: string,
  at: (code: CallFailureCode) => Addressed | Promise<Addressed>,
  injector: FaultInjector,
  call: CallContext,
): Promise<boolean> {
  if (plan.outage !== undefined) {
    injector.injected("outage", operation, plan.outage);
    throw faultError(plan.outage, await at(plan.outage));
  }
  if (plan.latencyMs > 0) {
    injector.injected("latency", operation, undefined);
    if (!(await delay(plan.latencyMs, plan, call))) return false;
  }
  if (plan.callFailure !== undefined) {
    injector.injected("call", operation, plan.callFailure);
    throw faultError(plan.callFailure, await at(plan.callFailure));
  }
  return true;
}

export function withFaults(
  backend: Backend,
  injector: FaultInjector,
  options: FaultsOptions,
): Backend {
  // The shards' hash ranges, for the shard a throttled record's text names.
  const shardMaps = createShardMaps(backend);
  /**
   * The streams of the upstream's iterators this gateway handed out (AWS's
   * are opaque; the engine's name their stream), so that a rule for a stream
   * reaches its GetRecords calls. The oldest are forgotten first.
   */
  const iteratorStreams = new Map<string, string>();

  function streamNameFor(target: Target): string | undefined {
    const named = streamNameOfTarget(target);
    if (named !== undefined || !("iterator" in target)) return named;
    return iteratorStreams.get(target.iterator);
  }

  function addressed(target: Target): Addressed {
    const ref = streamOf(target);
    const iterator = "iterator" in target ? decodeShardIterator(target.iterator) : undefined;
    return {
      streamName: streamNameFor(target),
      accountId: accountOf(ref, options.accountId),
      shardId: iterator === undefined ? undefined : shardIdOf(iterator.shardIndex),
    };
  }

  /** What a failed PutRecord addresses: throttled, its record's shard, which AWS's text names. */
  async function addressedPut(
    code: CallFailureCode,
    target: Target,
    input: PutRecordInput,
    call: CallContext,
  ): Promise<Addressed> {
    const at = addressed(target);
    if (code !== "ProvisionedThroughputExceededException") return at;
    const map = await shardMaps.get(streamOf(target), call);
    return { ...at, shardId: map.shardFor(hashKeyOf(input)) };
  }

  /** PutRecords and PutRecord with some records failed here and the rest sent on. */
  async function failRecords(
    name: "PutRecords" | "PutRecord",
    input: PutRecordsInput | PutRecordInput,
    plan: CallPlan,
    call: CallContext,
    send: (input: PutRecordsInput | PutRecordInput) => Promise<unknown>,
  ): Promise<unknown> {
    const entries =
      name === "PutRecords"
        ? ((input as PutRecordsInput).records ?? [])
        : [input as PutRecordInput];
    const failures: (RecordFailureCode | undefined)[] = [];
    let failing = 0;
    for (let i = 0; i < entries.length; i++) {
      const failure = plan.recordFailure(i);
      failures.push(failure);
      if (failure !== undefined) failing++;
    }
    if (failing === 0) return send(input);
    // Read even when no text needs a shard: a stream that does not exist is refused as the backend would.
    const ref: StreamRef = { streamName: input.streamName, streamArn: input.streamArn };
    const map = await shardMaps.get(ref, call);
    const at = addressed({ stream: ref });
    // Throttling names the shard the record would have gone to.
    const messageOf = (code: RecordFailureCode, i: number) =>
      faultMessage(
        code,
        code === "ProvisionedThroughputExceededException"
          ? { ...at, shardId: map.shardFor(hashKeyOf(entries[i]!)) }
          : at,
      );
    if (name === "PutRecord") {
      const code = failures[0]!;
      injector.injected("record", name, code);
      throw markInjected(new KinesisError(code, messageOf(code, 0)));
    }
    const kept = entries.filter((_, i) => failures[i] === undefined);
    const out =
      kept.length === 0
        ? undefined
        : ((await send({ ...(input as PutRecordsInput), records: kept })) as PutRecordsOutput);
    const results: PutRecordsResultEntry[] = [];
    let next = 0;
    for (let i = 0; i < entries.length; i++) {
      const failure = failures[i];
      if (failure === undefined) {
        const result = out!.records[next++]!;
        // A shard the map does not know: a reshard since it was read.
        if (result.shardId !== undefined && !shardSetOf(map).has(result.shardId)) {
          shardMaps.invalidate(ref);
        }
        results.push(result);
        continue;
      }
      results.push(markInjected({ errorCode: failure, errorMessage: messageOf(failure, i) }));
    }
    for (const code of new Set(failures)) {
      if (code !== undefined) {
        injector.injected("record", name, code, failures.filter((f) => f === code).length);
      }
    }
    return {
      ...out,
      failedRecordCount: (out?.failedRecordCount ?? 0) + failing,
      records: results,
      encryptionType: out?.encryptionType ?? "NONE",
    } satisfies PutRecordsOutput;
  }

  const injecting: Dispatch = async (operation, input, call) => {
    // Without rules, one check and the call goes on.
    if (injector.ruleSet === undefined) return backend.call(operation, input, call);
    const target = operation.target(input);
    const plan = injector.plan(operation.name, streamNameFor(target));
    if (plan === undefined) return backend.call(operation, input, call);
    const stillApplies = await beforeCall(
      plan,
      operation.name,
      (code) =>
        operation.name === "PutRecord"
          ? addressedPut(code, target, input as PutRecordInput, call)
          : addressed(target),
      injector,
      call,
    );
    const name = operation.name;
    if (!stillApplies || !plan.failsRecords || (name !== "PutRecords" && name !== "PutRecord")) {
      return backend.call(operation, input, call);
    }
    return failRecords(name, input as PutRecordsInput | PutRecordInput, plan, call, (sent) =>
      backend.call(operation, sent as typeof input, call),
    ) as ReturnType<typeof backend.call<typeof name>>;
  };

  /** GetShardIterator and GetRecords, whose upstream iterators are remembered with their stream. */
  async function followingIterators(
    operation: Operation<"GetShardIterator"> | Operation<"GetRecords">,
    input: GetShardIteratorInput | GetRecordsInput,
    call: CallContext,
  ): Promise<GetShardIteratorOutput | GetRecordsOutput> {
    const out = (await injecting(operation as Operation, input as never, call)) as
      | GetShardIteratorOutput
      | GetRecordsOutput;
    const next =
      "shardIterator" in out ? out.shardIterator : (out as GetRecordsOutput).nextShardIterator;
    if (next === undefined || isEngineShardIterator(next)) return out;
    const streamName = streamNameFor(operation.target(input as never));
    if (streamName === undefined) return out;
    iteratorStreams.set(next, streamName);
    if (iteratorStreams.size > MAX_ITERATORS) {
      iteratorStreams.delete(iteratorStreams.keys().next().value as string);
    }
    return out;
  }

  return backendOf((operation, input, call) =>
    operation.name === "GetShardIterator" || operation.name === "GetRecords"
      ? (followingIterators(
          operation as Operation<"GetShardIterator">,
          input as GetShardIteratorInput,
          call,
        ) as ReturnType<Dispatch>)
      : injecting(operation, input, call),
  );
}

/** A subscription's events, ended with `error` after `afterEvents` of them. */
async function* cutAfter(
  events: EventSource,
  afterEvents: number,
  released: AbortSignal,
  error: () => Error,
): EventSource {
  let delivered = 0;
  if (afterEvents === 0) throw error();
  for await (const event of events) {
    yield event;
    // Rules changed since it was subscribed: no cut.
    if (++delivered >= afterEvents && !released.aborted) throw error();
  }
}

/** SubscribeToShard's faults: refused, delayed, or cut after some events. */
export function withSubscriptionFaults(
  source: SubscriptionSource,
  injector: FaultInjector,
  options: FaultsOptions,
): SubscriptionSource {
  return async (input, call) => {
    if (injector.ruleSet === undefined) return source(input, call);
    const streamArn = input.streamArn ?? parseConsumerArn(input.consumerArn ?? "")?.streamArn;
    const streamName = streamNameOf({ streamName: input.streamName, streamArn });
    const plan = injector.plan("SubscribeToShard", streamName);
    if (plan === undefined) return source(input, call);
    const at = (): Addressed => ({
      streamName,
      accountId: accountOf({ streamArn }, options.accountId),
      shardId: input.shardId ?? undefined,
    });
    const stillApplies = await beforeCall(plan, "SubscribeToShard", at, injector, call);
    const events = await source(input, call);
    const cut = plan.cut;
    if (!stillApplies || cut === undefined) return events;
    return cutAfter(events, cut.afterEvents, plan.released, () => {
      injector.injected("subscription_cut", "SubscribeToShard", cut.code);
      return faultError(cut.code, at());
    });
  };
}
