/**
 * A C++ service's view, kept small (a C++ build is the slowest step of the
 * suite): the client generated from proto/ with the README's commands
 * compiles, links with grpc++'s reflection library, starts without a
 * descriptor conflict, writes the seed example and decodes an error
 * (test/interop/cpp/client.cc).
 */
import assert from "node:assert/strict";
import { glob, mkdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { assertSeed, assertUnknownStream, type ClientResults } from "./scenarios.ts";
import {
  generateAsReadmeSays,
  INTEROP,
  missingDebianPackages,
  run,
  skipLoudly,
  startInteropGateways,
} from "./toolchain.ts";

const PACKAGES = [
  "protobuf-compiler",
  "protobuf-compiler-grpc",
  "libgrpc++-dev",
  "g++",
  "pkg-config",
];

/** Runs `jobs` at most `parallel` at a time. */
async function inParallel<T>(jobs: (() => Promise<T>)[], parallel: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await jobs[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
  return results;
}

void test("a C++ (grpc++) client generated from proto/, default channel", async (t) => {
  const missing = await missingDebianPackages(PACKAGES);
  if (missing.length > 0) return skipLoudly(t, "C++", missing);

  const project = await generateAsReadmeSays("C++");
  t.after(() => project.remove());
  t.diagnostic(`generated with the README's commands in ${project.generated.ms} ms`);

  // google.rpc.Status, where a user takes googleapis' copy.
  const googleapis = join(project.dir, "googleapis");
  const statusProtos = join(INTEROP, "proto");
  await mkdir(googleapis);
  await run("protoc", [
    "-I",
    statusProtos,
    `--cpp_out=${googleapis}`,
    join(statusProtos, "google/rpc/status.proto"),
  ]);

  const flags = (await run("pkg-config", ["--cflags", "grpc++", "protobuf"])).stdout.split(/\s+/);
  const sources = [join(googleapis, "google/rpc/status.pb.cc"), join(INTEROP, "cpp/client.cc")];
  for await (const generated of glob("gen/cpp/**/*.cc", { cwd: project.dir })) {
    sources.push(join(project.dir, generated));
  }
  const include = ["-I", join(project.dir, "gen/cpp"), "-I", googleapis];
  const started = performance.now();
  const objects = await inParallel(
    sources.map((source, i) => async () => {
      const object = join(project.dir, `${i}.o`);
      const args = ["-std=c++17", "-O0", ...include, ...flags.filter(Boolean), "-c", source];
      await run("g++", [...args, "-o", object], { cwd: project.dir, timeoutMs: 120_000 });
      return object;
    }),
    availableParallelism(),
  );
  const libs = (await run("pkg-config", ["--libs", "grpc++", "protobuf"])).stdout.split(/\s+/);
  const binary = join(project.dir, "interop-client");
  await run("g++", ["-o", binary, ...objects, ...libs.filter(Boolean), "-lgrpc++_reflection"], {
    timeoutMs: 120_000,
  });
  const buildMs = Math.round(performance.now() - started);
  t.diagnostic(`compiled and linked ${sources.length} files in ${buildMs} ms`);
  if (buildMs > 60_000) {
    console.error(`\n!!! the C++ interop build took ${buildMs} ms, over its 60 s budget !!!\n`);
  }

  const gateways = await startInteropGateways();
  t.after(() => gateways.stop());
  const ran = await run(binary, [gateways.address], { timeoutMs: 30_000 });
  assert.doesNotMatch(ran.stderr, /conflict|already exists|CHECK failed/i, ran.stderr);
  const results = JSON.parse(ran.stdout) as ClientResults;
  t.diagnostic(`client: ${results.client}`);

  await t.test("the seed example lands on shards 1 and 3", () => assertSeed(results.seed));
  await t.test("an unknown stream: NOT_FOUND with ResourceNotFoundException", () =>
    assertUnknownStream(results.errors.unknownStream),
  );
});
