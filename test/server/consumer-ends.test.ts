/**
 * How a subscription ends when its caller cuts it short: DEADLINE_EXCEEDED
 * when the deadline passes, CANCELLED when the caller cancels, never OK (a
 * client reads OK as a closed shard read to its end), in the answer and in
 * the RPC metrics alike.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { pino } from "pino";
import {
  ConsumerService,
  GetRecordsRequestSchema,
  ShardIteratorType,
  SubscribeToShardRequestSchema,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { ProducerService } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { startTelemetry, type Telemetry } from "../../src/telemetry/telemetry.ts";
import { transports, useGateway } from "../helpers/gateway.ts";
import { envelope, grpcStatusOf, rawGrpcCall } from "../helpers/raw-grpc.ts";

const SUBSCRIBE = "/kinesis.gateway.v1.ConsumerService/SubscribeToShard";

let telemetry: Telemetry;
before(async () => {
  telemetry = await startTelemetry({ logger: pino({ level: "silent" }) }); // metrics for /metrics
});
after(() => telemetry.shutdown());

function grpcJsConsumer(address: string) {
  const definition = protoLoader.loadSync(["kinesis/gateway/v1/consumer.proto"], {
    includeDirs: [fileURLToPath(new URL("../../proto", import.meta.url))],
    keepCase: true,
    enums: String,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    kinesis: { gateway: { v1: { ConsumerService: grpc.ServiceClientConstructor } } };
  };
  return new pkg.kinesis.gateway.v1.ConsumerService(
    address,
    grpc.credentials.createInsecure(),
  ) as unknown as grpc.Client & {
    SubscribeToShard(
      request: object,
      options?: grpc.CallOptions,
    ): grpc.ClientReadableStream<unknown>;
  };
}

/** How a grpc-js call ended: its status code, once it has. */
function statusOf(call: grpc.ClientReadableStream<unknown>): Promise<grpc.status> {
  call.on("data", () => {});
  call.on("error", () => {}); // the status says it
  return new Promise((resolve) => call.on("status", (s: grpc.StatusObject) => resolve(s.code)));
}

void suite("SubscribeToShard cut short", () => {
  const gateway = useGateway(["--streams", "quiet:1", "--throttle", "off"], {
    get telemetry() {
      return telemetry;
    },
  });
  const request = {
    streamName: "quiet",
    shardId: "shardId-000000000000",
    startingPosition: { type: ShardIteratorType.LATEST },
  };

  /** How many SubscribeToShard calls the RPC metric has counted with `status`. */
  const counted = async (status: string) => {
    const text = await (await fetch(`${gateway.current.url}/metrics`)).text();
    return text
      .split("\n")
      .filter(
        (l) =>
          l.startsWith("rpc_server_call_duration_count{") &&
          l.includes(`rpc_method="kinesis.gateway.v1.ConsumerService/SubscribeToShard"`) &&
          l.includes(`rpc_status_code="${status}"`),
      )
      .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
  };
  /** Waits until the metric has counted `count` more calls with `status` than `before`. */
  const untilCounted = async (status: string, before: number, count: number) => {
    for (let tries = 0; tries < 50 && (await counted(status)) < before + count; tries++) {
      await sleep(20);
    }
    return (await counted(status)) - before;
  };

  void test("a subscription whose deadline passes ends DEADLINE_EXCEEDED, in the answer and the metrics", async () => {
    const [okBefore, deadlineBefore] = [await counted("OK"), await counted("DEADLINE_EXCEEDED")];
    // A raw client that lets the gateway's timer end the call, as a Go client often does.
    const body = envelope(
      toBinary(SubscribeToShardRequestSchema, create(SubscribeToShardRequestSchema, request)),
    );
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        rawGrpcCall(gateway.current.url, {
          path: SUBSCRIBE,
          headers: { "grpc-timeout": "200m" },
          body,
        }),
      ),
    );
    assert.deepEqual(
      answers.map(grpcStatusOf),
      Array(10).fill(String(grpc.status.DEADLINE_EXCEEDED)),
    );
    assert.equal(await untilCounted("DEADLINE_EXCEEDED", deadlineBefore, 10), 10);
    assert.equal(await counted("OK"), okBefore);
  });

  void test("grpc-js subscribers with a 200 ms deadline end DEADLINE_EXCEEDED, never OK", async () => {
    const [okBefore, deadlineBefore] = [await counted("OK"), await counted("DEADLINE_EXCEEDED")];
    const client = grpcJsConsumer(new URL(gateway.current.url).host);
    try {
      const codes = await Promise.all(
        Array.from({ length: 20 }, () =>
          statusOf(
            client.SubscribeToShard(
              {
                stream_name: "quiet",
                shard_id: "shardId-000000000000",
                starting_position: { type: "SHARD_ITERATOR_TYPE_LATEST" },
              },
              { deadline: Date.now() + 200 },
            ),
          ),
        ),
      );
      assert.deepEqual(codes, Array(20).fill(grpc.status.DEADLINE_EXCEEDED));
      // Also those whose client reset the stream just before the gateway's timer fired.
      assert.equal(await untilCounted("DEADLINE_EXCEEDED", deadlineBefore, 20), 20);
      assert.equal(await counted("OK"), okBefore);
    } finally {
      client.close();
    }
  });

  void test("a cancelled subscription is counted CANCELLED, not OK", async () => {
    const [okBefore, cancelledBefore] = [await counted("OK"), await counted("CANCELLED")];
    // grpc-js, then Connect's gRPC client: each resets the stream with CANCEL.
    const client = grpcJsConsumer(new URL(gateway.current.url).host);
    const call = client.SubscribeToShard({
      stream_name: "quiet",
      shard_id: "shardId-000000000000",
      starting_position: { type: "SHARD_ITERATOR_TYPE_LATEST" },
    });
    await new Promise((resolve) => call.once("data", resolve)); // live
    call.cancel();
    assert.equal(await statusOf(call), grpc.status.CANCELLED);
    client.close();

    const abort = new AbortController();
    const consumer = createClient(
      ConsumerService,
      transports["gRPC over h2c"]!(gateway.current.url),
    );
    const events = consumer
      .subscribeToShard(request, { signal: abort.signal })
      [Symbol.asyncIterator]();
    await events.next(); // live
    abort.abort();
    await assert.rejects(events.next());

    assert.equal(await untilCounted("CANCELLED", cancelledBefore, 2), 2);
    assert.equal(await counted("OK"), okBefore);
  });
});

