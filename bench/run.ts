/**
 * `npm run bench`: every scenario against its reference, in the same run,
 * on loopback, several times; prints a table and writes a JSON file with
 * medians, ratios (computed pair by pair within each run) and the machine.
 *
 * BENCH_RUNS (default 3) and BENCH_SECONDS (default 3) tune the effort;
 * BENCH_ONLY=<group,…> runs some groups only. Durable gateways keep their
 * data in fresh dirs under BENCH_DATA_DIR (default: the OS's temp dir, which
 * must be on a disk: on tmpfs an fsync costs nothing), deleted afterwards;
 * BENCH_KEPT_GIB (default 4) is what the kept-data memory scenario writes.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from "node:fs";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import { join } from "node:path";
import { containerFootprint } from "./container.ts";
import {
  GRPC_HEADERS,
  grpcPutRecordsBody,
  type H2loadOptions,
  h2loadMissing,
  measureServerCost,
  WIRE_HEADERS,
  wirePutRecordsBody,
} from "./h2load.ts";
import {
  measureLatency,
  measureProduceThroughput,
  measureSdkThroughput,
  measureThroughput,
  measureUnaryThroughput,
  type ThroughputOptions,
  writeVolume,
} from "./load.ts";
import {
  type ServerProcess,
  startGatewayProcess,
  startKinesalite,
  startKinesisLocal,
  startNullKinesis,
  startReferenceServer,
} from "./processes.ts";
import { measureDeliveryLatency, measureIdleCpu } from "./subscribe.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ONLY = process.env.BENCH_ONLY?.split(",");
const DATA_PARENT = process.env.BENCH_DATA_DIR ?? os.tmpdir();
const KEPT_GIB = Number(process.env.BENCH_KEPT_GIB ?? 4);

/** One measured variant of a group; the first variant of a group is its reference. */
interface Variant {
  name: string;
  start(): Promise<ServerProcess>;
}

interface Group {
  name: string;
  /** What is measured, and the unit of the number. */
  metric: string;
  /** The ratio each variant must reach against the reference, by variant name. */
  targets: Record<string, { atLeast?: number; atMost?: number }>;
  /** The most µs of server CPU a record may cost, by variant name (records/s metrics). */
  cpuTargets?: Record<string, number>;
  variants: Variant[];
  measure(server: ServerProcess, variant: string): Promise<number>;
  /** Extra numbers worth keeping (memory), by variant. */
  after?(
    variant: string,
    server: ServerProcess,
    extras: Record<string, number[]>,
  ): void | Promise<void>;
}

