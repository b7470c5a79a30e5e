/**
 * Fault rules: their shape (the contract's, in `../shared/DESIGN.md`), read
 * from a `--faults` file (YAML or JSON) or from `FaultService.SetFaults`'s
 * JSON form, and checked whole before any takes effect. A problem is named by
 * its path (`rules[1].latency.p99Ms: …`); unknown keys are problems too, so a
 * misspelt one is not silently a rule that does nothing.
 */
import { parse as parseYaml } from "yaml";
import { allOperations } from "../operations/table.ts";

/** The errors a whole call can be failed with, as AWS names them. */
export const CALL_FAILURE_CODES = [
  "ServiceUnavailable",
  "InternalFailure",
  "LimitExceededException",
  "KMSThrottlingException",
  "ProvisionedThroughputExceededException",
] as const;
export type CallFailureCode = (typeof CALL_FAILURE_CODES)[number];

/** The errors AWS gives a single record of PutRecords. */
export const RECORD_FAILURE_CODES = [
  "ProvisionedThroughputExceededException",
  "InternalFailure",
] as const;
export type RecordFailureCode = (typeof RECORD_FAILURE_CODES)[number];

/** Operations a rule may name: the table's, and SubscribeToShard. */
export const FAULT_OPERATIONS: readonly string[] = [
  ...allOperations.map((operation) => operation.name),
  "SubscribeToShard",
];

export interface RecordFailure {
  readonly rate: number;
  readonly code: RecordFailureCode;
}

export interface CallFailure {
  readonly rate: number;
  readonly code: CallFailureCode;
}

/** Exactly one shape: `ms`; `minMs` and `maxMs`; or `p50Ms` and `p99Ms`. */
export interface Latency {
  /** Absent: every call. */
  readonly rate?: number | undefined;
  readonly ms?: number | undefined;
  readonly minMs?: number | undefined;
  readonly maxMs?: number | undefined;
  readonly p50Ms?: number | undefined;
  readonly p99Ms?: number | undefined;
}

export interface Outage {
  /** Absent or 0: until the rules are cleared or replaced. */
  readonly seconds?: number | undefined;
  readonly afterSeconds?: number | undefined;
  readonly code?: CallFailureCode | undefined;
  /** Readiness fails while it lasts. */
  readonly unready?: boolean | undefined;
}

export interface SubscriptionCut {
  /** Absent: every subscription. */
  readonly rate?: number | undefined;
  readonly afterEvents?: number | undefined;
  readonly code?: CallFailureCode | undefined;
}

export interface FaultRule {
  /** Globs separated by commas; absent: every stream, and calls that address none. */
  readonly streams?: string | undefined;
  /** Absent: every operation. */
  readonly operations?: readonly string[] | undefined;
  readonly recordFailure?: RecordFailure | undefined;
  readonly callFailure?: CallFailure | undefined;
  readonly latency?: Latency | undefined;
  readonly outage?: Outage | undefined;
  readonly subscriptionCut?: SubscriptionCut | undefined;
}

export interface FaultRuleSet {
  readonly seed: number;
  readonly rules: readonly FaultRule[];
}

export class FaultRulesError extends Error {
  override readonly name = "FaultRulesError";
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join("; "));
    this.problems = problems;
  }
}

/** Bounds that keep a rule set small and every decision cheap. */
export const MAX_RULES = 100;
const MAX_PATTERNS_LENGTH = 4096;
const MAX_PATTERNS = 64;
/** The longest latency a rule may ask for: an hour (`MAX_LATENCY_MS`). */
const MAX_MS = 3_600_000;
const MAX_SECONDS = 86_400;
const MAX_SEED = 0xffff_ffff;
/** Characters of a stream name pattern: a stream name's, and the glob's `*` and `?`. */
const PATTERN = /^[a-zA-Z0-9_.\-*?]{1,256}$/;
const MAX_PROBLEMS = 20;

type Problems = string[];
type Json = Record<string, unknown>;

/** The object without its undefined members: GetFaults and the logs show what was given. */
const given = <T extends object>(object: T): T =>
  Object.fromEntries(Object.entries(object).filter(([, member]) => member !== undefined)) as T;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A short rendering of a bad value for a problem's text, cut between whole characters. */
function shown(value: unknown): string {
  const characters = Array.from(String(JSON.stringify(value)));
  return characters.length > 40 ? `${characters.slice(0, 37).join("")}...` : characters.join("");
}

function objectAt(value: unknown, path: string, keys: readonly string[], problems: Problems) {
  if (!isObject(value)) {
    problems.push(`${path}: must be an object`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      problems.push(`${path}: unknown key ${shown(key)} (known: ${keys.join(", ")})`);
    }
  }
  return value;
}

function numberAt(
  value: unknown,
  path: string,
  min: number,
  max: number,
  problems: Problems,
): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    problems.push(`${path}: must be a number from ${min} to ${max}, not ${shown(value)}`);
    return undefined;
  }
  return value;
}

