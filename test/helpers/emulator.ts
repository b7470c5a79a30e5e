/**
 * A real Kinesis emulator that the test suite starts itself, for tests that
 * talk to Kinesis over the wire.
 *
 * `KINESIS_EMULATOR` chooses which one:
 * - `container`: kinesis-mock's image through testcontainers (needs a Docker
 *   engine). `KINESIS_MOCK_IMAGE` names the image: kinesis-mock's own
 *   (`ghcr.io/etspaceman/kinesis-mock`) by default, or a stand-in built
 *   without a registry by `scripts/kinesis-mock-image.sh`, as CI does;
 * - `localstack`: LocalStack's image, which runs kinesis-mock inside;
 * - `process`: the `kinesis-local` npm package (kinesis-mock compiled to
 *   JavaScript) as a child process on free ports;
 * - a URL such as `http://127.0.0.1:4568`: an emulator someone else runs,
 *   which the tests cannot stop, pause or restart;
 * - unset: `container` when a Docker engine answers, otherwise `process`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server, Socket } from "node:net";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { after, afterEach, before } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListStreamsCommand,
} from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { GenericContainer, StartedTestContainer } from "testcontainers";

/** A running Kinesis emulator and the means to break it on purpose. */
export interface Emulator {
  /** Where it answers the Kinesis JSON API, e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  /** How it runs: a container (kinesis-mock's or LocalStack's), a kinesis-local child process, or someone else's. */
  readonly kind: "process" | "container" | "external";
  /** The region its streams live in (requests are signed for it). */
  readonly region: string;
  /** The account its stream ARNs name. */
  readonly accountId: string;
  /**
   * Stops it: calls are refused (ECONNREFUSED) until `restart()` starts it
   * again on the same port. Nothing holds the port meanwhile.
   */
  stop(): Promise<void>;
  /**
   * Freezes it (SIGSTOP, `docker pause`): it keeps its port and its state,
   * connections are accepted but nothing is answered until `restart()`.
   */
  pause(): Promise<void>;
  /**
   * Brings it back on the same endpoint and waits until it answers. A paused
   * emulator resumes with its state; a stopped or running one starts again
   * **empty**: neither kinesis-local nor the container keeps streams across
   * a restart.
   */
  restart(): Promise<void>;
  /** Its recent stdout and stderr (the last 200 lines), for failure messages. */
  output(): string;
  /**
   * A new AWS SDK client for it: HTTP/1.1, dummy static credentials, its
   * region, and no retries (`maxAttempts: 1`), so failures surface as they are.
   */
  client(): KinesisClient;
}

/** How to start an emulator. */
export interface EmulatorOptions {
  /**
   * Streams to create at start-up, as `name[:shards[:region]]` separated by
   * commas (kinesis-mock's `INITIALIZE_STREAMS`; 4 shards when omitted).
   * `startEmulator` returns once they are ACTIVE. Ignored by an external emulator.
   */
  initializeStreams?: string;
}

const REGION = "us-east-1";
const ACCOUNT_ID = "000000000000";
/**
 * kinesis-mock's own image, at the release the `kinesis-local` package pins:
 * the current engine (enhanced fan-out, the 2025 operations), free, from its
 * author. `KINESIS_MOCK_IMAGE` names another, such as the stand-in that
 * `scripts/kinesis-mock-image.sh` builds where no registry gives this one.
 */
export const KINESIS_MOCK_IMAGE = "ghcr.io/etspaceman/kinesis-mock:0.6.2";
/** kinesis-mock's plain HTTP port inside its image (4567 is TLS). */
const KINESIS_MOCK_PORT = 4568;
/**
 * The last LocalStack community tag that starts without LOCALSTACK_AUTH_TOKEN
 * (later tags need one; LocalStack archived its repository in March 2026).
 * It bundles kinesis-mock 0.5.2: no enhanced fan-out.
 */
