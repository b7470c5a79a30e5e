/**
 * `--workers 2` on the real command, forwarding to a real emulator: one
 * port, calls on many connections all answered, `/metrics` from whichever
 * worker answers is the gateway's, readiness is one, and SIGTERM drains every
 * worker before the process exits 0.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import http from "node:http";
import { suite, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CreateStreamCommand } from "@aws-sdk/client-kinesis";
import { readFromEmulator } from "../contract/targets.ts";
import { drainUnderLoad } from "../helpers/drain-load.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { clientsFor, transports } from "../helpers/gateway.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";

const CREDENTIALS = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" };
const COMMAND = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
const run = promisify(execFile);

/** A GET on a connection of its own: the kernel gives each new connection to either worker. */
const get = (url: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });

/** The value of the series of `name` whose labels include `label`, summed over its lines. */
const seriesValue = (text: string, name: string, label: string) =>
  text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) && line.includes(label))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);

const logLines = (gateway: GatewayProcess) =>
  gateway
    .stdout()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg: string; worker?: number; workers?: number });

void suite("--workers 2 in forward mode", () => {
  const emulator = useEmulator();

  const startWorkers = async (stream: string, flags: string[] = []) => {
    const kinesis = emulator.current.client();
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    await waitUntilStreamActive(kinesis, stream);
    const gateway = await startGatewayProcess(
      [
        "--backend",
        "kinesis",
        "--kinesis-endpoint",
        emulator.current.endpoint,
        "--workers",
        "2",
        ...flags,
      ],
      CREDENTIALS,
    );
    return { kinesis, gateway };
  };

  void test("one port, calls on 16 connections all written, /metrics from either worker the gateway's", async () => {
    const { kinesis, gateway } = await startWorkers("shared");
    try {
      const lines = logLines(gateway);
      const listening = lines.filter((l) => l.msg === "kinesis-gateway listening");
      assert.equal(listening.length, 1, "the primary says once that the gateway listens");
      assert.equal(listening[0]!.workers, 2);
      assert.deepEqual(
        lines
          .filter((l) => l.msg === "worker listening")
          .map((l) => l.worker)
          .sort(),
        [1, 2],
      );

      // Each client on a connection of its own, 10 records each.
      const written = await Promise.all(
        Array.from({ length: 16 }, async (_, caller) => {
          const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
          const data = Array.from({ length: 10 }, (_, i) => `${caller}/${i}`);
          const res = await producer.putRecords({
            streamName: "shared",
            records: data.map((d) => ({ data: Buffer.from(d), partitionKey: d })),
          });
          assert.equal(res.failedRecordCount, 0);
          return res.records.map((r, i) => [r.sequenceNumber, data[i]!] as const);
        }),
      );
      const stored = new Map(
        (await readFromEmulator(kinesis, "shared", "shardId-000000000000")).map((r) => [
          r.sequenceNumber,
          Buffer.from(r.data).toString(),
        ]),
      );
      assert.equal(stored.size, 160);
      for (const [sequenceNumber, data] of written.flat()) {
        assert.equal(stored.get(sequenceNumber), data);
      }

      // Six scrapes on six connections: whichever worker answers, the count is every worker's.
      for (let i = 0; i < 6; i++) {
        const { status, body } = await get(`${gateway.url}/metrics`);
        assert.equal(status, 200);
        assert.equal(seriesValue(body, "kinesis_gateway_records_written_total", ""), 160, body);
        assert.equal(
          seriesValue(
            body,
            "kinesis_gateway_backend_call_duration_count",
            'rpc_method="PutRecords"',
          ),
          16,
        );
        assert.equal(seriesValue(body, "target_info", ""), 1);
      }
    } finally {
      kinesis.destroy();
      await gateway.stop();
    }
  });

  void test("a port already held is refused, by a gateway with workers as by one without", async () => {
    const { kinesis, gateway } = await startWorkers("held");
    try {
      const second = await run(
        process.execPath,
        [
          COMMAND,
          "--backend",
          "kinesis",
          "--kinesis-endpoint",
          emulator.current.endpoint,
          "--host",
          "127.0.0.1",
          "--port",
          String(gateway.port),
          "--workers",
          "2",
        ],
        { env: { ...process.env, ...CREDENTIALS }, timeout: 60_000 },
      ).then(
        () => ({ code: 0, stdout: "" }),
        (err: { code?: number; stdout?: string }) => ({ code: err.code, stdout: err.stdout ?? "" }),
      );
      assert.equal(second.code, 1, second.stdout);
      assert.match(second.stdout, /"msg":"could not start"/);
      assert.match(second.stdout, /EADDRINUSE/);
      assert.equal((await get(`${gateway.url}/healthz`)).status, 200, "the first one serves on");
    } finally {
      kinesis.destroy();
      await gateway.stop();
    }
  });

  void test("--metrics-port: the primary serves every worker's metrics there, and the public port none", async () => {
    const { kinesis, gateway } = await startWorkers("metrics-port", ["--metrics-port", "0"]);
    try {
      const { metrics } = logLines(gateway).find((l) => l.msg === "kinesis-gateway listening") as {
        metrics?: string;
      };
      assert.match(metrics ?? "", /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      await Promise.all(
        Array.from({ length: 8 }, async (_, caller) => {
          const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
          await producer.putRecord({
            streamName: "metrics-port",
            partitionKey: String(caller),
            data: Buffer.from("x"),
          });
        }),
      );
      const { body } = await get(metrics!);
      assert.equal(seriesValue(body, "kinesis_gateway_records_written_total", ""), 8, body);
      assert.equal((await get(`${gateway.url}/metrics`)).status, 404);
    } finally {
      kinesis.destroy();
      await gateway.stop();
    }
  });

  void test("SIGTERM under load: every worker drains, acknowledged records are in Kinesis, exit 0", async () => {
    const { kinesis, gateway } = await startWorkers("drain-workers", [
      "--drain-timeout-seconds",
      "5",
    ]);
    const load = await drainUnderLoad(gateway, "drain-workers");
    const { acknowledged, failures, exitCode, stopMs } = load;

    assert.equal(exitCode, 0, gateway.stderr());
    assert.ok(stopMs < 5_000 + 1_000, `stopped in ${stopMs.toFixed(0)} ms`);
    for (const failure of failures) assert.equal(failure, "Unavailable");
    assert.ok(
      failures.length <= load.startedAfterSignal,
      `${failures.length} failed, ${load.startedAfterSignal} started late`,
    );
    assert.ok(acknowledged.length > 0);
    const lines = logLines(gateway);
    assert.equal(lines.filter((l) => l.msg === "stopped").length, 1, "the primary stops once");
    assert.deepEqual(
      lines.filter((l) => (l as { level?: number }).level! >= 50),
      [],
      "nothing logged at error level",
    );
    const stored = new Map(
      (await readFromEmulator(kinesis, "drain-workers", "shardId-000000000000")).map((r) => [
        r.sequenceNumber,
        Buffer.from(r.data).toString(),
      ]),
    );
    for (const record of acknowledged) assert.equal(stored.get(record.sequenceNumber), record.data);
    kinesis.destroy();
  });

  void test("readiness is the gateway's: the upstream gone makes every worker unready, and back", async () => {
    const { kinesis, gateway } = await startWorkers("ready");
    try {
      const until = async (status: number, what: string) => {
        const by = Date.now() + 30_000;
        while ((await get(`${gateway.url}/readyz`)).status !== status) {
          assert.ok(Date.now() < by, what);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        // Once the gateway says so, whichever worker answers says the same.
        for (let i = 0; i < 6; i++)
          assert.equal((await get(`${gateway.url}/readyz`)).status, status);
      };
      await until(200, "not ready 30 s after it started");
      await emulator.current.stop();
      // The upstream probe notices within its interval.
      await until(503, "still ready 30 s after the upstream stopped");
      await emulator.current.restart();
      await until(200, "not ready 30 s after the upstream came back");
      assert.equal((await get(`${gateway.url}/healthz`)).status, 200);
    } finally {
      kinesis.destroy();
      await gateway.stop();
    }
  });
});
