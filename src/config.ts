/**
 * The gateway's configuration, parsed once from flags and environment
 * variables (flags win) into a frozen object. Every problem is reported at
 * once, so a user fixes them in one go.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { glob } from "./backends/glob.ts";
import { type FaultRuleSet, FaultRulesError, parseFaultRulesText } from "./faults/rules.ts";
import { MAX_RECORD_BYTES } from "./kinesis/limits.ts";
import type { LogLevel } from "./logger.ts";
import { MIN_MEMORY_MIB } from "./memory-plan.ts";

/** Where a stream's calls go: the built-in engine, AWS Kinesis, or nowhere (refused). */
export type BackendKind = "engine" | "kinesis" | "none";
const BACKEND_KINDS = ["engine", "kinesis", "none"] as const;

export interface StreamSpec {
  readonly name: string;
  readonly shardCount: number;
}

export interface Route {
  /** An exact stream name or a glob (`*` any characters, `?` one). */
  readonly pattern: string;
  readonly backend: BackendKind;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly backend: BackendKind;
  readonly streams: readonly StreamSpec[];
  readonly kinesisEndpoint: string | undefined;
  readonly region: string;
  readonly accountId: string;
  readonly routes: readonly Route[];
  /** Stream name patterns whose unary writes are coalesced (`src/producer/coalesce.ts`). */
  readonly coalesce: readonly string[];
  readonly lingerMs: number;
  /** Stream name patterns whose writes are packed in the KPL's aggregated format (`src/producer/`). */
  readonly aggregate: readonly string[];
  /** Largest aggregated record, in bytes of data (magic and checksum included). */
  readonly aggregationMaxBytes: number;
  /** Stream name patterns whose `Produce` records may be written out of order per key. */
  readonly unordered: readonly string[];
  /** How long a `Produce` record is retried before it is acked as expired. */
  readonly recordTtlMs: number;
  readonly throttle: boolean;
  /** Fault rules in force from the start (`--faults`); undefined: none. */
  readonly faults: FaultRuleSet | undefined;
  /** Whether `FaultService` changes the rules at runtime. */
  readonly faultControl: boolean;
  readonly shardRecordsPerSecond: number;
  readonly shardBytesPerSecond: number;
  readonly throttleBurstSeconds: number;
  readonly retentionHours: number;
  /** The cap per stream: on memory, or on disk with a data dir, where undefined is no cap but retention. */
  readonly maxStreamMiB: number | undefined;
  /** Where the engine keeps its streams and records; undefined: in memory only. */
  readonly dataDir: string | undefined;
  /** With a data dir: fdatasync before acknowledging (true), or only hand writes to the OS. */
  readonly fsync: boolean;
  readonly kinesisMaxSockets: number;
  readonly kinesisConnectTimeoutMs: number;
  readonly kinesisRequestTimeoutMs: number;
  readonly retryFailedRecords: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly maxInFlightRecords: number;
  /** Undefined: the share `--max-memory-mib` gives (see `memory-plan.ts`). */
  readonly maxInFlightMiB: number | undefined;
  /** The process's memory bound; every buffer budget derives from it. */
  readonly maxMemoryMiB: number;
  /** Serve `/metrics` on this port instead of the main one. */
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  readonly recordSpans: boolean;
  readonly streamTransitionMs: number;
  /** How long a SubscribeToShard subscription lasts before the subscriber renews it. */
  readonly subscriptionLifetimeMs: number;
  readonly drainTimeoutSeconds: number;
  /**
   * Event loops serving the port (`src/workers/`), each given an equal share
   * of `maxMemoryMiB`; more than 1 only in forward mode without fault rules.
   */
  readonly workers: number;
  /** TLS from these PEM files; cleartext (h2c and HTTP/1.1) without. */
  readonly tls: TlsFiles | undefined;
  /** Bearer tokens; empty means no authentication. */
  readonly authTokens: readonly AuthToken[];
  readonly limits: ConnectionLimits;
  readonly logLevel: LogLevel;
}

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  /** Client CAs: with it, clients must present a certificate they signed (mutual TLS). */
  readonly clientCa: string | undefined;
}

export interface AuthToken {
  readonly token: string;
  /** Stream name patterns the token may use; empty means every stream. */
  readonly streams: readonly string[];
  /** The `scope:admin` entry: the token may change the gateway's fault rules. */
  readonly admin: boolean;
}

