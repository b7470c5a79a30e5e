/**
 * The files that package and deploy the gateway — Dockerfile, .dockerignore,
 * docker-compose.yml with its collector configuration, and the Kubernetes
 * manifests — checked against the gateway itself: their flags and variables
 * go through the real configuration parser, their healthchecks run against a
 * real gateway, and the references between files (selectors, service names,
 * ports, mounted files, listed resources) must resolve. No Docker engine or
 * cluster is needed; `docker compose config` (or docker-compose) and `kubectl
 * kustomize` run when their commands are installed and say so when they are not.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, suite, test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { type Config, envName, parseConfig } from "../../src/config.ts";
import type { RunningGateway } from "../../src/main.ts";
import { NODE_ENV_ASSIGNMENTS, NODE_FLAGS } from "../../src/node-flags.ts";
import { findCompose } from "../helpers/compose.ts";
import { KINESIS_MOCK_IMAGE } from "../helpers/emulator.ts";
import { startTestGateway } from "../helpers/gateway.ts";

const root = join(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

const GATEWAY_PORT = 4567;
const K8S_DIR = "deploy/kubernetes";

function configOf(argv: readonly string[], env: Record<string, string | undefined>): Config {
  const result = parseConfig(argv, env);
  assert.equal(result.kind, "config", JSON.stringify(result));
  return (result as Extract<typeof result, { kind: "config" }>).config;
}

/**
 * Runs a healthcheck's `node -e` script with this Node; true when it exits 0.
 * Asynchronously: the gateway it asks runs in this process.
 */
function healthcheckPasses(script: string, env: Record<string, string> = {}): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["-e", script],
      { env: { ...process.env, ...env }, timeout: 10_000 },
      (err) => resolve(err === null),
    );
  });
}

/** A port nothing listens on: one the gateway held and let go. */
async function closedPort(): Promise<number> {
  const gateway = await startTestGateway();
  await gateway.stop();
  return gateway.port;
}

/** `30s`, `1m30s`, `500ms` as seconds. */
function seconds(duration: string): number {
  let total = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as "ms" | "s" | "m" | "h"];
  }
  assert.ok(total > 0, `'${duration}' is not a duration`);
  return total;
}

/** `160Mi`, `1Gi` as MiB. */
function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  assert.ok(match, `'${quantity}' is not a quantity in Mi or Gi`);
  return Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
}

/** Whether the labels carry every key and value of the selector. */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return (
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([key, value]) => labels[key] === value)
  );
}

// --- Dockerfile ----------------------------------------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  /** 0 for instructions before the first FROM, then 1, 2, … per stage. */
  readonly stage: number;
}

