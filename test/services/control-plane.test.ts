/**
 * The control plane over gRPC: every StreamService and ConsumerService rpc
 * that stands for a Kinesis control operation, called through Connect's gRPC
 * and Connect JSON transports and through @grpc/grpc-js, against the engine
 * and forwarded to a real emulator. What an rpc changes is read back through
 * the AWS SDK on the wire API, so both protocols are seen to act on one
 * stream. (Its errors and stream access: control-plane-errors.test.ts.)
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import {
  AddTagsToStreamCommand,
  DescribeLimitsCommand,
  DescribeStreamCommand,
  GetResourcePolicyCommand,
  IncreaseStreamRetentionPeriodCommand,
  type KinesisClient,
  ListStreamConsumersCommand,
  ListTagsForStreamCommand,
  RegisterStreamConsumerCommand,
} from "@aws-sdk/client-kinesis";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { EncryptionType } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import {
  ConsumerStatus,
  RegisterStreamConsumerRequestSchema,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { MetricsName, StreamStatus } from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import {
  awsFailureOf,
  consumerStatusOf,
  failureOf,
  KEY,
  policyFor,
  summaryOf,
  tagsOf,
} from "../helpers/control-plane.ts";
import { useEmulator } from "../helpers/emulator.ts";
import {
  type Clients,
  clientsFor,
  forwardingTo,
  transports,
  useGateway,
} from "../helpers/gateway.ts";
import { createGrpcJsClient } from "../helpers/grpc-js-client.ts";
import { activeStream, sdkClient, until, untilStreamActive } from "../helpers/kinesis-sdk.ts";

/**
 * Calls a stream's whole control plane through one client, checking each
 * change through the AWS SDK. The stream has 3 shards and is ACTIVE.
 */
