/**
 * What the interop tests share: running a toolchain, skipping loudly when it
 * is not installed, a temporary project holding a copy of `proto/` in which
 * the README's own commands generate the client, and the gateways the
 * clients call.
 */
import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import type { RunningGateway } from "../../src/main.ts";
import { startTestGateway } from "../helpers/gateway.ts";

export const REPOSITORY = fileURLToPath(new URL("../../", import.meta.url));
export const INTEROP = fileURLToPath(new URL("./", import.meta.url));
/** Debian's interpreter, the one its python3-* packages install into (another may shadow it on PATH). */
export const DEBIAN_PYTHON = "/usr/bin/python3";
/** Debian's toolchains come first, whatever else is on PATH. */
const PATH = `/usr/bin:/bin:${process.env.PATH ?? ""}`;

export interface Ran {
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Killed after this long. Default: 60 s. */
  timeoutMs?: number;
}

/** Runs a program to its end; fails with its output when it exits non-zero or times out. */
export function run(command: string, args: readonly string[], options: RunOptions = {}) {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise<Ran>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPOSITORY,
      env: { ...process.env, PATH, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeoutMs} ms]`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not start: ${err.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - started);
      if (code === 0) return resolve({ stdout, stderr, ms });
      const shown = [command, ...args].join(" ");
      reject(
        new Error(
          `${shown.slice(0, 400)}\nexited with ${code ?? signal} after ${ms} ms\n` +
            `--- stderr ---\n${stderr.slice(-6000)}\n--- stdout ---\n${stdout.slice(-2000)}`,
        ),
      );
    });
  });
}

/** Which of these Debian packages are not installed (all of them where there is no dpkg). */
export async function missingDebianPackages(names: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    const installed = await run("dpkg", ["--status", name], { timeoutMs: 10_000 })
      .then((ran) => ran.stdout.includes("Status: install ok installed"))
      .catch(() => false);
    if (!installed) missing.push(name);
  }
  return missing;
}

/**
 * Skips the test, and says so where nobody can miss it: a missing toolchain
 * must not pass silently.
 */
export function skipLoudly(t: TestContext, language: string, missing: readonly string[]): void {
  const reason =
    `${language} interop NOT TESTED: Debian packages missing: ${missing.join(" ")} ` +
    `(.ci/run installs them: apt-get install -y ${missing.join(" ")})`;
  console.error(`\n!!!!!!!! ${reason} !!!!!!!!\n`);
  t.skip(reason);
}

const README_SUBSECTION = "### A client in your language";

/**
 * The README's commands for `language`: the ```sh block of its "A client in
 * your language" subsection whose first line is `# <language>…`.
 */
export async function readmeCommands(language: string): Promise<string> {
  const readme = await readFile(join(REPOSITORY, "README.md"), "utf8");
  const start = readme.indexOf(`\n${README_SUBSECTION}\n`);
  if (start < 0) throw new Error(`README.md has no "${README_SUBSECTION}" subsection`);
  const rest = readme.slice(start + README_SUBSECTION.length + 2);
  const end = rest.search(/^#{2,3} /m);
  const subsection = end < 0 ? rest : rest.slice(0, end);
  for (const [, block] of subsection.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    if (block?.startsWith(`# ${language}`)) return block;
  }
  throw new Error(
    `README.md's "${README_SUBSECTION}" has no \`\`\`sh block starting "# ${language}"`,
  );
}

export interface ClientProject {
  /** The project's directory: `proto/` copied in, the client generated into `gen/`. */
  readonly dir: string;
  remove(): Promise<void>;
}

/**
 * A user's project, as the README describes it: `proto/` copied into
 * `dir` (a new temporary directory unless given), then the README's
 * commands for `language` run there.
 */
export async function generateAsReadmeSays(
  language: string,
  dir?: string,
): Promise<ClientProject & { generated: Ran }> {
  const root = await mkdtemp(join(tmpdir(), "kinesis-gateway-interop-"));
  const project = dir === undefined ? root : join(root, dir);
  await cp(join(REPOSITORY, "proto"), join(project, "proto"), { recursive: true });
  const remove = () => rm(root, { recursive: true, force: true });
  try {
    const commands = await readmeCommands(language);
    const generated = await run("bash", ["-euo", "pipefail", "-c", commands], { cwd: project });
    return { dir: project, remove, generated };
  } catch (err) {
    await remove();
    throw err;
  }
}

export interface InteropGateways {
  /** `host:port` of a gateway with AWS's limits: `orders` (4 shards) and `throttled` (1). */
  readonly address: string;
  /** `host:port` of a gateway with `--throttle off` and `backlog` (1 shard). */
  readonly unthrottledAddress: string;
  stop(): Promise<void>;
}

/** The two gateways the clients call, as `client GATEWAY UNTHROTTLED_GATEWAY` takes them. */
export async function startInteropGateways(): Promise<InteropGateways> {
  const started: RunningGateway[] = [];
  const stop = async () => {
    await Promise.all(started.map((gateway) => gateway.stop()));
  };
  try {
    started.push(await startTestGateway(["--streams", "orders:4,throttled:1"]));
    started.push(await startTestGateway(["--throttle", "off", "--streams", "backlog:1"]));
  } catch (err) {
    await stop();
    throw err;
  }
  const [limited, unthrottled] = started as [RunningGateway, RunningGateway];
  return {
    address: `127.0.0.1:${limited.port}`,
    unthrottledAddress: `127.0.0.1:${unthrottled.port}`,
    stop,
  };
}