const STREAM = "bench";
const engineFlags = ["--streams", `${STREAM}:4`, "--throttle", "off"];
const gateway =
  (extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  () =>
    startGatewayProcess([...engineFlags, ...extra], env);

const TMPFS_MAGIC = 0x01021994;

/** A fresh data dir under DATA_PARENT, which must be on a disk for fsync to cost what it costs. */
function freshDataDir(): string {
  if (statfsSync(DATA_PARENT).type === TMPFS_MAGIC) {
    throw new Error(
      `${DATA_PARENT} is on tmpfs, where fsync is free: set BENCH_DATA_DIR to a dir on a disk`,
    );
  }
  return mkdtempSync(join(DATA_PARENT, "kinesis-gateway-bench-"));
}

/** A gateway on a fresh data dir; stopping it deletes the dir. */
const durableGateway = (fsync: "on" | "off") => async (): Promise<ServerProcess> => {
  const dataDir = freshDataDir();
  try {
    const server = await gateway(["--data-dir", dataDir, "--fsync", fsync])();
    return {
      ...server,
      stop: async () => {
        await server.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
};

function throughput(batch: number, recordBytes: number) {
  return async (server: ServerProcess) => {
    const options: ThroughputOptions = {
      url: server.url,
      streamName: STREAM,
      batch,
      recordBytes,
      inFlight: 8,
      warmupMs: 1000,
      durationMs: SECONDS * 1000,
    };
    const result = await measureThroughput(options);
    if (result.failedRecords > 0) throw new Error(`${result.failedRecords} records failed`);
    return result.recordsPerSecond;
  };
}

/** The AWS SDK's PutRecords throughput against whatever speaks the Kinesis API at `server.url`. */
function sdkThroughput(server: ServerProcess): Promise<number> {
  return measureSdkThroughput({
    endpoint: server.url,
    streamName: STREAM,
    batch: 500,
    recordBytes: 1024,
    inFlight: 8,
    warmupMs: 1000,
    durationMs: SECONDS * 1000,
  }).then((r) => {
    if (r.failedRecords > 0) throw new Error(`${r.failedRecords} records failed`);
    return r.recordsPerSecond;
  });
}

/** A gateway forwarding to an upstream of its own, with `flags`; stopping stops both. */
const forwardingTo =
  (startUpstream: () => Promise<ServerProcess>, flags: string[] = []) =>
  async (): Promise<ServerProcess> => {
    const upstream = await startUpstream();
    const gateway = await startGatewayProcess(
      ["--backend", "kinesis", "--kinesis-endpoint", upstream.url, ...flags],
      { AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench" },
    );
    return {
      ...gateway,
      upstream,
      stop: async () => {
        await gateway.stop();
        await upstream.stop();
      },
    };
  };

/** 64 single-record PutRecord callers into a 1-shard stream made through the gateway. */
async function unaryThroughput(server: ServerProcess): Promise<number> {
  const result = await unaryLoad(server);
  if (result.failedRecords > 0) throw new Error(`${result.failedRecords} records failed`);
  return result.recordsPerSecond;
}

const unaryLoad = (server: ServerProcess, shards = 1) =>
  measureUnaryThroughput({
    url: server.url,
    streamName: "unary",
    shards,
    recordBytes: 100,
    inFlight: 64,
    warmupMs: 1000,
    durationMs: SECONDS * 1000,
  });

/**
 * As `unaryThroughput`, into a throttled stream: records accepted per second
 * (throttled ones are not). The transport reference has no streams to make.
 */
async function acceptedUnaryThroughput(server: ServerProcess, variant: string): Promise<number> {
  return (await unaryLoad(server, variant.startsWith("transport") ? 0 : 1)).recordsPerSecond;
}

/** Produce, 1 KiB records in messages of 500, as many outstanding as 8 PutRecords calls of 500. */
async function produceThroughput(server: ServerProcess): Promise<number> {
  const result = await measureProduceThroughput({
    url: server.url,
    streamName: STREAM,
    batch: 500,
    recordBytes: 1024,
    inFlight: 8,
    streams: 2,
    warmupMs: 1000,
    durationMs: SECONDS * 1000,
  });
  if (result.failedRecords > 0) throw new Error(`${result.failedRecords} records failed`);
  return result.recordsPerSecond;
}

/** The gateway's calls to its upstream per 1,000 records written, from its own /metrics. */
async function upstreamCalls(
  variant: string,
  server: ServerProcess,
  extras: Record<string, number[]>,
): Promise<void> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let calls = 0;
  let records = 0;
  for (const line of text.split("\n")) {
    const value = Number(line.split(" ").at(-1));
    if (/^kinesis_gateway_backend_call_duration_count\{.*rpc_method="PutRecords?"/.test(line))
      calls += value;
    if (line.startsWith("kinesis_gateway_records_written_total{")) records += value;
  }
  append(
    extras,
    `${variant}: upstream calls per 1,000 records`,
    (1000 * calls) / Math.max(1, records),
  );
}

/** An OTLP/HTTP endpoint that accepts and discards everything. */
async function startOtlpSink(): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => server.close(),
  };
}

function groups(otlpUrl: string): Group[] {
  const traced = (sampler: Record<string, string>) =>
    gateway([], { OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, ...sampler });
  const memory = (variant: string, server: ServerProcess, extras: Record<string, number[]>) => {
    const { peakRssMiB } = server.memory();
    append(extras, `${variant}: peak RSS MiB`, peakRssMiB);
  };
  return [
    {
      name: "grpc-engine-500x1KiB",
      metric: "records/s, PutRecords of 500 × 1 KiB, 8 calls in flight",
      targets: { gateway: { atLeast: 0.8 } },
      variants: [
        { name: "transport reference", start: startReferenceServer },
        { name: "gateway", start: gateway() },
      ],
      measure: throughput(500, 1024),
      after: memory,
    },
    {
      // Fault injection's cost when it injects nothing: control on without rules, and with a
      // rule the benchmark's stream does not match (each call is matched against it).
      name: "grpc-faults-500x1KiB",
      metric: "records/s, PutRecords of 500 × 1 KiB, 8 calls in flight, fault injection on",
      targets: { "--fault-control on, no rules": { atLeast: 0.98 } },
      variants: [
        { name: "gateway", start: gateway() },
        { name: "--fault-control on, no rules", start: gateway(["--fault-control", "on"]) },
        {
          name: "a rule for another stream",
          start: gateway([
            "--faults",
            '{"seed": 1, "rules": [{"streams": "other*", "callFailure": {"rate": 1}}]}',
          ]),
        },
      ],
      measure: throughput(500, 1024),
    },
    {
      name: "grpc-durable-500x1KiB",
      metric:
        "records/s, PutRecords of 500 × 1 KiB, 8 calls in flight, in memory and with a data dir",
      targets: { "data dir, fsync on": { atLeast: 0.7 }, "data dir, fsync off": { atLeast: 0.9 } },
      variants: [
        { name: "in-memory engine", start: gateway() },
        { name: "data dir, fsync on", start: durableGateway("on") },
        { name: "data dir, fsync off", start: durableGateway("off") },
      ],
      measure: throughput(500, 1024),
      after: memory,
    },
    {
      name: "grpc-engine-500x100B",
      metric: "records/s, PutRecords of 500 × 100 B, 8 calls in flight",
      targets: { gateway: { atLeast: 0.8 } },
      variants: [
        { name: "transport reference", start: startReferenceServer },
        { name: "gateway", start: gateway() },
      ],
      measure: throughput(500, 100),
    },
    {
      name: "grpc-engine-50x10KiB",
      metric: "records/s, PutRecords of 50 × 10 KiB, 8 calls in flight",
      targets: {},
      variants: [
        { name: "transport reference", start: startReferenceServer },
        { name: "gateway", start: gateway() },
      ],
      measure: throughput(50, 10 * 1024),
    },
    ...(["p50", "p99"] as const).map((quantile) => ({
      name: `putrecord-latency-${quantile}`,
      metric: `ms, PutRecord of one 1 KiB record, one call at a time (${quantile})`,
      targets: {},
      variants: [
        { name: "transport reference", start: startReferenceServer },
        { name: "gateway", start: gateway() },
      ],
      measure: async (server: ServerProcess) =>
        (
          await measureLatency({
            url: server.url,
            streamName: STREAM,
            recordBytes: 1024,
            calls: 2000,
          })
        )[quantile],
    })),
    {
      name: "aws-sdk-vs-kinesalite",
      metric: "records/s, the AWS SDK's PutRecords of 500 × 1 KiB, 8 calls in flight, HTTP/1.1",
      targets: { "gateway (engine)": { atLeast: 5 } },
      variants: [
        { name: "kinesalite", start: startKinesalite },
        { name: "gateway (engine)", start: gateway() },
      ],
      measure: sdkThroughput,
    },
    {
      name: "aws-sdk-vs-kinesis-local",
      metric: "records/s, the AWS SDK's PutRecords of 500 × 1 KiB, 8 calls in flight, HTTP/1.1",
      targets: { "gateway (engine)": { atLeast: 100 } },
      variants: [
        { name: "kinesis-local", start: startKinesisLocal },
        { name: "gateway (engine)", start: gateway() },
      ],
      measure: sdkThroughput,
    },
    {
      name: "coalesce-forward-64x100B",
      metric:
        "records/s, gRPC PutRecord of one 100 B record from 64 callers at once, forwarded to kinesis-local",
      targets: { "with --coalesce": { atLeast: 5 } },
      variants: [
        { name: "one upstream call per record", start: forwardingTo(startKinesisLocal) },
        {
          name: "with --coalesce",
          start: forwardingTo(startKinesisLocal, ["--coalesce", "unary"]),
        },
      ],
      measure: unaryThroughput,
      after: upstreamCalls,
    },
    {
      name: "coalesce-aggregate-throttled-64x100B",
      metric:
        "user records/s accepted, gRPC PutRecord of one 100 B record from 64 callers at once, into a throttled 1-shard engine stream (1,000 records/s, 1 MiB/s)",
      targets: { "with --coalesce --aggregate": { atLeast: 8 } },
      variants: [
        { name: "one Kinesis record per call", start: () => startGatewayProcess([]) },
        {
          name: "with --coalesce --aggregate",
          start: () =>
            startGatewayProcess([
              "--coalesce",
              "unary",
              "--aggregate",
              "unary",
              "--linger-ms",
              "2",
            ]),
        },
        // What the load generator and the transport can do at all: PutRecord answered at once.
        { name: "transport reference (no work)", start: startReferenceServer },
      ],
      measure: acceptedUnaryThroughput,
    },
    {
      name: "produce-500x1KiB",
      metric:
        "records/s acked, 1 KiB records, 4,000 outstanding: PutRecords calls of 500 against Produce",
      targets: { Produce: { atLeast: 0.8 } },
      variants: [
        { name: "PutRecords", start: gateway() },
        { name: "Produce", start: gateway() },
      ],
      measure: (server: ServerProcess, variant: string) =>
        variant === "Produce" ? produceThroughput(server) : throughput(500, 1024)(server),
      after: memory,
    },
    {
      name: "forward-mode",
      metric: "records/s, the AWS SDK's PutRecords of 500 × 1 KiB to kinesalite, 8 calls in flight",
      targets: { "through the gateway": { atLeast: 0.9 } },
      variants: [
        { name: "straight to kinesalite", start: startKinesalite },
        { name: "through the gateway", start: forwardingTo(startKinesalite) },
      ],
      measure: sdkThroughput,
    },
    {
      // kinesalite takes a core of its own and hides what the gateway costs; an upstream that
      // costs next to nothing shows it.
      name: "forward-null-upstream",
      metric:
        "records/s, the AWS SDK's PutRecords of 500 × 1 KiB to a do-nothing Kinesis (bench/null-kinesis.ts), 8 calls in flight",
      targets: {},
      cpuTargets: { "through the gateway": 6 },
      variants: [
        { name: "straight to it", start: startNullKinesis },
        { name: "through the gateway", start: forwardingTo(startNullKinesis) },
      ],
      measure: sdkThroughput,
    },
    ...(["p50", "p99"] as const).map((quantile) => ({
      name: `subscribe-latency-${quantile}`,
      metric: `ms from a PutRecord answer to the record's arrival at a waiting enhanced fan-out subscriber (${quantile})`,
      targets: {},
      variants: [
        { name: "kinesis-local (wire API)", start: startKinesisLocal },
        { name: "gateway (wire API)", start: gateway() },
        { name: "gateway (gRPC)", start: gateway() },
      ],
      measure: async (server: ServerProcess, variant: string) =>
        (
          await measureDeliveryLatency(
            server.url,
            variant.includes("gRPC") ? "grpc" : "wire",
            variant.startsWith("kinesis-local"),
          )
        )[quantile],
    })),
    {
      name: "subscribe-idle-cpu",
      metric: "% of a core the server uses over 10 s with 100 idle SubscribeToShard subscriptions",
      targets: {},
      variants: [
        { name: "gateway, none open", start: gateway() },
        { name: "gateway (wire API)", start: gateway() },
        { name: "gateway (gRPC)", start: gateway() },
        { name: "kinesis-local (wire API)", start: startKinesisLocal },
      ],
      measure: (server: ServerProcess, variant: string) =>
        measureIdleCpu(
          server.url,
          variant.includes("gRPC") ? "grpc" : "wire",
          variant.includes("none") ? 0 : 100,
          () => server.cpuSeconds(),
          variant.startsWith("kinesis-local"),
        ),
    },
    {
      name: "tracing",
      metric: "records/s, PutRecords of 500 × 1 KiB, 8 calls in flight",
      targets: { "default sampling": { atLeast: 0.9 }, "100% sampling": { atLeast: 0.5 } },
      variants: [
        { name: "tracing off", start: gateway() },
        { name: "default sampling", start: traced({}) },
        { name: "100% sampling", start: traced({ OTEL_TRACES_SAMPLER: "always_on" }) },
      ],
      measure: throughput(500, 1024),
    },
  ];
}

/**
 * Starts counting CPU time: the returned function gives the cores each party
 * used on average since — the load generator (this process, with the OTLP
 * sink), the server, and the server it forwards to. A party near 1.0 is the
 * one the scenario waits on.
 */
function cpuUsage(server: ServerProcess): () => Record<string, number> {
  const started = performance.now();
  const client = process.cpuUsage();
  const serverCpu = server.cpuSeconds();
  const upstreamCpu = server.upstream?.cpuSeconds();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const clientUsed = process.cpuUsage(client);
    const cores: Record<string, number> = {
      "load generator": (clientUsed.user + clientUsed.system) / 1e6 / seconds,
      server: (server.cpuSeconds() - serverCpu) / seconds,
    };
    if (server.upstream && upstreamCpu !== undefined) {
      cores.upstream = (server.upstream.cpuSeconds() - upstreamCpu) / seconds;
    }
    return cores;
  };
}

/** Appends to the list under `key`, creating it. */
function append(lists: Record<string, number[]>, key: string, value: number): void {
  const list = lists[key] ?? [];
  list.push(value);
  lists[key] = list;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface GroupResult {
  name: string;
  metric: string;
  values: Record<string, number[]>;
  medians: Record<string, number>;
  /** Variant / reference, computed within each run, then the median. */
  ratios: Record<string, number>;
  targets: Group["targets"];
  cpuTargets: Group["cpuTargets"];
  extras: Record<string, number>;
}

async function runGroup(group: Group): Promise<GroupResult> {
  const values: Record<string, number[]> = {};
  const ratioRuns: Record<string, number[]> = {};
  const extras: Record<string, number[]> = {};
  for (let run = 0; run < RUNS; run++) {
    const measured: Record<string, number> = {};
    for (const variant of group.variants) {
      const server = await variant.start();
      try {
        const usage = cpuUsage(server);
        measured[variant.name] = await group.measure(server, variant.name);
        const cores = usage();
        for (const [who, used] of Object.entries(cores)) {
          append(extras, `${variant.name}: CPU cores, ${who}`, used);
        }
        if (group.metric.startsWith("records/s")) {
          const micros = (cores.server! / measured[variant.name]!) * 1e6;
          append(extras, `${variant.name}: µs server CPU/record`, micros);
        }
        await group.after?.(variant.name, server, extras);
      } finally {
        await server.stop();
      }
      append(values, variant.name, measured[variant.name]!);
    }
    const reference = measured[group.variants[0]!.name]!;
    for (const variant of group.variants.slice(1)) {
      append(ratioRuns, variant.name, measured[variant.name]! / reference);
    }
    process.stderr.write(`  ${group.name} run ${run + 1}/${RUNS}: ${JSON.stringify(measured)}\n`);
  }
  return {
    name: group.name,
    metric: group.metric,
    values,
    medians: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, median(v)])),
    ratios: Object.fromEntries(Object.entries(ratioRuns).map(([k, v]) => [k, median(v)])),
    targets: group.targets,
    cpuTargets: group.cpuTargets,
    extras: Object.fromEntries(Object.entries(extras).map(([k, v]) => [k, median(v)])),
  };
}