async function exerciseStreamControl(
  { streams }: Clients,
  kinesis: KinesisClient,
  streamName: string,
) {
  // A change may leave the stream UPDATING for a while (encryption in the
  // engine; most changes in kinesis-mock), which refuses the next change.
  const settled = () => untilStreamActive(kinesis, streamName);
  const streamArn = await settled();

  const firstPage = await streams.describeStream({ streamName, limit: 2 });
  const description = firstPage.streamDescription!;
  const aws = (await kinesis.send(new DescribeStreamCommand({ StreamName: streamName })))
    .StreamDescription!;
  assert.equal(description.streamArn, aws.StreamARN);
  assert.equal(description.streamStatus, StreamStatus.ACTIVE);
  assert.equal(description.retentionPeriodHours, aws.RetentionPeriodHours);
  assert.deepEqual(
    timestampDate(description.streamCreationTimestamp!),
    aws.StreamCreationTimestamp,
  );
  assert.deepEqual(
    description.shards.map((s) => s.shardId),
    aws.Shards!.slice(0, 2).map((s) => s.ShardId),
  );
  assert.equal(description.hasMoreShards, true);
  const lastPage = await streams.describeStream({
    streamArn,
    exclusiveStartShardId: description.shards[1]!.shardId,
  });
  assert.deepEqual(
    lastPage.streamDescription!.shards.map((s) => s.hashKeyRange?.endingHashKey),
    [aws.Shards![2]!.HashKeyRange!.EndingHashKey],
  );
  assert.equal(lastPage.streamDescription!.hasMoreShards, false);

  await streams.increaseStreamRetentionPeriod({ streamName, retentionPeriodHours: 72 });
  await settled();
  assert.equal((await summaryOf(kinesis, streamName)).RetentionPeriodHours, 72);
  await streams.decreaseStreamRetentionPeriod({ streamArn, retentionPeriodHours: 48 });
  await settled();
  assert.equal((await summaryOf(kinesis, streamName)).RetentionPeriodHours, 48);

  await streams.addTagsToStream({ streamName, tags: { team: "a", env: "dev", tier: "1" } });
  await streams.removeTagsFromStream({ streamName, tagKeys: ["tier", "absent"] });
  assert.deepEqual(await tagsOf(kinesis, streamArn), { env: "dev", team: "a" });
  const tagPage = await streams.listTagsForStream({ streamName, limit: 1 });
  assert.deepEqual(
    tagPage.tags.map((t) => [t.key, t.value]),
    [["env", "dev"]],
  );
  assert.equal(tagPage.hasMoreTags, true);
  const rest = await streams.listTagsForStream({ streamArn, exclusiveStartTagKey: "env" });
  assert.deepEqual(
    rest.tags.map((t) => [t.key, t.value]),
    [["team", "a"]],
  );
  assert.equal(rest.hasMoreTags, false);

  await streams.tagResource({ resourceArn: streamArn, tags: { env: "prod", owner: "x" } });
  await streams.untagResource({ resourceArn: streamArn, tagKeys: ["team"] });
  const byStream = await kinesis.send(new ListTagsForStreamCommand({ StreamName: streamName }));
  assert.deepEqual(byStream.Tags, [
    { Key: "env", Value: "prod" },
    { Key: "owner", Value: "x" },
  ]);
  const listed = await streams.listTagsForResource({ resourceArn: streamArn });
  assert.deepEqual(
    listed.tags.map((t) => t.key),
    ["env", "owner"],
  );

  const policy = policyFor(streamArn);
  await streams.putResourcePolicy({ resourceArn: streamArn, policy });
  assert.equal(
    (await kinesis.send(new GetResourcePolicyCommand({ ResourceARN: streamArn }))).Policy,
    policy,
  );
  assert.equal((await streams.getResourcePolicy({ resourceArn: streamArn })).policy, policy);
  await streams.deleteResourcePolicy({ resourceArn: streamArn });

  const on = await streams.enableEnhancedMonitoring({
    streamName,
    shardLevelMetrics: [MetricsName.INCOMING_BYTES, MetricsName.OUTGOING_RECORDS],
  });
  assert.equal(on.streamName, streamName);
  assert.equal(on.streamArn, streamArn);
  assert.deepEqual(on.currentShardLevelMetrics, []);
  assert.deepEqual(
    new Set(on.desiredShardLevelMetrics),
    new Set([MetricsName.INCOMING_BYTES, MetricsName.OUTGOING_RECORDS]),
  );
  await settled();
  assert.deepEqual(
    new Set((await summaryOf(kinesis, streamName)).EnhancedMonitoring?.[0]?.ShardLevelMetrics),
    new Set(["IncomingBytes", "OutgoingRecords"]),
  );
  const shown = (await streams.describeStreamSummary({ streamName })).streamDescriptionSummary!;
  assert.deepEqual(
    new Set(shown.enhancedMonitoring[0]?.shardLevelMetrics),
    new Set([MetricsName.INCOMING_BYTES, MetricsName.OUTGOING_RECORDS]),
  );
  const off = await streams.disableEnhancedMonitoring({
    streamArn,
    shardLevelMetrics: [MetricsName.INCOMING_BYTES],
  });
  assert.deepEqual(off.desiredShardLevelMetrics, [MetricsName.OUTGOING_RECORDS]);
  await settled();
  const described = (await streams.describeStream({ streamName })).streamDescription!;
  assert.deepEqual(described.enhancedMonitoring[0]?.shardLevelMetrics, [
    MetricsName.OUTGOING_RECORDS,
  ]);

  await streams.startStreamEncryption({
    streamName,
    encryptionType: EncryptionType.KMS,
    keyId: KEY,
  });
  await settled();
  const encrypted = await summaryOf(kinesis, streamName);
  assert.equal(encrypted.EncryptionType, "KMS");
  assert.equal(encrypted.KeyId, KEY);
  await streams.stopStreamEncryption({
    streamArn,
    encryptionType: EncryptionType.KMS,
    keyId: KEY,
  });
  await settled();
  assert.equal((await summaryOf(kinesis, streamName)).EncryptionType, "NONE");

  const limits = await streams.describeLimits({});
  const awsLimits = await kinesis.send(new DescribeLimitsCommand({}));
  assert.deepEqual(
    [limits.shardLimit, limits.openShardCount, limits.onDemandStreamCountLimit],
    [awsLimits.ShardLimit, awsLimits.OpenShardCount, awsLimits.OnDemandStreamCountLimit],
  );
  assert.ok(limits.openShardCount >= 3);
}

/**
 * Registers, describes, lists and deregisters a consumer of the stream
 * through one client, checking each step through the AWS SDK. The list's
 * answer is returned for what the engine and kinesis-mock answer apart.
 */