function parseDockerfile(text: string): Instruction[] {
  const logical = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replaceAll(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  let stage = 0;
  return logical.map((line) => {
    const [keyword = "", ...rest] = line.split(/\s+/);
    if (keyword.toUpperCase() === "FROM") stage++;
    return { keyword: keyword.toUpperCase(), args: rest.join(" "), stage };
  });
}

/** The last stage's instructions: the image itself. */
function finalStage(instructions: readonly Instruction[]): Instruction[] {
  const last = Math.max(...instructions.map((i) => i.stage));
  return instructions.filter((i) => i.stage === last);
}

/** The arguments of the one `keyword` instruction among these. */
function onlyOne(instructions: readonly Instruction[], keyword: string): string {
  const found = instructions.filter((i) => i.keyword === keyword);
  assert.equal(found.length, 1, `one ${keyword} in the final stage`);
  return found[0]!.args;
}

/**
 * What the compose file and the Kubernetes manifests must agree with: the
 * image's one VOLUME (the data dir) and the user and group it runs as.
 */
function imageRuntime(): { dataVolume: string; uid: number; gid: number } {
  const final = finalStage(parseDockerfile(read("Dockerfile")));
  const volume = onlyOne(final, "VOLUME");
  const volumes = volume.startsWith("[") ? (JSON.parse(volume) as string[]) : volume.split(/\s+/);
  assert.equal(volumes.length, 1, "one volume");
  const [uid, gid] = onlyOne(final, "USER").split(":");
  assert.ok(gid !== undefined, "USER names the group too");
  return { dataVolume: volumes[0]!, uid: Number(uid), gid: Number(gid) };
}

/** Docker's .dockerignore rules: the last pattern that matches a path or a parent decides. */
function dockerignoreAdmits(patterns: readonly string[], path: string): boolean {
  const globToRegExp = (glob: string) =>
    new RegExp(
      `^${glob
        .replaceAll(/[.+^${}()|[\]\\]/g, "\\$&")
        .replaceAll("**", "\0")
        .replaceAll("*", "[^/]*")
        .replaceAll("?", "[^/]")
        .replaceAll("\0", ".*")}$`,
    );
  const segments = path.split("/");
  let excluded = false;
  for (const line of patterns) {
    const negated = line.startsWith("!");
    const pattern = globToRegExp((negated ? line.slice(1) : line).replaceAll(/^\/+|\/+$/g, ""));
    if (segments.some((_, i) => pattern.test(segments.slice(0, i + 1).join("/")))) {
      excluded = !negated;
    }
  }
  return !excluded;
}

void suite("Dockerfile", () => {
  const instructions = parseDockerfile(read("Dockerfile"));
  const stages = Math.max(...instructions.map((i) => i.stage));
  const final = finalStage(instructions);
  /** Each stage's name, from `FROM image AS name`. */
  const stageNames = new Map(
    instructions
      .filter((i) => i.keyword === "FROM")
      .map((i) => [i.stage, /\bAS\s+(\S+)$/i.exec(i.args)?.[1]] as const),
  );
  const one = (keyword: string) => onlyOne(final, keyword);
  const jsonArgs = (args: string) => JSON.parse(args) as string[];

  void test("builds in stages from a Node 24 base", () => {
    const argDefaults = new Map(
      instructions
        .filter((i) => i.keyword === "ARG" && i.stage === 0 && i.args.includes("="))
        .map((i) => i.args.split("=") as [string, string]),
    );
    // An ARG's default may name another (BASE=node:${NODE_VERSION}-slim).
    const expand = (text: string): string => {
      const once = text.replaceAll(
        /\$\{(\w+)\}/g,
        (_, name: string) => argDefaults.get(name) ?? "",
      );
      return once === text ? text : expand(once);
    };
    const bases = instructions.filter((i) => i.keyword === "FROM").map((i) => expand(i.args));
    assert.ok(bases.length >= 2, "a dependency stage and a final stage");
    for (const base of bases) {
      assert.match(base, /^node:24(\.\d+){0,2}-(slim|alpine)\b/, `base image '${base}'`);
    }
  });

  void test("installs production dependencies only, in a stage of their own", () => {
    const installs = instructions.filter((i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args));
    assert.ok(installs.every((i) => i.stage !== stages, "no npm ci in the final stage"));
    const production = installs.filter((i) => /--omit=dev\b/.test(i.args));
    assert.equal(production.length, 1, "one production install");
    const copies = final.filter((i) => i.keyword === "COPY").map((i) => i.args);
    const nodeModules = copies.filter((args) => /^--from=\S+ \S*node_modules\S* /.test(args));
    assert.equal(nodeModules.length, 1, "node_modules copied from one stage");
    const from = /^--from=(\S+)/.exec(nodeModules[0]!)![1];
    assert.equal(stageNames.get(production[0]!.stage), from, "the production install's stage");
  });

  void test("builds the JavaScript in a stage of its own and copies only dist", () => {
    const build = instructions.find((i) => i.keyword === "RUN" && /\bnpm run build\b/.test(i.args));
    assert.ok(build, "npm run build");
    assert.notEqual(build.stage, stages, "not in the final stage");
    const copies = final.filter((i) => i.keyword === "COPY").map((i) => i.args);
    assert.ok(copies.includes(`--from=${stageNames.get(build.stage)} /app/dist ./dist`));
  });

  void test("denies every install script of a production dependency, as --ignore-scripts does", () => {
    const pkg = JSON.parse(read("package.json")) as { allowScripts?: Record<string, unknown> };
    const lock = JSON.parse(read("package-lock.json")) as {
      packages: Record<string, { hasInstallScript?: boolean; dev?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== "" && entry.hasInstallScript && !entry.dev)
      .map(([path]) => path.replace(/^.*node_modules\//, ""));
    assert.ok(withScripts.length > 0, "the lockfile lists install scripts");
    for (const name of withScripts) {
      assert.equal(pkg.allowScripts?.[name], false, `allowScripts denies ${name}'s script`);
    }
  });

  void test("copies the command and the manifest, not the sources, and runs the package's bin", () => {
    const copied = final
      .filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from"))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const needed of ["bin", "package.json"]) {
      assert.ok(copied.includes(needed), `${needed} is copied`);
    }
    assert.ok(!copied.includes("src"), "the image runs dist/, not the sources");
    const pkg = JSON.parse(read("package.json")) as { bin: Record<string, string> };
    const bin = pkg.bin["kinesis-gateway"]!.replace(/^\.\//, "");
    assert.ok(existsSync(join(root, bin)));
    assert.deepEqual(jsonArgs(one("ENTRYPOINT")), ["node", ...NODE_FLAGS, bin]);
    assert.equal(one("WORKDIR"), "/app");
    assert.equal(one("ENV"), `NODE_ENV=production ${NODE_ENV_ASSIGNMENTS}`);
  });

  void test("runs as a non-root user, by number", () => {
    const [user = "", group] = one("USER").split(":");
    assert.match(user, /^\d+$/, "numeric, so Kubernetes can verify runAsNonRoot");
    assert.notEqual(Number(user), 0);
    if (group !== undefined) assert.notEqual(Number(group), 0);
  });

  void test("makes its data dir a volume the user owns, and sets no data dir itself", () => {
    const { dataVolume, uid, gid } = imageRuntime();
    assert.match(dataVolume, /^\/var\/lib\/kinesis-gateway$/);
    const creates = final.filter(
      (i) => i.keyword === "RUN" && i.args.split(/\s+/).includes(dataVolume),
    );
    assert.equal(creates.length, 1, `one RUN creates ${dataVolume}`);
    const run = creates[0]!.args;
    const owner =
      /\binstall -d\b.* -o (\d+) -g (\d+) /.exec(run) ?? /\bchown (\d+):(\d+) /.exec(run);
    assert.deepEqual([Number(owner?.[1]), Number(owner?.[2])], [uid, gid], `owner in '${run}'`);
    const volume = final.findIndex((i) => i.keyword === "VOLUME");
    assert.ok(
      final.indexOf(creates[0]!) < volume,
      "created before VOLUME, which keeps no later change",
    );
    const setsDataDir = new RegExp(`--data-dir\\b|\\b${envName("data-dir")}\\b`);
    const setting = final.filter((i) => setsDataDir.test(i.args));
    assert.deepEqual(setting, [], "the in-memory engine stays the default for docker run");
  });

  void test("exposes the port and stops on SIGTERM", () => {
    assert.equal(one("EXPOSE"), String(GATEWAY_PORT));
    assert.equal(one("STOPSIGNAL"), "SIGTERM");
  });

  void suite("its HEALTHCHECK", () => {
    const healthcheck = one("HEALTHCHECK");
    const command = jsonArgs(healthcheck.slice(healthcheck.indexOf("CMD") + 3));
    let gateway: RunningGateway;
    before(async () => {
      gateway = await startTestGateway(["--streams", "orders:4"]);
    });
    after(async () => {
      await gateway.stop();
    });

    void test("asks /healthz with Node alone (the slim image has no curl)", () => {
      assert.deepEqual(command.slice(0, 2), ["node", "-e"]);
      assert.match(command[2]!, /\/healthz/);
    });

    void test("passes against a running gateway and fails when none answers", async () => {
      const script = command[2]!;
      const port = (p: number) => ({ KINESIS_GATEWAY_PORT: String(p) });
      assert.ok(await healthcheckPasses(script, port(gateway.port)));
      assert.ok(!(await healthcheckPasses(script, port(await closedPort()))));
    });
  });

  void test("the command and npm start pass the node flags and environment the image does", () => {
    const flags = NODE_FLAGS.join(" ");
    assert.equal(
      read("bin/kinesis-gateway.js").split("\n")[0],
      `#!/usr/bin/env -S ${NODE_ENV_ASSIGNMENTS} node ${flags}`,
    );
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> })
      .scripts;
    assert.equal(scripts.start, `${NODE_ENV_ASSIGNMENTS} node ${flags} src/main.ts`);
    // The Dockerfile's ENTRYPOINT is checked with the rest of the image.
  });

  void test(".dockerignore admits what the image copies and nothing else", () => {
    const patterns = read(".dockerignore")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    for (const path of [
      "bin/kinesis-gateway.js",
      "src/main.ts",
      "src/gen/kinesis/gateway/v1/producer_pb.ts",
      "package.json",
      "package-lock.json",
      "tsconfig.json",
      "tsconfig.build.json",
    ]) {
      assert.ok(dockerignoreAdmits(patterns, path), `${path} is in the build context`);
    }
    for (const path of [
      "node_modules/yaml/package.json",
      "test/deploy/deploy-files.test.ts",
      "bench/run.ts",
      "scratch/dbg.ts",
      "dist/main.js",
      ".git/HEAD",
      "deploy/kubernetes/pdb.yaml",
      "docker-compose.yml",
      ".env",
    ]) {
      assert.ok(!dockerignoreAdmits(patterns, path), `${path} is left out`);
    }
  });
});

// --- docker-compose.yml --------------------------------------------------------------------

interface ComposeService {
  readonly image?: string;
  readonly build?: string | { readonly context: string };
  readonly profiles?: readonly string[];
  readonly ports?: readonly string[];
  readonly environment?: Record<string, string>;
  readonly command?: readonly string[];
  readonly volumes?: readonly string[];
  readonly restart?: string;
  readonly stop_grace_period?: string;
  readonly depends_on?: readonly string[] | Record<string, { readonly condition: string }>;
  readonly healthcheck?: { readonly test: readonly string[] };
}

interface CollectorConfig {
  readonly receivers: Record<string, { protocols: Record<string, { endpoint: string }> }>;
  readonly processors?: Record<string, unknown>;
  readonly exporters: Record<string, { endpoint?: string }>;
  readonly service: {
    pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;
  };
}

void suite("docker-compose.yml", () => {
  const compose = parse(read("docker-compose.yml"), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes?: Record<string, unknown>;
  };
  const services = compose.services;
  const service = (name: string) => {
    const found = services[name];
    assert.ok(found, `service ${name}`);
    return found;
  };
  const gatewayNames = Object.keys(services).filter(
    (name) => services[name]!.image === "kinesis-gateway:local",
  );
  const gatewayConfig = (name: string) => configOf([], service(name).environment ?? {});
  /** The container port published on a host port. */
  const published = (name: string) =>
    (service(name).ports ?? []).map((mapping) => {
      const [host, container] = mapping.split(":").slice(-2).map(Number) as [number, number];
      return { host, container };
    });
  const dependencies = (name: string) => {
    const dependsOn = service(name).depends_on ?? [];
    return Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn);
  };

  void test("builds the gateway image from this repository", () => {
    const gateway = service("kinesis-gateway");
    assert.equal(gateway.build, ".");
    assert.equal(gateway.image, "kinesis-gateway:local");
    assert.deepEqual(gatewayNames.sort(), [
      "kinesis-gateway",
      "kinesis-gateway-forward",
      "kinesis-gateway-traced",
    ]);
    for (const name of gatewayNames) assert.equal(service(name).build, ".", name);
  });

  void test("serves the built-in engine with sample streams on port 4567", () => {
    assert.deepEqual(published("kinesis-gateway"), [
      { host: GATEWAY_PORT, container: GATEWAY_PORT },
    ]);
    const config = gatewayConfig("kinesis-gateway");
    assert.equal(config.backend, "engine");
    assert.equal(config.port, GATEWAY_PORT);
    assert.deepEqual(
      config.streams.map((s) => `${s.name}:${s.shardCount}`),
      ["orders:4", "events:1"],
    );
  });

  void test("every gateway restarts, publishes its one port and outlives its drain", () => {
    for (const name of gatewayNames) {
      const gateway = service(name);
      const config = gatewayConfig(name);
      assert.equal(gateway.restart, "unless-stopped", name);
      assert.deepEqual(
        published(name).map((p) => p.container),
        [config.port],
        `${name} publishes the port it listens on`,
      );
      assert.ok(
        seconds(gateway.stop_grace_period ?? "10s") > config.drainTimeoutSeconds,
        `${name}: stop_grace_period is longer than the ${config.drainTimeoutSeconds} s drain`,
      );
    }
    const hostPorts = Object.keys(services).flatMap((name) => published(name).map((p) => p.host));
    assert.equal(new Set(hostPorts).size, hostPorts.length, "no host port is published twice");
  });

  void suite("the gateway healthcheck", () => {
    let gateway: RunningGateway;
    before(async () => {
      gateway = await startTestGateway(["--streams", "orders:4"]);
    });
    after(async () => {
      await gateway.stop();
    });

    void test("asks /readyz with Node, and passes only when a gateway answers", async () => {
      for (const name of gatewayNames) {
        const check = service(name).healthcheck?.test ?? [];
        assert.deepEqual(check.slice(0, 3), ["CMD", "node", "-e"], name);
        const script = check[3]!;
        assert.match(script, new RegExp(`127\\.0\\.0\\.1:${GATEWAY_PORT}/readyz`));
        const at = (port: number) => script.replace(`:${GATEWAY_PORT}/`, `:${port}/`);
        assert.ok(await healthcheckPasses(at(gateway.port)), `${name}: passes`);
        assert.ok(!(await healthcheckPasses(at(await closedPort()))), `${name}: fails`);
      }
    });
  });

  void test("puts the emulator and observability in profiles, the engine gateway in none", () => {
    const byProfile = new Map<string, string[]>();
    for (const [name, s] of Object.entries(services)) {
      for (const profile of s.profiles ?? [""]) {
        byProfile.set(profile, [...(byProfile.get(profile) ?? []), name]);
      }
    }
    assert.deepEqual(Object.fromEntries(byProfile), {
      "": ["kinesis-gateway"],
      emulator: ["kinesis-mock", "kinesis-gateway-forward"],
      observability: ["kinesis-gateway-traced", "otel-collector", "jaeger"],
    });
    for (const name of Object.keys(services)) {
      for (const dependency of dependencies(name)) {
        const theirs = service(dependency).profiles ?? [];
        assert.ok(
          theirs.length === 0 || theirs.some((p) => service(name).profiles?.includes(p)),
          `${name} depends on ${dependency}, which starts with it`,
        );
      }
    }
  });

  /** An image as Compose reads it with no variables set: `${NAME:-default}` is the default. */
  const imageOf = (name: string) =>
    (service(name).image ?? "").replace(/\$\{\w+:-([^}]*)\}/g, "$1");

  void test("pins every image it pulls; kinesis-mock's is the test harness's", () => {
    assert.equal(imageOf("kinesis-mock"), KINESIS_MOCK_IMAGE);
    assert.match(service("kinesis-mock").image ?? "", /^\$\{KINESIS_MOCK_IMAGE:-/, "replaceable");
    for (const [name, s] of Object.entries(services)) {
      if (s.build !== undefined) continue;
      assert.match(imageOf(name), /:\d+\.\d+\.\d+$/, `${name} pins a version`);
    }
  });

  void test("forwards to kinesis-mock's plain HTTP port, which holds the default stack's streams", () => {
    const config = gatewayConfig("kinesis-gateway-forward");
    assert.equal(config.backend, "kinesis");
    const upstream = new URL(config.kinesisEndpoint ?? "");
    assert.equal(upstream.protocol, "http:");
    assert.equal(upstream.hostname, "kinesis-mock");
    assert.equal(Number(upstream.port), 4568);
    assert.equal(
      service("kinesis-mock").environment?.INITIALIZE_STREAMS,
      service("kinesis-gateway").environment?.[envName("streams")],
    );
    assert.deepEqual(dependencies("kinesis-gateway-forward"), ["kinesis-mock"]);
    const env = service("kinesis-gateway-forward").environment ?? {};
    assert.ok(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY, "placeholder credentials");
  });

  void test("keeps the engine's data dir in a named volume of its own, at the image's", () => {
    const dataDir = service("kinesis-gateway").environment?.[envName("data-dir")];
    assert.equal(dataDir, imageRuntime().dataVolume, "the directory the image's user owns");
    const mounted = (service("kinesis-gateway").volumes ?? [])
      .map((volume) => volume.split(":"))
      .filter(([, target]) => target === dataDir);
    assert.equal(mounted.length, 1, `a volume at ${dataDir}`);
    const source = mounted[0]![0]!;
    // A bind mount would neither start as a copy of the image's directory nor take its owner.
    assert.ok(compose.volumes && source in compose.volumes, `${source} is a named volume`);
    const sharing = Object.keys(services).filter((name) =>
      (service(name).volumes ?? []).some((volume) => volume.split(":")[0] === source),
    );
    assert.deepEqual(sharing, ["kinesis-gateway"], "one engine process per data dir");
  });

  void test("mounts only named volumes that it declares, and files that exist", () => {
    for (const [name, s] of Object.entries(services)) {
      for (const volume of s.volumes ?? []) {
        const source = volume.split(":")[0]!;
        if (source.startsWith(".")) {
          assert.ok(existsSync(join(root, source)), `${name} mounts ${source}, which exists`);
        } else {
          assert.ok(compose.volumes && source in compose.volumes, `${name}: volume ${source}`);
        }
      }
    }
  });

  void suite("the observability profile", () => {
    const collector = service("otel-collector");
    const mount = (collector.volumes ?? []).find((v) => v.endsWith(".yaml:ro")) ?? "";
    const [source = "", target = ""] = mount.split(":");
    const config = parse(read(source)) as CollectorConfig;

    void test("loads deploy/otel-collector.yaml as the collector's configuration", () => {
      assert.equal(source, "./deploy/otel-collector.yaml");
      assert.deepEqual(collector.command, [`--config=${target}`]);
    });

    void test("the collector's pipelines use only components it defines", () => {
      const { pipelines } = config.service;
      assert.ok(pipelines.traces, "a traces pipeline");
      for (const [name, pipeline] of Object.entries(pipelines)) {
        for (const id of pipeline.receivers) assert.ok(id in config.receivers, `${name}: ${id}`);
        for (const id of pipeline.processors ?? []) {
          assert.ok(id in (config.processors ?? {}), `${name}: ${id}`);
        }
        for (const id of pipeline.exporters) assert.ok(id in config.exporters, `${name}: ${id}`);
      }
    });

    void test("the traced gateway exports to the collector's OTLP/HTTP receiver", () => {
      const env = service("kinesis-gateway-traced").environment ?? {};
      const endpoint = new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "");
      assert.equal(endpoint.hostname, "otel-collector");
      assert.equal(env.OTEL_EXPORTER_OTLP_PROTOCOL, undefined, "http/protobuf, the default");
      const http = config.receivers.otlp?.protocols.http?.endpoint ?? "";
      assert.equal(http, `0.0.0.0:${endpoint.port}`, "listens beyond localhost, on that port");
      assert.equal(env.OTEL_TRACES_SAMPLER, "always_on");
      assert.deepEqual(dependencies("kinesis-gateway-traced"), ["otel-collector"]);
      assert.equal(
        service("kinesis-gateway").environment?.OTEL_EXPORTER_OTLP_ENDPOINT,
        undefined,
        "the default gateway exports nothing",
      );
    });

    void test("the collector sends traces on to Jaeger, whose UI is published", () => {
      const exporters = config.service.pipelines.traces!.exporters;
      const endpoints = exporters.map((id) => config.exporters[id]?.endpoint ?? "");
      assert.ok(endpoints.includes("jaeger:4317"), `traces go to ${endpoints.join(", ")}`);
      assert.match(service("jaeger").image ?? "", /^jaegertracing\/jaeger:2\./);
      assert.deepEqual(published("jaeger"), [{ host: 16686, container: 16686 }]);
    });
  });

  void test("docker compose config accepts it, every profile", (t) => {
    const compose = findCompose();
    if ("missing" in compose) {
      t.skip(`no Docker Compose here, so not run: ${compose.missing}`);
      return;
    }
    const [command, ...args] = compose.command;
    const check = spawnSync(
      command,
      [...args, "--profile", "emulator", "--profile", "observability", "config", "--quiet"],
      { cwd: root, encoding: "utf8" },
    );
    assert.equal(check.status, 0, check.stderr);
  });
});

