import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { createEngine } from "../../src/engine/engine.ts";
import { parseSequenceNumber } from "../../src/engine/sequence-number.ts";
import { parseStreamArn } from "../../src/engine/stream-arn.ts";
import { KinesisError } from "../../src/kinesis/errors.ts";
import { shardRangeVectors } from "../helpers/vectors.ts";
import { createManualClock, kinesisError } from "./helpers.ts";

const ACCOUNT = "000000000000";

suite("engine streams", () => {
  test("describes a new provisioned stream", () => {
    const clock = createManualClock();
    const engine = createEngine({ now: clock.now });
    engine.createStream({ streamName: "orders", shardCount: 3, tags: { team: "a" } });
    assert.deepEqual(engine.describeStreamSummary({ streamName: "orders" }), {
      streamName: "orders",
      streamArn: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/orders`,
      streamStatus: "ACTIVE",
      streamMode: "PROVISIONED",
      retentionPeriodHours: 24,
      streamCreationTimestamp: new Date(clock.now()),
      encryptionType: "NONE",
      enhancedMonitoring: [{ shardLevelMetrics: [] }],
      openShardCount: 3,
      consumerCount: 0,
      maxRecordSizeInKiB: 1024,
    });
  });

  test("uses the configured account and region in ARNs", () => {
    const engine = createEngine({ accountId: "123456789012", region: "eu-west-1" });
    engine.createStream({ streamName: "s", shardCount: 1 });
    assert.equal(
      engine.describeStreamSummary({ streamName: "s" }).streamArn,
      "arn:aws:kinesis:eu-west-1:123456789012:stream/s",
    );
  });

  test("creates a stream with a KMS key as KMS-encrypted", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "secret", shardCount: 1, kmsKeyId: "alias/aws/kinesis" });
    const summary = engine.describeStreamSummary({ streamName: "secret" });
    assert.equal(summary.encryptionType, "KMS");
    assert.equal(summary.keyId, "alias/aws/kinesis");
    const put = engine.putRecords({
      streamName: "secret",
      records: [{ data: new Uint8Array([1]), partitionKey: "k" }],
    });
    assert.equal(put.encryptionType, "KMS");
    assert.equal(
      engine.putRecord({ streamName: "secret", data: new Uint8Array(1), partitionKey: "k" })
        .encryptionType,
      "KMS",
    );
  });

  test("starts on-demand streams, and provisioned ones without a count, with 4 shards", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "od", streamMode: "ON_DEMAND" });
    engine.createStream({ streamName: "p" });
    const onDemand = engine.describeStreamSummary({ streamName: "od" });
    assert.equal(onDemand.streamMode, "ON_DEMAND");
    assert.equal(onDemand.openShardCount, 4);
    assert.equal(engine.describeStreamSummary({ streamName: "p" }).openShardCount, 4);
  });

  test("refuses to create a stream that exists", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 1 });
    assert.throws(
      () => engine.createStream({ streamName: "s", shardCount: 2 }),
      kinesisError("ResourceInUseException", `Stream s under account ${ACCOUNT} already exists.`),
    );
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).openShardCount, 1);
  });

  test("answers every operation on an unknown stream with AWS's not-found text", () => {
    const engine = createEngine();
    const notFound = kinesisError(
      "ResourceNotFoundException",
      `Stream nope under account ${ACCOUNT} not found.`,
    );
    const ref = { streamName: "nope" };
    assert.throws(() => engine.describeStreamSummary(ref), notFound);
    assert.throws(() => engine.deleteStream(ref), notFound);
    assert.throws(() => engine.listShards(ref), notFound);
    assert.throws(() => engine.readRecords(ref, "shardId-000000000000"), notFound);
    assert.throws(
      () =>
        engine.putRecords({ ...ref, records: [{ data: new Uint8Array(1), partitionKey: "k" }] }),
      notFound,
    );
    assert.throws(
      () => engine.putRecord({ ...ref, data: new Uint8Array(1), partitionKey: "k" }),
      notFound,
    );
  });

  test("refuses streams beyond the account shard limit, counting open shards of all streams", () => {
    const engine = createEngine({ shardLimit: 10, region: "eu-central-1" });
    engine.createStream({ streamName: "a", shardCount: 6 });
    assert.throws(
      () => engine.createStream({ streamName: "b", shardCount: 5 }),
      kinesisError(
        "LimitExceededException",
        `This request would exceed the shard limit for the account ${ACCOUNT} in eu-central-1. ` +
          "Current shard count for the account: 6. Limit: 10. Number of additional shards that " +
          "would have resulted from this request: 5. Refer to the AWS Service Limits page " +
          "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current " +
          "limits and how to request higher limits.",
      ),
    );
    assert.throws(() => engine.describeStreamSummary({ streamName: "b" }), KinesisError);
    engine.createStream({ streamName: "b", shardCount: 4 });
    engine.deleteStream({ streamName: "a" });
    engine.createStream({ streamName: "c", shardCount: 6 });
  });

  test("deletes a stream and its records", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 1 });
    engine.putRecords({
      streamName: "s",
      records: [{ data: new Uint8Array(1), partitionKey: "k" }],
    });
    engine.deleteStream({ streamName: "s" });
    assert.throws(() => engine.describeStreamSummary({ streamName: "s" }), KinesisError);
    engine.createStream({ streamName: "s", shardCount: 1 });
    assert.deepEqual(engine.readRecords({ streamName: "s" }, "shardId-000000000000"), []);
  });
});

suite("engine stream references", () => {
  const arn = (account: string, region: string, name: string) =>
    `arn:aws:kinesis:${region}:${account}:stream/${name}`;

  test("resolves a stream by ARN alone, or by ARN and name", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 1 });
    const streamArn = arn(ACCOUNT, "us-east-1", "s");
    assert.equal(engine.describeStreamSummary({ streamArn }).streamName, "s");
    assert.equal(engine.describeStreamSummary({ streamArn, streamName: "s" }).streamName, "s");
    const put = engine.putRecords({
      streamArn,
      records: [{ data: new Uint8Array(1), partitionKey: "k" }],
    });
    assert.equal(put.failedRecordCount, 0);
  });

  test("treats an ARN of another account or region as a stream it does not have", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 1 });
    assert.throws(
      () => engine.describeStreamSummary({ streamArn: arn("111111111111", "us-east-1", "s") }),
      kinesisError("ResourceNotFoundException", "Stream s under account 111111111111 not found."),
    );
    assert.throws(
      () => engine.describeStreamSummary({ streamArn: arn(ACCOUNT, "eu-west-1", "s") }),
      kinesisError("ResourceNotFoundException", `Stream s under account ${ACCOUNT} not found.`),
    );
  });

  test("reports an unknown stream ARN by the stream's name", () => {
    const engine = createEngine();
    assert.throws(
      () => engine.describeStreamSummary({ streamArn: arn(ACCOUNT, "us-east-1", "gone") }),
      kinesisError("ResourceNotFoundException", `Stream gone under account ${ACCOUNT} not found.`),
    );
  });
});

suite("engine listStreams", () => {
  test("pages through streams in name order with opaque tokens", () => {
    const engine = createEngine();
    for (const name of ["e", "b", "d", "a", "c"])
      engine.createStream({ streamName: name, shardCount: 1 });
    const first = engine.listStreams({ limit: 2 });
    assert.deepEqual(first.streamNames, ["a", "b"]);
    assert.equal(first.hasMoreStreams, true);
    assert.ok(first.nextToken);
    const second = engine.listStreams({ limit: 2, nextToken: first.nextToken });
    assert.deepEqual(second.streamNames, ["c", "d"]);
    const third = engine.listStreams({ limit: 2, nextToken: second.nextToken });
    assert.deepEqual(third.streamNames, ["e"]);
    assert.equal(third.hasMoreStreams, false);
    assert.equal(third.nextToken, undefined);
    assert.deepEqual(
      third.streamSummaries.map((s) => [s.streamName, s.streamArn, s.streamStatus, s.streamMode]),
      [["e", `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/e`, "ACTIVE", "PROVISIONED"]],
    );
  });

  test("starts after exclusiveStartStreamName", () => {
    const engine = createEngine();
    for (const name of ["a", "b", "c"]) engine.createStream({ streamName: name, shardCount: 1 });
    assert.deepEqual(engine.listStreams({ exclusiveStartStreamName: "a" }).streamNames, ["b", "c"]);
    assert.deepEqual(engine.listStreams({ exclusiveStartStreamName: "bb" }).streamNames, ["c"]);
    assert.deepEqual(engine.listStreams({ exclusiveStartStreamName: "z" }).streamNames, []);
  });

  test("returns 100 streams by default", () => {
    const engine = createEngine();
    for (let i = 0; i < 101; i++) {
      engine.createStream({ streamName: `s${String(i).padStart(3, "0")}`, shardCount: 1 });
    }
    const page = engine.listStreams();
    assert.equal(page.streamNames.length, 100);
    assert.equal(page.hasMoreStreams, true);
    assert.deepEqual(engine.listStreams({ nextToken: page.nextToken }).streamNames, ["s100"]);
  });

  test("refuses a token it did not make", () => {
    const engine = createEngine();
    assert.throws(
      () => engine.listStreams({ nextToken: "not-a-token" }),
      kinesisError("InvalidArgumentException", "Invalid NextToken."),
    );
  });
});

suite("engine listShards", () => {
  test("lists every shard with AWS's hash key ranges and a starting sequence number", () => {
    const clock = createManualClock();
    const engine = createEngine({ now: clock.now });
    engine.createStream({ streamName: "s", shardCount: 4 });
    const { shards, nextToken } = engine.listShards({ streamName: "s" });
    assert.equal(nextToken, undefined);
    assert.deepEqual(
      shards.map((shard) => ({ shardId: shard.shardId, ...shard.hashKeyRange })),
      shardRangeVectors()["4"],
    );
    shards.forEach((shard, index) => {
      assert.deepEqual(parseSequenceNumber(shard.sequenceNumberRange.startingSequenceNumber), {
        shardCreatedSeconds: clock.now() / 1000,
        shardIndex: index,
        counter: 0n,
        recordSeconds: clock.now() / 1000,
      });
      assert.equal(shard.sequenceNumberRange.endingSequenceNumber, undefined);
    });
  });

  test("pages with maxResults and a token that names the stream", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 5 });
    const first = engine.listShards({ streamName: "s", maxResults: 2 });
    assert.deepEqual(
      first.shards.map((s) => s.shardId),
      ["shardId-000000000000", "shardId-000000000001"],
    );
    const second = engine.listShards({ nextToken: first.nextToken, maxResults: 2 });
    assert.deepEqual(
      second.shards.map((s) => s.shardId),
      ["shardId-000000000002", "shardId-000000000003"],
    );
    const third = engine.listShards({ nextToken: second.nextToken, maxResults: 2 });
    assert.deepEqual(
      third.shards.map((s) => s.shardId),
      ["shardId-000000000004"],
    );
    assert.equal(third.nextToken, undefined);
  });

  test("starts after exclusiveStartShardId", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 3 });
    const page = engine.listShards({
      streamName: "s",
      exclusiveStartShardId: "shardId-000000000000",
    });
    assert.deepEqual(
      page.shards.map((s) => s.shardId),
      ["shardId-000000000001", "shardId-000000000002"],
    );
  });

  test("returns 1000 shards by default", () => {
    const engine = createEngine({ shardLimit: 2000 });
    engine.createStream({ streamName: "big", shardCount: 1001 });
    const page = engine.listShards({ streamName: "big" });
    assert.equal(page.shards.length, 1000);
    assert.deepEqual(
      engine.listShards({ nextToken: page.nextToken }).shards.map((s) => s.shardId),
      ["shardId-000000001000"],
    );
  });

  test("refuses a token together with a stream or start shard, and tokens it did not make", () => {
    const engine = createEngine();
    engine.createStream({ streamName: "s", shardCount: 2 });
    const { nextToken } = engine.listShards({ streamName: "s", maxResults: 1 });
    assert.throws(
      () => engine.listShards({ streamName: "s", nextToken }),
      kinesisError(
        "InvalidArgumentException",
        "NextToken and StreamName cannot be provided together.",
      ),
    );
    assert.throws(
      () => engine.listShards({ nextToken, exclusiveStartShardId: "shardId-000000000000" }),
      kinesisError(
        "InvalidArgumentException",
        "NextToken and ExclusiveStartShardId cannot be provided together.",
      ),
    );
    assert.throws(
      () => engine.listShards({}),
      kinesisError(
        "InvalidArgumentException",
        "Either NextToken or StreamName should be provided.",
      ),
    );
    assert.throws(
      () => engine.listShards({ nextToken: "garbage" }),
      kinesisError("InvalidArgumentException", "Invalid NextToken."),
    );
  });
});

suite("parseStreamArn", () => {
  test("splits an ARN of any partition into region, account and name", () => {
    assert.deepEqual(parseStreamArn("arn:aws-cn:kinesis:cn-north-1:123456789012:stream/a.b-c_d"), {
      region: "cn-north-1",
      accountId: "123456789012",
      streamName: "a.b-c_d",
    });
    assert.equal(parseStreamArn("arn:aws:kinesis:us-east-1:123:stream/s"), undefined);
    assert.equal(parseStreamArn("arn:aws:sqs:us-east-1:123456789012:stream/s"), undefined);
  });
});
