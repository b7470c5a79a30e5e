/**
 * The contract of `kinesis.gateway.v1.FaultService` and of `--faults`, as a
 * user meets it: `curl` over Connect JSON and `buf curl` (through server
 * reflection) as child processes, the real command with a bad rule file, a
 * YAML file, inline JSON and `KINESIS_GATEWAY_FAULTS`; fault control off by
 * default, guarded by `scope:admin` tokens; invalid rule sets refused by
 * path with the rules in force unchanged; injected outcomes visible in
 * `/metrics`, spans and debug logs; and an `unready` outage that fails
 * readiness while it lasts, and only then.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, suite, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { parseConfig } from "../../src/config.ts";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.ts";
import { FaultService } from "../../src/gen/kinesis/gateway/v1/faults_pb.ts";
import { type RunningGateway, startGateway } from "../../src/main.ts";
import { NODE_FLAGS } from "../../src/node-flags.ts";
import {
  clientsFor,
  metricValue,
  startTestGateway,
  transports,
  useGatewayWithMetrics,
  withBearerToken,
} from "../helpers/gateway.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { startOtlpReceiver } from "../helpers/otlp-receiver.ts";

const run = promisify(execFile);
const BUF = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
const COMMAND = fileURLToPath(new URL("../../bin/kinesis-gateway.js", import.meta.url));
const SERVICE = "kinesis.gateway.v1.FaultService";

/** The contract's example rule set, as `SetFaults` takes it in JSON. */
const CONTRACT_RULES = {
  seed: 42,
  rules: [
    {
      streams: "orders*",
      operations: ["PutRecords", "PutRecord"],
      recordFailure: { rate: 0.05, code: "ProvisionedThroughputExceededException" },
      callFailure: { rate: 0.01, code: "ServiceUnavailable" },
      latency: { p50Ms: 5, p99Ms: 50 },
      outage: { seconds: 30 },
    },
  ],
};

/** Every record of `orders` fails as throttled: easy to see whether the rules are in force. */
const FAIL_ORDERS = {
  seed: 7,
  rules: [
    {
      streams: "orders",
      operations: ["PutRecords"],
      recordFailure: { rate: 1, code: "ProvisionedThroughputExceededException" },
    },
  ],
};

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** A unary Connect JSON call with `curl` over HTTP/1.1; the HTTP status and the JSON body. */
async function curl(
  baseUrl: string,
  method: string,
  body: unknown,
  headers: string[] = [],
): Promise<Answer> {
  const { stdout } = await run("curl", [
    "--silent",
    "--show-error",
    "--http1.1",
    "--request",
    "POST",
    "--header",
    "Content-Type: application/json",
    ...headers.flatMap((h) => ["--header", h]),
    "--data",
    JSON.stringify(body),
    "--write-out",
    "\n%{http_code}",
    `${baseUrl}/${SERVICE}/${method}`,
  ]);
  const at = stdout.lastIndexOf("\n");
  const text = stdout.slice(0, at);
  return { status: Number(stdout.slice(at + 1)), body: JSON.parse(text === "" ? "{}" : text) };
}

/** A unary call with `buf curl` (schema from reflection); its exit code and output. */
async function bufCurl(
  baseUrl: string,
  method: string,
  body: unknown,
  protocol: "grpc" | "connect",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [
    "curl",
    "--protocol",
    protocol,
    ...(protocol === "grpc" ? ["--http2-prior-knowledge"] : []),
    "--data",
    JSON.stringify(body),
    `${baseUrl}/${SERVICE}/${method}`,
  ];
  try {
    const { stdout, stderr } = await run(BUF, args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const faultClient = (baseUrl: string, token?: string) =>
  createClient(
    FaultService,
    createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      interceptors: token === undefined ? [] : [withBearerToken(token)],
    }),
  );

/** Records with distinct keys for `streamName`, over gRPC. */
function putRecords(baseUrl: string, streamName: string, count: number, token?: string) {
  const { producer } = clientsFor(transports["gRPC over h2c"]!(baseUrl));
  return producer.putRecords(
    {
      streamName,
      records: Array.from({ length: count }, (_, i) => ({
        data: new TextEncoder().encode(`payload-${i}`),
        partitionKey: `customer-${i}`,
      })),
    },
    { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } },
  );
}

