/**
 * The command honours the standard OpenTelemetry variables: each test starts
 * the real process with one of them set, sends it records, and checks what
 * reaches an OTLP receiver or `/metrics`. Tests that expect nothing stop the
 * process first: its shutdown flushes every queue, so "nothing" is final.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { suite, type TestContext, test } from "node:test";
import type { PutRecordsResponse } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { clientsFor, transports } from "../helpers/gateway.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
} from "../helpers/otlp-receiver.ts";

/** OTLP's span kinds. */
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const PUT_RECORDS = "kinesis.gateway.v1.ProducerService/PutRecords";
const SEQUENCE_NUMBER = /^\d{56}$/;
/**
 * Exports within a fraction of a second, so that tests wait little, and
 * samples every trace (the gateway's default samples 1 % of new traces).
 */
const PROMPT_EXPORT = {
  OTEL_BSP_SCHEDULE_DELAY: "100",
  OTEL_METRIC_EXPORT_INTERVAL: "500",
  OTEL_TRACES_SAMPLER: "always_on",
};
const JSON_EXPORT = { ...PROMPT_EXPORT, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" };
const ORDERS = ["--streams", "orders:4"];

interface Exporting {
  receiver: OtlpReceiver;
  gateway: GatewayProcess;
}

/**
 * A receiver and a gateway exporting to it, both gone after the test; a
 * failing test shows the gateway's output and what the receiver got.
 */
async function exportingGateway(
  t: TestContext,
  env: Record<string, string>,
  flags: string[] = ORDERS,
): Promise<Exporting> {
  const receiver = await startOtlpReceiver();
  let gateway: GatewayProcess;
  try {
    gateway = await startGatewayProcess(flags, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      ...env,
    });
  } catch (err) {
    await receiver.close();
    throw err;
  }
  t.after(async () => {
    await gateway.stop();
    await receiver.close();
    if (!testFailed(t)) return;
    diagnose(t, gateway);
    t.diagnostic(`OTLP requests: ${receiver.requests.map((r) => r.path).join(", ") || "none"}`);
  });
  return { receiver, gateway };
}

/** A gateway without an OTLP endpoint, stopped after the test. */
async function plainGateway(t: TestContext, flags: string[]): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess(flags);
  t.after(async () => {
    await gateway.stop();
    if (testFailed(t)) diagnose(t, gateway);
  });
  return gateway;
}

/** Whether the test failed, in its `after` hooks (`passed` is missing from @types/node). */
const testFailed = (t: TestContext) => "passed" in t && t.passed === false;

/** One diagnostic per line: reporters escape newlines inside one. */
function diagnose(t: TestContext, gateway: GatewayProcess): void {
  for (const [name, text] of [
    ["stdout", gateway.stdout()],
    ["stderr", gateway.stderr()],
  ] as const) {
    t.diagnostic(`gateway ${name}:`);
    for (const line of text.split("\n")) t.diagnostic(line);
  }
}

