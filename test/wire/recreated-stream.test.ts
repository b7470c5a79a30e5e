/**
 * A stream deleted and created again at once (the gateway's streams change
 * state without delay by default) refuses the old stream's checkpoints and
 * iterators over the wire: the AWS SDK sees AWS's InvalidArgumentException,
 * and SubscribeToShard from an old checkpoint ends with INVALID_ARGUMENT.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  PutRecordCommand,
} from "@aws-sdk/client-kinesis";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  ConsumerService,
  ShardIteratorType,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { transports, useGateway } from "../helpers/gateway.ts";

const ACCOUNT = "000000000000";
const SHARD0 = "shardId-000000000000";

async function rejectsWithAws(call: Promise<unknown>, name: string, message: string) {
  await assert.rejects(call, (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(err.name, name);
    assert.equal(err.message, message);
    assert.equal(err.$metadata?.httpStatusCode, 400);
    return true;
  });
}

void suite("a recreated stream over the wire", () => {
  const gateway = useGateway();
  const kinesisOf = (endpoint: string) =>
    new KinesisClient({
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      maxAttempts: 1,
    });

  /** Creates `streamName` with one record, recreates it, and returns the old checkpoint and iterator. */
  async function recreatedWithOldPositions(kinesis: KinesisClient, streamName: string) {
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 1 }));
    const { SequenceNumber } = await kinesis.send(
      new PutRecordCommand({ StreamName: streamName, Data: Buffer.from("old"), PartitionKey: "k" }),
    );
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: SHARD0,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    await kinesis.send(new DeleteStreamCommand({ StreamName: streamName }));
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 1 }));
    await kinesis.send(
      new PutRecordCommand({ StreamName: streamName, Data: Buffer.from("new"), PartitionKey: "k" }),
    );
    return { checkpoint: SequenceNumber!, oldIterator: ShardIterator! };
  }

  void test("the AWS SDK gets AWS's InvalidArgumentException for the old checkpoint and iterator", async () => {
    const kinesis = kinesisOf(gateway.current.url);
    const { checkpoint, oldIterator } = await recreatedWithOldPositions(kinesis, "recreated-sdk");
    await rejectsWithAws(
      kinesis.send(
        new GetShardIteratorCommand({
          StreamName: "recreated-sdk",
          ShardId: SHARD0,
          ShardIteratorType: "AFTER_SEQUENCE_NUMBER",
          StartingSequenceNumber: checkpoint,
        }),
      ),
      "InvalidArgumentException",
      `StartingSequenceNumber ${checkpoint} used in GetShardIterator on shard ${SHARD0} in stream ` +
        `recreated-sdk under account ${ACCOUNT} is invalid because it did not come from this stream.`,
    );
    await rejectsWithAws(
      kinesis.send(new GetRecordsCommand({ ShardIterator: oldIterator })),
      "InvalidArgumentException",
      "Invalid ShardIterator.",
    );
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: "recreated-sdk",
        ShardId: SHARD0,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    const { Records } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    assert.deepEqual(
      Records?.map((r) => Buffer.from(r.Data ?? []).toString()),
      ["new"],
    );
  });

  void test("SubscribeToShard from the old checkpoint ends with INVALID_ARGUMENT and AWS's text", async () => {
    const kinesis = kinesisOf(gateway.current.url);
    const { checkpoint } = await recreatedWithOldPositions(kinesis, "recreated-efo");
    const consumer = createClient(
      ConsumerService,
      transports["gRPC over h2c"]!(gateway.current.url),
    );
    const events = consumer.subscribeToShard({
      streamName: "recreated-efo",
      shardId: SHARD0,
      startingPosition: {
        type: ShardIteratorType.AFTER_SEQUENCE_NUMBER,
        sequenceNumber: checkpoint,
      },
    });
    await assert.rejects(
      async () => {
        for await (const _ of events) assert.fail("the old checkpoint started a subscription");
      },
      (err: unknown) => {
        assert.ok(err instanceof ConnectError, String(err));
        assert.equal(err.code, Code.InvalidArgument);
        assert.equal(
          err.rawMessage,
          `StartingSequenceNumber ${checkpoint} used in GetShardIterator on shard ${SHARD0} in ` +
            `stream recreated-efo under account ${ACCOUNT} is invalid because it did not come ` +
            "from this stream.",
        );
        return true;
      },
    );
  });
});
