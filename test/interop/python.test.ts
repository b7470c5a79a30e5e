/**
 * A Python service's view: a grpcio client generated from proto/ with the
 * README's commands, run with grpcio's default channel settings against the
 * real gateway (test/interop/python/client.py), next to grpc_health and
 * grpc_reflection.
 */
import assert from "node:assert/strict";
import { cp, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { assertConsumerRegistration, type ClientResults, checkScenarios } from "./scenarios.ts";
import {
  DEBIAN_PYTHON,
  generateAsReadmeSays,
  INTEROP,
  missingDebianPackages,
  run,
  skipLoudly,
  startInteropGateways,
} from "./toolchain.ts";

const PACKAGES = ["protobuf-compiler", "protobuf-compiler-grpc", "python3-grpcio", "grpc-proto"];
/** Where Debian's grpc-proto puts gRPC's own protos. */
const GRPC_PROTOS = "/usr/share/grpc-proto/grpc";

/**
 * grpc_health and grpc_reflection as pip's grpcio-health-checking and
 * grpcio-reflection ship them (Debian packages neither): generated from
 * gRPC's protos under those packages' file names. And google.rpc.Status, as
 * googleapis-common-protos ships it, from test/interop/proto.
 */
async function installGrpcPackages(sitePackages: string): Promise<void> {
  const files = [
    ["health/v1/health.proto", "grpc_health/v1/health.proto"],
    ["reflection/v1alpha/reflection.proto", "grpc_reflection/v1alpha/reflection.proto"],
  ] as const;
  for (const [from, to] of files) {
    await mkdir(join(sitePackages, to, ".."), { recursive: true });
    await cp(join(GRPC_PROTOS, from), join(sitePackages, to));
  }
  const plugin = "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin";
  const out = [`--python_out=${sitePackages}`, `--grpc_out=${sitePackages}`, plugin];
  await run("protoc", ["-I", sitePackages, ...out, ...files.map(([, to]) => to)]);
  const statusProtos = join(INTEROP, "proto");
  await run("protoc", [
    "-I",
    statusProtos,
    `--python_out=${sitePackages}`,
    join(statusProtos, "google/rpc/status.proto"),
  ]);
}

void test("a Python (grpcio) client generated from proto/, default channel", async (t) => {
  const missing = await missingDebianPackages(PACKAGES);
  if (missing.length > 0) return skipLoudly(t, "Python", missing);

  const project = await generateAsReadmeSays("Python");
  t.after(() => project.remove());
  t.diagnostic(`generated with the README's commands in ${project.generated.ms} ms`);
  const sitePackages = join(project.dir, "site-packages");
  await installGrpcPackages(sitePackages);

  const gateways = await startInteropGateways();
  t.after(() => gateways.stop());
  const generated = join(project.dir, "gen/python");
  const client = join(INTEROP, "python/client.py");
  const ran = await run(
    DEBIAN_PYTHON,
    [client, gateways.address, gateways.unthrottledAddress, generated],
    { env: { PYTHONPATH: `${generated}:${sitePackages}` }, timeoutMs: 90_000 },
  );
  t.diagnostic(`scenarios ran in ${ran.ms} ms`);
  assert.doesNotMatch(ran.stderr, /Traceback|duplicate symbol|already registered/, ran.stderr);
  const results = JSON.parse(ran.stdout) as ClientResults;
  await checkScenarios(t, results);
  await t.test("a consumer registered through ConsumerService is described by its ARN", () =>
    assertConsumerRegistration(results.consumerRegistration),
  );
});