// --- Kubernetes ----------------------------------------------------------------------------

interface Probe {
  readonly grpc?: { readonly port: number; readonly service?: string };
  readonly failureThreshold?: number;
  readonly periodSeconds?: number;
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly { readonly name: string; readonly value?: string }[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly restartPolicy?: string;
  readonly startupProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly lifecycle?: { readonly preStop?: { readonly sleep?: { readonly seconds: number } } };
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string }[];
  readonly resources?: {
    readonly requests?: Record<string, string>;
    readonly limits?: Record<string, string>;
  };
  readonly securityContext?: {
    readonly runAsNonRoot?: boolean;
    readonly runAsUser?: number;
    readonly runAsGroup?: number;
    readonly readOnlyRootFilesystem?: boolean;
    readonly allowPrivilegeEscalation?: boolean;
    readonly capabilities?: { readonly drop?: readonly string[] };
    readonly seccompProfile?: { readonly type: string };
  };
}

interface PodSpec {
  readonly serviceAccountName?: string;
  readonly terminationGracePeriodSeconds?: number;
  readonly securityContext?: {
    readonly fsGroup?: number;
    readonly seccompProfile?: { readonly type: string };
  };
  readonly initContainers?: readonly Container[];
  readonly containers: readonly Container[];
}

interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
}

interface Deployment extends Manifest {
  readonly spec: {
    readonly replicas: number;
    readonly selector: { readonly matchLabels: Record<string, string> };
    readonly template: {
      readonly metadata: { readonly labels: Record<string, string> };
      readonly spec: PodSpec;
    };
  };
}

/** The standalone gateway with the built-in engine, its data dir on a claim per pod. */
interface StatefulSet extends Manifest {
  readonly spec: Deployment["spec"] & {
    readonly serviceName: string;
    readonly volumeClaimTemplates: readonly {
      readonly metadata: { readonly name: string };
      readonly spec: {
        readonly accessModes: readonly string[];
        readonly resources: { readonly requests: { readonly storage: string } };
      };
    }[];
  };
}

/** What runs the gateway's pods. */
type Workload = Deployment | StatefulSet;

interface Service extends Manifest {
  readonly spec: {
    readonly clusterIP?: string;
    readonly selector: Record<string, string>;
    readonly ports: readonly {
      readonly port: number;
      readonly targetPort: number | string;
      readonly appProtocol?: string;
    }[];
  };
}

interface PodDisruptionBudget extends Manifest {
  readonly spec: {
    readonly minAvailable: number;
    readonly selector: { readonly matchLabels: Record<string, string> };
  };
}

