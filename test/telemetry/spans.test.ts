/**
 * The spans of the real gateway, caught by an in-memory exporter: names,
 * kinds, parentage, links and attributes for successful, throttled, refused,
 * retried and forwarded writes.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, suite, test } from "node:test";
import { DescribeStreamSummaryCommand } from "@aws-sdk/client-kinesis";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace";
import { pino } from "pino";
import {
  ProduceRequestSchema,
  ProducerService,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import type { RunningGateway } from "../../src/main.ts";
import { startTelemetry, type Telemetry } from "../../src/telemetry/telemetry.ts";
import { allMessages, rawSubscribe } from "../helpers/event-stream-client.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { clientsFor, startTestGateway, transports } from "../helpers/gateway.ts";
import { activeConsumer, sdkClient, until } from "../helpers/kinesis-sdk.ts";

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
before(async () => {
  process.env.OTEL_TRACES_SAMPLER = "always_on"; // the gateway's default samples 1 %
  telemetry = await startTelemetry({
    logger: pino({ level: "silent" }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
});
after(() => telemetry.shutdown());
afterEach(() => exporter.reset());

const spans = () => exporter.getFinishedSpans();
const named = (name: string) => spans().filter((s) => s.name === name);
const one = (name: string): ReadableSpan => {
  const found = named(name);
  assert.equal(
    found.length,
    1,
    `${found.length} spans named ${name}: ${spans().map((s) => s.name)}`,
  );
  return found[0]!;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

const PUT_RECORDS = "kinesis.gateway.v1.ProducerService/PutRecords";
const SECRET_KEY = "partition-key-that-must-not-leak";
const SECRET_DATA = "payload-that-must-not-leak";

function records(n: number, stream = "orders") {
  return {
    streamName: stream,
    records: Array.from({ length: n }, (_, i) => ({
      data: Buffer.from(`${SECRET_DATA} ${i}`),
      partitionKey: `${SECRET_KEY}-${i}`,
    })),
  };
}

/** No attribute anywhere holds a partition key or payload. */
function assertNothingLeaks(): void {
  for (const span of spans()) {
    const text = JSON.stringify([span.attributes, span.links, span.status]);
    assert.ok(!text.includes(SECRET_KEY) && !text.includes(SECRET_DATA), span.name);
  }
}

async function gatewayWith(flags: string[], use: (gateway: RunningGateway) => Promise<void>) {
  const gateway = await startTestGateway(flags, { telemetry });
  try {
    await use(gateway);
  } finally {
    await gateway.stop();
  }
}

