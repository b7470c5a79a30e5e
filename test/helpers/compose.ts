/**
 * Which Docker Compose this machine has: the v2 plugin (`docker compose`), or
 * else Debian's docker-compose 1.29 (`docker-compose`), which reads the same
 * file and takes the same subcommands (but has no `up --wait`).
 */
import { spawnSync } from "node:child_process";

export interface Compose {
  /** The command and its leading arguments: `["docker", "compose"]` or `["docker-compose"]`. */
  readonly command: readonly [string, ...string[]];
  /** Whether `up --wait` exists (v2). */
  readonly canWait: boolean;
}

/** The Compose to run, or why there is none. */
export function findCompose(): Compose | { readonly missing: string } {
  const plugin = spawnSync("docker", ["compose", "version"], { encoding: "utf8" });
  if (plugin.status === 0) return { command: ["docker", "compose"], canWait: true };
  const standalone = spawnSync("docker-compose", ["version"], { encoding: "utf8" });
  if (standalone.status === 0) return { command: ["docker-compose"], canWait: false };
  const why = (result: typeof plugin) =>
    result.error?.message ?? result.stderr.trim().split("\n")[0] ?? `exit ${result.status}`;
  return {
    missing: `neither \`docker compose\` (${why(plugin)}) nor docker-compose (${why(standalone)})`,
  };
}
