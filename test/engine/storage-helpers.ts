/** Helpers of the durable engine's tests: engines on a data dir in a temporary directory. */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { createEngine, type Engine, type EngineOptions } from "../../src/engine/engine.ts";
import { openDataDir } from "../../src/engine/storage/data-dir.ts";
import type { StorageProblem } from "../../src/engine/storage/disk-record-store.ts";

const made: string[] = [];
// At the top level: a dir made in a hook lives until every test of the file ran.
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the system's temporary one, removed after the file's tests. */
export function temporaryDir(prefix = "kg-data-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export interface OpenedEngine {
  readonly engine: Engine;
  /** What the data dir reported while opening and since, with the stream's key. */
  readonly problems: { stream: string; problem: StorageProblem }[];
}

/** An engine on the data dir at `path` (fsync on unless told), throttling off. */
export function openEngine(
  path: string,
  options: EngineOptions = {},
  { fsync = true } = {},
): OpenedEngine {
  const problems: OpenedEngine["problems"] = [];
  const storage = openDataDir({
    path,
    fsync,
    onProblem: (stream, problem) => problems.push({ stream, problem }),
  });
  const engine = createEngine({ throttle: false, ...options, storage });
  return { engine, problems };
}

/** The directory of the one stream in a data dir. */
export function streamDir(path: string): string {
  const names = readdirSync(join(path, "streams"));
  if (names.length !== 1) throw new Error(`expected one stream dir, found ${names.join(", ")}`);
  return join(path, "streams", names[0]!);
}

/** The segment files of a stream dir, oldest first. */
export function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".log"))
    .sort();
}

/** `count` records of a few bytes each, the data saying which they are. */
export function recordsNamed(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    partitionKey: `k${i}`,
    data: new TextEncoder().encode(`${prefix}-${i}-${"x".repeat(12)}`),
  }));
}

export const text = (data: Uint8Array) => new TextDecoder().decode(data);
