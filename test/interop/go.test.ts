/**
 * A Go service's view: a grpc-go client generated from proto/ with the
 * README's commands, built in GOPATH mode against Debian's Go packages (no
 * module proxy), linked with grpc-go's own health and reflection packages,
 * and run with grpc-go's default settings (test/interop/go/main.go).
 */
import assert from "node:assert/strict";
import { cp, mkdir, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { type ClientResults, checkScenarios } from "./scenarios.ts";
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
  "protoc-gen-go",
  "protoc-gen-go-grpc",
  "golang-go",
  "golang-google-grpc-dev",
  "golang-google-protobuf-dev",
  // grpc-go marshals through github.com/golang/protobuf: 1.5 is the shim over APIv2.
  "golang-github-golang-protobuf-1-5-dev",
];
/** The import path of the project, as the protos' `go_package` names it. */
const PROJECT = "kinesis-gateway";

/** The Go packages generated under `gen/go`, as import paths. */
async function generatedPackages(project: string): Promise<string[]> {
  const files = await readdir(join(project, "gen/go"), { recursive: true });
  const directories = files.filter((f) => f.endsWith(".pb.go")).map((f) => dirname(f));
  return [...new Set(directories)].map((d) => `${PROJECT}/gen/go/${d}`).sort();
}

void test("a Go (grpc-go) client generated from proto/, default dial options", async (t) => {
  const missing = await missingDebianPackages(PACKAGES);
  if (missing.length > 0) return skipLoudly(t, "Go", missing);

  // $GOPATH/src/kinesis-gateway: the import path `go_package` gives the generated code.
  const project = await generateAsReadmeSays("Go", `gopath/src/${PROJECT}`);
  t.after(() => project.remove());
  t.diagnostic(`generated with the README's commands in ${project.generated.ms} ms`);

  // The client, with every generated package linked in (a message registered
  // twice panics at start), next to grpc-go's health and reflection.
  const command = join(project.dir, "cmd/interop-client");
  await mkdir(command, { recursive: true });
  await cp(join(INTEROP, "go/main.go"), join(command, "main.go"));
  const packages = await generatedPackages(project.dir);
  assert.ok(packages.length > 0, "the README's commands generated no Go package");
  const imports = packages.map((p) => `import _ "${p}"\n`).join("");
  await writeFile(join(command, "generated.go"), `package main\n\n${imports}`);

  const gopath = join(project.dir, "../..");
  const binary = join(project.dir, "interop-client");
  const built = await run("go", ["build", "-o", binary, `./${relative(project.dir, command)}`], {
    cwd: project.dir,
    env: {
      GO111MODULE: "off",
      GOPATH: `${gopath}:/usr/share/gocode`,
      GOFLAGS: "",
      GOPROXY: "off",
      // Outside the repository, kept between runs: the second build takes a second.
      GOCACHE: process.env.GOCACHE ?? join(tmpdir(), "kinesis-gateway-interop-go-build"),
    },
    timeoutMs: 120_000,
  });
  t.diagnostic(`go build in ${built.ms} ms`);

  const gateways = await startInteropGateways();
  t.after(() => gateways.stop());
  const ran = await run(binary, [gateways.address, gateways.unthrottledAddress], {
    timeoutMs: 90_000,
  });
  t.diagnostic(`scenarios ran in ${ran.ms} ms`);
  assert.doesNotMatch(ran.stderr, /panic|already registered/, ran.stderr);
  await checkScenarios(t, JSON.parse(ran.stdout) as ClientResults);
});