export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  /** The least a request body must bring per second, over 5 s, while a call waits for it. */
  readonly minRequestBytesPerSecond: number;
  readonly maxConcurrentStreams: number;
  readonly maxHeaderBytes: number;
  readonly idleTimeoutSeconds: number;
  readonly headerTimeoutSeconds: number;
}

export type ConfigResult =
  | { readonly kind: "config"; readonly config: Config }
  | { readonly kind: "help"; readonly text: string }
  | { readonly kind: "invalid"; readonly problems: readonly string[] };

interface FlagSpec {
  readonly description: string;
  readonly default?: string;
  readonly multiple?: boolean;
  readonly valueName?: string;
}

/** The memory cap per engine stream when none is given and records live in memory. */
const DEFAULT_MAX_STREAM_MIB = 64;

const flags = {
  port: { description: "Port to listen on; 0 picks a free one.", default: "4567", valueName: "N" },
  host: { description: "Address to listen on.", default: "0.0.0.0", valueName: "ADDR" },
  backend: {
    description:
      "Backend for streams no route matches: engine, kinesis (forward) or none (refuse).",
    default: "engine",
    valueName: "engine|kinesis|none",
  },
  streams: {
    description: "Streams to create at start in the engine, e.g. orders:4,events.",
    default: "",
    valueName: "name[:shards],…",
  },
  "kinesis-endpoint": { description: "Kinesis endpoint to forward to.", valueName: "URL" },
  region: {
    description: "AWS region of ARNs and of forwarding.",
    default: "us-east-1",
    valueName: "REGION",
  },
  "account-id": {
    description: "AWS account id of the engine's ARNs.",
    default: "000000000000",
    valueName: "ID",
  },
  route: {
    description: "Send matching streams to a backend (repeatable; first match wins).",
    multiple: true,
    valueName: "PATTERN=BACKEND",
  },
  coalesce: {
    description:
      "Merge concurrent PutRecord/PutRecords calls to matching streams into shared PutRecords calls (repeatable).",
    multiple: true,
    valueName: "PATTERN",
  },
  "linger-ms": {
    description:
      "With --coalesce, and for Produce: how long a batch's first record waits for company.",
    default: "10",
    valueName: "MS",
  },
  aggregate: {
    description:
      "Pack coalesced and Produce records to matching streams into KPL-aggregated records (repeatable).",
    multiple: true,
    valueName: "PATTERN",
  },
  "aggregation-max-bytes": {
    description: "With --aggregate: the largest aggregated record (the KPL's default).",
    default: "51200",
    valueName: "BYTES",
  },
  unordered: {
    description:
      "Produce records to matching streams need not keep their order per partition key (repeatable).",
    multiple: true,
    valueName: "PATTERN",
  },
  "record-ttl-ms": {
    description: "How long Produce retries a record before acking it as expired.",
    default: "30000",
    valueName: "MS",
  },
  faults: {
    description:
      "Fault rules from a YAML or JSON file (or, starting with '{', the rules themselves): per-record failures, call errors, latency, outages, seeded and replayable.",
    valueName: "FILE",
  },
  "fault-control": {
    description:
      "FaultService (SetFaults, GetFaults, ClearFaults) on the main port. Default: on with --faults, else off.",
    valueName: "on|off",
  },
  throttle: {
    description: "Per-shard write throttling in the engine.",
    default: "on",
    valueName: "on|off",
  },
  "shard-records-per-second": {
    description: "Engine write limit per shard.",
    default: "1000",
    valueName: "N",
  },
  "shard-bytes-per-second": {
    description: "Engine write limit per shard.",
    default: "1048576",
    valueName: "N",
  },
  "throttle-burst-seconds": {
    description: "Seconds of unused capacity a shard may save up.",
    default: "1",
    valueName: "N",
  },
  "retention-hours": {
    description: "How long the engine keeps records (24 to 8760).",
    default: "24",
    valueName: "N",
  },
  "max-stream-mib": {
    description:
      "Cap per engine stream, oldest records go first: on memory (default 64), or on disk with --data-dir (default: none, retention only).",
    valueName: "N",
  },
  "data-dir": {
    description:
      "Keep the engine's streams and records in this directory, and come back from it on start.",
    valueName: "PATH",
  },
  fsync: {
    description:
      "With --data-dir: on, a write is fdatasynced before it is acknowledged (group commit); off, handed to the OS (survives the process, not the machine).",
    default: "on",
    valueName: "on|off",
  },
  "kinesis-max-sockets": {
    description: "Most connections open to the Kinesis endpoint.",
    default: "64",
    valueName: "N",
  },
  "kinesis-connect-timeout-ms": {
    description: "How long connecting to the Kinesis endpoint may take.",
    default: "3000",
    valueName: "MS",
  },
  "kinesis-request-timeout-ms": {
    description: "How long one forwarded call may take (the caller's deadline also applies).",
    default: "10000",
    valueName: "MS",
  },
  "retry-failed-records": {
    description:
      "Retries of records that failed with throttling or InternalFailure; 0 is off. A retry can duplicate a record.",
    default: "0",
    valueName: "N",
  },
  "retry-base-delay-ms": {
    description: "Backoff before the first retry, doubled each time, with full jitter.",
    default: "100",
    valueName: "MS",
  },
  "retry-max-delay-ms": {
    description: "Longest backoff between retries.",
    default: "2000",
    valueName: "MS",
  },
  "max-in-flight-records": {
    description: "Records being written at once, past which writes get RESOURCE_EXHAUSTED.",
    default: "100000",
    valueName: "N",
  },
  "max-in-flight-mib": {
    description:
      "MiB being written at once, past which writes get RESOURCE_EXHAUSTED. Default: a fifth of what --max-memory-mib leaves after the runtime.",
    valueName: "N",
  },
  "max-memory-mib": {
    description:
      "The memory the process may use; the budgets for request bodies, records in flight and engine records derive from it.",
    default: "384",
    valueName: "N",
  },
  "metrics-port": {
    description: "Serve GET /metrics on this port, and not on --port (0 picks a free one).",
    valueName: "N",
  },
  "metrics-host": {
    description: "Address of --metrics-port. Default: --host.",
    valueName: "ADDR",
  },
  "stream-transition-ms": {
    description: "How long engine streams stay CREATING or DELETING (AWS takes seconds).",
    default: "0",
    valueName: "MS",
  },
  "subscription-lifetime-ms": {
    description:
      "How long a SubscribeToShard subscription lasts; the subscriber then subscribes again from its continuation (AWS: 5 minutes).",
    default: "300000",
    valueName: "MS",
  },
  "record-spans": {
    description: "A span per record (tracing is configured by the OTEL_* variables).",
    default: "on",
    valueName: "on|off",
  },
  workers: {
    description:
      "Event loops serving the port, each in a thread of its own (auto: as many as the cores this process may use and --max-memory-mib allow). Forward mode only: the engine runs in one.",
    default: "1",
    valueName: "N|auto",
  },
  "drain-timeout-seconds": {
    description: "On SIGTERM, how long in-flight calls may take to finish.",
    default: "25",
    valueName: "S",
  },
  "tls-cert": {
    description: "PEM certificate (chain) file: serve TLS, h2 and http/1.1 by ALPN.",
    valueName: "FILE",
  },
  "tls-key": { description: "PEM private key file for --tls-cert.", valueName: "FILE" },
  "tls-client-ca": {
    description: "PEM CA bundle: require client certificates it signed (mutual TLS).",
    valueName: "FILE",
  },
  "auth-tokens-file": {
    description:
      "Bearer tokens, one per line: TOKEN [STREAM-PATTERN ...]. Also KINESIS_GATEWAY_AUTH_TOKENS, entries separated by ';'.",
    valueName: "FILE",
  },
  "max-connections": {
    description:
      "Open connections at once; past it, the connection idle longest is closed to make room.",
    default: "1000",
    valueName: "N",
  },
  "max-connections-per-address": {
    description: "Open connections at once from one client address, likewise.",
    default: "256",
    valueName: "N",
  },
  "min-request-bytes-per-second": {
    description:
      "The slowest a request body may arrive, judged over 5 s; slower calls are answered and closed.",
    default: "1024",
    valueName: "N",
  },
  "max-concurrent-streams": {
    description: "Calls at once on one HTTP/2 connection.",
    default: "100",
    valueName: "N",
  },
  "max-header-bytes": {
    description: "Largest request header block.",
    default: "16384",
    valueName: "N",
  },
  "idle-timeout-seconds": {
    description: "Idle time after which a connection is closed.",
    default: "60",
    valueName: "S",
  },
  "header-timeout-seconds": {
    description: "How long a client may take to send a request's headers.",
    default: "10",
    valueName: "S",
  },
  config: {
    description: "YAML or JSON file with any of these flags as keys (flags > environment > file).",
    valueName: "FILE",
  },
  "log-level": {
    description: "debug, info, warn, error or silent.",
    default: "info",
    valueName: "LEVEL",
  },
} as const satisfies Record<string, FlagSpec>;

