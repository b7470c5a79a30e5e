import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  EncryptionType,
  KinesisErrorDetailSchema,
} from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import { StreamMode, StreamStatus } from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";
import { shardRangeVectors } from "../helpers/vectors.ts";

/** Asserts that a call fails with a Connect code and the AWS error type and message. */
async function rejectsWith(call: Promise<unknown>, code: Code, type: string, message: string) {
  await assert.rejects(call, (err: unknown) => {
    const error = ConnectError.from(err);
    assert.equal(error.code, code);
    assert.equal(error.rawMessage, message);
    assert.equal(error.findDetails(KinesisErrorDetailSchema)[0]?.type, type);
    return true;
  });
}

void suite("StreamService over the wire", () => {
  const gateway = useGateway(["--account-id", "123456789012", "--region", "eu-west-1"]);

  for (const [name, transport] of Object.entries(transports)) {
    void test(`a stream's whole life over ${name}`, async () => {
      const { streams, producer } = clientsFor(transport(gateway.current.url));
      const streamName = `life-${name.replace(/[^a-zA-Z0-9]/g, "-")}`;
      const arn = `arn:aws:kinesis:eu-west-1:123456789012:stream/${streamName}`;

      await streams.createStream({ streamName, shardCount: 3 });
      await rejectsWith(
        streams.createStream({ streamName, shardCount: 1 }),
        Code.FailedPrecondition,
        "ResourceInUseException",
        `Stream ${streamName} under account 123456789012 already exists.`,
      );

      const { streamDescriptionSummary: summary } = await streams.describeStreamSummary({
        streamArn: arn,
      });
      assert.equal(summary?.streamName, streamName);
      assert.equal(summary?.streamArn, arn);
      assert.equal(summary?.streamStatus, StreamStatus.ACTIVE);
      assert.equal(summary?.streamModeDetails?.streamMode, StreamMode.PROVISIONED);
      assert.equal(summary?.openShardCount, 3);
      assert.equal(summary?.retentionPeriodHours, 24);
      assert.equal(summary?.encryptionType, EncryptionType.NONE);
      assert.ok(summary?.streamCreationTimestamp);

      const { shards } = await streams.listShards({ streamName });
      assert.deepEqual(
        shards.map((s) => ({
          shardId: s.shardId,
          startingHashKey: s.hashKeyRange?.startingHashKey,
          endingHashKey: s.hashKeyRange?.endingHashKey,
        })),
        shardRangeVectors()["3"],
      );
      for (const shard of shards) {
        assert.match(shard.sequenceNumberRange?.startingSequenceNumber ?? "", /^\d{56}$/);
      }

      const written = await producer.putRecord({ streamName, partitionKey: "a" });
      assert.ok(shards.some((s) => s.shardId === written.shardId));

      await streams.deleteStream({ streamName });
      await rejectsWith(
        streams.describeStreamSummary({ streamName }),
        Code.NotFound,
        "ResourceNotFoundException",
        `Stream ${streamName} under account 123456789012 not found.`,
      );
    });
  }

  void test("an on-demand stream has 4 shards and says so", async () => {
    const { streams } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    await streams.createStream({
      streamName: "on-demand",
      streamModeDetails: { streamMode: StreamMode.ON_DEMAND },
    });
    const { streamDescriptionSummary: summary } = await streams.describeStreamSummary({
      streamName: "on-demand",
    });
    assert.equal(summary?.streamModeDetails?.streamMode, StreamMode.ON_DEMAND);
    assert.equal(summary?.openShardCount, 4);
  });

  void test("a stream created with a KMS key reports KMS encryption", async () => {
    const { streams, producer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    await streams.createStream({
      streamName: "sealed",
      shardCount: 1,
      kmsKeyId: "alias/aws/kinesis",
    });
    const { streamDescriptionSummary: summary } = await streams.describeStreamSummary({
      streamName: "sealed",
    });
    assert.equal(summary?.encryptionType, EncryptionType.KMS);
    assert.equal(summary?.keyId, "alias/aws/kinesis");
    const res = await producer.putRecords({
      streamName: "sealed",
      records: [{ partitionKey: "k" }],
    });
    assert.equal(res.encryptionType, EncryptionType.KMS);
  });

  void test("ListStreams pages through every stream in name order", async () => {
    const { streams } = clientsFor(transports["Connect JSON over HTTP/1.1"]!(gateway.current.url));
    const names = ["page-a", "page-b", "page-c", "page-d", "page-e"];
    for (const streamName of names) await streams.createStream({ streamName, shardCount: 1 });

    const seen: string[] = [];
    let page = await streams.listStreams({ limit: 2 });
    for (;;) {
      assert.ok(page.streamNames.length <= 2);
      assert.deepEqual(
        page.streamSummaries.map((s) => s.streamName),
        page.streamNames,
      );
      seen.push(...page.streamNames);
      if (!page.hasMoreStreams) break;
      page = await streams.listStreams({ limit: 2, nextToken: page.nextToken });
    }
    assert.deepEqual(seen, [...seen].sort());
    for (const name of names) assert.ok(seen.includes(name), name);
  });

  void test("ListShards pages by max results and exclusive start shard id", async () => {
    const { streams } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    await streams.createStream({ streamName: "paged-shards", shardCount: 5 });
    const first = await streams.listShards({ streamName: "paged-shards", maxResults: 2 });
    assert.deepEqual(
      first.shards.map((s) => s.shardId),
      ["shardId-000000000000", "shardId-000000000001"],
    );
    assert.notEqual(first.nextToken, "");
    const rest = await streams.listShards({ nextToken: first.nextToken });
    assert.deepEqual(
      rest.shards.map((s) => s.shardId),
      ["shardId-000000000002", "shardId-000000000003", "shardId-000000000004"],
    );
    const after = await streams.listShards({
      streamName: "paged-shards",
      exclusiveStartShardId: "shardId-000000000003",
    });
    assert.deepEqual(
      after.shards.map((s) => s.shardId),
      ["shardId-000000000004"],
    );
  });

  void test("a bad stream name is refused with AWS's text", async () => {
    const { streams } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    await rejectsWith(
      streams.createStream({ streamName: "bad name!", shardCount: 1 }),
      Code.InvalidArgument,
      "ValidationException",
      "1 validation error detected: Value 'bad name!' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    );
  });
});