/** Idle memory and time from start to ready, each the median of RUNS starts. */
async function footprint(): Promise<Record<string, number>> {
  const idle: number[] = [];
  const ready: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const server = await gateway()();
    ready.push(server.startToReadyMs);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    idle.push(server.memory().rssMiB);
    await server.stop();
  }
  return { "idle RSS MiB": median(idle), "start to ready ms": median(ready) };
}

/** Bytes a dir's files take on disk, as `du` counts them. */
function diskBytes(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).blocks * 512;
  }
  return bytes;
}

/**
 * Memory with the data kept: KEPT_GIB of 500 × 1 KiB PutRecords (8 in flight)
 * into the in-memory engine, which keeps --max-stream-mib of it, and into a
 * gateway with a data dir and the default 24 h retention, which keeps all of
 * it; then each one's resident memory and peak. For the data dir also its
 * size on disk and the time a gateway started again on it takes to be ready
 * (recovery reads every segment; they are in the page cache). Medians of RUNS.
 */
async function keptDataMemory(): Promise<Record<string, number>> {
  const found: Record<string, number[]> = {};
  const write = async (server: ServerProcess) => {
    const result = await writeVolume({
      url: server.url,
      streamName: STREAM,
      batch: 500,
      recordBytes: 1024,
      inFlight: 8,
      totalBytes: KEPT_GIB * 1024 ** 3,
    });
    if (result.failedRecords > 0) throw new Error(`${result.failedRecords} records failed`);
    return result.recordsPerSecond;
  };
  for (let run = 0; run < RUNS; run++) {
    const inMemory = await gateway()();
    try {
      append(found, "in-memory engine: records/s", await write(inMemory));
      const { rssMiB, peakRssMiB } = inMemory.memory();
      append(found, "in-memory engine: RSS MiB", rssMiB);
      append(found, "in-memory engine: peak RSS MiB", peakRssMiB);
    } finally {
      await inMemory.stop();
    }
    const dataDir = freshDataDir();
    try {
      const flags = ["--data-dir", dataDir];
      const durable = await gateway(flags)();
      try {
        append(found, "data dir: records/s", await write(durable));
        const { rssMiB, peakRssMiB } = durable.memory();
        append(found, "data dir: RSS MiB", rssMiB);
        append(found, "data dir: peak RSS MiB", peakRssMiB);
      } finally {
        await durable.stop();
      }
      append(found, "data dir: MiB on disk", diskBytes(dataDir) / 1024 ** 2);
      const restarted = await gateway(flags)();
      append(found, "data dir: restart to ready s", restarted.startToReadyMs / 1000);
      append(found, "data dir: RSS MiB after the restart", restarted.memory().rssMiB);
      await restarted.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    reportRun("kept-data-memory", run, found);
  }
  return mediansOf(found);
}

/** Prints a run's figures as they come (the last of each), for the impatient. */
function reportRun(group: string, run: number, found: Record<string, number[]>): void {
  const last = Object.fromEntries(Object.entries(found).map(([k, v]) => [k, v.at(-1)]));
  process.stderr.write(`  ${group} run ${run + 1}/${RUNS}: ${JSON.stringify(last)}\n`);
}

function mediansOf(found: Record<string, number[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(found).map(([k, v]) => [k, median(v)]));
}

/** What a server may spend on a 1 KiB record, in µs of CPU (issue 21's targets). */
const SERVER_COST_TARGETS: Record<string, number> = {
  "gateway, gRPC, engine": 4,
  "gateway, wire API JSON, engine": 6,
};

/** Forward mode on every core: 2 workers against 1, records/s (issue 21's target). */
const WORKERS_TARGET = 1.6;

/**
 * Server CPU per record with h2load as the load generator (see h2load.ts):
 * gRPC PutRecords 500 × 1 KiB to the transport reference and to the
 * gateway's engine, and the wire API's JSON PutRecords to the gateway; then
 * gRPC PutRecords forwarded to a do-nothing Kinesis by 1 worker and by 2,
 * over 8 connections (the kernel spreads connections, not calls, among
 * workers). Medians of RUNS; a string says why nothing was measured.
 */
async function serverCost(): Promise<Record<string, number> | string> {
  const missing = h2loadMissing();
  if (missing !== undefined) return missing;
  const options: H2loadOptions = {
    streamName: STREAM,
    batch: 500,
    recordBytes: 1024,
    connections: 2,
    streamsPerConnection: 4,
    warmupSeconds: 1,
    seconds: SECONDS,
  };
  const grpcPath = "/kinesis.gateway.v1.ProducerService/PutRecords";
  const spread: H2loadOptions = { ...options, connections: 8, streamsPerConnection: 4 };
  const forward = (workers: number) => ({
    name: `gateway, gRPC, forward, ${workers} worker${workers === 1 ? "" : "s"}`,
    start: forwardingTo(startNullKinesis, ["--workers", String(workers)]),
    path: grpcPath,
    wire: false,
    options: spread,
  });
  const scenarios = [
    { name: "transport reference, gRPC", start: startReferenceServer, path: grpcPath, wire: false },
    { name: "gateway, gRPC, engine", start: gateway(), path: grpcPath, wire: false },
    { name: "gateway, wire API JSON, engine", start: gateway(), path: "/", wire: true },
    forward(1),
    forward(2),
  ];
  const found: Record<string, number[]> = {};
  for (let run = 0; run < RUNS; run++) {
    for (const scenario of scenarios) {
      const server = await scenario.start();
      try {
        const used = "options" in scenario ? scenario.options : options;
        const cost = await measureServerCost(
          server,
          scenario.path,
          scenario.wire ? WIRE_HEADERS : GRPC_HEADERS,
          scenario.wire ? wirePutRecordsBody(used) : grpcPutRecordsBody(used),
          used,
        );
        if (cost.failedRequests > 0)
          throw new Error(`${scenario.name}: ${cost.failedRequests} failed`);
        append(found, `${scenario.name}: records/s`, cost.recordsPerSecond);
        append(found, `${scenario.name}: µs server CPU/record`, cost.serverMicrosPerRecord);
        if ("options" in scenario) {
          append(found, `${scenario.name}: % of the machine busy`, cost.machineBusy * 100);
        }
      } finally {
        await server.stop();
      }
    }
    reportRun("h2load-server-cpu", run, found);
  }
  const medians = mediansOf(found);
  const perWorkers = (workers: string) => medians[`gateway, gRPC, forward, ${workers}: records/s`];
  return {
    ...medians,
    "forward, 2 workers ÷ 1 worker: records/s ×":
      perWorkers("2 workers")! / perWorkers("1 worker")!,
  };
}

function verdict(ratio: number, target: { atLeast?: number; atMost?: number } | undefined): string {
  if (target === undefined) return "";
  if (target.atLeast !== undefined)
    return ratio >= target.atLeast ? `≥ ${target.atLeast} ✓` : `≥ ${target.atLeast} ✗`;
  if (target.atMost !== undefined)
    return ratio <= target.atMost ? `≤ ${target.atMost} ✓` : `≤ ${target.atMost} ✗`;
  return "";
}

const sink = await startOtlpSink();
const results: GroupResult[] = [];
for (const group of groups(sink.url)) {
  if (ONLY && !ONLY.includes(group.name)) continue;
  process.stderr.write(`${group.name}…\n`);
  results.push(await runGroup(group));
}
if (!ONLY || ONLY.includes("h2load-server-cpu")) process.stderr.write("h2load-server-cpu…\n");
const cost = ONLY && !ONLY.includes("h2load-server-cpu") ? {} : await serverCost();
const fp = ONLY && !ONLY.includes("footprint") ? {} : await footprint();
const containerRuns = ONLY && !ONLY.includes("footprint") ? {} : await containerFootprint(RUNS);
const container =
  typeof containerRuns === "string"
    ? containerRuns
    : Object.fromEntries(Object.entries(containerRuns).map(([k, v]) => [k, median(v)]));
if (!ONLY || ONLY.includes("kept-data-memory")) {
  process.stderr.write(`kept-data-memory (${KEPT_GIB} GiB)…\n`);
}
const kept = ONLY && !ONLY.includes("kept-data-memory") ? {} : await keptDataMemory();
sink.close();

const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
};
console.log(
  `\nkinesis-gateway benchmark — ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, ${RUNS} runs × ${SECONDS} s\n`,
);
for (const r of results) {
  console.log(`${r.name}: ${r.metric}`);
  for (const [variant, value] of Object.entries(r.medians)) {
    const ratio = r.ratios[variant];
    const ratioText =
      ratio === undefined
        ? "(reference)"
        : `× ${ratio.toFixed(2)} ${verdict(ratio, r.targets[variant])}`;
    console.log(
      `  ${variant.padEnd(22)} ${value.toFixed(value < 100 ? 2 : 0).padStart(10)}  ${ratioText}`,
    );
  }
  for (const [name, value] of Object.entries(r.extras)) {
    const cpuTarget = r.cpuTargets?.[name.replace(": µs server CPU/record", "")];
    const check =
      cpuTarget === undefined || !name.endsWith("µs server CPU/record")
        ? ""
        : `  ${value <= cpuTarget ? `≤ ${cpuTarget} ✓` : `≤ ${cpuTarget} ✗`}`;
    console.log(`  ${name.padEnd(52)} ${value.toFixed(value < 10 ? 2 : 0)}${check}`);
  }
}
if (typeof cost === "string") console.log(`server CPU (h2load): not measured, ${cost}`);
else
  for (const [name, value] of Object.entries(cost)) {
    const target = SERVER_COST_TARGETS[name.replace(": µs server CPU/record", "")];
    const check = name.endsWith("×")
      ? `  ${value >= WORKERS_TARGET ? `≥ ${WORKERS_TARGET} ✓` : `≥ ${WORKERS_TARGET} ✗`}`
      : target === undefined || !name.endsWith("µs server CPU/record")
        ? ""
        : `  ${value <= target ? `≤ ${target} ✓` : `≤ ${target} ✗`}`;
    console.log(`server CPU (h2load): ${name} ${value.toFixed(value < 100 ? 2 : 0)}${check}`);
  }
for (const [name, value] of Object.entries(fp))
  console.log(`footprint: ${name} ${value.toFixed(0)}`);
if (typeof container === "string") console.log(`footprint: container: not measured, ${container}`);
else
  for (const [name, value] of Object.entries(container))
    console.log(`footprint: ${name} ${value.toFixed(0)}`);
for (const [name, value] of Object.entries(kept))
  console.log(`kept data, ${KEPT_GIB} GiB written: ${name} ${value.toFixed(value < 10 ? 2 : 0)}`);

const dir = new URL("results/", import.meta.url);
mkdirSync(dir, { recursive: true });
const file = new URL(`bench-${new Date().toISOString().replaceAll(":", "-")}.json`, dir);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      machine,
      runs: RUNS,
      seconds: SECONDS,
      results,
      serverCost: cost,
      footprint: fp,
      container,
      keptData: { gib: KEPT_GIB, ...kept },
    },
    null,
    2,
  )}\n`,
);
console.log(`\nJSON: ${file.pathname}`);