/** How many records of a PutRecords to `orders` failed with an injected throttle. */
async function failedOfOrders(baseUrl: string, count = 5, token?: string): Promise<number> {
  const res = await putRecords(baseUrl, "orders", count, token);
  return res.failedRecordCount;
}

/** The ConnectError code a promise rejects with. */
async function codeOf(promise: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, message: e.rawMessage };
  }
  assert.fail("the call succeeded");
}

/** A gateway from flags and environment as the command reads them, stopped after the test. */
async function gatewayOf(
  t: TestContext,
  flags: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<RunningGateway> {
  const result = parseConfig(["--port", "0", "--host", "127.0.0.1", ...flags], env);
  if (result.kind !== "config") throw new Error(`bad test flags: ${JSON.stringify(result)}`);
  const gateway = await startGateway(result.config, pino({ level: "silent" }));
  t.after(() => gateway.stop());
  return gateway;
}

async function processOf(
  t: TestContext,
  flags: string[],
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess(flags, env);
  t.after(async () => {
    await gateway.stop();
    if ("passed" in t && t.passed === false) {
      for (const line of `${gateway.stdout()}\n${gateway.stderr()}`.split("\n")) {
        t.diagnostic(line);
      }
    }
  });
  return gateway;
}

/**
 * Waits for a Prometheus sample to reach `expected` (the gateway renders
 * `/metrics` at most once a second), and asserts it.
 */
async function metricReaches(
  baseUrl: string,
  expected: number,
  name: string,
  ...labels: string[]
): Promise<void> {
  let value: number | undefined;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    value = await metricValue(baseUrl, name, ...labels);
    if (value === expected) return;
    await sleep(100);
  }
  assert.equal(value, expected, `${name}{${labels.join(",")}}`);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  assert.fail(`not ${what} after ${timeoutMs} ms`);
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "fault-control-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

void suite("FaultService with --fault-control on", () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startTestGateway(["--fault-control", "on", "--streams", "orders:2,plain:1"]);
  });
  after(() => gateway.stop());

  void test("curl over Connect JSON: SetFaults answers the contract's rules, GetFaults returns them, ClearFaults empties them", async () => {
    const url = gateway.url;
    const set = await curl(url, "SetFaults", CONTRACT_RULES);
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body, CONTRACT_RULES);
    const got = await curl(url, "GetFaults", {});
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, CONTRACT_RULES);

    // The rules act: every record of `orders` fails, `plain` is not matched.
    const failing = await curl(url, "SetFaults", FAIL_ORDERS);
    assert.deepEqual(failing.body, FAIL_ORDERS);
    assert.equal(await failedOfOrders(url), 5);
    assert.equal((await putRecords(url, "plain", 5)).failedRecordCount, 0);

    const cleared = await curl(url, "ClearFaults", {});
    assert.equal(cleared.status, 200);
    assert.deepEqual(cleared.body, {});
    const empty = await curl(url, "GetFaults", {});
    assert.equal(empty.status, 200);
    assert.deepEqual((empty.body.rules as unknown[] | undefined) ?? [], []);
    assert.equal(await failedOfOrders(url), 0, "cleared rules inject nothing");
  });

  void test("SetFaults with an empty rule list clears the rules", async () => {
    await curl(gateway.url, "SetFaults", FAIL_ORDERS);
    assert.equal(await failedOfOrders(gateway.url), 5);
    const set = await curl(gateway.url, "SetFaults", { seed: 1, rules: [] });
    assert.equal(set.status, 200);
    assert.equal(await failedOfOrders(gateway.url), 0);
  });

  for (const protocol of ["grpc", "connect"] as const) {
    void test(`buf curl --protocol ${protocol}, schema from reflection: SetFaults, GetFaults, ClearFaults`, async (t) => {
      if (!existsSync(BUF)) {
        t.skip(`the buf CLI is missing at ${BUF}: the buf curl contract is NOT checked`);
        return;
      }
      const url = gateway.url;
      const set = await bufCurl(url, "SetFaults", CONTRACT_RULES, protocol);
      assert.equal(set.code, 0, set.stderr);
      assert.deepEqual(JSON.parse(set.stdout), CONTRACT_RULES);
      const got = await bufCurl(url, "GetFaults", {}, protocol);
      assert.equal(got.code, 0, got.stderr);
      assert.deepEqual(JSON.parse(got.stdout), CONTRACT_RULES);

      // snake_case works too, as protobuf JSON allows.
      const snake = await bufCurl(
        url,
        "SetFaults",
        {
          seed: 7,
          rules: [
            {
              streams: "orders",
              operations: ["PutRecords"],
              record_failure: { rate: 1, code: "ProvisionedThroughputExceededException" },
            },
          ],
        },
        protocol,
      );
      assert.equal(snake.code, 0, snake.stderr);
      assert.deepEqual(JSON.parse(snake.stdout), FAIL_ORDERS);
      assert.equal(await failedOfOrders(url), 5);

      const bad = await bufCurl(
        url,
        "SetFaults",
        { rules: [{ recordFailure: { rate: 1.5 } }] },
        protocol,
      );
      assert.notEqual(bad.code, 0);
      assert.match(bad.stdout + bad.stderr, /invalid_argument/);
      assert.match(bad.stdout + bad.stderr, /rules\[0\]\.recordFailure\.rate/);
      assert.deepEqual(JSON.parse((await bufCurl(url, "GetFaults", {}, protocol)).stdout), {
        ...FAIL_ORDERS,
      });

      const cleared = await bufCurl(url, "ClearFaults", {}, protocol);
      assert.equal(cleared.code, 0, cleared.stderr);
      const empty = JSON.parse((await bufCurl(url, "GetFaults", {}, protocol)).stdout) as {
        rules?: unknown[];
      };
      assert.deepEqual(empty.rules ?? [], []);
      assert.equal(await failedOfOrders(url), 0);
    });
  }

  const invalid: [string, unknown, RegExp][] = [
    [
      "an unknown key in a rule",
      { rules: [{ streams: "orders", recordFailur: { rate: 0.5 } }] },
      /recordFailur/,
    ],
    [
      "an unknown key in a recordFailure",
      { rules: [{ recordFailure: { rate: 0.5, cod: "InternalFailure" } }] },
      /"cod"/,
    ],
    [
      "a rate of 1.5",
      { rules: [{ recordFailure: { rate: 1.5 } }] },
      /rules\[0\]\.recordFailure\.rate/,
    ],
    [
      "an unknown operation",
      { rules: [{}, { operations: ["PutRecords", "PutRecordz"] }] },
      /rules\[1\]\.operations.*PutRecordz/,
    ],
    [
      "an unknown call failure code",
      { rules: [{ callFailure: { rate: 0.1, code: "Teapot" } }] },
      /rules\[0\]\.callFailure\.code/,
    ],
    [
      "an unknown record failure code",
      { rules: [{ recordFailure: { rate: 0.1, code: "ServiceUnavailable" } }] },
      /rules\[0\]\.recordFailure\.code/,
    ],
    [
      "two latency shapes",
      { rules: [{ latency: { ms: 5, p50Ms: 5, p99Ms: 50 } }] },
      /rules\[0\]\.latency: give one shape/,
    ],
    [
      "101 rules",
      { rules: Array.from({ length: 101 }, () => ({ streams: "x" })) },
      /rules: at most 100 rules, not 101/,
    ],
    ["bad glob characters", { rules: [{ streams: "orders,ord$rs" }] }, /rules\[0\]\.streams/],
    [
      "a rule that injects nothing",
      { rules: [{ streams: "orders" }] },
      /rules\[0\]: injects nothing/,
    ],
    [
      "a call failure without its rate",
      { rules: [{ callFailure: { code: "InternalFailure" } }] },
      /rules\[0\]\.callFailure\.rate: is required/,
    ],
    ["a seed below 0", { seed: -1, rules: [] }, /seed/],
    ["a seed above 2^32-1", { seed: 4294967296, rules: [] }, /seed/],
    ["a fractional seed", { seed: 1.5, rules: [] }, /seed/],
  ];
  for (const [what, body, named] of invalid) {
    void test(`SetFaults with ${what}: INVALID_ARGUMENT naming it, the rules in force unchanged`, async () => {
      const url = gateway.url;
      await curl(url, "SetFaults", FAIL_ORDERS);
      const before = await curl(url, "GetFaults", {});
      const answer = await curl(url, "SetFaults", body);
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.code, "invalid_argument");
      assert.match(String(answer.body.message), named);
      assert.deepEqual(await curl(url, "GetFaults", {}), before);
      assert.equal(await failedOfOrders(url), 5, "the rules in force still act");
    });
  }
});