const LOCALSTACK_IMAGE = "localstack/localstack:4.14.0";
const LOCALSTACK_PORT = 4566;
const OUTPUT_LINES = 200;
/** How long a container runtime may take to answer before we assume there is none. */
const RUNTIME_PROBE_MS = 2_000;
const PROCESS_READY_MS = 30_000;
/**
 * LocalStack starts its Kinesis engine on the first Kinesis call, which takes
 * a while; a container on the vfs storage driver is first copied whole.
 */
const CONTAINER_READY_MS = 120_000;
const STREAM_ACTIVE_MS = 10_000;
/**
 * kinesis-mock delays each state change (CREATING → ACTIVE, …) by 500 ms by
 * default; zero keeps tests fast, at the price of never seeing the
 * intermediate states.
 */
const TRANSITION_DURATIONS = [
  "CREATE_STREAM_DURATION",
  "DELETE_STREAM_DURATION",
  "REGISTER_STREAM_CONSUMER_DURATION",
  "DEREGISTER_STREAM_CONSUMER_DURATION",
  "START_STREAM_ENCRYPTION_DURATION",
  "STOP_STREAM_ENCRYPTION_DURATION",
  "MERGE_SHARDS_DURATION",
  "SPLIT_SHARD_DURATION",
  "UPDATE_SHARD_COUNT_DURATION",
  "UPDATE_STREAM_MODE_DURATION",
] as const;

/**
 * Starts the emulator `KINESIS_EMULATOR` asks for (see the module comment)
 * and returns once it answers Kinesis calls and its initial streams are ACTIVE.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const choice = process.env.KINESIS_EMULATOR ?? "";
  if (choice === "process") return startProcessEmulator(options);
  if (choice === "container") return startContainerEmulator(kinesisMock(options));
  if (choice === "localstack") return startContainerEmulator(localStack(options));
  if (choice !== "") return connectToExternalEmulator(choice);
  return (await containerRuntimeAnswers())
    ? startContainerEmulator(kinesisMock(options))
    : startProcessEmulator(options);
}

/**
 * Starts an emulator before the suite's tests and stops it after them. When a
 * test fails, the emulator's recent output is attached to it as diagnostics.
 * Read `current` inside tests and hooks, not while the suite is being defined.
 */
export function useEmulator(options: EmulatorOptions = {}): { readonly current: Emulator } {
  let emulator: Emulator | undefined;
  before(
    async () => {
      emulator = await startEmulator(options);
    },
    { timeout: CONTAINER_READY_MS + 60_000 },
  );
  afterEach((t) => {
    if (!("passed" in t) || t.passed || emulator === undefined) return;
    const output = emulator.output();
    if (output === "") return;
    // One diagnostic per line: reporters such as TAP escape newlines inside one.
    t.diagnostic(`Kinesis emulator (${emulator.kind}, ${emulator.endpoint}) output:`);
    for (const line of output.split("\n")) t.diagnostic(line);
  });
  after(async () => {
    if (emulator?.kind !== "external") await emulator?.stop();
  });
  return {
    get current(): Emulator {
      if (emulator === undefined) throw new Error("the emulator is not running yet");
      return emulator;
    },
  };
}

/** Polls DescribeStreamSummary until the stream is ACTIVE. */
export async function waitUntilStreamActive(
  client: KinesisClient,
  streamName: string,
  timeoutMs = STREAM_ACTIVE_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let status: string | undefined;
  while (Date.now() < deadline) {
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    status = summary.StreamDescriptionSummary?.StreamStatus;
    if (status === "ACTIVE") return;
    await sleep(20);
  }
  throw new Error(`stream ${streamName} is still ${status} after ${timeoutMs} ms`);
}

function createClient(endpoint: string, region: string): KinesisClient {
  return new KinesisClient({
    endpoint,
    region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000 }),
  });
}

/** The last lines of one or more streams of text, in the order they arrived. */
function createOutputRing(): {
  follow(stream: Readable): void;
  add(line: string): void;
  text(): string;
} {
  const lines: string[] = [];
  const add = (line: string): void => {
    lines.push(line);
    if (lines.length > OUTPUT_LINES) lines.shift();
  };
  return {
    follow: (stream) => createInterface({ input: stream, crlfDelay: Infinity }).on("line", add),
    add,
    text: () => lines.join("\n"),
  };
}