type FlagName = keyof typeof flags;

export const envName = (flag: string) =>
  `KINESIS_GATEWAY_${flag.toUpperCase().replaceAll("-", "_")}`;

export function usage(): string {
  const lines = [
    "Usage: kinesis-gateway [flags]",
    "",
    "Flags (each also an environment variable):",
  ];
  for (const [name, spec] of Object.entries(flags) as [FlagName, FlagSpec][]) {
    const def = spec.default ? ` (default ${spec.default || '""'})` : "";
    lines.push(`  --${name} ${spec.valueName ?? ""}`.trimEnd());
    lines.push(`      ${spec.description}${def}  [${envName(name)}]`);
  }
  lines.push("  --help", "      Show this text.");
  return lines.join("\n");
}

const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/** Reads a file's text; injectable for tests. */
export type ReadFile = (path: string) => string;
/** The largest file a flag names that is read whole (a config, tokens or fault rules file). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;
const readUtf8: ReadFile = (path) => {
  // A device or a named pipe would never end (/dev/zero), a directory is no text.
  const stat = statSync(path);
  if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
  if (stat.size > MAX_FILE_BYTES) throw new Error(`${path} is larger than 4 MiB`);
  return readFileSync(path, "utf8");
};

/**
 * The values a `--config` file sets, as flag texts, by flag name. A list
 * (routes, streams) may be a YAML list.
 */