/** PutRecords of `count` records with distinct partition keys, over gRPC. */
function putRecords(
  gateway: GatewayProcess,
  streamName: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<PutRecordsResponse> {
  const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
  const records = Array.from({ length: count }, (_, i) => ({
    data: new TextEncoder().encode(`order ${i}`),
    partitionKey: `customer-${i}`,
  }));
  return producer.putRecords({ streamName, records }, { headers });
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const sorted = (values: string[]) => [...values].sort();
const serverSpans = (spans: ReceivedSpan[]) => spans.filter((s) => s.kind === SERVER);
const named = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

/** The value of the sample `name` whose labels include `labels`, in Prometheus text. */
function prometheusSample(
  text: string,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = new Map(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

/** The gateway's `/metrics`, which must answer Prometheus text. */
async function scrape(gateway: GatewayProcess): Promise<string> {
  const res = await fetch(`${gateway.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
  return res.text();
}

const tracesRequests = (receiver: OtlpReceiver) =>
  receiver.requests.filter((r) => r.path === "/v1/traces");
const pointsOf = (receiver: OtlpReceiver, name: string) =>
  receiver.metricPoints().filter((p) => p.name === name);

void suite("the OTEL_* variables, end to end", () => {
  void test("OTEL_EXPORTER_OTLP_ENDPOINT: 10 records to a 4-shard stream give one SERVER span, ten create spans and one send span linked to them", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, {
      ...JSON_EXPORT,
      OTEL_TRACES_SAMPLER: "always_on",
    });
    const res = await putRecords(gateway, "orders", 10);
    assert.equal(res.failedRecordCount, 0);
    assert.ok(new Set(res.records.map((r) => r.shardId)).size > 1, "the keys span shards");

    await receiver.waitFor(() => {
      const spans = receiver.spans();
      return named(spans, "create orders").length === 10 && named(spans, "send orders").length;
    });
    assert.equal(await gateway.stop(), 0);
    const spans = receiver.spans();

    const servers = serverSpans(spans);
    assert.equal(servers.length, 1);
    const server = servers[0]!;
    assert.equal(server.name, PUT_RECORDS);
    assert.equal(server.parentSpanId, undefined);
    assert.equal(server.attributes["rpc.system.name"], "grpc");
    assert.equal(server.attributes["rpc.method"], PUT_RECORDS);
    assert.equal(server.attributes["rpc.status_code"], "OK");

    const creates = named(spans, "create orders");
    assert.equal(creates.length, 10);
    for (const create of creates) {
      assert.equal(create.kind, PRODUCER);
      assert.equal(create.traceId, server.traceId);
      assert.equal(create.parentSpanId, server.spanId);
      assert.match(String(create.attributes["messaging.message.id"]), SEQUENCE_NUMBER);
    }
    assert.deepEqual(
      sorted(
        creates.map(
          (s) =>
            `${s.attributes["messaging.destination.partition.id"]} ${s.attributes["messaging.message.id"]}`,
        ),
      ),
      sorted(res.records.map((r) => `${r.shardId} ${r.sequenceNumber}`)),
    );

    const sends = named(spans, "send orders");
    assert.equal(sends.length, 1);
    const send = sends[0]!;
    assert.equal(send.kind, CLIENT);
    assert.equal(send.traceId, server.traceId);
    assert.equal(send.parentSpanId, server.spanId);
    assert.equal(send.attributes["messaging.batch.message_count"], 10);
    assert.deepEqual(
      sorted(send.links.map((l) => `${l.traceId}/${l.spanId}`)),
      sorted(creates.map((s) => `${s.traceId}/${s.spanId}`)),
    );
    assert.equal(spans.length, 12, "nothing but these twelve spans");
  });

  void test("OTEL_SERVICE_NAME is the resource's service.name", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, {
      ...JSON_EXPORT,
      OTEL_SERVICE_NAME: "checkout-ingest",
    });
    await putRecords(gateway, "orders", 1);
    const [span] = await receiver.waitFor(() => receiver.spans().length > 0 && receiver.spans());
    assert.equal(span?.resource["service.name"], "checkout-ingest");
  });

  void test("without OTEL_SERVICE_NAME the service is kinesis-gateway", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, JSON_EXPORT);
    await putRecords(gateway, "orders", 1);
    const [span] = await receiver.waitFor(() => receiver.spans().length > 0 && receiver.spans());
    assert.equal(span?.resource["service.name"], "kinesis-gateway");
  });

  void test("without OTEL_EXPORTER_OTLP_PROTOCOL traces go to /v1/traces as protobuf", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, PROMPT_EXPORT);
    await putRecords(gateway, "orders", 1);
    const [request] = await receiver.waitFor(
      () => tracesRequests(receiver).length > 0 && tracesRequests(receiver),
    );
    assert.equal(request?.contentType, "application/x-protobuf");
    assert.ok((request?.body.length ?? 0) > 0);
  });

  void test("OTEL_EXPORTER_OTLP_PROTOCOL=http/json sends traces to /v1/traces as JSON", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, JSON_EXPORT);
    await putRecords(gateway, "orders", 1);
    const [request] = await receiver.waitFor(
      () => tracesRequests(receiver).length > 0 && tracesRequests(receiver),
    );
    assert.equal(request?.contentType, "application/json");
    assert.ok(receiver.spans().some((s) => s.name === PUT_RECORDS));
  });

  void test("OTEL_TRACES_SAMPLER=always_off exports no spans, while metrics still go to /v1/metrics", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, {
      ...JSON_EXPORT,
      OTEL_TRACES_SAMPLER: "always_off",
    });
    assert.equal((await putRecords(gateway, "orders", 5)).failedRecordCount, 0);
    assert.equal(await gateway.stop(), 0);
    assert.deepEqual(tracesRequests(receiver), []);
    const written = pointsOf(receiver, "kinesis_gateway.records.written");
    assert.ok(written.length > 0, "records.written reached /v1/metrics");
  });

  void test("OTEL_TRACES_SAMPLER=traceidratio with OTEL_TRACES_SAMPLER_ARG=0 exports no spans", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, {
      ...JSON_EXPORT,
      OTEL_TRACES_SAMPLER: "traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0",
    });
    assert.equal((await putRecords(gateway, "orders", 5)).failedRecordCount, 0);
    assert.equal(await gateway.stop(), 0);
    assert.deepEqual(tracesRequests(receiver), []);
    assert.ok(
      receiver.requests.some((r) => r.path === "/v1/metrics"),
      "the exporter was reached",
    );
  });

  void test("without OTEL_TRACES_SAMPLER, about 1 % of new traces are sampled", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, {
      ...JSON_EXPORT,
      OTEL_TRACES_SAMPLER: "",
    });
    for (let i = 0; i < 300; i++) await putRecords(gateway, "orders", 1);
    assert.equal(await gateway.stop(), 0);
    // Binomial(300, 0.01): more than 20 would happen about once in 10^12 runs.
    assert.ok(
      serverSpans(receiver.spans()).length <= 20,
      `${serverSpans(receiver.spans()).length} traced`,
    );
  });

  void test("the default sampler follows the caller's traceparent: not sampled (00) gives no spans, sampled (01) continues the trace", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, {
      ...JSON_EXPORT,
      OTEL_TRACES_SAMPLER: "",
    });
    const unsampled = { traceId: hex(16), spanId: hex(8) };
    const sampled = { traceId: hex(16), spanId: hex(8) };
    await putRecords(gateway, "orders", 2, {
      traceparent: `00-${unsampled.traceId}-${unsampled.spanId}-00`,
    });
    await putRecords(gateway, "orders", 2, {
      traceparent: `00-${sampled.traceId}-${sampled.spanId}-01`,
    });
    await receiver.waitFor(() => named(receiver.spans(), "send orders").length);
    assert.equal(await gateway.stop(), 0);

    const spans = receiver.spans();
    assert.deepEqual(
      spans.filter((s) => s.traceId === unsampled.traceId),
      [],
    );
    const [server, ...others] = serverSpans(spans);
    assert.equal(others.length, 0);
    assert.equal(server?.traceId, sampled.traceId);
    assert.equal(server?.parentSpanId, sampled.spanId);
    assert.equal(spans.length, 4, "the SERVER span, two create spans and the send span");
    assert.ok(spans.every((s) => s.traceId === sampled.traceId));
  });

  void test("in an unsampled call, a record carrying its own sampled trace context is still traced", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, {
      ...JSON_EXPORT,
      OTEL_TRACES_SAMPLER: "",
    });
    const call = { traceId: hex(16), spanId: hex(8) };
    const own = { traceId: hex(16), spanId: hex(8) };
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
    await producer.putRecords(
      {
        streamName: "orders",
        records: [
          {
            data: Buffer.from("a"),
            partitionKey: "a",
            traceContext: { traceparent: `00-${own.traceId}-${own.spanId}-01` },
          },
          { data: Buffer.from("b"), partitionKey: "b" },
        ],
      },
      { headers: { traceparent: `00-${call.traceId}-${call.spanId}-00` } },
    );
    assert.equal(await gateway.stop(), 0);
    const spans = receiver.spans();
    assert.deepEqual(
      spans.map((s) => [s.name, s.traceId, s.parentSpanId]),
      [["create orders", own.traceId, own.spanId]],
    );
  });

  void test("OTEL_PROPAGATORS=b3 continues the trace of a b3 header, and no longer reads traceparent", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, {
      ...JSON_EXPORT,
      OTEL_PROPAGATORS: "b3",
    });
    const b3 = { traceId: hex(16), spanId: hex(8) };
    const w3c = { traceId: hex(16), spanId: hex(8) };
    await putRecords(gateway, "orders", 1, { b3: `${b3.traceId}-${b3.spanId}-1` });
    await putRecords(gateway, "orders", 1, {
      traceparent: `00-${w3c.traceId}-${w3c.spanId}-01`,
    });
    const servers = await receiver.waitFor(
      () => serverSpans(receiver.spans()).length === 2 && serverSpans(receiver.spans()),
    );
    const fromB3 = servers.find((s) => s.traceId === b3.traceId);
    assert.equal(fromB3?.parentSpanId, b3.spanId);
    assert.ok(
      servers.every((s) => s.traceId !== w3c.traceId),
      "traceparent was ignored: a new trace began",
    );
  });

  void test("OTEL_SDK_DISABLED=true: records are written, /metrics is 404 and nothing is exported", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, {
      ...JSON_EXPORT,
      OTEL_SDK_DISABLED: "true",
    });
    const res = await putRecords(gateway, "orders", 3);
    assert.equal(res.failedRecordCount, 0);
    assert.ok(res.records.every((r) => SEQUENCE_NUMBER.test(r.sequenceNumber)));
    assert.equal((await fetch(`${gateway.url}/metrics`)).status, 404);
    assert.equal(await gateway.stop(), 0);
    assert.deepEqual(receiver.requests, []);
  });

  void test("without any OTEL_* variable: JSON lines on stdout, nothing on stderr, and /metrics counts records by stream and shard", async (t) => {
    const gateway = await plainGateway(t, ORDERS);
    const res = await putRecords(gateway, "orders", 10);
    assert.equal(res.failedRecordCount, 0);
    const metrics = await scrape(gateway);
    const perShard = Map.groupBy(res.records, (r) => r.shardId);
    for (const [shardId, records] of perShard) {
      assert.equal(
        prometheusSample(metrics, "kinesis_gateway_records_written_total", {
          messaging_destination_name: "orders",
          messaging_destination_partition_id: shardId,
        }),
        records.length,
        shardId,
      );
    }
    assert.equal(await gateway.stop(), 0);

    assert.equal(gateway.stderr(), "");
    const lines = gateway.stdout().trimEnd().split("\n");
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const listening = entries.find((e) => e.msg === "kinesis-gateway listening");
    assert.equal(listening?.recordSpans, false, "no tracer without an endpoint");
  });

  void test("--record-spans off: one SERVER span and one PRODUCER send span carrying the batch", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, JSON_EXPORT, [
      ...ORDERS,
      "--record-spans",
      "off",
    ]);
    await putRecords(gateway, "orders", 10);
    await receiver.waitFor(() => named(receiver.spans(), "send orders").length);
    assert.equal(await gateway.stop(), 0);

    const spans = receiver.spans();
    const [server, ...otherServers] = serverSpans(spans);
    assert.equal(otherServers.length, 0);
    const [send, ...otherSends] = named(spans, "send orders");
    assert.equal(otherSends.length, 0);
    assert.equal(send?.kind, PRODUCER);
    assert.equal(send?.attributes["messaging.batch.message_count"], 10);
    assert.equal(send?.parentSpanId, server?.spanId);
    assert.deepEqual(named(spans, "create orders"), []);
    assert.equal(spans.length, 2);
  });

  void test("metrics go over OTLP too: /v1/metrics receives kinesis_gateway.records.written", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, JSON_EXPORT);
    const res = await putRecords(gateway, "orders", 10);
    assert.equal(await gateway.stop(), 0);
    const written = pointsOf(receiver, "kinesis_gateway.records.written");
    // Cumulative: the last export of each shard holds its total.
    const latest = new Map(
      written.map((p) => [p.attributes["messaging.destination.partition.id"], p.value]),
    );
    assert.deepEqual(
      Object.fromEntries(latest),
      Object.fromEntries(
        [...Map.groupBy(res.records, (r) => r.shardId)].map(([shard, rs]) => [shard, rs.length]),
      ),
    );
  });

  void test("OTEL_METRIC_EXPORT_INTERVAL sets how often metrics are pushed", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, JSON_EXPORT);
    await putRecords(gateway, "orders", 1);
    await receiver.waitFor(
      () => pointsOf(receiver, "kinesis_gateway.records.written").length,
      3_000,
    );
  });

  void test("a throttled shard shows on /metrics: records failed with ProvisionedThroughputExceededException and written, by shard", async (t) => {
    const gateway = await plainGateway(t, [
      "--streams",
      "hot:1",
      "--shard-records-per-second",
      "10",
    ]);
    const res = await putRecords(gateway, "hot", 30);
    const failed = res.records.filter(
      (r) => r.errorCode === "ProvisionedThroughputExceededException",
    ).length;
    assert.ok(failed > 0 && failed < 30, `${failed} of 30 throttled`);
    assert.equal(res.failedRecordCount, failed);

    const metrics = await scrape(gateway);
    const shard = {
      messaging_destination_name: "hot",
      messaging_destination_partition_id: "shardId-000000000000",
    };
    assert.equal(
      prometheusSample(metrics, "kinesis_gateway_records_failed_total", {
        ...shard,
        error_type: "ProvisionedThroughputExceededException",
      }),
      failed,
    );
    assert.equal(
      prometheusSample(metrics, "kinesis_gateway_records_written_total", shard),
      30 - failed,
    );
  });

  void test("spans dropped from a full export queue are counted on /metrics", async (t) => {
    const { gateway } = await exportingGateway(t, {
      ...JSON_EXPORT,
      OTEL_BSP_MAX_QUEUE_SIZE: "20",
    });
    await putRecords(gateway, "orders", 100); // 102 spans into a queue of 20
    // The processor reports the drops when a later span fits again.
    let dropped: number | undefined;
    for (let i = 0; i < 50 && !dropped; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await putRecords(gateway, "orders", 1);
      dropped = prometheusSample(
        await scrape(gateway),
        "kinesis_gateway_telemetry_spans_dropped_total",
        {},
      );
    }
    assert.ok(dropped !== undefined && dropped > 0 && dropped <= 102 - 20, `dropped ${dropped}`);
  });

  void test("SIGTERM exits 0 and flushes the spans still queued", async (t) => {
    const { receiver, gateway } = await exportingGateway(t, {
      ...JSON_EXPORT,
      OTEL_BSP_SCHEDULE_DELAY: "60000",
    });
    await putRecords(gateway, "orders", 3);
    assert.deepEqual(tracesRequests(receiver), [], "nothing exported before the stop");
    assert.equal(await gateway.stop(), 0);
    const spans = receiver.spans();
    assert.equal(serverSpans(spans).length, 1);
    assert.equal(named(spans, "create orders").length, 3);
    assert.equal(named(spans, "send orders").length, 1);
  });
});