void suite("SubscribeToShard cancelled over a backlog", () => {
  const gateway = useGateway(["--streams", "backlog:1", "--throttle", "off"]);

  // Node counts an answer queued for a reset stream against the session's
  // memory for good; with its default cap, the sixth subscription or so
  // was reset with ENHANCE_YOUR_CALM, and every call after it on the connection.
  void test("40 subscriptions on one connection, each cancelled as its 4 MiB events queue, all end CANCELLED", async () => {
    const producer = createClient(
      ProducerService,
      transports["gRPC over h2c"]!(gateway.current.url),
    );
    for (let i = 0; i < 3; i++) {
      await producer.putRecords({
        streamName: "backlog",
        records: Array.from({ length: 4 }, () => ({
          partitionKey: "k",
          data: new Uint8Array(1024 * 1024 - 16),
        })),
      });
    }
    const client = grpcJsConsumer(new URL(gateway.current.url).host);
    const codes: grpc.status[] = [];
    for (let i = 0; i < 40; i++) {
      const call = client.SubscribeToShard({
        stream_name: "backlog",
        shard_id: "shardId-000000000000",
        starting_position: { type: "SHARD_ITERATOR_TYPE_TRIM_HORIZON" },
      });
      setTimeout(() => call.cancel(), 10);
      codes.push(await statusOf(call));
    }
    client.close();
    assert.deepEqual(
      codes.filter((c) => c !== grpc.status.CANCELLED),
      [],
      "every call ends CANCELLED",
    );
  });

  // Each read admitted to the budget of answers being made gives its bytes
  // back whatever its client does; a leak would leave the last read waiting.
  void test("after 40 large reads dropped mid-answer, a large read is still made at once", async () => {
    const consumer = createClient(
      ConsumerService,
      transports["gRPC over h2c"]!(gateway.current.url),
    );
    const { shardIterator } = await consumer.getShardIterator({
      streamName: "backlog",
      shardId: "shardId-000000000000",
      shardIteratorType: ShardIteratorType.TRIM_HORIZON,
    });
    const request = envelope(
      toBinary(
        GetRecordsRequestSchema,
        create(GetRecordsRequestSchema, { shardIterator, maxMessageBytes: 10 * 1024 * 1024 }),
      ),
    );
    await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<void>((resolve) => {
            const session = http2.connect(gateway.current.url);
            session.on("error", () => {});
            session.on("close", () => resolve());
            const stream = session.request({
              ":method": "POST",
              ":path": "/kinesis.gateway.v1.ConsumerService/GetRecords",
              "content-type": "application/grpc",
              te: "trailers",
            });
            stream.on("error", () => {});
            stream.once("data", () => session.destroy());
            stream.once("close", () => session.destroy());
            stream.end(request);
          }),
      ),
    );
    const answer = await consumer.getRecords(
      { shardIterator, maxMessageBytes: 10 * 1024 * 1024 },
      { timeoutMs: 5_000 },
    );
    assert.ok(answer.records.length > 0);
  });
});