function fileValues(
  path: string,
  readFile: ReadFile,
  problems: string[],
): Partial<Record<FlagName, string | string[]>> {
  let document: unknown;
  try {
    document = parseYaml(readFile(path));
  } catch (err) {
    problems.push(
      `--config (${envName("config")}): cannot read ${path}: ${(err as Error).message}`,
    );
    return {};
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== "object" || Array.isArray(document)) {
    problems.push(`--config: ${path} must hold a map of flag names to values`);
    return {};
  }
  const values: Partial<Record<FlagName, string | string[]>> = {};
  for (const [key, value] of Object.entries(document)) {
    if (!(key in flags) || key === "config") {
      problems.push(`--config: ${path} sets '${key}', which is not a flag`);
    } else if (key === "faults" && value !== null && typeof value === "object") {
      // The rules themselves, in the config file: passed on as their JSON.
      values.faults = JSON.stringify(value);
    } else if (Array.isArray(value)) {
      values[key as FlagName] = value.map(String);
    } else if (value !== null && typeof value === "object") {
      problems.push(`--config: ${path}: '${key}' must be a value or a list`);
    } else {
      values[key as FlagName] = String(value);
    }
  }
  return values;
}

/** Token entries: `TOKEN [STREAM-PATTERN ...] [scope:admin]`. */
function parseTokens(entries: readonly string[], where: string, problems: string[]): AuthToken[] {
  const tokens: AuthToken[] = [];
  for (const entry of entries) {
    const [token = "", ...rest] = entry.trim().split(/\s+/);
    if (token === "" || token.startsWith("#")) continue;
    // A stream name has no ':', so a scope cannot be taken for a pattern.
    const scopes = rest.filter((item) => item.startsWith("scope:"));
    const streams = rest.filter((item) => !item.startsWith("scope:"));
    const unknown = scopes.find((scope) => scope !== "scope:admin");
    // Without saying the token: it is a secret.
    if (token.length < 16) problems.push(`${where}: a token is shorter than 16 characters`);
    else if (unknown !== undefined)
      problems.push(`${where}: unknown ${unknown} (known: scope:admin)`);
    // Fault rules reach every stream, whichever streams the token that sets them names.
    else if (scopes.length > 0 && streams.length > 0)
      problems.push(
        `${where}: scope:admin is for a token that may use every stream: drop its patterns`,
      );
    else tokens.push({ token, streams, admin: scopes.length > 0 });
  }
  return tokens;
}

