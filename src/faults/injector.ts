/**
 * The rules in force and the decisions they make. Every decision is a hash of
 * the seed, the rule, the stream, the operation, the call's ordinal among the
 * calls of that operation on that stream since the rules were set, and the
 * record's position in its call: no clock and no shared random state, so the
 * same calls after the same `SetFaults` get the same faults, whatever the
 * timing, and calls to one stream do not move another's. Outages are the one
 * thing that follows the clock: a window from when the rules were set.
 */
import { type Attributes, type Meter, trace } from "@opentelemetry/api";
import type { Logger } from "pino";
import { matchesAny } from "../backends/glob.ts";
import {
  type CallFailureCode,
  FAULT_OPERATIONS,
  type FaultRuleSet,
  type Latency,
  type RecordFailureCode,
} from "./rules.ts";

/** What one call gets. */
export interface CallPlan {
  /** Fails the call at once: an outage is in force. */
  readonly outage?: CallFailureCode | undefined;
  /** Time added before the call is served (every matching rule's, summed). */
  readonly latencyMs: number;
  /** Fails the call whole, after the latency. */
  readonly callFailure?: CallFailureCode | undefined;
  /** The failure of the record at `index` of a write, if it fails. */
  readonly recordFailure: (index: number) => RecordFailureCode | undefined;
  /** Whether any rule fails records of this call. */
  readonly failsRecords: boolean;
  /** SubscribeToShard: the subscription ends with `code` after `afterEvents` events. */
  readonly cut?: { readonly afterEvents: number; readonly code: CallFailureCode } | undefined;
  /** Aborted when the rules this plan came from are replaced or cleared: its latency ends. */
  readonly released: AbortSignal;
}

export type FaultKind = "record" | "call" | "latency" | "outage" | "subscription_cut";

export interface FaultInjector {
  /** The rules in force, undefined when there are none. */
  readonly ruleSet: FaultRuleSet | undefined;
  /** Replaces the rules; the decisions' sequence and outage windows start again. */
  set(ruleSet: FaultRuleSet): void;
  clear(): void;
  /** Whether an outage that says so makes the gateway unready now. */
  unready(): boolean;
  /**
   * What a call of `operation` on `streamName` (undefined: the call addresses
   * no stream) gets; undefined when no rule matches it, the common case.
   */
  plan(operation: string, streamName: string | undefined): CallPlan | undefined;
  /** Counts, logs at debug and marks the active span: `count` faults of `kind` were injected. */
  injected(kind: FaultKind, operation: string, code: string | undefined, count?: number): void;
  /** Clears the rules and stops the outage timers (a drain: calls waiting out a latency go on). */
  close(): void;
}

export interface FaultInjectorOptions {
  logger?: Logger | undefined;
  meter?: Meter | undefined;
  /** Called when readiness may have changed (an `unready` outage began or ended). */
  onReadinessChange?: (() => void) | undefined;
  now?: () => number;
}

/** Calls of distinct operation and stream counted at most; past it the oldest count starts again. */
const MAX_ORDINALS = 10_000;

/** Purposes of a decision, so two decisions of one call are independent. */
const Draw = {
  Record: 1,
  Call: 2,
  LatencyApplies: 3,
  LatencyFirst: 4,
  LatencySecond: 5,
  Cut: 6,
} as const;
type Draw = (typeof Draw)[keyof typeof Draw];

