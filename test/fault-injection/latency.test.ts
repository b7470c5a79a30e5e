/**
 * Injected latency and the caller's time: a latency that outlasts the
 * caller's deadline ends the call at the deadline with nothing written,
 * whatever the clock says when the timer fires; rules replaced or cleared,
 * or a drain, let the calls waiting out a latency go on at once, without the
 * old rules' faults; and no draw waits longer than a rule may ask.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createEngineBackend } from "../../src/backends/engine-backend.ts";
import { createEngine, type Engine } from "../../src/engine/index.ts";
import { createFaultInjector, latencyOf, MAX_LATENCY_MS } from "../../src/faults/injector.ts";
import { withFaults } from "../../src/faults/with-faults.ts";
import { FaultService } from "../../src/gen/kinesis/gateway/v1/faults_pb.ts";
import { ProducerService } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { GatewayError } from "../../src/kinesis/errors.ts";
import { startTestGateway } from "../helpers/gateway.ts";

const record = (key: string) => ({ data: new Uint8Array([1]), partitionKey: key });

/** A gateway with the one-shard stream `slow`, throttling off and fault control on. */
const slowGateway = () =>
  startTestGateway(["--streams", "slow", "--throttle", "off", "--fault-control", "on"]);

/** The records of a one-shard engine stream. */
async function storedIn(engine: Engine, streamName: string) {
  const { shardIterator } = engine.getShardIterator({
    streamName,
    shardId: "shardId-000000000000",
    shardIteratorType: "TRIM_HORIZON",
  });
  return (await engine.getRecords({ shardIterator })).records;
}

void suite("injected latency and the caller's time", () => {
  test("a latency past the deadline ends the call at the deadline, even when the clock lags the timer", async () => {
    const engine = createEngine({ throttle: false });
    engine.createStream({ streamName: "late", shardCount: 1 });
    const injector = createFaultInjector();
    injector.set({ seed: 1, rules: [{ streams: "late", latency: { ms: 60_000 } }] });
    const backend = withFaults(createEngineBackend(engine), injector, {
      accountId: "000000000000",
    });
    // The wall clock stands still, as it seems to when a timer fires a little
    // before Date.now() reaches the deadline: the call must not go on.
    const realNow = Date.now;
    const frozen = realNow();
    Date.now = () => frozen;
    try {
      await assert.rejects(
        backend.putRecords(
          { streamName: "late", records: [{ data: new Uint8Array([1]), partitionKey: "k" }] },
          { signal: new AbortController().signal, deadline: frozen + 50 },
        ),
        (err) => err instanceof GatewayError && err.kind === "timeout",
      );
    } finally {
      Date.now = realNow;
    }
    assert.deepEqual(await storedIn(engine, "late"), []);
    injector.close();
    engine.close();
  });

  test("the longest draw of a long tail is the longest latency a rule may ask for", () => {
    const tail = { p50Ms: 1, p99Ms: MAX_LATENCY_MS };
    assert.equal(latencyOf(tail, 1 - 2 ** -40, 0), MAX_LATENCY_MS);
    assert.ok(latencyOf(tail, 0.5, 0.25) < MAX_LATENCY_MS);
  });

  test("ClearFaults lets a call waiting out a latency go on at once, without the cleared rule's failures", async () => {
    const gateway = await slowGateway();
    try {
      const transport = createGrpcTransport({ baseUrl: gateway.url });
      const faults = createClient(FaultService, transport);
      await faults.setFaults({
        seed: 1,
        rules: [
          {
            streams: "slow",
            latency: { ms: 60_000 },
            recordFailure: { rate: 1, code: "InternalFailure" },
          },
        ],
      });
      const started = performance.now();
      const call = createClient(ProducerService, transport).putRecords({
        streamName: "slow",
        records: [record("a"), record("b")],
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await faults.clearFaults({});
      const out = await call;
      assert.equal(out.failedRecordCount, 0);
      assert.deepEqual(
        out.records.map((r) => r.shardId),
        ["shardId-000000000000", "shardId-000000000000"],
      );
      // Well before the minute the cleared rule asked for.
      assert.ok(performance.now() - started < 30_000);
    } finally {
      await gateway.stop();
    }
  });

  test("a drain lets calls waiting out a latency go on and answers them", async () => {
    const gateway = await slowGateway();
    const transport = createGrpcTransport({ baseUrl: gateway.url });
    await createClient(FaultService, transport).setFaults({
      seed: 1,
      rules: [{ streams: "slow", latency: { ms: 60_000 } }],
    });
    const calls = Array.from({ length: 4 }, (_, i) =>
      createClient(ProducerService, transport).putRecord({
        streamName: "slow",
        ...record(`k${i}`),
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await gateway.stop(20_000);
    for (const out of await Promise.all(calls)) assert.equal(out.shardId, "shardId-000000000000");
  });

  test("over gRPC, a deadline shorter than the latency is DEADLINE_EXCEEDED and writes nothing", async () => {
    const gateway = await slowGateway();
    try {
      const transport = createGrpcTransport({ baseUrl: gateway.url });
      await createClient(FaultService, transport).setFaults({
        seed: 1,
        rules: [{ streams: "slow", operations: ["PutRecord"], latency: { ms: 60_000 } }],
      });
      const producer = createClient(ProducerService, transport);
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          producer
            .putRecord({ streamName: "slow", ...record(`k${i}`) }, { timeoutMs: 1 + (i % 20) })
            .then(
              () => "written",
              (err: unknown) => Code[ConnectError.from(err).code],
            ),
        ),
      );
      assert.deepEqual(new Set(outcomes), new Set(["DeadlineExceeded"]));
      const engine = gateway.engine!;
      assert.deepEqual(await storedIn(engine, "slow"), []);
    } finally {
      await gateway.stop();
    }
  });
});
