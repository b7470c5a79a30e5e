/**
 * Reads larger than a gRPC message: a backlog of 12 × 1 MiB records, read by
 * clients with gRPC's default 4 MiB receive limit (grpc-js has it too) and by
 * ones that raised it, with GetRecords and SubscribeToShard.
 */
import assert from "node:assert/strict";
import { before, suite, test } from "node:test";
import { fileURLToPath } from "node:url";
import { toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  ConsumerService,
  GetRecordsResponseSchema,
  ShardIteratorType,
  SubscribeToShardResponseSchema,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";

const MiB = 1024 * 1024;
const DEFAULT_LIMIT = 4 * MiB;

/** A grpc-js ConsumerService client, with grpc-js's default 4 MiB receive limit. */
function grpcJsConsumer(url: string) {
  const definition = protoLoader.loadSync(["kinesis/gateway/v1/consumer.proto"], {
    includeDirs: [fileURLToPath(new URL("../../proto", import.meta.url))],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    kinesis: { gateway: { v1: { ConsumerService: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.kinesis.gateway.v1.ConsumerService(
    new URL(url).host,
    grpc.credentials.createInsecure(),
  ) as unknown as Record<string, (...args: unknown[]) => unknown> & grpc.Client;
  const unary = (method: string, request: object) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      client[method]!(request, (err: grpc.ServiceError | null, res: Record<string, unknown>) =>
        err ? reject(err) : resolve(res),
      );
    });
  return {
    unary,
    subscribe: (request: object) =>
      client.SubscribeToShard!(request) as grpc.ClientReadableStream<Record<string, unknown>>,
    close: () => client.close(),
  };
}

interface GrpcJsRecord {
  sequence_number: string;
  partition_key: string;
  data: Buffer;
}

void suite("reads larger than a gRPC message", () => {
  const gateway = useGateway(["--streams", "backlog:1,small:1", "--throttle", "off"]);
  const consumer = () =>
    createClient(ConsumerService, transports["gRPC over h2c"]!(gateway.current.url));
  /** The backlog's sequence numbers, in order. */
  const backlog: string[] = [];
  /** The small stream's: 5,000-byte records. */
  const small: string[] = [];

  before(async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    // 12 records of 1 MiB (data and key), 4 a call: a request holds at most 5 MiB.
    for (let call = 0; call < 3; call++) {
      const res = await producer.putRecords({
        streamName: "backlog",
        records: Array.from({ length: 4 }, (_, i) => ({
          data: new Uint8Array(MiB - 3).fill(call * 4 + i),
          partitionKey: String(call * 4 + i).padStart(3, "0"),
        })),
      });
      assert.equal(res.failedRecordCount, 0);
      backlog.push(...res.records.map((r) => r.sequenceNumber));
    }
    const res = await producer.putRecords({
      streamName: "small",
      records: Array.from({ length: 5 }, (_, i) => ({
        data: new Uint8Array(5000).fill(i),
        partitionKey: String(i),
      })),
    });
    small.push(...res.records.map((r) => r.sequenceNumber));
  });

  const trimHorizon = async (streamName: string) =>
    (
      await consumer().getShardIterator({
        streamName,
        shardId: "shardId-000000000000",
        shardIteratorType: ShardIteratorType.TRIM_HORIZON,
      })
    ).shardIterator;

  void test("a client with gRPC's default 4 MiB limit reads a 12 MiB backlog, each record once and in order", async () => {
    const client = grpcJsConsumer(gateway.current.url);
    try {
      let iterator = await trimHorizon("backlog");
      const read: GrpcJsRecord[] = [];
      const behind: string[] = [];
      for (let call = 0; call < 10 && read.length < backlog.length; call++) {
        const res = await client.unary("GetRecords", { shard_iterator: iterator });
        read.push(...(res.records as GrpcJsRecord[]));
        behind.push(res.millis_behind_latest as string);
        iterator = res.next_shard_iterator as string;
      }
      assert.deepEqual(
        read.map((r) => r.sequence_number),
        backlog,
      );
      read.forEach((r, i) => {
        assert.equal(r.partition_key, String(i).padStart(3, "0"));
        assert.equal(r.data.length, MiB - 3);
        assert.equal(r.data[0], i);
      });
      // Answers with records after them are behind; the last one has caught up.
      assert.ok(
        behind.slice(0, -1).every((ms) => Number(ms) > 0),
        behind.join(),
      );
      assert.equal(behind.at(-1), "0");
      const after = await client.unary("GetRecords", { shard_iterator: iterator });
      assert.deepEqual(after.records, []);
    } finally {
      client.close();
    }
  });

  void test("each GetRecords answer fits max_message_bytes as encoded, 4 MiB unless raised", async () => {
    for (const [maxMessageBytes, budget, perAnswer] of [
      [0, DEFAULT_LIMIT, [3, 3, 3, 3]],
      [10 * MiB, 10 * MiB, [9, 3]],
    ] as const) {
      let shardIterator = await trimHorizon("backlog");
      const read: string[] = [];
      const counts: number[] = [];
      while (read.length < backlog.length) {
        const res = await consumer().getRecords({ shardIterator, maxMessageBytes });
        assert.ok(res.records.length > 0, "no progress");
        assert.ok(toBinary(GetRecordsResponseSchema, res).length <= budget);
        read.push(...res.records.map((r) => r.sequenceNumber));
        counts.push(res.records.length);
        shardIterator = res.nextShardIterator;
      }
      assert.deepEqual(read, backlog);
      assert.deepEqual(counts, perAnswer, `max_message_bytes ${maxMessageBytes}`);
    }
  });

  void test("a record larger than max_message_bytes comes alone, and the next answer continues after it", async () => {
    let shardIterator = await trimHorizon("small");
    const read: string[] = [];
    for (let call = 0; call < small.length; call++) {
      const res = await consumer().getRecords({ shardIterator, maxMessageBytes: 1000 });
      assert.equal(res.records.length, 1);
      read.push(res.records[0]!.sequenceNumber);
      shardIterator = res.nextShardIterator;
    }
    assert.deepEqual(read, small);
  });

  void test("SubscribeToShard splits a read into events that each fit, each resuming after its last record", async () => {
    for (const [maxMessageBytes, budget, stream, sent] of [
      [0, DEFAULT_LIMIT, "backlog", backlog],
      [1000, 1000, "small", small],
    ] as const) {
      const abort = new AbortController();
      const events = consumer().subscribeToShard(
        {
          streamName: stream,
          shardId: "shardId-000000000000",
          startingPosition: { type: ShardIteratorType.TRIM_HORIZON },
          maxMessageBytes,
        },
        { signal: abort.signal },
      );
      const read: string[] = [];
      try {
        for await (const event of events) {
          const size = toBinary(SubscribeToShardResponseSchema, event).length;
          // One record alone may be larger than the budget; more than one never is.
          assert.ok(size <= budget || event.records.length === 1, `${size} > ${budget}`);
          read.push(...event.records.map((r) => r.sequenceNumber));
          assert.equal(event.continuationSequenceNumber, read.at(-1));
          if (read.length < sent.length) assert.ok(event.millisBehindLatest > 0n);
          if (read.length === sent.length) break;
        }
      } finally {
        abort.abort();
      }
      assert.deepEqual(read, sent);
    }
  });

  void test("a subscriber with gRPC's default 4 MiB limit reads a 12 MiB backlog", async () => {
    const client = grpcJsConsumer(gateway.current.url);
    const call = client.subscribe({
      stream_name: "backlog",
      shard_id: "shardId-000000000000",
      starting_position: { type: "SHARD_ITERATOR_TYPE_TRIM_HORIZON" },
    });
    try {
      const read: string[] = [];
      for await (const event of call) {
        read.push(...(event.records as GrpcJsRecord[]).map((r) => r.sequence_number));
        if (read.length >= backlog.length) break;
      }
      assert.deepEqual(read, backlog);
    } finally {
      call.cancel();
      client.close();
    }
  });
});