function codeAt<C extends string>(
  value: unknown,
  path: string,
  codes: readonly C[],
  problems: Problems,
): C | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string" || !(codes as readonly string[]).includes(value)) {
    problems.push(`${path}: must be one of ${codes.join(", ")}, not ${shown(value)}`);
    return undefined;
  }
  return value as C;
}

const rateAt = (value: unknown, path: string, problems: Problems) =>
  numberAt(value, path, 0, 1, problems);

function streamsAt(value: unknown, path: string, problems: Problems): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const list = typeof value === "string" ? value.split(",") : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((pattern) => typeof pattern === "string")
  ) {
    problems.push(`${path}: must be a stream name pattern, or a list of them`);
    return undefined;
  }
  const patterns = [...new Set(list.map((pattern: string) => pattern.trim()))];
  if (patterns.length > MAX_PATTERNS) {
    problems.push(`${path}: at most ${MAX_PATTERNS} patterns, not ${patterns.length}`);
    return undefined;
  }
  const joined = patterns.join(",");
  if (joined.length > MAX_PATTERNS_LENGTH) {
    problems.push(`${path}: longer than ${MAX_PATTERNS_LENGTH} characters`);
    return undefined;
  }
  const bad = patterns.find((pattern) => !PATTERN.test(pattern));
  if (bad !== undefined) {
    problems.push(
      `${path}: ${shown(bad)} is no stream name pattern (1 to 256 of a-z, A-Z, 0-9, _ . - and the globs * ?)`,
    );
    return undefined;
  }
  return joined;
}

function operationsAt(value: unknown, path: string, problems: Problems): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || !list.every((name) => typeof name === "string")) {
    problems.push(`${path}: must be a list of operation names`);
    return undefined;
  }
  if (list.length === 0) return undefined;
  const unknown = list.find((name) => !FAULT_OPERATIONS.includes(name));
  if (unknown !== undefined) {
    problems.push(
      `${path}: ${shown(unknown)} is no Kinesis operation (PutRecords, PutRecord, GetRecords, SubscribeToShard, ListShards, ...)`,
    );
    return undefined;
  }
  return [...new Set(list)];
}

function recordFailureAt(value: unknown, path: string, problems: Problems) {
  if (value === undefined || value === null) return undefined;
  const object = objectAt(value, path, ["rate", "code"], problems);
  if (object === undefined) return undefined;
  const rate = rateAt(object.rate, `${path}.rate`, problems);
  if (object.rate === undefined) problems.push(`${path}.rate: is required`);
  const code = codeAt(object.code, `${path}.code`, RECORD_FAILURE_CODES, problems);
  return { rate: rate ?? 0, code: code ?? "ProvisionedThroughputExceededException" };
}

function callFailureAt(value: unknown, path: string, problems: Problems) {
  if (value === undefined || value === null) return undefined;
  const object = objectAt(value, path, ["rate", "code"], problems);
  if (object === undefined) return undefined;
  const rate = rateAt(object.rate, `${path}.rate`, problems);
  if (object.rate === undefined) problems.push(`${path}.rate: is required`);
  const code = codeAt(object.code, `${path}.code`, CALL_FAILURE_CODES, problems);
  return { rate: rate ?? 0, code: code ?? "ServiceUnavailable" };
}

function latencyAt(value: unknown, path: string, problems: Problems): Latency | undefined {
  if (value === undefined || value === null) return undefined;
  const keys = ["rate", "ms", "minMs", "maxMs", "p50Ms", "p99Ms"];
  const object = objectAt(value, path, keys, problems);
  if (object === undefined) return undefined;
  const before = problems.length;
  const at = (key: string) => numberAt(object[key], `${path}.${key}`, 0, MAX_MS, problems);
  const latency: Latency = given({
    rate: rateAt(object.rate, `${path}.rate`, problems),
    ms: at("ms"),
    minMs: at("minMs"),
    maxMs: at("maxMs"),
    p50Ms: at("p50Ms"),
    p99Ms: at("p99Ms"),
  });
  // Proto JSON sends every field, zeros too, so a 0 counts as absent in choosing the shape.
  const set = (n: number | undefined) => n !== undefined && n > 0;
  const fixed = set(latency.ms);
  const uniform = set(latency.minMs) || set(latency.maxMs);
  const tailed = set(latency.p50Ms) || set(latency.p99Ms);
  // The shape is judged once the numbers are right.
  if (problems.length > before) return latency;
  if (Number(fixed) + Number(uniform) + Number(tailed) !== 1) {
    problems.push(`${path}: give one shape: ms; minMs and maxMs; or p50Ms and p99Ms`);
  } else if (uniform && (latency.maxMs ?? 0) < (latency.minMs ?? 0)) {
    problems.push(`${path}: maxMs must be at least minMs`);
  } else if (tailed && !(set(latency.p50Ms) && (latency.p99Ms ?? 0) >= (latency.p50Ms ?? 0))) {
    problems.push(`${path}: p50Ms must be above 0 and p99Ms at least p50Ms`);
  }
  return latency;
}

