/**
 * What the abuse tests measure of the gateway, from outside its process:
 * resident memory and CPU time from /proc, what it logged, and how a
 * well-behaved client in another process fares meanwhile.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { GatewayProcess } from "../helpers/gateway-process.ts";

/** A value of /proc/<pid>/status, in MiB (VmRSS, VmHWM). */
function statusMiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return kib / 1024;
}

export const rssMiB = (pid: number) => statusMiB(pid, "VmRSS");

/** The highest resident memory since the last {@link resetPeakRss}. */
export const peakRssMiB = (pid: number) => statusMiB(pid, "VmHWM");

/** Starts measuring the peak afresh (Linux: writing 5 to clear_refs resets VmHWM). */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

/** CPU seconds the process has used, user and system. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15; after "pid (comm) " they are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Lines the gateway logged at error level or above (pino: 50 error, 60 fatal). */
export function errorLines(gateway: GatewayProcess): string[] {
  return gateway
    .stdout()
    .split("\n")
    .filter((line) => {
      try {
        return (JSON.parse(line) as { level?: number }).level! >= 50;
      } catch {
        return false;
      }
    });
}

export interface VictimReport {
  calls: number;
  /** The slowest call, in ms. */
  slowestMs: number;
  failures: string[];
}

export interface Victim {
  /** Stops it and reports on its calls since it started. */
  stop(): Promise<VictimReport>;
}

const VICTIM = fileURLToPath(new URL("./victim.ts", import.meta.url));

/** Starts a well-behaved client of the gateway in a process of its own. */
export async function startVictim(url: string, stream: string, token?: string): Promise<Victim> {
  const child = spawn(process.execPath, [VICTIM, url, stream, ...(token ? [token] : [])], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines: { kind: string; ms: number; error?: string }[] = [];
  const ready = new Promise<void>((resolve) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as { kind: string; ms: number; error?: string };
      if (entry.kind === "ready") resolve();
      else lines.push(entry);
    });
  });
  await ready;
  return {
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin!.end();
      await exited;
      return {
        calls: lines.length,
        slowestMs: Math.max(0, ...lines.map((l) => l.ms)),
        failures: lines.flatMap((l) => (l.error ? [`${l.kind}: ${l.error}`] : [])),
      };
    },
  };
}

export interface AttackBounds {
  /** The gateway's --max-memory-mib. */
  maxMemoryMiB: number;
  /**
   * The victim's slowest call. Default 3 s: a client locked out fails or
   * waits for a time-out (10 s), while wall-clock times on the test
   * machine's two shared cores vary (the slowest call measured 0.3–1.6 s
   * across runs of the whole suite).
   */
  victimMaxMs?: number;
}

/**
 * Runs `attack` while a victim calls the gateway, then checks what every
 * attack must leave true: the gateway's peak RSS stayed under its memory
 * bound, the victim was served in time (`victimMaxMs`) every time, and nothing was
 * logged at error level. Returns what the victim saw and the peak.
 */
export async function underAttack(
  gateway: GatewayProcess,
  bounds: AttackBounds,
  attack: () => Promise<void>,
  victimOptions: { stream: string; token?: string } = { stream: "s" },
): Promise<{ victim: VictimReport; peakMiB: number }> {
  const errorsBefore = errorLines(gateway).length;
  resetPeakRss(gateway.pid);
  const victim = await startVictim(gateway.url, victimOptions.stream, victimOptions.token);
  let report: VictimReport;
  try {
    // At least long enough for the victim to make its calls.
    await Promise.all([attack(), new Promise((resolve) => setTimeout(resolve, 1_500))]);
  } finally {
    report = await victim.stop();
  }
  const peakMiB = peakRssMiB(gateway.pid);
  assert.ok(
    peakMiB < bounds.maxMemoryMiB,
    `peak RSS ${peakMiB.toFixed(0)} MiB, over the ${bounds.maxMemoryMiB} MiB bound`,
  );
  assert.deepEqual(report.failures, [], "the well-behaved client's calls failed");
  assert.ok(report.calls >= 5, `the well-behaved client made ${report.calls} calls`);
  const victimMaxMs = bounds.victimMaxMs ?? 3_000;
  assert.ok(report.slowestMs < victimMaxMs, `a well-behaved call took ${report.slowestMs} ms`);
  assert.deepEqual(errorLines(gateway).slice(errorsBefore), [], "logged at error level");
  return { victim: report, peakMiB };
}

/** A TCP connection to the gateway on loopback. */
export const connect = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
