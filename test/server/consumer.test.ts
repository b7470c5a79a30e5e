/**
 * ConsumerService over gRPC: GetShardIterator and GetRecords, and
 * SubscribeToShard pushing records as they arrive, with a stalled reader
 * that must not make the gateway read on without bound.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, suite, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { pino } from "pino";
import {
  ConsumerService,
  ShardIteratorType,
  SubscribeToShardRequestSchema,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { startTelemetry, type Telemetry } from "../../src/telemetry/telemetry.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";

let telemetry: Telemetry;
before(async () => {
  telemetry = await startTelemetry({ logger: pino({ level: "silent" }) }); // metrics for /metrics
});
after(() => telemetry.shutdown());

void suite("ConsumerService", () => {
  const gateway = useGateway(["--streams", "orders:2,stalled:1", "--throttle", "off"], {
    get telemetry() {
      return telemetry;
    },
  });
  const consumerOf = (url: string) =>
    createClient(ConsumerService, transports["gRPC over h2c"]!(url));

  void test("GetShardIterator and GetRecords read back what was written", async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const consumer = consumerOf(gateway.current.url);
    const put = await producer.putRecord({
      streamName: "orders",
      partitionKey: "a",
      data: Buffer.from("hello"),
    });
    const { shardIterator } = await consumer.getShardIterator({
      streamName: "orders",
      shardId: put.shardId,
      shardIteratorType: ShardIteratorType.AT_SEQUENCE_NUMBER,
      startingSequenceNumber: put.sequenceNumber,
    });
    const got = await consumer.getRecords({ shardIterator, limit: 10 });
    assert.equal(got.records[0]?.sequenceNumber, put.sequenceNumber);
    assert.equal(Buffer.from(got.records[0]!.data).toString(), "hello");
    assert.equal(got.records[0]?.partitionKey, "a");
    assert.ok(got.records[0]?.approximateArrivalTimestamp);
    assert.notEqual(got.nextShardIterator, "");
    assert.equal(got.millisBehindLatest, 0n);
  });

  void test("SubscribeToShard delivers records written after it started, in order", async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const consumer = consumerOf(gateway.current.url);
    const abort = new AbortController();
    const received: string[] = [];
    const events = consumer.subscribeToShard(
      {
        streamName: "orders",
        shardId: "shardId-000000000000",
        startingPosition: { type: ShardIteratorType.LATEST },
      },
      { signal: abort.signal },
    );
    const iterator = events[Symbol.asyncIterator]();
    const live = await iterator.next(); // the first event says the subscription is live
    assert.equal(live.done, false);

    const sent: string[] = [];
    for (let batch = 0; batch < 3; batch++) {
      const records = Array.from({ length: 20 }, (_, i) => ({
        data: Buffer.from(`${batch}-${i}`),
        partitionKey: "a", // shard 0 of 2
        explicitHashKey: "0",
      }));
      const res = await producer.putRecords({ streamName: "orders", records });
      assert.equal(res.failedRecordCount, 0);
      sent.push(...records.map((r) => r.data.toString()));
    }
    let continuation = "";
    while (received.length < sent.length) {
      const next = await iterator.next();
      assert.equal(next.done, false);
      for (const record of next.value.records) received.push(Buffer.from(record.data).toString());
      continuation = next.value.continuationSequenceNumber;
    }
    abort.abort();
    assert.deepEqual(received, sent);
    assert.match(continuation, /^\d{56}$/);
  });

  void test("a subscriber that stops reading stops the reads made for it", async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const getRecordsCalls = async () => {
      const text = await (await fetch(`${gateway.current.url}/metrics`)).text();
      const line = text
        .split("\n")
        .find(
          (l) =>
            l.startsWith("kinesis_gateway_backend_call_duration_count{") &&
            l.includes('rpc_method="GetRecords"'),
        );
      return Number(line?.split(" ").at(-1) ?? 0);
    };
    // A raw HTTP/2 subscriber with a small window that never reads.
    const session = http2.connect(gateway.current.url, {
      settings: { initialWindowSize: 16 * 1024 },
    });
    const message = toBinary(
      SubscribeToShardRequestSchema,
      create(SubscribeToShardRequestSchema, {
        streamName: "stalled",
        shardId: "shardId-000000000000",
        startingPosition: { type: ShardIteratorType.TRIM_HORIZON },
      }),
    );
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    const stream = session.request({
      ":method": "POST",
      ":path": "/kinesis.gateway.v1.ConsumerService/SubscribeToShard",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.end(frame);
    stream.pause(); // read nothing

    const writeMiB = async (mib: number) => {
      for (let i = 0; i < mib * 2; i++) {
        await producer.putRecords({
          streamName: "stalled",
          records: Array.from({ length: 16 }, (_, j) => ({
            data: new Uint8Array(32 * 1024),
            partitionKey: `${i}-${j}`,
          })),
        });
      }
    };
    await writeMiB(8);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const stalledAt = await getRecordsCalls();
    await writeMiB(8);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const later = await getRecordsCalls();
    // Nothing more is read for it, so nothing more is held for it.
    assert.ok(stalledAt > 0, "the subscription did read before it stalled");
    assert.ok(
      later - stalledAt <= 1,
      `the stalled subscription kept reading: ${stalledAt} → ${later} GetRecords calls`,
    );
    stream.destroy();
    session.destroy();
  });
});