async function exerciseConsumers({ consumer }: Clients, kinesis: KinesisClient, streamArn: string) {
  const registered = await consumer.registerStreamConsumer({
    streamArn,
    consumerName: "reader",
    tags: { team: "a" },
  });
  const { consumerArn, consumerCreationTimestamp } = registered.consumer!;
  const seconds = Math.floor(timestampDate(consumerCreationTimestamp!).getTime() / 1000);
  assert.equal(consumerArn, `${streamArn}/consumer/reader:${seconds}`);
  assert.equal(registered.consumer!.consumerStatus, ConsumerStatus.CREATING);

  const status = await until(
    () => consumerStatusOf(kinesis, consumerArn),
    (s) => s === "ACTIVE",
  );
  assert.equal(status, "ACTIVE");
  const awsListed = await kinesis.send(new ListStreamConsumersCommand({ StreamARN: streamArn }));
  assert.deepEqual(
    awsListed.Consumers?.map((c) => c.ConsumerARN),
    [consumerArn],
  );
  const byName = await consumer.describeStreamConsumer({ streamArn, consumerName: "reader" });
  assert.deepEqual(
    {
      ...byName.consumerDescription,
      consumerCreationTimestamp: timestampDate(
        byName.consumerDescription!.consumerCreationTimestamp!,
      ),
    },
    {
      $typeName: "kinesis.gateway.v1.ConsumerDescription",
      consumerName: "reader",
      consumerArn,
      consumerStatus: ConsumerStatus.ACTIVE,
      consumerCreationTimestamp: timestampDate(consumerCreationTimestamp!),
      streamArn,
    },
  );
  const listed = await consumer.listStreamConsumers({ streamArn });
  assert.deepEqual(
    listed.consumers.map((c) => [c.consumerName, c.consumerStatus]),
    [["reader", ConsumerStatus.ACTIVE]],
  );

  await consumer.deregisterStreamConsumer({ consumerArn });
  const gone = await until(
    () => consumerStatusOf(kinesis, consumerArn),
    (s) => s === "ResourceNotFoundException",
  );
  assert.equal(gone, "ResourceNotFoundException");
  return listed;
}

void suite("the control plane over gRPC, against the engine", () => {
  // Long enough to see a consumer CREATING, as AWS answers its registration.
  const gateway = useGateway(["--stream-transition-ms", "100"]);
  let kinesis: KinesisClient;
  before(() => {
    kinesis = sdkClient(gateway.current.url);
  });
  after(() => kinesis.destroy());

  for (const [index, name] of ["gRPC over h2c", "Connect JSON over HTTP/1.1"].entries()) {
    const clients = () => clientsFor(transports[name]!(gateway.current.url));

    void test(`${name}: every StreamService control rpc does what the AWS SDK then reads`, async () => {
      const streamName = `control-${index}`;
      await clients().streams.createStream({ streamName, shardCount: 3 });
      await exerciseStreamControl(clients(), kinesis, streamName);
    });

    void test(`${name}: a consumer registered over RPC is ACTIVE and listed through the AWS SDK`, async () => {
      const streamArn = await activeStream(kinesis, `consumed-${index}`);
      const listed = await exerciseConsumers(clients(), kinesis, streamArn);
      assert.equal(listed.nextToken, "", "the last page has no token");
    });
  }

  void test("tags given at registration are the consumer's", async () => {
    const { consumer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const streamArn = await activeStream(kinesis, "tagged-consumers");
    const out = await consumer.registerStreamConsumer({
      streamArn,
      consumerName: "tagged",
      tags: { team: "a", tier: "1" },
    });
    assert.deepEqual(await tagsOf(kinesis, out.consumer!.consumerArn), { team: "a", tier: "1" });
  });

  void test("the largest RegisterStreamConsumer fits ConsumerService's 64 KiB request limit", async () => {
    const { consumer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const streamArn = await activeStream(kinesis, "widest-tags");
    // 50 tags of the longest keys and values, in characters of 3 UTF-8 bytes
    // (the most a UTF-16 unit takes): some 58 KB of tags.
    const tags = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [
        String.fromCodePoint(0x4e00 + i) + "中".repeat(127),
        "文".repeat(256),
      ]),
    );
    const request = { streamArn, consumerName: "c".repeat(128), tags };
    assert.ok(
      toBinary(
        RegisterStreamConsumerRequestSchema,
        create(RegisterStreamConsumerRequestSchema, request),
      ).length > 58_000,
    );
    const out = await consumer.registerStreamConsumer(request);
    assert.equal(Object.keys(await tagsOf(kinesis, out.consumer!.consumerArn)).length, 50);
  });

  void test("a tag named __proto__ is kept as a tag", async () => {
    const { streams } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const streamArn = await activeStream(kinesis, "proto-tag");
    // JSON.parse makes "__proto__" an own key, as a decoder does.
    const tags: Record<string, string> = JSON.parse('{"__proto__": "x", "y": "z"}');
    await streams.addTagsToStream({ streamArn, tags });
    const byStream = await kinesis.send(new ListTagsForStreamCommand({ StreamARN: streamArn }));
    assert.deepEqual(byStream.Tags, [
      { Key: "__proto__", Value: "x" },
      { Key: "y", Value: "z" },
    ]);
  });

  void test("@grpc/grpc-js, generated from the .proto files, calls the control plane", async () => {
    const client = createGrpcJsClient(new URL(gateway.current.url).host);
    try {
      const streamArn = await activeStream(kinesis, "grpc-js-control");
      const call = (service: "StreamService" | "ConsumerService", method: string, req: object) =>
        client.call(service, method, req);
      await call("StreamService", "AddTagsToStream", { stream_arn: streamArn, tags: { a: "1" } });
      await call("StreamService", "TagResource", { resource_arn: streamArn, tags: { b: "2" } });
      assert.deepEqual(await tagsOf(kinesis, streamArn), { a: "1", b: "2" });
      const monitoring = await call("StreamService", "EnableEnhancedMonitoring", {
        stream_arn: streamArn,
        shard_level_metrics: ["METRICS_NAME_ALL"],
      });
      assert.equal(
        (monitoring.desired_shard_level_metrics as string[]).length,
        7,
        "ALL is answered as the seven metrics",
      );
      const described = await call("StreamService", "DescribeStream", { stream_arn: streamArn });
      const description = described.stream_description as Record<string, unknown>;
      assert.equal(description.stream_status, "STREAM_STATUS_ACTIVE");
      assert.equal((description.shards as unknown[]).length, 1);
      const limits = await call("StreamService", "DescribeLimits", {});
      assert.equal(limits.shard_limit, 1000);

      const registered = await call("ConsumerService", "RegisterStreamConsumer", {
        stream_arn: streamArn,
        consumer_name: "grpc-js-reader",
      });
      const consumer = registered.consumer as Record<string, unknown>;
      assert.equal(consumer.consumer_status, "CONSUMER_STATUS_CREATING");
      const status = await until(
        () => consumerStatusOf(kinesis, consumer.consumer_arn as string),
        (s) => s === "ACTIVE",
      );
      assert.equal(status, "ACTIVE");
      const listed = await call("ConsumerService", "ListStreamConsumers", {
        stream_arn: streamArn,
      });
      assert.deepEqual(
        (listed.consumers as Record<string, unknown>[]).map((c) => c.consumer_name),
        ["grpc-js-reader"],
      );

      await assert.rejects(
        call("StreamService", "IncreaseStreamRetentionPeriod", {
          stream_name: "no-such-stream",
          retention_period_hours: 48,
        }),
        (err: grpc.ServiceError) => {
          assert.equal(err.code, grpc.status.NOT_FOUND);
          assert.equal(err.details, "Stream no-such-stream under account 000000000000 not found.");
          return true;
        },
      );
    } finally {
      client.close();
    }
  });
});

