import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { suite, test } from "node:test";
import { promisify } from "node:util";
import { parseConfig } from "../src/config.ts";
import { workerConfig } from "../src/workers/primary.ts";

const configOf = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const result = parseConfig(argv, env);
  assert.equal(result.kind, "config", JSON.stringify(result));
  return (result as Extract<typeof result, { kind: "config" }>).config;
};

const problemsOf = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const result = parseConfig(argv, env);
  assert.equal(result.kind, "invalid");
  return (result as Extract<typeof result, { kind: "invalid" }>).problems;
};

void suite("configuration", () => {
  void test("defaults are the documented ones", () => {
    const config = configOf([]);
    assert.equal(config.port, 4567);
    assert.equal(config.backend, "engine");
    assert.equal(config.accountId, "000000000000");
    assert.equal(config.region, "us-east-1");
    assert.equal(config.throttle, true);
    assert.equal(config.retryFailedRecords, 0, "retry is opt-in");
    assert.ok(Object.isFrozen(config));
  });

  void test("the memory bound and what derives from it, admission and the metrics port", () => {
    const defaults = configOf([]);
    assert.equal(defaults.maxMemoryMiB, 384);
    assert.equal(defaults.maxInFlightMiB, undefined, "derived from the memory bound");
    assert.equal(defaults.metricsPort, undefined, "/metrics on the main port");
    assert.equal(defaults.limits.maxConnectionsPerAddress, 256);
    assert.equal(defaults.limits.minRequestBytesPerSecond, 1024);
    const set = configOf(
      ["--max-memory-mib", "1024", "--max-in-flight-mib", "64", "--metrics-port", "0"],
      { KINESIS_GATEWAY_HOST: "10.0.0.1" },
    );
    assert.equal(set.maxMemoryMiB, 1024);
    assert.equal(set.maxInFlightMiB, 64);
    assert.equal(set.metricsPort, 0);
    assert.equal(set.metricsHost, "10.0.0.1", "--metrics-host defaults to --host");
    assert.deepEqual(problemsOf(["--max-memory-mib", "100"]), [
      "--max-memory-mib (KINESIS_GATEWAY_MAX_MEMORY_MIB): expected a whole number from 192 to 1048576, got '100'",
    ]);
  });

  void test("the data dir: absolute, with fsync on and no disk cap by default; an empty one is refused", () => {
    const memory = configOf([]);
    assert.equal(memory.dataDir, undefined);
    assert.equal(memory.maxStreamMiB, 64, "a memory cap without a data dir");
    const durable = configOf(["--data-dir", "relative/data"]);
    assert.equal(durable.dataDir, resolve("relative/data"));
    assert.equal(durable.fsync, true);
    assert.equal(durable.maxStreamMiB, undefined, "no disk cap unless given");
    assert.equal(configOf(["--data-dir", "/d", "--max-stream-mib", "512"]).maxStreamMiB, 512);
    assert.equal(
      configOf([], { KINESIS_GATEWAY_DATA_DIR: "/d", KINESIS_GATEWAY_FSYNC: "off" }).fsync,
      false,
    );
    assert.deepEqual(problemsOf([], { KINESIS_GATEWAY_DATA_DIR: "" }), [
      "--data-dir (KINESIS_GATEWAY_DATA_DIR): expected a directory, got an empty value (omit it to keep records in memory)",
    ]);
  });

  void test("a flag wins over its environment variable", () => {
    const env = { KINESIS_GATEWAY_PORT: "9000", KINESIS_GATEWAY_REGION: "eu-west-1" };
    const config = configOf(["--port", "9001"], env);
    assert.equal(config.port, 9001);
    assert.equal(config.region, "eu-west-1");
  });

  void test("streams and routes parse, in order", () => {
    const config = configOf(
      ["--streams", "orders:4,events", "--route", "prod-*=kinesis", "--route", "x=none"],
      {},
    );
    assert.deepEqual(config.streams, [
      { name: "orders", shardCount: 4 },
      { name: "events", shardCount: 1 },
    ]);
    assert.deepEqual(config.routes, [
      { pattern: "prod-*", backend: "kinesis" },
      { pattern: "x", backend: "none" },
    ]);
    assert.deepEqual(
      configOf([], { KINESIS_GATEWAY_ROUTE: "a=engine,b*=kinesis" }).routes.map((r) => r.pattern),
      ["a", "b*"],
    );
  });

  void test("every problem is reported at once", () => {
    const problems = problemsOf([
      "--port",
      "70000",
      "--backend",
      "dynamo",
      "--account-id",
      "12",
      "--route",
      "nobackend",
      "--streams",
      "bad name:2",
      "--retry-failed-records=-1",
    ]);
    assert.equal(problems.length, 6, problems.join("\n"));
    assert.match(problems.join("\n"), /--port \(KINESIS_GATEWAY_PORT\)/);
  });

  void test("--streams may only name streams the engine serves", () => {
    const problems = problemsOf(["--backend", "kinesis", "--streams", "orders:2"]);
    assert.match(problems[0]!, /'orders' is routed to kinesis/);
    configOf(["--backend", "kinesis", "--route", "orders=engine", "--streams", "orders:2"]);
  });

  void test("the command prints every problem and exits with status 2", async () => {
    const run = promisify(execFile)(process.execPath, [
      "bin/kinesis-gateway.js",
      "--port",
      "x",
      "--throttle",
      "maybe",
    ]);
    await assert.rejects(run, (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /--port/);
      assert.match(err.stderr, /--throttle/);
      return true;
    });
  });

  void test("a file flag naming a device or a directory is a problem, not a hang or a crash", async () => {
    for (const name of ["--faults", "--config", "--auth-tokens-file"]) {
      for (const path of ["/dev/zero", "/tmp"]) {
        const run = promisify(execFile)(process.execPath, ["bin/kinesis-gateway.js", name, path]);
        await assert.rejects(run, (err: { code: number; stderr: string }) => {
          assert.equal(err.code, 2, err.stderr);
          assert.match(err.stderr, new RegExp(`${name} .*${path} is not a regular file`));
          return true;
        });
      }
    }
  });

  void test("a --config file sets flags; the environment and flags win over it", () => {
    const files: Record<string, string> = {
      "gateway.yaml":
        "backend: kinesis\nregion: eu-west-1\nport: 9100\nroute:\n  - test-*=engine\n  - x=none\nstreams: test-a:2\n",
    };
    const read = (path: string) => {
      const text = files[path];
      if (text === undefined) throw new Error(`no ${path}`);
      return text;
    };
    const result = parseConfig(
      ["--config", "gateway.yaml", "--port", "9200"],
      { KINESIS_GATEWAY_REGION: "us-west-2" },
      read,
    );
    assert.equal(result.kind, "config", JSON.stringify(result));
    const config = (result as Extract<typeof result, { kind: "config" }>).config;
    assert.equal(config.backend, "kinesis"); // from the file
    assert.equal(config.region, "us-west-2"); // the environment wins over the file
    assert.equal(config.port, 9200); // the flag wins over both
    assert.deepEqual(
      config.routes.map((r) => `${r.pattern}=${r.backend}`),
      ["test-*=engine", "x=none"],
    );
    assert.deepEqual(config.streams, [{ name: "test-a", shardCount: 2 }]);

    files["bad.yaml"] = "prot: 1\nbackend: dynamo\n";
    const bad = parseConfig(["--config", "bad.yaml"], {}, read);
    assert.equal(bad.kind, "invalid");
    const problems = (bad as Extract<typeof bad, { kind: "invalid" }>).problems.join("\n");
    assert.match(problems, /sets 'prot', which is not a flag/);
    assert.match(problems, /--backend .*dynamo/);
  });

  void test("TLS files go together, and tokens are checked without being shown", () => {
    const problems = problemsOf(["--tls-cert", "/nonexistent/cert.pem"], {
      KINESIS_GATEWAY_AUTH_TOKENS: "short;long-enough-token-0001 orders-*",
    });
    const text = problems.join("\n");
    assert.match(text, /--tls-cert .* and --tls-key .* go together/);
    assert.match(text, /no file \/nonexistent\/cert.pem/);
    assert.match(text, /a token is shorter than 16 characters/);
    assert.ok(!text.includes("short;"), "the token itself is not printed");
    const config = configOf([], {
      KINESIS_GATEWAY_AUTH_TOKENS: "long-enough-token-0001 orders-* audit; other-long-token-0002",
    });
    assert.deepEqual(config.authTokens, [
      { token: "long-enough-token-0001", streams: ["orders-*", "audit"], admin: false },
      { token: "other-long-token-0002", streams: [], admin: false },
    ]);
    const admin = configOf([], {
      KINESIS_GATEWAY_AUTH_TOKENS:
        "long-enough-token-0001 orders-*; other-long-token-0002 scope:admin",
    });
    assert.deepEqual(admin.authTokens, [
      { token: "long-enough-token-0001", streams: ["orders-*"], admin: false },
      { token: "other-long-token-0002", streams: [], admin: true },
    ]);
    // Fault rules reach every stream: an admin limited to some would reach the others.
    assert.match(
      problemsOf([], {
        KINESIS_GATEWAY_AUTH_TOKENS: "long-enough-token-0001 orders-* scope:admin",
      }).join(),
      /scope:admin is for a token that may use every stream/,
    );
    assert.match(
      problemsOf([], { KINESIS_GATEWAY_AUTH_TOKENS: "long-enough-token-0001 scope:root" }).join(),
      /unknown scope:root \(known: scope:admin\)/,
    );
  });

  void test("fault rules: a file, the rules inline, the config file's own; control follows --faults", () => {
    const rules = '{"seed": 5, "rules": [{"streams": "orders", "latency": {"ms": 10}}]}';
    const expected = { seed: 5, rules: [{ streams: "orders", latency: { ms: 10 } }] };
    const read = (path: string) => {
      if (path === "faults.yaml")
        return "seed: 5\nrules:\n  - {streams: orders, latency: {ms: 10}}\n";
      if (path === "gateway.yaml") return `faults: ${rules}\n`;
      throw new Error(`ENOENT: no ${path}`);
    };
    const parsed = (argv: string[], env: Record<string, string> = {}) => {
      const result = parseConfig(argv, env, read);
      assert.equal(result.kind, "config", JSON.stringify(result));
      return (result as Extract<typeof result, { kind: "config" }>).config;
    };
    for (const config of [
      parsed(["--faults", "faults.yaml"]),
      parsed(["--faults", rules]),
      parsed([], { KINESIS_GATEWAY_FAULTS: rules }),
      parsed(["--config", "gateway.yaml"]),
    ]) {
      assert.deepEqual(config.faults, expected);
      assert.equal(config.faultControl, true);
    }
    const fixed = parsed(["--faults", rules, "--fault-control", "off"]);
    assert.deepEqual([fixed.faults, fixed.faultControl], [expected, false]);
    const plain = parsed([]);
    assert.deepEqual([plain.faults, plain.faultControl], [undefined, false]);
    assert.equal(parsed(["--fault-control", "on"]).faultControl, true);

    const bad = parseConfig(["--faults", '{"rules": [{"latency": {"ms": -1}}]}'], {}, read);
    assert.deepEqual(bad.kind === "invalid" && bad.problems, [
      "--faults (KINESIS_GATEWAY_FAULTS): rules[0].latency.ms: must be a number from 0 to 3600000, not -1",
    ]);
    const missing = parseConfig(["--faults", "nope.yaml"], {}, read);
    assert.match(
      missing.kind === "invalid" ? missing.problems.join() : "",
      /--faults \(KINESIS_GATEWAY_FAULTS\): cannot read nope.yaml: ENOENT/,
    );
  });

  void test("--workers: forward mode only, without fault rules, each with its share of the memory bound", () => {
    const forward = ["--backend", "kinesis"];
    assert.equal(configOf([]).workers, 1);
    assert.equal(configOf([...forward, "--workers", "2"]).workers, 2);
    assert.equal(
      configOf(forward, { KINESIS_GATEWAY_WORKERS: "2", KINESIS_GATEWAY_MAX_MEMORY_MIB: "512" })
        .workers,
      2,
    );
    // auto: the cores, as far as the memory bound allows; one where the engine or faults are.
    const auto = configOf([...forward, "--workers", "auto", "--max-memory-mib", "100000"]).workers;
    assert.equal(auto, availableParallelism());
    assert.equal(configOf([...forward, "--workers", "auto"]).workers, Math.min(2, auto));
    assert.equal(configOf(["--workers", "auto"]).workers, 1);
    assert.equal(configOf([...forward, "--fault-control", "on", "--workers", "auto"]).workers, 1);

    assert.deepEqual(problemsOf(["--workers", "2"]), [
      "--workers (KINESIS_GATEWAY_WORKERS): 2 workers serve forward mode only; the engine keeps its streams in one event loop (use --backend kinesis, with no route to the engine)",
    ]);
    assert.equal(problemsOf([...forward, "--route", "local-*=engine", "--workers", "2"]).length, 1);
    assert.deepEqual(problemsOf([...forward, "--fault-control", "on", "--workers", "2"]), [
      "--workers (KINESIS_GATEWAY_WORKERS): fault injection counts each stream's calls in one sequence and runs with one worker (drop --faults and --fault-control, or --workers)",
    ]);
    assert.deepEqual(problemsOf([...forward, "--workers", "3"]), [
      "--workers (KINESIS_GATEWAY_WORKERS): each worker needs 192 MiB of --max-memory-mib (384 gives 2); raise it to 576 or run fewer workers",
    ]);
    for (const text of ["0", "65", "two", "1.5", ""]) {
      assert.deepEqual(problemsOf([...forward, "--workers", text]), [
        `--workers (KINESIS_GATEWAY_WORKERS): expected a whole number from 1 to 64 or auto, got '${text}'`,
      ]);
    }
  });

  void test("a worker's share of the gateway's limits: memory, connections, records in flight", () => {
    const gateway = configOf([
      "--backend",
      "kinesis",
      "--workers",
      "2",
      "--max-memory-mib",
      "512",
      "--max-connections",
      "11",
      "--max-in-flight-mib",
      "64",
    ]);
    const worker = workerConfig(gateway);
    assert.equal(worker.workers, 1);
    assert.equal(worker.maxMemoryMiB, 256);
    assert.equal(worker.limits.maxConnections, 6);
    assert.equal(worker.limits.maxConnectionsPerAddress, 128);
    assert.equal(worker.maxInFlightMiB, 32);
    assert.equal(worker.maxInFlightRecords, Math.ceil(gateway.maxInFlightRecords / 2));
    assert.equal(worker.limits.idleTimeoutSeconds, gateway.limits.idleTimeoutSeconds);
  });
});