/** The `--faults` rules: a file's, or the value itself when it starts with '{'. */
function faultRules(
  given: string | undefined,
  where: string,
  readFile: ReadFile,
  problems: string[],
): FaultRuleSet | undefined {
  if (given === undefined || given.trim() === "") return undefined;
  let text: string;
  if (given.trimStart().startsWith("{")) {
    text = given;
  } else {
    try {
      text = readFile(given);
    } catch (err) {
      problems.push(`${where}: cannot read ${given}: ${(err as Error).message}`);
      return undefined;
    }
  }
  try {
    return parseFaultRulesText(text);
  } catch (err) {
    const found = err instanceof FaultRulesError ? err.problems : [(err as Error).message];
    for (const problem of found) problems.push(`${where}: ${problem}`);
    return undefined;
  }
}

export function parseConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  readFile: ReadFile = readUtf8,
): ConfigResult {
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, spec]) => [
      name,
      { type: "string" as const, multiple: "multiple" in spec && spec.multiple },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    return { kind: "invalid", problems: [(err as Error).message] };
  }
  if (parsed.values.help === true) return { kind: "help", text: usage() };

  const problems: string[] = [];
  const configPath = (parsed.values.config as string | undefined) ?? env[envName("config")];
  const file = configPath === undefined ? {} : fileValues(configPath, readFile, problems);
  /** Flags win over the environment, which wins over the file, which wins over defaults. */
  const raw = (name: FlagName): string | undefined => {
    const fromFlag = parsed.values[name];
    if (typeof fromFlag === "string") return fromFlag;
    const fromEnv = env[envName(name)];
    if (fromEnv !== undefined) return fromEnv;
    const fromFile = file[name];
    if (fromFile !== undefined) return Array.isArray(fromFile) ? fromFile.join(",") : fromFile;
    return "default" in flags[name] ? (flags[name] as FlagSpec).default : undefined;
  };
  const where = (name: FlagName) => `--${name} (${envName(name)})`;
  const integer = (name: FlagName, min: number, max: number): number => {
    const text = raw(name) ?? "";
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      problems.push(`${where(name)}: expected a whole number from ${min} to ${max}, got '${text}'`);
    }
    return value;
  };
  const oneOf = <T extends string>(name: FlagName, allowed: readonly T[]): T => {
    const text = raw(name) ?? "";
    if (!(allowed as readonly string[]).includes(text)) {
      problems.push(`${where(name)}: expected one of ${allowed.join(", ")}, got '${text}'`);
    }
    return text as T;
  };

  const streams: StreamSpec[] = [];
  for (const item of (raw("streams") ?? "").split(",").filter((s) => s.trim() !== "")) {
    const [name = "", shards, ...rest] = item.trim().split(":");
    const shardCount = shards === undefined ? 1 : Number(shards);
    if (!STREAM_NAME.test(name) || rest.length > 0) {
      problems.push(`${where("streams")}: '${item}' is not name[:shards] with a valid stream name`);
    } else if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 10_000) {
      problems.push(`${where("streams")}: '${item}' needs a shard count from 1 to 10000`);
    } else {
      streams.push({ name, shardCount });
    }
  }

  /** A repeatable list of patterns: the flags, else the variable's or the file's list. */
  const patterns = (name: FlagName): string[] => {
    const fromFile = file[name];
    return (
      (parsed.values[name] as string[] | undefined) ??
      env[envName(name)]?.split(",") ??
      (Array.isArray(fromFile) ? fromFile : fromFile?.split(",")) ??
      []
    )
      .map((pattern) => pattern.trim())
      .filter((pattern) => pattern !== "");
  };

  const fileRoutes = file.route;
  const routeTexts =
    (parsed.values.route as string[] | undefined) ??
    env[envName("route")]?.split(",").filter((s) => s.trim() !== "") ??
    (Array.isArray(fileRoutes) ? fileRoutes : fileRoutes?.split(",")) ??
    [];
  const routes: Route[] = [];
  for (const text of routeTexts) {
    const at = text.lastIndexOf("=");
    const pattern = text.slice(0, at).trim();
    const backend = text.slice(at + 1).trim();
    if (at < 1 || !(BACKEND_KINDS as readonly string[]).includes(backend)) {
      problems.push(
        `${where("route")}: '${text}' is not PATTERN=engine, PATTERN=kinesis or PATTERN=none`,
      );
    } else {
      routes.push({ pattern, backend: backend as BackendKind });
    }
  }

  const kinesisEndpoint = raw("kinesis-endpoint");
  if (kinesisEndpoint !== undefined && !URL.canParse(kinesisEndpoint)) {
    problems.push(`${where("kinesis-endpoint")}: '${kinesisEndpoint}' is not a URL`);
  }
  const accountId = raw("account-id") ?? "";
  if (!/^\d{12}$/.test(accountId)) {
    problems.push(`${where("account-id")}: expected 12 digits, got '${accountId}'`);
  }
  const region = raw("region") ?? "";
  if (!/^[a-z0-9-]+$/.test(region)) {
    problems.push(`${where("region")}: '${region}' is not a region name`);
  }

  const tlsCert = raw("tls-cert");
  const tlsKey = raw("tls-key");
  const tlsClientCa = raw("tls-client-ca");
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    problems.push(`${where("tls-cert")} and ${where("tls-key")} go together`);
  }
  if (tlsClientCa !== undefined && tlsCert === undefined) {
    problems.push(`${where("tls-client-ca")} needs --tls-cert and --tls-key`);
  }
  for (const name of ["tls-cert", "tls-key", "tls-client-ca", "auth-tokens-file"] as const) {
    const path = raw(name);
    if (path !== undefined && !existsSync(path)) problems.push(`${where(name)}: no file ${path}`);
  }
  const tokensFile = raw("auth-tokens-file");
  const tokenLines = (): string[] => {
    if (tokensFile === undefined || !existsSync(tokensFile)) return [];
    try {
      return readFile(tokensFile).split("\n");
    } catch (err) {
      problems.push(`${where("auth-tokens-file")}: cannot read it: ${(err as Error).message}`);
      return [];
    }
  };
  const authTokens = [
    ...parseTokens(tokenLines(), where("auth-tokens-file"), problems),
    ...parseTokens(
      (env.KINESIS_GATEWAY_AUTH_TOKENS ?? "").split(";"),
      "KINESIS_GATEWAY_AUTH_TOKENS",
      problems,
    ),
  ];

  /** The data dir as an absolute path (the log says where it is); an empty one is a mistake, not "in memory". */
  const dataDir = (): string | undefined => {
    const given = raw("data-dir");
    if (given === undefined) return undefined;
    if (given.trim() === "") {
      problems.push(
        `${where("data-dir")}: expected a directory, got an empty value (omit it to keep records in memory)`,
      );
      return undefined;
    }
    return resolve(given);
  };

  const config: Config = {
    port: integer("port", 0, 65_535),
    host: raw("host") ?? "",
    backend: oneOf("backend", BACKEND_KINDS),
    streams,
    kinesisEndpoint,
    region,
    accountId,
    routes,
    coalesce: patterns("coalesce"),
    lingerMs: integer("linger-ms", 0, 60_000),
    aggregate: patterns("aggregate"),
    aggregationMaxBytes: integer("aggregation-max-bytes", 1024, MAX_RECORD_BYTES),
    unordered: patterns("unordered"),
    recordTtlMs: integer("record-ttl-ms", 100, 3_600_000),
    throttle: oneOf("throttle", ["on", "off"] as const) === "on",
    faults: faultRules(raw("faults"), where("faults"), readFile, problems),
    faultControl:
      raw("fault-control") === undefined
        ? raw("faults") !== undefined
        : oneOf("fault-control", ["on", "off"] as const) === "on",
    shardRecordsPerSecond: integer("shard-records-per-second", 1, 10_000_000),
    shardBytesPerSecond: integer("shard-bytes-per-second", 1, 10 * 1024 ** 3),
    throttleBurstSeconds: integer("throttle-burst-seconds", 1, 3600),
    retentionHours: integer("retention-hours", 24, 8760),
    maxStreamMiB:
      raw("max-stream-mib") !== undefined
        ? integer("max-stream-mib", 1, 1024 * 1024)
        : raw("data-dir")
          ? undefined
          : DEFAULT_MAX_STREAM_MIB,
    dataDir: dataDir(),
    fsync: oneOf("fsync", ["on", "off"] as const) === "on",
    kinesisMaxSockets: integer("kinesis-max-sockets", 1, 10_000),
    kinesisConnectTimeoutMs: integer("kinesis-connect-timeout-ms", 1, 600_000),
    kinesisRequestTimeoutMs: integer("kinesis-request-timeout-ms", 1, 3_600_000),
    retryFailedRecords: integer("retry-failed-records", 0, 100),
    retryBaseDelayMs: integer("retry-base-delay-ms", 1, 60_000),
    retryMaxDelayMs: integer("retry-max-delay-ms", 1, 600_000),
    maxInFlightRecords: integer("max-in-flight-records", 1, 100_000_000),
    maxInFlightMiB:
      raw("max-in-flight-mib") === undefined
        ? undefined
        : integer("max-in-flight-mib", 1, 1024 * 1024),
    maxMemoryMiB: integer("max-memory-mib", MIN_MEMORY_MIB, 1024 * 1024),
    metricsPort: raw("metrics-port") === undefined ? undefined : integer("metrics-port", 0, 65_535),
    metricsHost: raw("metrics-host") ?? raw("host") ?? "",
    recordSpans: oneOf("record-spans", ["on", "off"] as const) === "on",
    streamTransitionMs: integer("stream-transition-ms", 0, 600_000),
    subscriptionLifetimeMs: integer("subscription-lifetime-ms", 100, 3_600_000),
    drainTimeoutSeconds: integer("drain-timeout-seconds", 0, 3600),
    workers: 1, // below, once the backends and the memory bound are known
    tls:
      tlsCert !== undefined && tlsKey !== undefined
        ? { cert: tlsCert, key: tlsKey, clientCa: tlsClientCa }
        : undefined,
    authTokens,
    limits: {
      maxConnections: integer("max-connections", 1, 1_000_000),
      maxConnectionsPerAddress: integer("max-connections-per-address", 1, 1_000_000),
      minRequestBytesPerSecond: integer("min-request-bytes-per-second", 0, 1024 * 1024 * 1024),
      maxConcurrentStreams: integer("max-concurrent-streams", 1, 10_000),
      maxHeaderBytes: integer("max-header-bytes", 1024, 1024 * 1024),
      idleTimeoutSeconds: integer("idle-timeout-seconds", 1, 86_400),
      headerTimeoutSeconds: integer("header-timeout-seconds", 1, 600),
    },
    logLevel: oneOf("log-level", ["debug", "info", "warn", "error", "silent"] as const),
  };
  for (const stream of streams) {
    const served = routes.find((r) => glob(r.pattern)(stream.name))?.backend;
    if ((served ?? config.backend) !== "engine") {
      problems.push(
        `${where("streams")}: '${stream.name}' is routed to ${served ?? config.backend}; --streams creates engine streams only`,
      );
    }
  }
  const workers = workerCount(raw("workers") ?? "", config, where("workers"), problems);
  if (problems.length > 0) return { kind: "invalid", problems };
  return { kind: "config", config: Object.freeze({ ...config, workers }) };
}