void suite("the control plane over gRPC, forwarded to a real emulator", () => {
  const emulator = useEmulator();
  const gateway = useGateway(forwardingTo(emulator));

  void test("every StreamService control rpc reaches the emulator, which then reads as changed", async () => {
    const clients = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const direct = emulator.current.client();
    await clients.streams.createStream({ streamName: "forwarded-control", shardCount: 3 });
    await exerciseStreamControl(clients, direct, "forwarded-control");
  });

  void test("a consumer registered over gRPC is ACTIVE and listed in the emulator", async () => {
    const clients = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const direct = emulator.current.client();
    const streamArn = await activeStream(direct, "forwarded-consumed");
    // kinesis-mock 0.6.2 answers a NextToken (the last consumer's name) on the
    // last page too, where AWS and the engine answer none: not asserted here.
    await exerciseConsumers(clients, direct, streamArn);
  });

  void test("an unknown stream is NOT_FOUND with the emulator's own ResourceNotFoundException", async () => {
    const { streams, consumer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const missingArn = "arn:aws:kinesis:us-east-1:000000000000:stream/no-such-stream";
    const cases: [() => Promise<unknown>, unknown][] = [
      [
        () => streams.describeStream({ streamName: "no-such-stream" }),
        new DescribeStreamCommand({ StreamName: "no-such-stream" }),
      ],
      [
        () => streams.addTagsToStream({ streamName: "no-such-stream", tags: { a: "1" } }),
        new AddTagsToStreamCommand({ StreamName: "no-such-stream", Tags: { a: "1" } }),
      ],
      [
        () =>
          streams.increaseStreamRetentionPeriod({
            streamArn: missingArn,
            retentionPeriodHours: 48,
          }),
        new IncreaseStreamRetentionPeriodCommand({
          StreamARN: missingArn,
          RetentionPeriodHours: 48,
        }),
      ],
      [
        () => consumer.registerStreamConsumer({ streamArn: missingArn, consumerName: "reader" }),
        new RegisterStreamConsumerCommand({ StreamARN: missingArn, ConsumerName: "reader" }),
      ],
    ];
    for (const [rpc, command] of cases) {
      const direct = await awsFailureOf(emulator.current.client().send(command as never));
      assert.equal(direct.type, "ResourceNotFoundException");
      assert.deepEqual(await failureOf(rpc()), { code: "NotFound", ...direct });
    }
  });
});
