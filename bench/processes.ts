/**
 * The servers a benchmark runs against, each in its own process so that its
 * CPU and memory are its own: the gateway (the real command), the transport
 * reference, and, later, the emulators.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { NODE_ENV, NODE_FLAGS } from "../src/node-flags.ts";

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Milliseconds from spawn to the first answered `/readyz` (or listening line). */
  readonly startToReadyMs: number;
  /** Resident memory now and at its peak, in MiB (Linux `/proc`). */
  memory(): { rssMiB: number; peakRssMiB: number };
  /** CPU time the process has used so far, user and system, in seconds (Linux `/proc`). */
  cpuSeconds(): number;
  /** The server this one forwards to, when it is part of the measurement. */
  readonly upstream?: ServerProcess;
  stop(): Promise<void>;
}

const repoRoot = new URL("../", import.meta.url);

/** utime + stime of a process, which /proc counts in clock ticks (100 per second on Linux). */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function kibFromStatus(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Number(match[1]) : Number.NaN;
}

/** Spawns a Node script and waits until a line of its stdout reveals its port. */
async function startNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  portOf: (line: string) => number | undefined,
  readyPath?: string,
  nodeFlags: readonly string[] = [],
): Promise<ServerProcess> {
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, script, ...args], {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const found = portOf(line);
      if (found !== undefined) resolve(found);
    });
    child.once("exit", (code) =>
      reject(new Error(`${script} exited with ${code} before listening`)),
    );
  });
  child.stdout!.resume();
  const url = `http://127.0.0.1:${port}`;
  if (readyPath !== undefined) {
    while ((await fetch(`${url}${readyPath}`).catch(() => undefined))?.status !== 200) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  return handleOf(child, url, performance.now() - started, "SIGTERM");
}

/** A running child as a server the benchmark measures. */
function handleOf(
  child: ChildProcess,
  url: string,
  startToReadyMs: number,
  stopSignal: NodeJS.Signals,
): ServerProcess {
  const pid = child.pid!;
  return {
    url,
    pid,
    startToReadyMs,
    memory: () => ({
      rssMiB: kibFromStatus(pid, "VmRSS") / 1024,
      peakRssMiB: kibFromStatus(pid, "VmHWM") / 1024,
    }),
    cpuSeconds: () => cpuSecondsOf(pid),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill(stopSignal);
      }),
  };
}

/** Every variable but the gateway's and OpenTelemetry's own, then `extra`. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("OTEL_") && !name.startsWith("KINESIS_GATEWAY_")) env[name] = value;
  }
  return { ...env, ...extra };
}

export function startGatewayProcess(
  flags: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<ServerProcess> {
  return startNode(
    "bin/kinesis-gateway.js",
    ["--port", "0", "--host", "127.0.0.1", ...flags],
    cleanEnv({ ...NODE_ENV, ...env }), // as every launcher of the command
    (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        return entry.msg === "kinesis-gateway listening" ? entry.port : undefined;
      } catch {
        return undefined;
      }
    },
    "/readyz",
    NODE_FLAGS, // as every launcher of the command; the reference runs on Node's defaults
  );
}

/** A Node script of bench/ that prints `{"port": N}` once listening. */
const startScript = (script: string) => (): Promise<ServerProcess> =>
  startNode(script, [], cleanEnv({}), (line) => {
    try {
      return (JSON.parse(line) as { port?: number }).port;
    } catch {
      return undefined;
    }
  });

export const startReferenceServer = startScript("bench/reference-server.ts");

/** A Kinesis that answers PutRecords at once with canned results (bench/null-kinesis.ts). */
export const startNullKinesis = startScript("bench/null-kinesis.ts");

/** A port nobody listens on now. */
async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Spawns an emulator that listens on a port we choose, and waits until it answers HTTP. */
async function startEmulator(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: URL,
  port: number,
): Promise<ServerProcess> {
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, { cwd, env, stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while ((await fetch(url, { method: "POST" }).catch(() => undefined)) === undefined) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${args[0]} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Emulators hold nothing worth a graceful stop.
  return handleOf(child, url, performance.now() - started, "SIGKILL");
}

/** kinesalite (LevelDB in memory), streams ACTIVE at once. */
export async function startKinesalite(): Promise<ServerProcess> {
  const port = await freePort();
  return startEmulator(
    [
      "node_modules/kinesalite/cli.js",
      "--port",
      String(port),
      "--createStreamMs",
      "0",
      "--shardLimit",
      "100",
    ],
    cleanEnv({}),
    repoRoot,
    port,
  );
}

/** kinesis-local (kinesis-mock, LocalStack's engine); it reads server.json from its folder. */
export async function startKinesisLocal(): Promise<ServerProcess> {
  const [plain, tls] = [await freePort(), await freePort()];
  return startEmulator(
    ["main.js"],
    cleanEnv({
      KINESIS_MOCK_PLAIN_PORT: String(plain),
      KINESIS_MOCK_TLS_PORT: String(tls),
      CREATE_STREAM_DURATION: "0ms",
      LOG_LEVEL: "ERROR",
    }),
    new URL("node_modules/kinesis-local/", repoRoot),
    plain,
  );
}
