/**
 * The container image's footprint: its size, and the idle resident memory of
 * the gateway running in it, read from the host's /proc (the container's
 * process, not the code's own counter). Needs a Docker engine; builds
 * `kinesis-gateway:local` with `npm run image` when it is missing.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const IMAGE = "kinesis-gateway:local";
const REPOSITORY = fileURLToPath(new URL("../", import.meta.url));

const docker = async (...args: string[]): Promise<string> =>
  (await run("docker", args, { timeout: 120_000 })).stdout.trim();

/** A process's resident memory in MiB, from /proc. */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kib / 1024;
}

/**
 * Over `runs` containers, each run's start to ready and idle RSS a second
 * after ready; and the image's size. A string says why nothing was measured.
 */
export async function containerFootprint(runs: number): Promise<Record<string, number[]> | string> {
  try {
    await docker("info");
  } catch {
    return "no Docker engine answers (`docker info`)";
  }
  try {
    await docker("image", "inspect", IMAGE);
  } catch {
    process.stderr.write(`  building ${IMAGE} (npm run image)…\n`);
    await run("bash", ["scripts/image.sh"], {
      cwd: REPOSITORY,
      timeout: 20 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  }
  const idle: number[] = [];
  const ready: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = Date.now();
    const id = await docker("run", "-d", "-p", "127.0.0.1::4567", IMAGE, "--streams", "orders:4");
    try {
      const url = `http://${await docker("port", id, "4567/tcp")}`;
      for (;;) {
        const answer = await fetch(`${url}/readyz`).catch(() => undefined);
        if (answer?.ok) break;
        if (Date.now() - started > 120_000) throw new Error("the container is not ready in 120 s");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      ready.push(Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      idle.push(rssMiB(Number(await docker("inspect", "--format", "{{.State.Pid}}", id))));
    } finally {
      await docker("rm", "-f", "-v", id);
    }
  }
  const bytes = Number(await docker("image", "inspect", "--format", "{{.Size}}", IMAGE));
  return {
    "image MiB": [bytes / 1024 ** 2],
    "container idle RSS MiB": idle,
    "docker run to ready ms": ready,
  };
}