void suite("Kubernetes manifests", () => {
  const files = readdirSync(join(root, K8S_DIR))
    .filter((file) => file.endsWith(".yaml") && file !== "kustomization.yaml")
    .sort();
  const manifestsOf = (file: string) =>
    parseAllDocuments(read(`${K8S_DIR}/${file}`)).map((document) => {
      assert.deepEqual(document.errors, [], file);
      return document.toJS() as Manifest;
    });
  const manifests = files.flatMap(manifestsOf);
  const ofKind = <T extends Manifest>(kind: string) =>
    manifests.filter((m): m is T => m.kind === kind);
  const deployments = ofKind<Deployment>("Deployment");
  const statefulSets = ofKind<StatefulSet>("StatefulSet");
  const workloads: readonly Workload[] = [...deployments, ...statefulSets];
  const nameOf = (workload: Workload) => `${workload.kind}/${workload.metadata.name}`;
  const kustomization = parse(read(`${K8S_DIR}/kustomization.yaml`)) as {
    resources: string[];
    images?: { name: string; newName?: string; newTag?: string }[];
  };
  const imageName = (image: string) => image.replace(/:[^/:]+$/, "");
  const isGateway = (c: Container) => imageName(c.image) === "kinesis-gateway" && !c.command;
  /** Each gateway container with the pod it runs in. */
  const gateways = workloads.flatMap((workload) => {
    const pod = workload.spec.template.spec;
    return [...(pod.initContainers ?? []), ...pod.containers]
      .filter(isGateway)
      .map((container) => ({ workload, pod, container }));
  });
  /** The gateways in front of AWS Kinesis; the StatefulSet's serves the built-in engine. */
  const forwarding = gateways.filter((g) => g.workload.kind === "Deployment");
  const gatewayConfig = (container: Container) =>
    configOf(
      container.args ?? [],
      Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value])),
    );
  const sidecar = deployments.find((d) => d.spec.template.spec.initContainers?.some(isGateway));
  const standalone = deployments.find((d) => d.spec.template.spec.containers.some(isGateway));
  /** A file users apply instead of the standalone Deployment, so not in kustomization.yaml. */
  const statefulSetFiles = files.filter((file) =>
    manifestsOf(file).some((m) => m.kind === "StatefulSet"),
  );

  void test("kustomization.yaml lists every manifest but the StatefulSet's, and sets the image", () => {
    assert.deepEqual(statefulSetFiles, ["gateway-statefulset.yaml"]);
    assert.deepEqual(
      [...kustomization.resources].sort(),
      files.filter((file) => !statefulSetFiles.includes(file)),
    );
    const images = kustomization.images ?? [];
    const used = new Set(
      workloads.flatMap((d) => {
        const pod = d.spec.template.spec;
        return [...(pod.initContainers ?? []), ...pod.containers].map((c) => imageName(c.image));
      }),
    );
    assert.deepEqual([...used], ["kinesis-gateway"]);
    assert.ok(images.some((i) => i.name === "kinesis-gateway" && i.newName && i.newTag));
  });

  void test("has a sidecar, a standalone gateway, and its StatefulSet variant", () => {
    assert.deepEqual(
      gateways.map((g) => nameOf(g.workload)),
      ["Deployment/kinesis-gateway", "Deployment/orders-service", "StatefulSet/kinesis-gateway"],
    );
    assert.ok(sidecar && standalone);
  });

  void test("the sidecar is a native sidecar: an init container that restarts always", () => {
    const pod = sidecar!.spec.template.spec;
    const gateway = pod.initContainers!.find(isGateway)!;
    assert.equal(gateway.restartPolicy, "Always");
    const port = gateway.ports?.[0]?.containerPort;
    for (const app of pod.containers) {
      const env = Object.fromEntries((app.env ?? []).map((e) => [e.name, e.value]));
      assert.equal(env.AWS_ENDPOINT_URL_KINESIS, `http://localhost:${port}`);
      assert.equal(env.KINESIS_GATEWAY_ADDRESS, `localhost:${port}`);
    }
  });

  void test("every Deployment's gateway forwards to AWS Kinesis in a region", () => {
    for (const { workload, container } of forwarding) {
      const config = gatewayConfig(container);
      const name = nameOf(workload);
      assert.equal(config.backend, "kinesis", name);
      assert.equal(config.kinesisEndpoint, undefined, `${name}: AWS itself`);
      assert.match(config.region, /^[a-z]{2}(-[a-z]+)+-\d$/, name);
      assert.equal(config.port, GATEWAY_PORT, name);
      assert.deepEqual(
        container.ports?.map((p) => p.containerPort),
        [GATEWAY_PORT],
        name,
      );
    }
  });

  void test("probes over gRPC health: startup and liveness 'liveness', readiness 'readiness'", () => {
    for (const { workload, container } of gateways) {
      const name = nameOf(workload);
      const probes = {
        startupProbe: "liveness",
        livenessProbe: "liveness",
        readinessProbe: "readiness",
      } as const;
      for (const [probe, service] of Object.entries(probes)) {
        const grpc = container[probe as keyof typeof probes]?.grpc;
        assert.deepEqual(grpc, { port: GATEWAY_PORT, service }, `${name}: ${probe}`);
      }
      const startup = container.startupProbe!;
      assert.ok((startup.failureThreshold ?? 3) * (startup.periodSeconds ?? 10) >= 10, name);
    }
  });

  void test("bounds memory: requests, a limit, and the gateway's own bound inside it", () => {
    for (const { workload, container } of gateways) {
      const name = nameOf(workload);
      const { requests = {}, limits = {} } = container.resources ?? {};
      assert.ok(requests.cpu && requests.memory, `${name}: requests`);
      const limitMiB = mebibytes(limits.memory ?? "");
      assert.ok(limitMiB >= mebibytes(requests.memory!), `${name}: limit ≥ request`);
      assert.ok(limitMiB >= 256, `${name}: the idle gateway alone takes about 100 MiB`);
      const { maxMemoryMiB } = gatewayConfig(container);
      assert.ok(maxMemoryMiB + 32 <= limitMiB, `${name}: --max-memory-mib leaves headroom`);
      assert.ok(maxMemoryMiB >= mebibytes(requests.memory!), `${name}: the request is used`);
    }
  });

  void test("runs locked down: non-root, read-only, no privileges, RuntimeDefault seccomp", () => {
    for (const { workload, pod, container } of gateways) {
      const name = nameOf(workload);
      const context = container.securityContext ?? {};
      assert.equal(context.runAsNonRoot, true, name);
      assert.notEqual(context.runAsUser, 0, name);
      assert.equal(context.readOnlyRootFilesystem, true, name);
      assert.equal(context.allowPrivilegeEscalation, false, name);
      assert.deepEqual(context.capabilities?.drop, ["ALL"], name);
      const seccomp = context.seccompProfile ?? pod.securityContext?.seccompProfile;
      assert.equal(seccomp?.type, "RuntimeDefault", name);
    }
  });

  void test("gives the drain time to finish before SIGKILL", () => {
    for (const { workload, pod, container } of gateways) {
      const drain = gatewayConfig(container).drainTimeoutSeconds;
      const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      assert.ok(
        grace > preStop + drain,
        `${nameOf(workload)}: ${grace} s > ${preStop} s preStop + ${drain} s drain`,
      );
    }
  });

  void test("takes AWS credentials from an IRSA service account", () => {
    const accounts = ofKind<Manifest>("ServiceAccount");
    for (const { workload, pod } of forwarding) {
      const account = accounts.find((a) => a.metadata.name === pod.serviceAccountName);
      assert.ok(account, `${nameOf(workload)}: its service account is defined`);
      assert.match(
        account.metadata.annotations?.["eks.amazonaws.com/role-arn"] ?? "",
        /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
      );
    }
  });

  void test("every Deployment and StatefulSet selects its own pods", () => {
    for (const workload of workloads) {
      const { selector, template } = workload.spec;
      assert.ok(selects(selector.matchLabels, template.metadata.labels), nameOf(workload));
    }
  });

  void test("the Services select the standalone gateways, on their gRPC port over h2c", () => {
    const services = ofKind<Service>("Service");
    assert.ok(services.length > 0);
    for (const service of services) {
      const name = service.metadata.name;
      const selected = workloads.filter((w) =>
        selects(service.spec.selector, w.spec.template.metadata.labels),
      );
      // The Deployment, or the StatefulSet applied instead of it.
      assert.deepEqual(selected, [standalone, ...statefulSets], `${name}: the standalone pods`);
      assert.equal(service.spec.ports.length, 1, name);
      const port = service.spec.ports[0]!;
      assert.equal(port.port, GATEWAY_PORT, name);
      assert.equal(port.appProtocol, "kubernetes.io/h2c", name);
      for (const workload of selected) {
        const target = workload.spec.template.spec.containers
          .flatMap((c) => c.ports ?? [])
          .find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
        assert.equal(
          target?.containerPort,
          GATEWAY_PORT,
          `${name}: targetPort resolves in ${nameOf(workload)}`,
        );
      }
    }
  });

  void test("the PodDisruptionBudget keeps one standalone gateway up", () => {
    const [pdb, ...others] = ofKind<PodDisruptionBudget>("PodDisruptionBudget");
    assert.ok(pdb);
    assert.equal(others.length, 0);
    assert.equal(pdb.spec.minAvailable, 1);
    assert.ok(standalone!.spec.replicas > pdb.spec.minAvailable, "a pod may still be evicted");
    assert.ok(selects(pdb.spec.selector.matchLabels, standalone!.spec.template.metadata.labels));
  });

  void suite("the StatefulSet: the built-in engine with its data dir on a claim", () => {
    const [statefulSet, ...others] = statefulSets;
    const spec = statefulSet!.spec;
    const pod = spec.template.spec;
    const gateway = pod.containers.find(isGateway)!;
    const config = gatewayConfig(gateway);
    const env = Object.fromEntries((gateway.env ?? []).map((e) => [e.name, e.value]));
    const dataDir = env[envName("data-dir")];
    const image = imageRuntime();

    void test("replaces the standalone Deployment: same name and pods, one replica", () => {
      assert.ok(statefulSet);
      assert.equal(others.length, 0);
      assert.equal(statefulSet.metadata.name, standalone!.metadata.name);
      assert.deepEqual(spec.template.metadata.labels, standalone!.spec.template.metadata.labels);
      assert.equal(spec.replicas, 1, "the engine is one process");
      assert.equal(config.backend, "engine");
      assert.ok(config.streams.length > 0, "creates streams");
      assert.equal(config.port, GATEWAY_PORT);
      assert.deepEqual(
        gateway.ports?.map((p) => p.containerPort),
        [GATEWAY_PORT],
      );
      // Applied without gateway-deployment.yaml, whose ServiceAccount would be missing; the
      // engine needs no AWS role.
      assert.equal(pod.serviceAccountName, undefined);
    });

    void test("mounts a ReadWriteOnce claim at the data dir, the image's volume", () => {
      assert.equal(dataDir, image.dataVolume);
      const mounts = (gateway.volumeMounts ?? []).filter((m) => m.mountPath === dataDir);
      assert.equal(mounts.length, 1, `one volume at ${dataDir}`);
      const claim = spec.volumeClaimTemplates.find((c) => c.metadata.name === mounts[0]!.name);
      assert.ok(claim, `${mounts[0]!.name} is a volumeClaimTemplate`);
      assert.deepEqual(claim.spec.accessModes, ["ReadWriteOnce"]);
    });

    void test("sizes the claim for every stream at its cap, and small", () => {
      const [claim] = spec.volumeClaimTemplates;
      const claimMiB = mebibytes(claim!.spec.resources.requests.storage);
      assert.ok(config.maxStreamMiB !== undefined, "a disk cap per stream is set");
      const streamsMiB = config.streams.length * config.maxStreamMiB;
      assert.ok(streamsMiB <= claimMiB, `${streamsMiB} MiB of streams fit ${claimMiB} MiB`);
      assert.ok(claimMiB <= 10 * 1024, "a dev cluster's claim");
    });

    void test("lets the image's non-root user write the claim (fsGroup)", () => {
      assert.equal(gateway.securityContext?.runAsUser, image.uid);
      assert.equal(gateway.securityContext?.runAsGroup, image.gid);
      assert.equal(pod.securityContext?.fsGroup, image.gid);
    });

    void test("is governed by the headless Service, which selects its pods", () => {
      const service = ofKind<Service>("Service").find((s) => s.metadata.name === spec.serviceName);
      assert.ok(service, `Service ${spec.serviceName}`);
      assert.equal(service.spec.clusterIP, "None");
      assert.ok(selects(service.spec.selector, spec.template.metadata.labels));
    });
  });

  void test("kubectl kustomize builds it, with the image replaced", (t) => {
    const build = spawnSync("kubectl", ["kustomize", join(root, K8S_DIR)], { encoding: "utf8" });
    if (build.error) {
      t.skip(`kubectl is not installed here (${build.error.message})`);
      return;
    }
    assert.equal(build.status, 0, build.stderr);
    const built = parseAllDocuments(build.stdout).map((d) => d.toJS() as Manifest);
    assert.deepEqual(
      built.map((m) => `${m.kind}/${m.metadata.name}`).sort(),
      kustomization.resources
        .flatMap(manifestsOf)
        .map((m) => `${m.kind}/${m.metadata.name}`)
        .sort(),
    );
    const image = kustomization.images!.find((i) => i.name === "kinesis-gateway")!;
    const images = built
      .filter((m): m is Deployment => m.kind === "Deployment")
      .flatMap((d) => {
        const pod = d.spec.template.spec;
        return [...(pod.initContainers ?? []), ...pod.containers].map((c) => c.image);
      });
    assert.ok(images.length > 0);
    for (const built of images) assert.equal(built, `${image.newName}:${image.newTag}`);
  });
});
