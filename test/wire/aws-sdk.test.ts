/**
 * The Kinesis wire API of the gateway (engine mode), driven by the AWS SDK
 * for JavaScript — a client nobody here wrote — over its default HTTP/2
 * handler and over HTTP/1.1.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import {
  type _Record,
  AddTagsToStreamCommand,
  CreateStreamCommand,
  DecreaseStreamRetentionPeriodCommand,
  DeleteStreamCommand,
  DescribeLimitsCommand,
  DescribeStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  IncreaseStreamRetentionPeriodCommand,
  KinesisClient,
  ListShardsCommand,
  ListStreamsCommand,
  ListTagsForStreamCommand,
  PutRecordCommand,
  PutRecordsCommand,
  RemoveTagsFromStreamCommand,
} from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { useGateway } from "../helpers/gateway.ts";

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };
const clients = {
  "the SDK's default HTTP/2 handler": (endpoint: string) =>
    new KinesisClient({ endpoint, region: "us-east-1", credentials, maxAttempts: 1 }),
  "HTTP/1.1": (endpoint: string) =>
    new KinesisClient({
      endpoint,
      region: "us-east-1",
      credentials,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    }),
};

const text = (data: Uint8Array | undefined) => Buffer.from(data ?? []).toString();

async function rejectsWithAws(call: Promise<unknown>, name: string, message?: string | RegExp) {
  await assert.rejects(call, (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(err.name, name);
    if (typeof message === "string") assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    assert.equal(err.$metadata?.httpStatusCode, 400);
    return true;
  });
}

void suite("the Kinesis wire API with the AWS SDK", () => {
  const gateway = useGateway(["--streams", "samplestream:1"]);

  for (const [name, make] of Object.entries(clients)) {
    void test(`the AWS CLI example, put then read back, over ${name}`, async () => {
      const kinesis = make(gateway.current.url);
      const streamName = `cli-${name.length}`;
      await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 1 }));
      const put = await kinesis.send(
        new PutRecordsCommand({
          StreamName: streamName,
          Records: [
            { Data: Buffer.from("blob1"), PartitionKey: "partitionkey1" },
            { Data: Buffer.from("blob2"), PartitionKey: "partitionkey2" },
          ],
        }),
      );
      assert.equal(put.FailedRecordCount, 0);
      assert.equal(put.EncryptionType, "NONE");
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: "shardId-000000000000",
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      const got = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
      assert.deepEqual(
        got.Records?.map((r) => [text(r.Data), r.PartitionKey, r.SequenceNumber]),
        [
          ["blob1", "partitionkey1", put.Records?.[0]?.SequenceNumber],
          ["blob2", "partitionkey2", put.Records?.[1]?.SequenceNumber],
        ],
      );
      assert.ok(got.Records?.[0]?.ApproximateArrivalTimestamp instanceof Date);
      assert.ok(
        Math.abs(got.Records![0]!.ApproximateArrivalTimestamp!.getTime() - Date.now()) < 60_000,
      );
      assert.equal(got.MillisBehindLatest, 0);
      assert.ok(got.NextShardIterator);
      kinesis.destroy();
    });
  }

  void test("streams: create, describe, list, shards, retention, tags, limits, delete", async () => {
    const kinesis = clients["HTTP/1.1"](gateway.current.url);
    await kinesis.send(
      new CreateStreamCommand({ StreamName: "control", ShardCount: 3, Tags: { team: "a" } }),
    );
    const described = await kinesis.send(
      new DescribeStreamCommand({ StreamName: "control", Limit: 2 }),
    );
    assert.equal(described.StreamDescription?.StreamStatus, "ACTIVE");
    assert.deepEqual(
      described.StreamDescription?.Shards?.map((s) => s.ShardId),
      ["shardId-000000000000", "shardId-000000000001"],
    );
    assert.equal(described.StreamDescription?.HasMoreShards, true);
    assert.equal(
      described.StreamDescription?.StreamARN,
      "arn:aws:kinesis:us-east-1:000000000000:stream/control",
    );

    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: "control" }));
    assert.equal(summary.StreamDescriptionSummary?.OpenShardCount, 3);
    assert.ok(summary.StreamDescriptionSummary?.StreamCreationTimestamp instanceof Date);

    const listed = await kinesis.send(new ListStreamsCommand({ Limit: 1 }));
    assert.equal(listed.StreamNames?.length, 1);
    assert.equal(listed.HasMoreStreams, true);
    const rest = await kinesis.send(new ListStreamsCommand({ NextToken: listed.NextToken }));
    assert.ok([...(listed.StreamNames ?? []), ...(rest.StreamNames ?? [])].includes("control"));

    const shards = await kinesis.send(
      new ListShardsCommand({ StreamName: "control", MaxResults: 2 }),
    );
    assert.equal(shards.Shards?.length, 2);
    const more = await kinesis.send(new ListShardsCommand({ NextToken: shards.NextToken }));
    assert.deepEqual(
      more.Shards?.map((s) => s.ShardId),
      ["shardId-000000000002"],
    );

    await kinesis.send(
      new IncreaseStreamRetentionPeriodCommand({ StreamName: "control", RetentionPeriodHours: 48 }),
    );
    await rejectsWithAws(
      kinesis.send(
        new DecreaseStreamRetentionPeriodCommand({
          StreamName: "control",
          RetentionPeriodHours: 12,
        }),
      ),
      "InvalidArgumentException",
      /Minimum allowed retention period is 24 hours/,
    );
    await kinesis.send(
      new DecreaseStreamRetentionPeriodCommand({ StreamName: "control", RetentionPeriodHours: 36 }),
    );
    const afterRetention = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: "control" }),
    );
    assert.equal(afterRetention.StreamDescriptionSummary?.RetentionPeriodHours, 36);

    await kinesis.send(
      new AddTagsToStreamCommand({ StreamName: "control", Tags: { env: "dev", owner: "b" } }),
    );
    await kinesis.send(
      new RemoveTagsFromStreamCommand({ StreamName: "control", TagKeys: ["owner"] }),
    );
    const tags = await kinesis.send(new ListTagsForStreamCommand({ StreamName: "control" }));
    assert.deepEqual(tags.Tags, [
      { Key: "env", Value: "dev" },
      { Key: "team", Value: "a" },
    ]);
    assert.equal(tags.HasMoreTags, false);

    const limits = await kinesis.send(new DescribeLimitsCommand({}));
    assert.ok((limits.OpenShardCount ?? 0) >= 4, String(limits.OpenShardCount));
    assert.ok((limits.ShardLimit ?? 0) >= (limits.OpenShardCount ?? 0));

    await kinesis.send(new DeleteStreamCommand({ StreamName: "control" }));
    await rejectsWithAws(
      kinesis.send(new DescribeStreamSummaryCommand({ StreamName: "control" })),
      "ResourceNotFoundException",
      "Stream control under account 000000000000 not found.",
    );
    kinesis.destroy();
  });

  void test("a polling consumer in the KCL's style reads back everything, in order per shard", async () => {
    const kinesis = clients["the SDK's default HTTP/2 handler"](gateway.current.url);
    await kinesis.send(new CreateStreamCommand({ StreamName: "many", ShardCount: 8 }));
    const written = new Set<string>();
    for (let batch = 0; batch < 6; batch++) {
      const records = Array.from({ length: 250 }, (_, i) => `record ${batch * 250 + i}`);
      const res = await kinesis.send(
        new PutRecordsCommand({
          StreamName: "many",
          Records: records.map((r) => ({ Data: Buffer.from(r), PartitionKey: r })),
        }),
      );
      assert.equal(res.FailedRecordCount, 0);
      for (const r of records) written.add(r);
    }

    const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: "many" }));
    const read = new Set<string>();
    for (const shard of Shards ?? []) {
      let { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: "many",
          ShardId: shard.ShardId,
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      let previous = -1n;
      for (;;) {
        let page: GetRecordsCommandOutput;
        try {
          page = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 100 }));
        } catch (err) {
          // A shard serves 5 reads a second; a KCL worker backs off.
          assert.equal((err as Error).name, "ProvisionedThroughputExceededException");
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        for (const record of page.Records ?? []) {
          const sequence = BigInt(record.SequenceNumber!);
          assert.ok(sequence > previous, "in sequence number order");
          previous = sequence;
          read.add(text(record.Data));
        }
        ShardIterator = page.NextShardIterator;
        if ((page.Records ?? []).length === 0 && page.MillisBehindLatest === 0) break;
      }
    }
    assert.equal(read.size, written.size);
    assert.deepEqual([...read].sort(), [...written].sort());
    kinesis.destroy();
  });

  void test("errors come back as AWS sends them", async () => {
    const kinesis = clients["HTTP/1.1"](gateway.current.url);
    await rejectsWithAws(
      kinesis.send(
        new PutRecordCommand({ StreamName: "nope", PartitionKey: "k", Data: Buffer.from("x") }),
      ),
      "ResourceNotFoundException",
      "Stream nope under account 000000000000 not found.",
    );
    await rejectsWithAws(
      kinesis.send(
        new PutRecordCommand({
          StreamName: "samplestream",
          PartitionKey: "",
          Data: Buffer.from("x"),
        }),
      ),
      "ValidationException",
      "1 validation error detected: Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    await rejectsWithAws(
      kinesis.send(new GetRecordsCommand({ ShardIterator: "not-an-iterator" })),
      "InvalidArgumentException",
    );
    await rejectsWithAws(
      kinesis.send(
        new GetShardIteratorCommand({
          StreamName: "samplestream",
          ShardId: "shardId-000000000009",
          ShardIteratorType: "LATEST",
        }),
      ),
      "ResourceNotFoundException",
      /shardId-000000000009/,
    );
    kinesis.destroy();
  });
});

void suite("shard iterators over the wire", () => {
  // Seven reads of one shard within a second: more than a throttled shard serves.
  const gateway = useGateway(["--throttle", "off"]);

  void test("every shard iterator type starts where it should", async () => {
    const kinesis = clients["HTTP/1.1"](gateway.current.url);
    await kinesis.send(new CreateStreamCommand({ StreamName: "iterators", ShardCount: 1 }));
    const put = async (data: string) =>
      kinesis.send(
        new PutRecordCommand({
          StreamName: "iterators",
          PartitionKey: "k",
          Data: Buffer.from(data),
        }),
      );
    const first = await put("one");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const middle = new Date();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await put("two");
    const iterator = async (type: string, extra: Record<string, unknown> = {}) =>
      (
        await kinesis.send(
          new GetShardIteratorCommand({
            StreamName: "iterators",
            ShardId: "shardId-000000000000",
            ShardIteratorType: type as "LATEST",
            ...extra,
          }),
        )
      ).ShardIterator;
    const read = async (it: string | undefined) =>
      ((await kinesis.send(new GetRecordsCommand({ ShardIterator: it }))).Records ?? []).map(
        (r: _Record) => text(r.Data),
      );
    assert.deepEqual(await read(await iterator("TRIM_HORIZON")), ["one", "two"]);
    assert.deepEqual(
      await read(
        await iterator("AT_SEQUENCE_NUMBER", { StartingSequenceNumber: first.SequenceNumber }),
      ),
      ["one", "two"],
    );
    assert.deepEqual(
      await read(
        await iterator("AFTER_SEQUENCE_NUMBER", { StartingSequenceNumber: first.SequenceNumber }),
      ),
      ["two"],
    );
    assert.deepEqual(await read(await iterator("AT_TIMESTAMP", { Timestamp: middle })), ["two"]);
    const latest = await iterator("LATEST");
    assert.deepEqual(await read(latest), []);
    await put("three");
    assert.deepEqual(await read(latest), ["three"]);
    assert.ok(second.SequenceNumber);
    kinesis.destroy();
  });
});