void suite("fault control off, on, and guarded", () => {
  void test("off by default: every FaultService call is FAILED_PRECONDITION saying how to turn it on; nothing is injected", async (t) => {
    const gateway = await gatewayOf(t, ["--streams", "orders:1"]);
    const answer = await curl(gateway.url, "SetFaults", FAIL_ORDERS);
    assert.equal(answer.body.code, "failed_precondition");
    assert.match(String(answer.body.message), /--fault-control on/);
    for (const method of ["GetFaults", "ClearFaults"]) {
      assert.equal((await curl(gateway.url, method, {})).body.code, "failed_precondition");
    }
    const client = faultClient(gateway.url);
    const { code } = await codeOf(client.setFaults(FAIL_ORDERS));
    assert.equal(Code[code], Code[Code.FailedPrecondition]);
    assert.equal(await failedOfOrders(gateway.url), 0);
  });

  void test("--fault-control off stays off", async (t) => {
    const gateway = await gatewayOf(t, ["--fault-control", "off", "--streams", "orders:1"]);
    assert.equal(
      (await curl(gateway.url, "SetFaults", FAIL_ORDERS)).body.code,
      "failed_precondition",
    );
    assert.equal(await failedOfOrders(gateway.url), 0);
  });

  void test("--faults FILE turns control on: its rules are in force and may be replaced", async (t) => {
    const file = join(dir, "on.json");
    await writeFile(file, JSON.stringify(FAIL_ORDERS));
    const gateway = await gatewayOf(t, ["--faults", file, "--streams", "orders:1"]);
    assert.equal(await failedOfOrders(gateway.url), 5);
    assert.deepEqual((await curl(gateway.url, "GetFaults", {})).body, FAIL_ORDERS);
    assert.equal((await curl(gateway.url, "ClearFaults", {})).status, 200);
    assert.equal(await failedOfOrders(gateway.url), 0);
  });

  void test("--fault-control off with --faults: the file's rules act, runtime changes are refused", async (t) => {
    const file = join(dir, "locked.json");
    await writeFile(file, JSON.stringify(FAIL_ORDERS));
    const gateway = await gatewayOf(t, [
      "--faults",
      file,
      "--fault-control",
      "off",
      "--streams",
      "orders:1",
    ]);
    assert.equal(await failedOfOrders(gateway.url), 5);
    for (const [method, body] of [
      ["ClearFaults", {}],
      ["SetFaults", { rules: [] }],
    ] as const) {
      const answer = await curl(gateway.url, method, body);
      assert.equal(answer.body.code, "failed_precondition", `${method}: ${JSON.stringify(answer)}`);
    }
    assert.equal(await failedOfOrders(gateway.url), 5, "the file's rules still act");
  });

  const STREAM_TOKEN = "stream-token-0123456789";
  const ADMIN_TOKEN = "admin-token-0123456789ab";
  for (const from of ["--auth-tokens-file", "KINESIS_GATEWAY_AUTH_TOKENS"] as const) {
    void test(`tokens from ${from}: none is UNAUTHENTICATED, one without scope:admin PERMISSION_DENIED, scope:admin allowed`, async (t) => {
      const lines = [`${STREAM_TOKEN} orders*`, `${ADMIN_TOKEN} scope:admin`];
      let gateway: RunningGateway;
      if (from === "--auth-tokens-file") {
        const file = join(dir, "tokens");
        await writeFile(file, `${lines.join("\n")}\n`);
        gateway = await gatewayOf(t, [
          "--fault-control",
          "on",
          "--auth-tokens-file",
          file,
          "--streams",
          "orders:1",
        ]);
      } else {
        gateway = await gatewayOf(t, ["--fault-control", "on", "--streams", "orders:1"], {
          KINESIS_GATEWAY_AUTH_TOKENS: lines.join(";"),
        });
      }
      const url = gateway.url;
      for (const method of ["setFaults", "getFaults", "clearFaults"] as const) {
        const none = await codeOf(faultClient(url)[method](FAIL_ORDERS));
        assert.equal(Code[none.code], Code[Code.Unauthenticated], method);
        const wrong = await codeOf(faultClient(url, `${STREAM_TOKEN}x`)[method](FAIL_ORDERS));
        assert.equal(Code[wrong.code], Code[Code.Unauthenticated], method);
        const streamOnly = await codeOf(faultClient(url, STREAM_TOKEN)[method](FAIL_ORDERS));
        assert.equal(Code[streamOnly.code], Code[Code.PermissionDenied], method);
        assert.match(streamOnly.message, /scope:admin/);
      }
      // The stream token writes; none of the refused calls changed anything.
      assert.equal(await failedOfOrders(url, 5, STREAM_TOKEN), 0);

      const admin = faultClient(url, ADMIN_TOKEN);
      const set = await admin.setFaults(FAIL_ORDERS);
      assert.equal(set.rules.length, 1);
      assert.equal((await admin.getFaults({})).seed, 7);
      assert.equal(await failedOfOrders(url, 5, STREAM_TOKEN), 5);
      // And over curl, as the docs show it.
      const answer = await curl(url, "ClearFaults", {}, [`Authorization: Bearer ${ADMIN_TOKEN}`]);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(await failedOfOrders(url, 5, STREAM_TOKEN), 0);
      const refused = await curl(url, "SetFaults", FAIL_ORDERS, [
        `Authorization: Bearer ${STREAM_TOKEN}`,
      ]);
      assert.equal(refused.body.code, "permission_denied");
    });
  }
});