// MurmurHash3's mixing steps, over 32-bit words.
function mix(hash: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  let h = hash ^ Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(hash: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

/** A uniform draw in [0, 1) from a call's base, a position and a purpose. */
const draw = (base: number, index: number, purpose: Draw) =>
  finish(mix(mix(base, index), purpose)) / 0x1_0000_0000;

/** z of the standard normal's 99th percentile. */
const Z99 = 2.326_347_874;

/** The longest latency injected: the longest a rule may ask for. */
export const MAX_LATENCY_MS = 3_600_000;

/** A latency of the rule's shape from two uniform draws. */
export function latencyOf(latency: Latency, u1: number, u2: number): number {
  if (latency.ms) return latency.ms;
  if (latency.p50Ms) {
    // Log-normal with the given median and 99th percentile (Box–Muller for the normal);
    // its tail is cut at the longest latency a rule may ask for.
    const sigma = Math.log((latency.p99Ms ?? latency.p50Ms) / latency.p50Ms) / Z99;
    const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    return Math.min(MAX_LATENCY_MS, latency.p50Ms * Math.exp(sigma * z));
  }
  const min = latency.minMs ?? 0;
  return min + ((latency.maxMs ?? min) - min) * u1;
}

interface CompiledRule {
  readonly index: number;
  readonly matchesStream: ((name: string | undefined) => boolean) | undefined;
  readonly operations: ReadonlySet<string> | undefined;
  readonly rule: FaultRuleSet["rules"][number];
  /** The outage's window in `now()` milliseconds. */
  readonly outageFrom: number;
  readonly outageUntil: number;
}

function compile(ruleSet: FaultRuleSet, setAt: number): CompiledRule[] {
  return ruleSet.rules.map((rule, index) => {
    const matches = rule.streams === undefined ? undefined : matchesAny(rule.streams.split(","));
    const outageFrom = setAt + (rule.outage?.afterSeconds ?? 0) * 1000;
    return {
      index,
      rule,
      matchesStream:
        matches === undefined ? undefined : (name) => name !== undefined && matches(name),
      operations: rule.operations === undefined ? undefined : new Set(rule.operations),
      outageFrom,
      outageUntil: rule.outage?.seconds
        ? outageFrom + rule.outage.seconds * 1000
        : Number.POSITIVE_INFINITY,
    };
  });
}

const NO_RECORD_FAILURE = () => undefined;

export function createFaultInjector(options: FaultInjectorOptions = {}): FaultInjector {
  const now = options.now ?? Date.now;
  const logger = options.logger;
  const counter = options.meter?.createCounter("kinesis_gateway.faults.injected", {
    description: "Faults injected by the fault rules, by kind, operation and error type",
    unit: "{fault}",
  });
  let ruleSet: FaultRuleSet | undefined;
  let rules: CompiledRule[] = [];
  const ordinals = new Map<string, number>();
  let timers: NodeJS.Timeout[] = [];
  /** Aborted, and replaced, whenever the rules change: plans made before are let go. */
  let release = new AbortController();
  const operationIndex = new Map(FAULT_OPERATIONS.map((name, i) => [name, i + 1]));

  /** Forgets the rules' state: timers, ordinals, and the latencies of plans made under them. */
  function reset(): void {
    for (const timer of timers) clearTimeout(timer);
    timers = [];
    ordinals.clear();
    release.abort();
    release = new AbortController();
  }

  /** Timers at the edges of `unready` outages, so readiness follows them. */
  function watchReadiness(setAt: number): void {
    const notify = options.onReadinessChange;
    if (notify === undefined) return;
    for (const compiled of rules) {
      if (compiled.rule.outage?.unready !== true) continue;
      for (const at of [compiled.outageFrom, compiled.outageUntil]) {
        if (!Number.isFinite(at)) continue;
        const timer = setTimeout(notify, Math.max(0, at - setAt) + 1);
        timer.unref();
        timers.push(timer);
      }
    }
    notify();
  }

  function ordinalOf(operation: string, streamName: string | undefined): number {
    const key = `${operation}/${streamName ?? ""}`;
    const ordinal = ordinals.get(key) ?? 0;
    if (ordinal === 0 && ordinals.size >= MAX_ORDINALS) {
      ordinals.delete(ordinals.keys().next().value as string);
    }
    ordinals.set(key, ordinal + 1);
    return ordinal;
  }

  const outageActive = (compiled: CompiledRule, at: number) =>
    compiled.rule.outage !== undefined && at >= compiled.outageFrom && at < compiled.outageUntil;

  return {
    get ruleSet() {
      return ruleSet;
    },
    set(next) {
      reset();
      const setAt = now();
      ruleSet = next.rules.length === 0 ? undefined : next;
      rules = ruleSet === undefined ? [] : compile(ruleSet, setAt);
      watchReadiness(setAt);
    },
    clear() {
      reset();
      ruleSet = undefined;
      rules = [];
      options.onReadinessChange?.();
    },
    unready() {
      const at = now();
      return rules.some(
        (compiled) => compiled.rule.outage?.unready === true && outageActive(compiled, at),
      );
    },
    plan(operation, streamName) {
      if (ruleSet === undefined) return undefined;
      let matched: CompiledRule[] | undefined;
      for (const compiled of rules) {
        if (compiled.operations !== undefined && !compiled.operations.has(operation)) continue;
        if (compiled.matchesStream !== undefined && !compiled.matchesStream(streamName)) continue;
        if (matched === undefined) matched = [];
        matched.push(compiled);
      }
      if (matched === undefined) return undefined;
      const ordinal = ordinalOf(operation, streamName);
      const seed = ruleSet.seed;
      const streamHash = hashText(streamName ?? "");
      const opIndex = operationIndex.get(operation) ?? 0;
      const at = now();
      let outage: CallFailureCode | undefined;
      let latencyMs = 0;
      let callFailure: CallFailureCode | undefined;
      let cut: CallPlan["cut"];
      const recordRules: { base: number; rate: number; code: RecordFailureCode }[] = [];
      for (const compiled of matched) {
        const { rule } = compiled;
        const base = mix(mix(mix(mix(seed, compiled.index), streamHash), opIndex), ordinal);
        if (outage === undefined && outageActive(compiled, at)) {
          outage = rule.outage?.code ?? "ServiceUnavailable";
        }
        const latency = rule.latency;
        if (latency !== undefined) {
          if (latency.rate === undefined || draw(base, 0, Draw.LatencyApplies) < latency.rate) {
            latencyMs += latencyOf(
              latency,
              draw(base, 0, Draw.LatencyFirst),
              draw(base, 0, Draw.LatencySecond),
            );
          }
        }
        const call = rule.callFailure;
        if (
          callFailure === undefined &&
          call !== undefined &&
          draw(base, 0, Draw.Call) < call.rate
        ) {
          callFailure = call.code;
        }
        const records = rule.recordFailure;
        if (records !== undefined && records.rate > 0) {
          recordRules.push({ base, rate: records.rate, code: records.code });
        }
        const cutRule = rule.subscriptionCut;
        if (
          cut === undefined &&
          cutRule !== undefined &&
          (cutRule.rate === undefined || draw(base, 0, Draw.Cut) < cutRule.rate)
        ) {
          cut = { afterEvents: cutRule.afterEvents ?? 0, code: cutRule.code ?? "InternalFailure" };
        }
      }
      const recordFailure =
        recordRules.length === 0
          ? NO_RECORD_FAILURE
          : (index: number) => {
              for (const r of recordRules) {
                if (draw(r.base, index, Draw.Record) < r.rate) return r.code;
              }
              return undefined;
            };
      return {
        outage,
        latencyMs,
        callFailure,
        recordFailure,
        failsRecords: recordRules.length > 0,
        cut,
        released: release.signal,
      };
    },
    injected(kind, operation, code, count = 1) {
      const attributes: Attributes = { "kinesis_gateway.fault": kind, "rpc.method": operation };
      if (code !== undefined) attributes["error.type"] = code;
      counter?.add(count, attributes);
      trace.getActiveSpan()?.setAttribute("kinesis_gateway.fault.injected", true);
      if (logger?.isLevelEnabled("debug")) {
        logger.debug({ fault: kind, operation, code, count }, "fault injected");
      }
    },
    close() {
      reset();
      ruleSet = undefined;
      rules = [];
    },
  };
}
