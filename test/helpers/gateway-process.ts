/**
 * The real command, `bin/kinesis-gateway.js`, as a child process: for what
 * only the process does — read the `OTEL_*` variables, export, serve
 * `/metrics`, log to stdout, exit on a signal, come back from its data dir
 * after `kill -9`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { Socket } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { NODE_ENV, NODE_FLAGS } from "../../src/node-flags.ts";

export interface GatewayProcess {
  /** Where it listens, as it logged it, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** Its process id, to read its memory and CPU from /proc. */
  readonly pid: number;
  /** Everything it wrote to stdout so far. */
  stdout(): string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /**
   * Sends SIGTERM and resolves with the exit code once it has exited (null if
   * a signal ended it). Safe to call again, even while it stops: same answer.
   */
  stop(): Promise<number | null>;
  /**
   * Sends SIGKILL and resolves once it has exited: no shutdown of its own, as
   * when the machine's OOM killer or an operator's `kill -9` ends it.
   */
  kill(): Promise<void>;
}

const COMMAND = fileURLToPath(new URL("../../bin/kinesis-gateway.js", import.meta.url));
/** Variables that configure the gateway or its SDK: only the test's own may reach the child. */
const CONFIGURING_PREFIXES = ["OTEL_", "KINESIS_GATEWAY_"];
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const LISTENING = "kinesis-gateway listening";

/** The test process's environment without its OTEL_* and KINESIS_GATEWAY_* variables, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(
    ([name]) => !CONFIGURING_PREFIXES.some((prefix) => name.startsWith(prefix)),
  );
  return { ...Object.fromEntries(inherited), ...env };
}

/**
 * The child is unreferenced while it runs, so a test that forgets to stop it
 * does not keep the test process alive (it is killed when that exits).
 */
function setReferenced(child: ChildProcess, referenced: boolean): void {
  const method = referenced ? "ref" : "unref";
  child[method]();
  for (const pipe of [child.stdout, child.stderr]) {
    if (pipe instanceof Socket) pipe[method]();
  }
}

/**
 * Starts the command on a free loopback port (`--port 0 --host 127.0.0.1`,
 * which `flags` may override) and resolves once it has logged that it
 * listens (an info line: keep `--log-level` at `info` or `debug`). Fails
 * with its output if it exits first or takes over 15 s.
 */
export async function startGatewayProcess(
  flags: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const args = [...NODE_FLAGS, COMMAND, "--port", "0", "--host", "127.0.0.1", ...flags];
  const child = spawn(process.execPath, args, {
    env: childEnv({ ...NODE_ENV, ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const output = () => `--- stdout ---\n${stdout}--- stderr ---\n${stderr}`;
  const killOnExit = () => child.kill("SIGKILL");
  process.on("exit", killOnExit);

  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once("error", (err) => {
      stderr += `[spawn failed: ${err.message}]\n`;
      resolve(null);
    });
    child.once("close", (code) => resolve(code));
  }).then((code) => {
    exitCode = code;
    process.off("exit", killOnExit);
    return code;
  });

  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const listening = new Promise<{ url: string; port: number }>((resolve) => {
    if (child.stdout === null) return;
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on("line", (line) => {
      stdout += `${line}\n`;
      try {
        const entry = JSON.parse(line) as { msg?: unknown; url?: unknown; port?: unknown };
        if (entry.msg === LISTENING && typeof entry.url === "string") {
          resolve({ url: entry.url, port: Number(entry.port) });
        }
      } catch {
        // Not a JSON line: kept in stdout for the test to judge.
      }
    });
  });

  let timer: NodeJS.Timeout | undefined;
  const failed = (reason: string) => new Error(`kinesis-gateway ${reason}\n${output()}`);
  const started = await Promise.race([
    listening,
    exited.then((code) => {
      throw failed(`exited with ${code} before it listened`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(failed(`did not log "${LISTENING}" within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  setReferenced(child, false);

  let stopped: Promise<number | null> | undefined;
  const stop = async (): Promise<number | null> => {
    if (exitCode !== undefined) return exitCode;
    // Referenced again, so that the test process waits for the exit.
    setReferenced(child, true);
    child.kill("SIGTERM");
    let stopTimer: NodeJS.Timeout | undefined;
    const tooLate = new Promise<never>((_, reject) => {
      stopTimer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(failed(`did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`));
      }, STOP_TIMEOUT_MS);
    });
    return Promise.race([exited, tooLate]).finally(() => clearTimeout(stopTimer));
  };

  const kill = async (): Promise<void> => {
    if (exitCode !== undefined) return;
    setReferenced(child, true);
    child.kill("SIGKILL");
    await exited;
  };

  return {
    ...started,
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    // One SIGTERM only: a second one would end the process before its shutdown is done.
    stop: () => {
      stopped ??= stop();
      return stopped;
    },
    kill,
  };
}