void suite("the command's --faults", () => {
  void test("a bad --faults file: exit status 2, the problem printed by its path", async () => {
    const file = join(dir, "bad.yaml");
    await writeFile(
      file,
      "seed: 1\nrules:\n  - streams: orders\n    recordFailure:\n      rate: 1.5\n    latenzy: {ms: 5}\n",
    );
    const attempt = run(process.execPath, [...NODE_FLAGS, COMMAND, "--faults", file], {
      timeout: 30_000,
    });
    await assert.rejects(attempt, (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /--faults/);
      assert.match(err.stderr, /rules\[0\]\.recordFailure\.rate/);
      assert.match(err.stderr, /rules\[0\]: unknown key "latenzy"/);
      return true;
    });
    const missing = run(process.execPath, [
      ...NODE_FLAGS,
      COMMAND,
      "--faults",
      join(dir, "none.yaml"),
    ]);
    await assert.rejects(missing, (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /none\.yaml/);
      return true;
    });
  });

  void test("a YAML file, inline JSON and KINESIS_GATEWAY_FAULTS each put their rules in force", async (t) => {
    const yaml = join(dir, "faults.yaml");
    await writeFile(
      yaml,
      [
        "# every record of orders fails",
        "seed: 7",
        "rules:",
        "  - streams: orders",
        "    operations: [PutRecords]",
        "    recordFailure:",
        "      rate: 1",
        "      code: ProvisionedThroughputExceededException",
        "",
      ].join("\n"),
    );
    const [fromYaml, inline, fromEnv] = await Promise.all([
      processOf(t, ["--faults", yaml, "--streams", "orders:1"]),
      processOf(t, ["--faults", JSON.stringify(FAIL_ORDERS), "--streams", "orders:1"]),
      processOf(t, ["--streams", "orders:1"], {
        KINESIS_GATEWAY_FAULTS: JSON.stringify(FAIL_ORDERS),
      }),
    ]);
    for (const gateway of [fromYaml, inline, fromEnv]) {
      assert.match(gateway.stdout(), /fault rules set from --faults/);
      assert.equal(await failedOfOrders(gateway.url), 5);
      assert.deepEqual((await curl(gateway.url, "GetFaults", {})).body, FAIL_ORDERS);
    }
  });
});

