/**
 * Reading back through a gateway that forwards to a real emulator: the AWS
 * SDK against the gateway's wire API, gRPC GetShardIterator/GetRecords
 * passed through, and SubscribeToShard by polling.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  PutRecordsCommand,
} from "@aws-sdk/client-kinesis";
import { createClient } from "@connectrpc/connect";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import {
  ConsumerService,
  ShardIteratorType,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import type { RunningGateway } from "../../src/main.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { clientsFor, startTestGateway, transports } from "../helpers/gateway.ts";

void suite("reading back through a forwarding gateway", () => {
  const emulator = useEmulator();
  let gateway: RunningGateway;
  let viaGateway: KinesisClient;
  before(async () => {
    gateway = await startTestGateway([
      "--backend",
      "kinesis",
      "--kinesis-endpoint",
      emulator.current.endpoint,
    ]);
    viaGateway = new KinesisClient({
      endpoint: gateway.url,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    });
    await viaGateway.send(new CreateStreamCommand({ StreamName: "reads", ShardCount: 1 }));
    await waitUntilStreamActive(emulator.current.client(), "reads");
  });
  after(async () => {
    viaGateway.destroy();
    await gateway.stop();
  });

  void test("an AWS SDK application pointed at the gateway produces and consumes unchanged", async () => {
    const put = await viaGateway.send(
      new PutRecordsCommand({
        StreamName: "reads",
        Records: [
          { Data: Buffer.from("blob1"), PartitionKey: "partitionkey1" },
          { Data: Buffer.from("blob2"), PartitionKey: "partitionkey2" },
        ],
      }),
    );
    assert.equal(put.FailedRecordCount, 0);
    const { ShardIterator } = await viaGateway.send(
      new GetShardIteratorCommand({
        StreamName: "reads",
        ShardId: "shardId-000000000000",
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    const got = await viaGateway.send(new GetRecordsCommand({ ShardIterator }));
    assert.deepEqual(
      got.Records?.map((r) => [Buffer.from(r.Data ?? []).toString(), r.SequenceNumber]),
      [
        ["blob1", put.Records?.[0]?.SequenceNumber],
        ["blob2", put.Records?.[1]?.SequenceNumber],
      ],
    );
  });

  void test("gRPC SubscribeToShard delivers, in order, records written after it started", async () => {
    const consumer = createClient(ConsumerService, transports["gRPC over h2c"]!(gateway.url));
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
    const abort = new AbortController();
    const events = consumer
      .subscribeToShard(
        {
          streamName: "reads",
          shardId: "shardId-000000000000",
          startingPosition: { type: ShardIteratorType.LATEST },
        },
        { signal: abort.signal },
      )
      [Symbol.asyncIterator]();
    await events.next(); // live
    const sent = ["one", "two", "three"];
    for (const data of sent)
      await producer.putRecord({ streamName: "reads", partitionKey: "k", data: Buffer.from(data) });
    const received: string[] = [];
    while (received.length < sent.length) {
      const next = await events.next();
      assert.equal(next.done, false);
      for (const r of next.value.records) received.push(Buffer.from(r.data).toString());
    }
    abort.abort();
    assert.deepEqual(received, sent);
  });
});