void suite("record spans", () => {
  void test("a successful batch: a SERVER span, a create span per record, one send span linking them", async () => {
    await gatewayWith(["--streams", "orders:4", "--throttle", "off"], async (gateway) => {
      const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
      const res = await producer.putRecords(records(10));

      const server = one(PUT_RECORDS);
      assert.equal(server.kind, SpanKind.SERVER);
      assert.equal(server.attributes["rpc.system.name"], "grpc");
      assert.equal(server.attributes["rpc.method"], PUT_RECORDS);
      assert.equal(server.attributes["rpc.status_code"], "OK");
      assert.equal(server.attributes["server.address"], "127.0.0.1");
      assert.equal(server.status.code, SpanStatusCode.UNSET);

      const creates = named("create orders");
      assert.equal(creates.length, 10);
      creates.forEach((span) => {
        assert.equal(span.kind, SpanKind.PRODUCER);
        assert.equal(parentOf(span), server.spanContext().spanId);
        assert.equal(span.spanContext().traceId, server.spanContext().traceId);
        assert.equal(span.attributes["messaging.system"], "aws.kinesis");
        assert.equal(span.attributes["messaging.operation.type"], "create");
        assert.equal(span.attributes["messaging.destination.name"], "orders");
        assert.equal(span.attributes["aws.kinesis.stream_name"], undefined, "on the send span");
      });
      // Each record's span carries that record's outcome.
      assert.deepEqual(
        creates
          .map((s) => [
            s.attributes["messaging.destination.partition.id"],
            s.attributes["messaging.message.id"],
          ])
          .sort(),
        res.records.map((r) => [r.shardId, r.sequenceNumber]).sort(),
      );

      const send = one("send orders");
      assert.equal(send.kind, SpanKind.CLIENT);
      assert.equal(parentOf(send), server.spanContext().spanId);
      assert.equal(send.attributes["messaging.operation.type"], "send");
      assert.equal(send.attributes["messaging.batch.message_count"], 10);
      assert.equal(send.attributes["aws.kinesis.stream_name"], "orders");
      assert.deepEqual(
        send.links.map((l) => l.context.spanId).sort(),
        creates.map((s) => s.spanContext().spanId).sort(),
      );
      assertNothingLeaks();
    });
  });

  void test("a 500-record send span keeps all 500 links", async () => {
    await gatewayWith(["--streams", "orders:4", "--throttle", "off"], async (gateway) => {
      const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
      await producer.putRecords(records(500));
      assert.equal(named("create orders").length, 500);
      assert.equal(one("send orders").links.length, 500);
    });
  });

  void test("a partly throttled batch: throttled records' spans fail with the AWS error code", async () => {
    await gatewayWith(
      ["--streams", "hot:1", "--shard-records-per-second", "4"],
      async (gateway) => {
        const { producer } = clientsFor(transports["Connect JSON over HTTP/1.1"]!(gateway.url));
        const res = await producer.putRecords(records(10, "hot"));
        assert.equal(res.failedRecordCount, 6);
        const creates = named("create hot");
        const failed = creates.filter((s) => s.status.code === SpanStatusCode.ERROR);
        assert.equal(failed.length, 6);
        for (const span of failed) {
          assert.equal(span.attributes["error.type"], "ProvisionedThroughputExceededException");
          assert.equal(span.attributes["messaging.message.id"], undefined);
        }
        const server = one(PUT_RECORDS);
        assert.equal(server.attributes["rpc.system.name"], "connectrpc");
        assert.equal(one("send hot").attributes["aws.kinesis.failed_record_count"], 6);
      },
    );
  });

  void test("a refused batch: every record's span says why; nothing is sent", async () => {
    await gatewayWith(["--streams", "orders:1"], async (gateway) => {
      const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
      const batch = records(3);
      batch.records[1]!.partitionKey = "";
      await assert.rejects(
        producer.putRecords(batch),
        (err) => ConnectError.from(err).code === Code.InvalidArgument,
      );
      const creates = named("create orders");
      assert.equal(creates.length, 3);
      for (const span of creates) {
        assert.equal(span.attributes["error.type"], "ValidationException");
        assert.equal(span.status.code, SpanStatusCode.ERROR);
      }
      assert.equal(named("send orders").length, 0);
      const server = one(PUT_RECORDS);
      assert.equal(server.attributes["rpc.status_code"], "INVALID_ARGUMENT");
      // A caller's mistake is not the server's error.
      assert.equal(server.status.code, SpanStatusCode.UNSET);
      assert.equal(server.attributes["error.type"], undefined);
    });
  });

  void test("a record carrying its caller's trace context continues that trace", async () => {
    await gatewayWith(["--streams", "orders:1"], async (gateway) => {
      const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
      const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
      const callerSpan = "00f067aa0ba902b7";
      const batch = records(2);
      Object.assign(batch.records[0]!, {
        traceContext: { traceparent: `00-${callerTrace}-${callerSpan}-01`, tracestate: "vendor=1" },
      });
      await producer.putRecords(batch);
      const server = one(PUT_RECORDS);
      const [own, inherited] = [...named("create orders")].sort((a) =>
        a.spanContext().traceId === callerTrace ? -1 : 1,
      );
      assert.equal(own!.spanContext().traceId, callerTrace);
      assert.equal(parentOf(own!), callerSpan);
      assert.equal(own!.spanContext().traceState?.get("vendor"), "1");
      assert.equal(inherited!.spanContext().traceId, server.spanContext().traceId);
      // The send span links both, across traces.
      assert.deepEqual(
        one("send orders")
          .links.map((l) => l.context.traceId)
          .sort(),
        [callerTrace, server.spanContext().traceId].sort(),
      );
    });
  });

  void test("Produce, aggregated: a create span per user record in its own trace, ended at its ack; the send span links them", async () => {
    await gatewayWith(
      ["--streams", "orders:1", "--aggregate", "orders", "--linger-ms", "50"],
      async (gateway) => {
        const client = createClient(ProducerService, createGrpcTransport({ baseUrl: gateway.url }));
        const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
        const callerSpan = "00f067aa0ba902b7";
        async function* requests() {
          yield create(ProduceRequestSchema, {
            streamName: "orders",
            records: [0, 1, 2].map((i) => ({
              id: BigInt(i),
              partitionKey: `${SECRET_KEY}-${i}`,
              data: Buffer.from(`${SECRET_DATA} ${i}`),
              ...(i === 0
                ? { traceContext: { traceparent: `00-${callerTrace}-${callerSpan}-01` } }
                : {}),
            })),
          });
        }
        const acks = [];
        for await (const response of client.produce(requests())) acks.push(...response.acks);
        assert.equal(acks.length, 3);
        assert.equal(
          new Set(acks.map((ack) => ack.sequenceNumber)).size,
          1,
          "one aggregated record",
        );
        const creates = named("create orders");
        assert.equal(creates.length, 3, "a create span per user record");
        const own = creates.find((span) => span.spanContext().traceId === callerTrace);
        assert.ok(own, "the record with a trace context continues its caller's trace");
        assert.equal(parentOf(own), callerSpan);
        for (const span of creates) {
          assert.equal(span.kind, SpanKind.PRODUCER);
          assert.equal(span.attributes["messaging.message.id"], acks[0]!.sequenceNumber);
        }
        // One Kinesis record sent, linking the three user records' spans.
        const send = one("send orders");
        assert.equal(send.attributes["messaging.batch.message_count"], 1);
        assert.deepEqual(
          send.links.map((link) => link.context.spanId).sort(),
          creates.map((span) => span.spanContext().spanId).sort(),
        );
        assertNothingLeaks();
      },
    );
  });

  void test("an invalid caller trace context is ignored: the record stays in the call's trace", async () => {
    await gatewayWith(["--streams", "orders:1"], async (gateway) => {
      const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
      const batch = records(1);
      Object.assign(batch.records[0]!, { traceContext: { traceparent: "not-a-traceparent" } });
      await producer.putRecords(batch);
      assert.equal(
        one("create orders").spanContext().traceId,
        one(PUT_RECORDS).spanContext().traceId,
      );
    });
  });

  void test("a retry of failed records is its own send span, linking only the retried records", async () => {
    const flags = ["--streams", "hot:1", "--shard-records-per-second", "5"];
    await gatewayWith(
      [...flags, "--retry-failed-records", "3", "--retry-base-delay-ms", "400"],
      async (gateway) => {
        const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
        const res = await producer.putRecords(records(6, "hot"));
        const sends = named("send hot").sort(
          (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
        );
        assert.ok(sends.length >= 2, `${sends.length} send spans`);
        assert.equal(sends[0]!.links.length, 6);
        assert.equal(sends[1]!.links.length, 1);
        assert.equal(res.failedRecordCount, 0, "the retry wrote the throttled record");
      },
    );
  });

  void test("with record spans off, the send span is the PRODUCER span and carries the batch", async () => {
    await gatewayWith(["--streams", "orders:1", "--record-spans", "off"], async (gateway) => {
      const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
      await producer.putRecords(records(3));
      assert.equal(named("create orders").length, 0);
      const send = one("send orders");
      assert.equal(send.kind, SpanKind.PRODUCER);
      assert.equal(send.attributes["messaging.batch.message_count"], 3);
      assert.equal(send.links.length, 0);
    });
  });
});

void suite("send spans when forwarding", () => {
  void test("carry the region, the endpoint and the AWS request id, or the upstream's error", async () => {
    const upstream = await startFakeUpstream();
    try {
      await gatewayWith(
        ["--backend", "kinesis", "--kinesis-endpoint", upstream.endpoint, "--region", "eu-west-1"],
        async (gateway) => {
          const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
          upstream.answer = {
            status: 200,
            body: {
              FailedRecordCount: 0,
              Records: [{ SequenceNumber: "1".repeat(56), ShardId: "shardId-000000000005" }],
            },
          };
          await producer.putRecords(records(1));
          const ok = one("send orders");
          assert.equal(ok.attributes["cloud.region"], "eu-west-1");
          assert.equal(ok.attributes["server.address"], "127.0.0.1");
          assert.equal(ok.attributes["server.port"], Number(new URL(upstream.endpoint).port));
          assert.equal(ok.attributes["aws.request_id"], "fake-request-id");
          assert.equal(
            one("create orders").attributes["messaging.destination.partition.id"],
            "shardId-000000000005",
          );
          exporter.reset();

          upstream.answer = { status: 500, body: { __type: "InternalFailure", message: "boom" } };
          await assert.rejects(producer.putRecords(records(2)));
          const failed = one("send orders");
          assert.equal(failed.attributes["error.type"], "InternalFailure");
          assert.equal(failed.status.code, SpanStatusCode.ERROR);
          for (const span of named("create orders"))
            assert.equal(span.attributes["error.type"], "InternalFailure");
          const server = one(PUT_RECORDS);
          assert.equal(server.attributes["rpc.status_code"], "UNAVAILABLE");
          assert.equal(server.attributes["error.type"], "UNAVAILABLE");
          assert.equal(server.status.code, SpanStatusCode.ERROR);
        },
      );
    } finally {
      await upstream.close();
    }
  });
});

void suite("RPC spans", () => {
  void test("continue the caller's W3C trace from the request headers", async () => {
    await gatewayWith(["--streams", "orders:1"], async (gateway) => {
      const res = await fetch(`${gateway.url}/kinesis.gateway.v1.StreamService/ListStreams`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        },
        body: "{}",
      });
      assert.equal(res.status, 200);
      const server = one("kinesis.gateway.v1.StreamService/ListStreams");
      assert.equal(server.spanContext().traceId, "0af7651916cd43dd8448eb211c80319c");
      assert.equal(parentOf(server), "b7ad6b7169203331");
      assert.equal(server.attributes["rpc.system.name"], "connectrpc");
    });
  });

  void test("the Kinesis wire API gets a SERVER span too, with the record spans under it", async () => {
    await gatewayWith(["--streams", "orders:1"], async (gateway) => {
      const res = await fetch(`${gateway.url}/`, {
        method: "POST",
        headers: {
          "content-type": "application/x-amz-json-1.1",
          "x-amz-target": "Kinesis_20131202.PutRecords",
          authorization: "AWS4-HMAC-SHA256 Credential=x",
        },
        body: JSON.stringify({
          StreamName: "orders",
          Records: [
            { Data: Buffer.from(SECRET_DATA).toString("base64"), PartitionKey: SECRET_KEY },
          ],
        }),
      });
      assert.equal(res.status, 200);
      const server = one("Kinesis_20131202.PutRecords");
      assert.equal(server.kind, SpanKind.SERVER);
      assert.equal(server.attributes["rpc.system.name"], "aws-api");
      assert.equal(server.attributes["http.response.status_code"], 200);
      assert.equal(parentOf(one("create orders")), server.spanContext().spanId);
      assertNothingLeaks();
    });
  });

  void test("a wire API subscription is one SERVER span for its whole life, saying how it ended", async () => {
    const flags = ["--streams", "orders:1", "--subscription-lifetime-ms", "300"];
    await gatewayWith(flags, async (gateway) => {
      const admin = sdkClient(gateway.url);
      const summary = await admin.send(new DescribeStreamSummaryCommand({ StreamName: "orders" }));
      const consumerArn = await activeConsumer(
        admin,
        summary.StreamDescriptionSummary!.StreamARN!,
        "traced",
      );
      const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
      await producer.putRecords(records(1));
      const answer = await rawSubscribe({
        url: gateway.url,
        format: "json",
        http: "1.1",
        body: Buffer.from(
          JSON.stringify({
            ConsumerARN: consumerArn,
            ShardId: "shardId-000000000000",
            StartingPosition: { Type: "TRIM_HORIZON" },
          }),
        ),
      });
      await allMessages(answer);
      answer.close();
      await until(
        async () => named("Kinesis_20131202.SubscribeToShard").length,
        (n) => n > 0,
      );
      const server = one("Kinesis_20131202.SubscribeToShard");
      assert.equal(server.kind, SpanKind.SERVER);
      assert.equal(server.attributes["rpc.method"], "Kinesis_20131202.SubscribeToShard");
      assert.equal(server.attributes["rpc.status_code"], "OK");
      assert.equal(server.attributes["kinesis_gateway.subscription.end"], "lifetime");
      assert.equal(server.attributes["kinesis_gateway.subscription.records"], 1);
      assert.ok(Number(server.attributes["kinesis_gateway.subscription.events"]) >= 1);
      assertNothingLeaks();
    });
  });
});