void suite("visibility in /metrics", () => {
  // Two records a second per shard: the engine's own throttling is easy to meet.
  const gateway = useGatewayWithMetrics([
    "--fault-control",
    "on",
    "--streams",
    "orders:1,slow:1",
    "--shard-records-per-second",
    "2",
  ]);

  void test('injected failures are counted with injected="true" and by kind; the engine\'s own throttling without it', async () => {
    const url = gateway.current.url;
    await faultClient(url).setFaults({
      seed: 3,
      rules: [
        {
          streams: "orders",
          operations: ["PutRecords"],
          recordFailure: { rate: 1, code: "InternalFailure" },
        },
      ],
    });
    const injected = await putRecords(url, "orders", 6);
    assert.equal(injected.failedRecordCount, 6);
    for (const r of injected.records) {
      assert.equal(r.errorCode, "InternalFailure");
      assert.equal(r.errorMessage, "Internal service failure.");
    }
    const real = await putRecords(url, "slow", 10);
    assert.ok(real.failedRecordCount > 0, "the engine throttled some records");
    for (const r of real.records.filter((r) => r.errorCode !== "")) {
      assert.equal(r.errorCode, "ProvisionedThroughputExceededException");
    }

    await metricReaches(
      url,
      6,
      "kinesis_gateway_records_failed_total",
      'injected="true"',
      'error_type="InternalFailure"',
    );
    const text = await (await fetch(`${url}/metrics`)).text();
    const lines = (name: string) => text.split("\n").filter((l) => l.startsWith(`${name}{`));
    const failed = lines("kinesis_gateway_records_failed_total");
    const injectedLines = failed.filter((l) => l.includes('injected="true"'));
    assert.ok(injectedLines.length > 0, text);
    for (const line of injectedLines) {
      assert.match(line, /error_type="InternalFailure"/);
    }
    const throttled = failed.filter((l) => l.includes("ProvisionedThroughputExceededException"));
    assert.ok(throttled.length > 0, text);
    for (const line of throttled) assert.doesNotMatch(line, /injected=/);
    const throttledCount = throttled.reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
    assert.equal(throttledCount, real.failedRecordCount);

    await metricReaches(
      url,
      6,
      "kinesis_gateway_faults_injected_total",
      'kinesis_gateway_fault="record"',
      'rpc_method="PutRecords"',
    );
    for (const line of lines("kinesis_gateway_faults_injected_total")) {
      assert.doesNotMatch(line, /orders|slow|customer-|payload-/, "no stream name, key or data");
    }

    // Each kind is counted: a call failure and a latency.
    await faultClient(url).setFaults({
      seed: 3,
      rules: [
        { streams: "orders", operations: ["ListShards"], latency: { ms: 20 } },
        {
          streams: "orders",
          operations: ["ListShards"],
          callFailure: { rate: 1, code: "LimitExceededException" },
        },
      ],
    });
    const { streams } = clientsFor(transports["gRPC over h2c"]!(url));
    const refused = await codeOf(streams.listShards({ streamName: "orders" }));
    assert.equal(Code[refused.code], Code[Code.ResourceExhausted]);
    await metricReaches(
      url,
      1,
      "kinesis_gateway_faults_injected_total",
      'kinesis_gateway_fault="call"',
      'rpc_method="ListShards"',
      'error_type="LimitExceededException"',
    );
    await metricReaches(
      url,
      1,
      "kinesis_gateway_faults_injected_total",
      'kinesis_gateway_fault="latency"',
      'rpc_method="ListShards"',
    );
    await faultClient(url).clearFaults({});
  });
});