/** The most workers a gateway runs, whatever the machine. */
const MAX_WORKERS = 64;

/**
 * `--workers`: a number, or `auto` for the cores this process may use, as
 * many as the memory bound gives each its minimum. More than one only where
 * a worker needs nothing from the others: the engine holds its streams in
 * one event loop, and fault rules count each stream's calls in order.
 */
function workerCount(text: string, config: Config, flag: string, problems: string[]): number {
  const engine = config.backend === "engine" || config.routes.some((r) => r.backend === "engine");
  const faults = config.faults !== undefined || config.faultControl;
  const byMemory = Math.max(1, Math.floor(config.maxMemoryMiB / MIN_MEMORY_MIB));
  if (text === "auto") {
    return engine || faults ? 1 : Math.min(availableParallelism(), byMemory, MAX_WORKERS);
  }
  const count = Number(text);
  if (!/^\d+$/.test(text) || count < 1 || count > MAX_WORKERS) {
    problems.push(
      `${flag}: expected a whole number from 1 to ${MAX_WORKERS} or auto, got '${text}'`,
    );
    return 1;
  }
  if (count === 1) return 1;
  if (engine) {
    problems.push(
      `${flag}: ${count} workers serve forward mode only; the engine keeps its streams in one event loop (use --backend kinesis, with no route to the engine)`,
    );
  } else if (faults) {
    problems.push(
      `${flag}: fault injection counts each stream's calls in one sequence and runs with one worker (drop --faults and --fault-control, or --workers)`,
    );
  } else if (count > byMemory) {
    problems.push(
      `${flag}: each worker needs ${MIN_MEMORY_MIB} MiB of --max-memory-mib (${config.maxMemoryMiB} gives ${byMemory}); raise it to ${count * MIN_MEMORY_MIB} or run fewer workers`,
    );
  }
  return count;
}