/**
 * Whether testcontainers finds a container runtime. Without one it fails in
 * milliseconds; the timeout only guards against a `DOCKER_HOST` that hangs.
 */
async function containerRuntimeAnswers(): Promise<boolean> {
  const { getContainerRuntimeClient } = await import("testcontainers");
  const timeout = sleep(RUNTIME_PROBE_MS, false, { ref: false });
  try {
    return await Promise.race([getContainerRuntimeClient().then(() => true), timeout]);
  } catch (error) {
    if (
      error instanceof Error &&
      error.message === "Could not find a working container runtime strategy"
    ) {
      return false;
    }
    throw error;
  }
}

/**
 * Polls ListStreams until the emulator answers. `gaveUp` may name a reason to
 * stop early (the process exited); the error carries the emulator's output.
 */
async function waitUntilAnswering(
  endpoint: string,
  timeoutMs: number,
  output: () => string,
  gaveUp: () => string | undefined = () => undefined,
): Promise<void> {
  const client = createClient(endpoint, REGION);
  const deadline = Date.now() + timeoutMs;
  let reason = "no answer yet";
  try {
    while (Date.now() < deadline) {
      const early = gaveUp();
      if (early !== undefined) {
        reason = early;
        break;
      }
      try {
        await client.send(new ListStreamsCommand({}), { abortSignal: AbortSignal.timeout(2_000) });
        return;
      } catch (error) {
        reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      await sleep(50);
    }
  } finally {
    client.destroy();
  }
  throw new Error(
    `the Kinesis emulator at ${endpoint} did not start answering (${reason})\n--- its output ---\n${output()}`,
  );
}

/** Waits until every stream of an `INITIALIZE_STREAMS` list is ACTIVE. */
async function waitUntilInitialStreamsActive(
  endpoint: string,
  initializeStreams: string | undefined,
  output: () => string,
): Promise<void> {
  for (const entry of (initializeStreams ?? "").split(",")) {
    const [name = "", , region = ""] = entry.trim().split(":");
    if (name === "") continue;
    const client = createClient(endpoint, region === "" ? REGION : region);
    try {
      await waitUntilStreamActive(client, name);
    } catch (error) {
      throw new Error(
        `initial stream ${entry.trim()} did not become ACTIVE (${String(error)})\n--- the emulator's output ---\n${output()}`,
      );
    } finally {
      client.destroy();
    }
  }
}

/** A port nothing listens on right now, checked on every interface as kinesis-local binds them all. */
async function freePort(): Promise<number> {
  const server: Server = createServer();
  server.listen(0);
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no TCP port was assigned");
  return address.port;
}

/** Two distinct free ports: kinesis-local listens for plain HTTP and for TLS. */
async function twoFreePorts(): Promise<[number, number]> {
  const plain = await freePort();
  let tls = await freePort();
  while (tls === plain) tls = await freePort();
  return [plain, tls];
}

async function startProcessEmulator(options: EmulatorOptions): Promise<Emulator> {
  const mainJs = fileURLToPath(import.meta.resolve("kinesis-local"));
  const [plainPort, tlsPort] = await twoFreePorts();
  const endpoint = `http://127.0.0.1:${plainPort}`;
  const ring = createOutputRing();
  // Only these variables: nothing from the test runner (NODE_OPTIONS,
  // NODE_TEST_CONTEXT, AWS_*) should change how the emulator behaves.
  const environment = {
    ...kinesisMockEnvironment(options),
    KINESIS_MOCK_PLAIN_PORT: String(plainPort),
    KINESIS_MOCK_TLS_PORT: String(tlsPort),
  };

  let child: ChildProcess | undefined;
  let closed: Promise<void> = Promise.resolve();
  let paused = false;
  const killOnExit = (): void => {
    child?.kill("SIGKILL");
  };

  // A forgotten emulator must not keep the test process alive: the child and
  // its pipes are unreferenced while it runs, and killed when the process exits.
  const setReferenced = (running: ChildProcess, referenced: boolean): void => {
    const method = referenced ? "ref" : "unref";
    running[method]();
    for (const pipe of [running.stdout, running.stderr]) {
      if (pipe instanceof Socket) pipe[method]();
    }
  };

  const launch = async (): Promise<void> => {
    const started = Date.now();
    // server.json (the TLS certificate) is read from the working directory.
    const running = spawn(process.execPath, [mainJs], {
      cwd: dirname(mainJs),
      env: environment,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = running;
    paused = false;
    let exit: string | undefined;
    closed = new Promise((resolve) => {
      running.on("close", (code, signal) => {
        exit = `kinesis-local exited with ${signal ?? `code ${code}`}`;
        ring.add(`[${exit}]`);
        resolve();
      });
    });
    if (running.stdout !== null) ring.follow(running.stdout);
    if (running.stderr !== null) ring.follow(running.stderr);
    setReferenced(running, false);
    process.on("exit", killOnExit);
    try {
      await waitUntilAnswering(endpoint, PROCESS_READY_MS, ring.text, () => exit);
      await waitUntilInitialStreamsActive(endpoint, options.initializeStreams, ring.text);
    } catch (error) {
      await terminate();
      throw error;
    }
    ring.add(`[kinesis-local answered on ${endpoint} ${Date.now() - started} ms after spawn]`);
  };

  const terminate = async (): Promise<void> => {
    const running = child;
    if (running === undefined) return;
    child = undefined;
    paused = false;
    process.off("exit", killOnExit);
    // Referenced again so that the test process waits for the exit.
    setReferenced(running, true);
    // SIGKILL also ends a stopped (paused) process; there is nothing to flush.
    running.kill("SIGKILL");
    await closed;
  };

  await launch();
  return {
    endpoint,
    kind: "process",
    region: REGION,
    accountId: ACCOUNT_ID,
    stop: terminate,
    async pause() {
      if (child === undefined) throw new Error("cannot pause a stopped emulator");
      child.kill("SIGSTOP");
      paused = true;
    },
    async restart() {
      if (paused && child !== undefined) {
        child.kill("SIGCONT");
        paused = false;
        await waitUntilAnswering(endpoint, PROCESS_READY_MS, ring.text);
        return;
      }
      await terminate();
      await launch();
    },
    output: ring.text,
    client: () => createClient(endpoint, REGION),
  };
}

/** kinesis-mock's settings for the tests, the same in its process and in its image. */
function kinesisMockEnvironment(options: EmulatorOptions): Record<string, string> {
  const environment: Record<string, string> = {
    AWS_REGION: REGION,
    AWS_ACCOUNT_ID: ACCOUNT_ID,
    LOG_LEVEL: "WARN",
    SHOULD_PERSIST_DATA: "false",
    LOAD_DATA_IF_EXISTS: "false",
  };
  for (const name of TRANSITION_DURATIONS) environment[name] = "0ms";
  if (options.initializeStreams !== undefined) {
    environment.INITIALIZE_STREAMS = options.initializeStreams;
  }
  return environment;
}

/** An emulator image and how to start it: what differs between kinesis-mock's and LocalStack's. */
interface ContainerFlavour {
  readonly options: EmulatorOptions;
  /** Who it is, for messages. */
  readonly name: string;
  /** A container, configured but not started, mapping its Kinesis port to `hostPort`. */
  create(hostPort: number): Promise<GenericContainer>;
}

function kinesisMock(options: EmulatorOptions): ContainerFlavour {
  const image = process.env.KINESIS_MOCK_IMAGE || KINESIS_MOCK_IMAGE;
  return {
    options,
    name: image,
    async create(hostPort) {
      const { GenericContainer, Wait } = await import("testcontainers");
      return new GenericContainer(image)
        .withExposedPorts({ container: KINESIS_MOCK_PORT, host: hostPort })
        .withEnvironment(kinesisMockEnvironment(options))
        .withWaitStrategy(
          Wait.forHttp("/healthcheck", KINESIS_MOCK_PORT).withStartupTimeout(CONTAINER_READY_MS),
        );
    },
  };
}

function localStack(options: EmulatorOptions): ContainerFlavour {
  return {
    options,
    name: LOCALSTACK_IMAGE,
    async create(hostPort) {
      const { LocalstackContainer } = await import("@testcontainers/localstack");
      const environment: Record<string, string> = {
        SERVICES: "kinesis",
        // LocalStack's name for kinesis-mock's state change durations, in ms.
        KINESIS_LATENCY: "0",
      };
      if (options.initializeStreams !== undefined) {
        environment.KINESIS_INITIALIZE_STREAMS = options.initializeStreams;
      }
      return new LocalstackContainer(LOCALSTACK_IMAGE)
        .withExposedPorts({ container: LOCALSTACK_PORT, host: hostPort })
        .withEnvironment(environment);
    },
  };
}

async function startContainerEmulator(flavour: ContainerFlavour): Promise<Emulator> {
  const { getContainerRuntimeClient } = await import("testcontainers");
  // A fixed host port, so that a restarted container keeps the endpoint
  // (Docker may hand out a new random port on each start). This assumes the
  // engine runs on this machine, where the port was found free.
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const ring = createOutputRing();
  const { initializeStreams } = flavour.options;

  let container: StartedTestContainer | undefined;
  let paused = false;
  // A forgotten emulator must not outlive the test process (testcontainers'
  // reaper may be off, as where no registry gives its image): removed at exit.
  const removeOnExit = (): void => {
    if (container !== undefined) spawnSync("docker", ["rm", "-f", container.getId()]);
  };

  const launch = async (): Promise<void> => {
    const started = Date.now();
    try {
      container = await (await flavour.create(port)).start();
    } catch (error) {
      throw new Error(
        `could not start ${flavour.name} (${String(error)}). Without a registry: ` +
          "scripts/kinesis-mock-image.sh and KINESIS_MOCK_IMAGE=kinesis-mock:local, with " +
          "TESTCONTAINERS_RYUK_DISABLED=true; or KINESIS_EMULATOR=process",
        { cause: error },
      );
    }
    paused = false;
    process.on("exit", removeOnExit);
    ring.follow(await container.logs());
    try {
      await waitUntilAnswering(endpoint, CONTAINER_READY_MS, ring.text);
      await waitUntilInitialStreamsActive(endpoint, initializeStreams, ring.text);
    } catch (error) {
      await terminate();
      throw error;
    }
    ring.add(`[${flavour.name} answered on ${endpoint} ${Date.now() - started} ms after start]`);
  };

  const setPaused = async (pause: boolean): Promise<void> => {
    if (container === undefined) throw new Error(`the ${flavour.name} container is stopped`);
    const docker = (await getContainerRuntimeClient()).container.getById(container.getId());
    await (pause ? docker.pause() : docker.unpause());
    paused = pause;
  };

  const terminate = async (): Promise<void> => {
    if (container === undefined) return;
    if (paused) await setPaused(false);
    const running = container;
    container = undefined;
    process.off("exit", removeOnExit);
    await running.stop();
  };

  await launch();
  return {
    endpoint,
    kind: "container",
    region: REGION,
    accountId: ACCOUNT_ID,
    stop: terminate,
    pause: () => setPaused(true),
    async restart() {
      if (paused) {
        await setPaused(false);
        await waitUntilAnswering(endpoint, CONTAINER_READY_MS, ring.text);
        return;
      }
      await terminate();
      await launch();
    },
    output: ring.text,
    client: () => createClient(endpoint, REGION),
  };
}

async function connectToExternalEmulator(url: string): Promise<Emulator> {
  const endpoint = new URL(url).origin;
  await waitUntilAnswering(endpoint, 5_000, () => "(not ours: see its own logs)");
  const unsupported = async (): Promise<never> => {
    throw new Error(
      `KINESIS_EMULATOR points at an emulator this suite does not run (${endpoint}): it cannot stop, pause or restart it`,
    );
  };
  return {
    endpoint,
    kind: "external",
    region: REGION,
    accountId: ACCOUNT_ID,
    stop: unsupported,
    pause: unsupported,
    restart: unsupported,
    output: () => "",
    client: () => createClient(endpoint, REGION),
  };
}