void suite("visibility in spans and logs (the real command)", () => {
  void test("the spans of injected records carry kinesis_gateway.fault.injected; the debug log says 'fault injected' without stream, key or data", async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const rules = {
      seed: 11,
      rules: [
        {
          streams: "orders",
          operations: ["PutRecords"],
          recordFailure: { rate: 0.5, code: "ProvisionedThroughputExceededException" },
        },
      ],
    };
    const gateway = await processOf(
      t,
      ["--faults", JSON.stringify(rules), "--streams", "orders:2", "--log-level", "debug"],
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_METRIC_EXPORT_INTERVAL: "500",
        OTEL_TRACES_SAMPLER: "always_on",
      },
    );
    const res = await putRecords(gateway.url, "orders", 20);
    const failedAt = res.records.flatMap((r, i) => (r.errorCode === "" ? [] : [i]));
    assert.ok(failedAt.length > 0 && failedAt.length < 20, `failed: ${failedAt.join(",")}`);
    assert.equal(res.failedRecordCount, failedAt.length);
    for (const i of failedAt) {
      assert.match(
        res.records[i]!.errorMessage,
        /^Rate exceeded for shard shardId-\d{12} in stream orders under account \d{12}\.$/,
      );
    }

    const creates = await receiver.waitFor(() => {
      const spans = receiver.spans().filter((s) => s.name === "create orders");
      return spans.length === 20 && spans;
    });
    const injectedSpans = creates.filter((s) => s.attributes["kinesis_gateway.fault.injected"]);
    assert.equal(injectedSpans.length, failedAt.length);
    for (const span of injectedSpans) {
      assert.equal(span.attributes["kinesis_gateway.fault.injected"], true);
      assert.equal(span.attributes["error.type"], "ProvisionedThroughputExceededException");
    }
    for (const span of creates.filter((s) => !s.attributes["kinesis_gateway.fault.injected"])) {
      assert.equal(span.attributes["error.type"], undefined);
      assert.match(String(span.attributes["messaging.message.id"]), /^\d{56}$/);
    }

    await gateway.stop();
    const logged = gateway
      .stdout()
      .split("\n")
      .filter((line) => line.includes('"fault injected"'));
    assert.ok(logged.length > 0, gateway.stdout());
    for (const line of logged) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.equal(entry.msg, "fault injected");
      assert.equal(entry.fault, "record");
      assert.equal(entry.operation, "PutRecords");
      assert.doesNotMatch(line, /orders|customer-|payload-|cGF5bG9hZC/, line);
    }
  });
});