function outageAt(value: unknown, path: string, problems: Problems): Outage | undefined {
  if (value === undefined || value === null) return undefined;
  const keys = ["seconds", "afterSeconds", "code", "unready"];
  const object = objectAt(value, path, keys, problems);
  if (object === undefined) return undefined;
  if (object.unready !== undefined && typeof object.unready !== "boolean") {
    problems.push(`${path}.unready: must be true or false`);
  }
  return given({
    seconds: numberAt(object.seconds, `${path}.seconds`, 0, MAX_SECONDS, problems),
    afterSeconds: numberAt(object.afterSeconds, `${path}.afterSeconds`, 0, MAX_SECONDS, problems),
    code: codeAt(object.code, `${path}.code`, CALL_FAILURE_CODES, problems),
    unready: object.unready === true ? true : undefined,
  });
}

function subscriptionCutAt(value: unknown, path: string, problems: Problems) {
  if (value === undefined || value === null) return undefined;
  const object = objectAt(value, path, ["rate", "afterEvents", "code"], problems);
  if (object === undefined) return undefined;
  const afterEvents = numberAt(object.afterEvents, `${path}.afterEvents`, 0, 1_000_000, problems);
  if (afterEvents !== undefined && !Number.isInteger(afterEvents)) {
    problems.push(`${path}.afterEvents: must be a whole number`);
  }
  return given({
    rate: rateAt(object.rate, `${path}.rate`, problems),
    afterEvents,
    code: codeAt(object.code, `${path}.code`, CALL_FAILURE_CODES, problems),
  });
}

const RULE_KEYS = [
  "streams",
  "operations",
  "recordFailure",
  "callFailure",
  "latency",
  "outage",
  "subscriptionCut",
];

/** What a rule injects: one of them at least. */
const INJECTIONS = ["recordFailure", "callFailure", "latency", "outage", "subscriptionCut"];

function ruleAt(value: unknown, path: string, problems: Problems): FaultRule | undefined {
  const object = objectAt(value, path, RULE_KEYS, problems);
  if (object === undefined) return undefined;
  if (!INJECTIONS.some((key) => object[key] !== undefined && object[key] !== null)) {
    problems.push(`${path}: injects nothing: give ${INJECTIONS.join(", ")}`);
  }
  return given({
    streams: streamsAt(object.streams, `${path}.streams`, problems),
    operations: operationsAt(object.operations, `${path}.operations`, problems),
    recordFailure: recordFailureAt(object.recordFailure, `${path}.recordFailure`, problems),
    callFailure: callFailureAt(object.callFailure, `${path}.callFailure`, problems),
    latency: latencyAt(object.latency, `${path}.latency`, problems),
    outage: outageAt(object.outage, `${path}.outage`, problems),
    subscriptionCut: subscriptionCutAt(object.subscriptionCut, `${path}.subscriptionCut`, problems),
  } satisfies FaultRule);
}

/**
 * A rule set from its JSON form; `pickSeed` gives the seed when none is set.
 * Throws {@link FaultRulesError} naming every problem (the first twenty).
 */
export function parseFaultRules(
  value: unknown,
  pickSeed: () => number = () => Math.floor(Math.random() * MAX_SEED),
): FaultRuleSet {
  const problems: Problems = [];
  const object = objectAt(value, "faults", ["seed", "rules"], problems);
  if (object === undefined) throw new FaultRulesError(problems);
  let seed = numberAt(object.seed, "seed", 0, MAX_SEED, problems);
  if (seed !== undefined && !Number.isInteger(seed)) {
    problems.push("seed: must be a whole number");
    seed = undefined;
  }
  const rules: FaultRule[] = [];
  if (!Array.isArray(object.rules)) {
    problems.push("rules: must be a list of rules");
  } else if (object.rules.length > MAX_RULES) {
    problems.push(`rules: at most ${MAX_RULES} rules, not ${object.rules.length}`);
  } else {
    object.rules.forEach((rule, i) => {
      const parsed = ruleAt(rule, `rules[${i}]`, problems);
      if (parsed !== undefined) rules.push(parsed);
    });
  }
  if (problems.length > 0) throw new FaultRulesError(problems.slice(0, MAX_PROBLEMS));
  return { seed: seed ?? pickSeed(), rules };
}

/** A `--faults` file's text: YAML (JSON is YAML too). */
export function parseFaultRulesText(text: string, pickSeed?: () => number): FaultRuleSet {
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new FaultRulesError([`not YAML or JSON: ${(err as Error).message.split("\n")[0]}`]);
  }
  return parseFaultRules(value, pickSeed);
}
