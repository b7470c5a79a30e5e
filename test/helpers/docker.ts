/**
 * For the tests that build and run containers (test/container): the docker
 * command, whether an engine answers, and the images they share.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { KINESIS_MOCK_IMAGE } from "./emulator.ts";

export const run = promisify(execFile);
export const REPOSITORY = fileURLToPath(new URL("../../", import.meta.url));
/** What `npm run image` builds. */
export const GATEWAY_IMAGE = "kinesis-gateway:local";
/** Debootstrap, the base and the image, on a Docker engine with the vfs storage driver. */
export const BUILD_MS = 15 * 60_000;

/** Runs `docker …` and returns its trimmed stdout. */
export const docker = async (...args: string[]): Promise<string> =>
  (await run("docker", args, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();

async function engineAnswers(): Promise<boolean> {
  try {
    await run("docker", ["info"], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * True when a Docker engine answers; otherwise skips the test, saying so
 * loudly on stderr as well as in the report.
 */
export async function needsEngine(t: TestContext, what: string): Promise<boolean> {
  if (await engineAnswers()) return true;
  const why = `no Docker engine answers (\`docker info\`): ${what}`;
  process.stderr.write(`\n*** SKIPPED: ${why} ***\n\n`);
  t.skip(why);
  return false;
}

/** Builds the gateway's image as a user does (`npm run image`); cached layers make a rebuild quick. */
export async function buildGatewayImage(): Promise<void> {
  await run("bash", ["scripts/image.sh"], {
    cwd: REPOSITORY,
    timeout: BUILD_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The kinesis-mock image the emulator harness and the compose file run. */
export const kinesisMockImage = (): string => process.env.KINESIS_MOCK_IMAGE || KINESIS_MOCK_IMAGE;

/** Polls `check` every 200 ms until it resolves true; fails after `timeoutMs`. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`not ${what} after ${timeoutMs} ms`);
}