void suite("readiness", () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startTestGateway(["--fault-control", "on", "--streams", "orders:1"]);
  });
  after(() => gateway.stop());

  const readyz = async () => (await fetch(`${gateway.url}/readyz`)).status;
  const health = async () =>
    (await createClient(Health, createGrpcTransport({ baseUrl: gateway.url })).check({})).status;

  void test("an unready outage: /readyz 503 and health NOT_SERVING while it lasts, ready again by itself", async () => {
    assert.equal(await readyz(), 200);
    const set = await faultClient(gateway.url).setFaults({
      seed: 1,
      rules: [{ streams: "orders", outage: { seconds: 2, unready: true } }],
    });
    assert.equal(set.rules[0]?.outage?.unready, true);
    assert.equal(await readyz(), 503);
    assert.equal(await health(), ServingStatus.NOT_SERVING);
    assert.equal(await healthzStatus(gateway.url), 200, "alive all along");
    const refused = await codeOf(putRecords(gateway.url, "orders", 1));
    assert.equal(Code[refused.code], Code[Code.Unavailable]);

    await until("ready again", async () => (await readyz()) === 200);
    assert.equal(await health(), ServingStatus.SERVING);
    // By itself: the rule is still there, its window over.
    assert.equal((await faultClient(gateway.url).getFaults({})).rules.length, 1);
    assert.equal((await putRecords(gateway.url, "orders", 1)).failedRecordCount, 0);
  });

  void test("a plain outage fails the calls but leaves /readyz 200 and health SERVING", async () => {
    await faultClient(gateway.url).setFaults({
      seed: 1,
      rules: [{ streams: "orders", outage: { seconds: 30 } }],
    });
    const refused = await codeOf(putRecords(gateway.url, "orders", 1));
    assert.equal(Code[refused.code], Code[Code.Unavailable]);
    assert.equal(await readyz(), 200);
    assert.equal(await health(), ServingStatus.SERVING);
    await faultClient(gateway.url).clearFaults({});
    assert.equal((await putRecords(gateway.url, "orders", 1)).failedRecordCount, 0);
  });

  void test("ClearFaults ends an unready outage at once", async () => {
    await faultClient(gateway.url).setFaults({
      rules: [{ outage: { unready: true } }],
    });
    assert.equal(await readyz(), 503);
    await faultClient(gateway.url).clearFaults({});
    assert.equal(await readyz(), 200);
    assert.equal(await health(), ServingStatus.SERVING);
  });
});

const healthzStatus = async (url: string) => (await fetch(`${url}/healthz`)).status;
