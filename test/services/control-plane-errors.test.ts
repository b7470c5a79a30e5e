/**
 * The control plane's errors over gRPC: bad input and unknown streams get
 * exactly the wire API's answer, with the status code of the README's table,
 * and change nothing; the engine's consumer limits; a token limited to some
 * streams reaches only those, on every control rpc.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, suite, test } from "node:test";
import {
  AddTagsToStreamCommand,
  DecreaseStreamRetentionPeriodCommand,
  DeleteResourcePolicyCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamCommand,
  DescribeStreamConsumerCommand,
  DisableEnhancedMonitoringCommand,
  EnableEnhancedMonitoringCommand,
  GetResourcePolicyCommand,
  IncreaseStreamRetentionPeriodCommand,
  KinesisClient,
  ListStreamConsumersCommand,
  ListTagsForStreamCommand,
  PutResourcePolicyCommand,
  RegisterStreamConsumerCommand,
  RemoveTagsFromStreamCommand,
  StartStreamEncryptionCommand,
  StopStreamEncryptionCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from "@aws-sdk/client-kinesis";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EncryptionType } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import { MetricsName } from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import type { RunningGateway } from "../../src/main.ts";
import {
  awsFailureOf,
  consumerStatusOf,
  failureOf,
  KEY,
  policyFor,
  summaryOf,
  tagsOf,
} from "../helpers/control-plane.ts";
import {
  type Clients,
  clientsFor,
  startTestGateway,
  transports,
  useGateway,
  withBearerToken,
} from "../helpers/gateway.ts";
import { activeStream, sdkClient, until } from "../helpers/kinesis-sdk.ts";

/** An rpc (called when the test gets to it), the AWS SDK command sending the same values, the AWS type. */
type ErrorCase = readonly [rpc: () => Promise<unknown>, command: unknown, type: string];

/** The status code the README's table gives each AWS type. */
const codeFor: Record<string, string> = {
  ValidationException: "InvalidArgument",
  InvalidArgumentException: "InvalidArgument",
  ResourceNotFoundException: "NotFound",
  ResourceInUseException: "FailedPrecondition",
  LimitExceededException: "ResourceExhausted",
};

void suite("the control plane's errors over gRPC, against the engine", () => {
  // Long enough for consumers to stay CREATING while the test registers more.
  const gateway = useGateway(["--stream-transition-ms", "100"]);
  let kinesis: KinesisClient;
  before(() => {
    kinesis = sdkClient(gateway.current.url);
  });
  after(() => kinesis.destroy());

  const missingArn = "arn:aws:kinesis:us-east-1:000000000000:stream/no-such-stream";
  const missingConsumerArn = `${missingArn}/consumer/reader:1700000000`;
  const cases = (
    c: Clients,
    existing: { name: string; arn: string },
  ): Record<string, ErrorCase> => ({
    "DescribeStream of no stream": [
      () => c.streams.describeStream({ streamName: "no-such-stream" }),
      new DescribeStreamCommand({ StreamName: "no-such-stream" }),
      "ResourceNotFoundException",
    ],
    "IncreaseStreamRetentionPeriod of no stream": [
      () =>
        c.streams.increaseStreamRetentionPeriod({
          streamArn: missingArn,
          retentionPeriodHours: 48,
        }),
      new IncreaseStreamRetentionPeriodCommand({
        StreamARN: missingArn,
        RetentionPeriodHours: 48,
      }),
      "ResourceNotFoundException",
    ],
    "DecreaseStreamRetentionPeriod below 24 hours": [
      () =>
        c.streams.decreaseStreamRetentionPeriod({
          streamName: existing.name,
          retentionPeriodHours: 12,
        }),
      new DecreaseStreamRetentionPeriodCommand({
        StreamName: existing.name,
        RetentionPeriodHours: 12,
      }),
      "InvalidArgumentException",
    ],
    "IncreaseStreamRetentionPeriod past a year": [
      () =>
        c.streams.increaseStreamRetentionPeriod({
          streamName: existing.name,
          retentionPeriodHours: 8761,
        }),
      new IncreaseStreamRetentionPeriodCommand({
        StreamName: existing.name,
        RetentionPeriodHours: 8761,
      }),
      "InvalidArgumentException",
    ],
    "AddTagsToStream with no tags": [
      () => c.streams.addTagsToStream({ streamName: existing.name, tags: {} }),
      new AddTagsToStreamCommand({ StreamName: existing.name, Tags: {} }),
      "ValidationException",
    ],
    "AddTagsToStream of no stream": [
      () => c.streams.addTagsToStream({ streamName: "no-such-stream", tags: { a: "1" } }),
      new AddTagsToStreamCommand({ StreamName: "no-such-stream", Tags: { a: "1" } }),
      "ResourceNotFoundException",
    ],
    "RemoveTagsFromStream with a key too long": [
      () =>
        c.streams.removeTagsFromStream({ streamName: existing.name, tagKeys: ["k".repeat(129)] }),
      new RemoveTagsFromStreamCommand({ StreamName: existing.name, TagKeys: ["k".repeat(129)] }),
      "ValidationException",
    ],
    "ListTagsForStream with a limit of 51": [
      () => c.streams.listTagsForStream({ streamName: existing.name, limit: 51 }),
      new ListTagsForStreamCommand({ StreamName: existing.name, Limit: 51 }),
      "ValidationException",
    ],
    "TagResource of no ARN": [
      () => c.streams.tagResource({ resourceArn: "", tags: { a: "1" } }),
      new TagResourceCommand({ ResourceARN: undefined, Tags: { a: "1" } }),
      "ValidationException",
    ],
    "TagResource of no stream": [
      () => c.streams.tagResource({ resourceArn: missingArn, tags: { a: "1" } }),
      new TagResourceCommand({ ResourceARN: missingArn, Tags: { a: "1" } }),
      "ResourceNotFoundException",
    ],
    "UntagResource of a consumer that is none": [
      () => c.streams.untagResource({ resourceArn: missingConsumerArn, tagKeys: ["a"] }),
      new UntagResourceCommand({ ResourceARN: missingConsumerArn, TagKeys: ["a"] }),
      "ResourceNotFoundException",
    ],
    "PutResourcePolicy of a policy that is no JSON object": [
      () => c.streams.putResourcePolicy({ resourceArn: existing.arn, policy: "[]" }),
      new PutResourcePolicyCommand({ ResourceARN: existing.arn, Policy: "[]" }),
      "InvalidArgumentException",
    ],
    "GetResourcePolicy of no stream": [
      () => c.streams.getResourcePolicy({ resourceArn: missingArn }),
      new GetResourcePolicyCommand({ ResourceARN: missingArn }),
      "ResourceNotFoundException",
    ],
    "DeleteResourcePolicy of no stream": [
      () => c.streams.deleteResourcePolicy({ resourceArn: missingArn }),
      new DeleteResourcePolicyCommand({ ResourceARN: missingArn }),
      "ResourceNotFoundException",
    ],
    "StartStreamEncryption with NONE": [
      () =>
        c.streams.startStreamEncryption({
          streamName: existing.name,
          encryptionType: EncryptionType.NONE,
          keyId: KEY,
        }),
      new StartStreamEncryptionCommand({
        StreamName: existing.name,
        EncryptionType: "NONE",
        KeyId: KEY,
      }),
      "InvalidArgumentException",
    ],
    "StartStreamEncryption with a type the enum does not name": [
      () =>
        c.streams.startStreamEncryption({
          streamName: existing.name,
          encryptionType: 7 as EncryptionType,
          keyId: KEY,
        }),
      new StartStreamEncryptionCommand({
        StreamName: existing.name,
        EncryptionType: "7" as never,
        KeyId: KEY,
      }),
      "ValidationException",
    ],
    "StopStreamEncryption with no type and no key": [
      () => c.streams.stopStreamEncryption({ streamName: existing.name }),
      new StopStreamEncryptionCommand({
        StreamName: existing.name,
        EncryptionType: undefined,
        KeyId: undefined,
      }),
      "ValidationException",
    ],
    "EnableEnhancedMonitoring of a metric the enum does not name": [
      () =>
        c.streams.enableEnhancedMonitoring({
          streamName: existing.name,
          shardLevelMetrics: [99 as MetricsName],
        }),
      new EnableEnhancedMonitoringCommand({
        StreamName: existing.name,
        ShardLevelMetrics: ["99" as never],
      }),
      "ValidationException",
    ],
    "DisableEnhancedMonitoring of no stream": [
      () =>
        c.streams.disableEnhancedMonitoring({
          streamName: "no-such-stream",
          shardLevelMetrics: [MetricsName.ALL],
        }),
      new DisableEnhancedMonitoringCommand({
        StreamName: "no-such-stream",
        ShardLevelMetrics: ["ALL"],
      }),
      "ResourceNotFoundException",
    ],
    "RegisterStreamConsumer of no stream": [
      () => c.consumer.registerStreamConsumer({ streamArn: missingArn, consumerName: "reader" }),
      new RegisterStreamConsumerCommand({ StreamARN: missingArn, ConsumerName: "reader" }),
      "ResourceNotFoundException",
    ],
    "RegisterStreamConsumer with a name out of pattern": [
      () => c.consumer.registerStreamConsumer({ streamArn: existing.arn, consumerName: "a b" }),
      new RegisterStreamConsumerCommand({ StreamARN: existing.arn, ConsumerName: "a b" }),
      "ValidationException",
    ],
    "DescribeStreamConsumer of nothing": [
      () => c.consumer.describeStreamConsumer({}),
      new DescribeStreamConsumerCommand({}),
      "InvalidArgumentException",
    ],
    "DescribeStreamConsumer of no consumer": [
      () => c.consumer.describeStreamConsumer({ consumerArn: missingConsumerArn }),
      new DescribeStreamConsumerCommand({ ConsumerARN: missingConsumerArn }),
      "ResourceNotFoundException",
    ],
    "DeregisterStreamConsumer of a name not registered": [
      () =>
        c.consumer.deregisterStreamConsumer({ streamArn: existing.arn, consumerName: "absent" }),
      new DeregisterStreamConsumerCommand({ StreamARN: existing.arn, ConsumerName: "absent" }),
      "ResourceNotFoundException",
    ],
    "ListStreamConsumers with MaxResults 10,001": [
      () => c.consumer.listStreamConsumers({ streamArn: existing.arn, maxResults: 10_001 }),
      new ListStreamConsumersCommand({ StreamARN: existing.arn, MaxResults: 10_001 }),
      "ValidationException",
    ],
  });

  for (const name of ["gRPC over h2c", "Connect JSON over HTTP/1.1"]) {
    void test(`${name}: each rpc fails as the wire API does, and changes nothing`, async () => {
      const streamName = `errors-${name.startsWith("gRPC") ? "grpc" : "connect"}`;
      const arn = await activeStream(kinesis, streamName);
      const before = await kinesis.send(new DescribeStreamCommand({ StreamName: streamName }));
      const all = Object.entries(
        cases(clientsFor(transports[name]!(gateway.current.url)), {
          name: streamName,
          arn,
        }),
      );
      for (const [label, [rpc, command, type]] of all) {
        const got = await failureOf(rpc());
        const aws = await awsFailureOf(kinesis.send(command as never));
        assert.deepEqual(got, { code: codeFor[type], ...aws }, label);
        assert.equal(aws.type, type, label);
      }
      const afterwards = await kinesis.send(new DescribeStreamCommand({ StreamName: streamName }));
      assert.deepEqual(afterwards.StreamDescription, before.StreamDescription);
      assert.deepEqual(await tagsOf(kinesis, arn), {});
      const consumers = await kinesis.send(new ListStreamConsumersCommand({ StreamARN: arn }));
      assert.deepEqual(consumers.Consumers, []);
    });
  }

  void test("a consumer name in use is FAILED_PRECONDITION, a 6th CREATING at once RESOURCE_EXHAUSTED; the 5 list in pages", async () => {
    const { consumer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const streamArn = await activeStream(kinesis, "consumers-busy");
    for (let i = 0; i < 5; i++) {
      await consumer.registerStreamConsumer({ streamArn, consumerName: `c${i}` });
    }
    const twice = await failureOf(
      consumer.registerStreamConsumer({ streamArn, consumerName: "c0" }),
    );
    assert.equal(twice.code, "FailedPrecondition");
    assert.equal(twice.type, "ResourceInUseException");
    const busy = await failureOf(
      consumer.registerStreamConsumer({ streamArn, consumerName: "c5" }),
    );
    assert.deepEqual(busy, {
      code: "ResourceExhausted",
      type: "LimitExceededException",
      message: "Only 5 consumers can be created at the same time",
    });
    const pages: string[][] = [];
    let nextToken = "";
    do {
      const page = await consumer.listStreamConsumers({ streamArn, maxResults: 2, nextToken });
      pages.push(page.consumers.map((c) => c.consumerName));
      nextToken = page.nextToken;
    } while (nextToken !== "" && pages.length < 5);
    assert.deepEqual(pages, [["c0", "c1"], ["c2", "c3"], ["c4"]]);
  });
});

void suite("the control plane over gRPC with a token limited to some streams", () => {
  const FULL = "full-access-token-0123456789";
  const LIMITED = "pub-only-token-0123456789ab";
  let gateway: RunningGateway;
  let kinesis: KinesisClient;
  before(async () => {
    const tokens = join(mkdtempSync(join(tmpdir(), "tokens-")), "tokens");
    writeFileSync(tokens, `${FULL}\n${LIMITED} pub*\n`);
    gateway = await startTestGateway([
      "--streams",
      "pub-a:1,secret-a:1",
      "--auth-tokens-file",
      tokens,
    ]);
    kinesis = new KinesisClient({
      endpoint: gateway.url,
      region: "us-east-1",
      credentials: { accessKeyId: FULL, secretAccessKey: "unused" },
      maxAttempts: 1,
    });
  });
  after(async () => {
    kinesis.destroy();
    await gateway.stop();
  });
  const clientsWith = (token: string) =>
    clientsFor(
      createGrpcTransport({ baseUrl: gateway.url, interceptors: [withBearerToken(token)] }),
    );

  void test("reaches its own streams and is PERMISSION_DENIED every other, which stays as it was", async () => {
    const full = clientsWith(FULL);
    const limited = clientsWith(LIMITED);
    const arnOf = async (streamName: string) =>
      (await full.streams.describeStreamSummary({ streamName })).streamDescriptionSummary!
        .streamArn;
    const mine = { name: "pub-a", arn: await arnOf("pub-a") };
    const theirs = { name: "secret-a", arn: await arnOf("secret-a") };
    const theirConsumer = (
      await full.consumer.registerStreamConsumer({ streamArn: theirs.arn, consumerName: "theirs" })
    ).consumer!.consumerArn;
    await full.streams.addTagsToStream({ streamName: theirs.name, tags: { owner: "them" } });

    const calls = (s: { name: string; arn: string }, consumerArn: string) => ({
      describeStream: () => limited.streams.describeStream({ streamName: s.name }),
      increaseRetention: () =>
        limited.streams.increaseStreamRetentionPeriod({
          streamArn: s.arn,
          retentionPeriodHours: 48,
        }),
      decreaseRetention: () =>
        limited.streams.decreaseStreamRetentionPeriod({
          streamName: s.name,
          retentionPeriodHours: 24,
        }),
      addTags: () => limited.streams.addTagsToStream({ streamName: s.name, tags: { mine: "1" } }),
      removeTags: () =>
        limited.streams.removeTagsFromStream({ streamName: s.name, tagKeys: ["owner"] }),
      listTags: () => limited.streams.listTagsForStream({ streamName: s.name }),
      tagResource: () => limited.streams.tagResource({ resourceArn: s.arn, tags: { mine: "1" } }),
      untagResource: () =>
        limited.streams.untagResource({ resourceArn: s.arn, tagKeys: ["owner"] }),
      tagConsumer: () =>
        limited.streams.tagResource({ resourceArn: consumerArn, tags: { m: "1" } }),
      putPolicy: () =>
        limited.streams.putResourcePolicy({ resourceArn: s.arn, policy: policyFor(s.arn) }),
      getPolicy: () => limited.streams.getResourcePolicy({ resourceArn: s.arn }),
      deletePolicy: () => limited.streams.deleteResourcePolicy({ resourceArn: s.arn }),
      startEncryption: () =>
        limited.streams.startStreamEncryption({
          streamName: s.name,
          encryptionType: EncryptionType.KMS,
          keyId: KEY,
        }),
      enableMonitoring: () =>
        limited.streams.enableEnhancedMonitoring({
          streamName: s.name,
          shardLevelMetrics: [MetricsName.ALL],
        }),
      disableMonitoring: () =>
        limited.streams.disableEnhancedMonitoring({
          streamName: s.name,
          shardLevelMetrics: [MetricsName.ALL],
        }),
      register: () =>
        limited.consumer.registerStreamConsumer({ streamArn: s.arn, consumerName: "mine" }),
      describeConsumer: () => limited.consumer.describeStreamConsumer({ consumerArn }),
      listConsumers: () => limited.consumer.listStreamConsumers({ streamArn: s.arn }),
      deregister: () => limited.consumer.deregisterStreamConsumer({ consumerArn }),
    });

    const before = await kinesis.send(new DescribeStreamCommand({ StreamName: theirs.name }));
    for (const [label, call] of Object.entries(calls(theirs, theirConsumer))) {
      const failure = await failureOf(call());
      assert.equal(failure.code, "PermissionDenied", label);
    }
    const afterwards = await kinesis.send(new DescribeStreamCommand({ StreamName: theirs.name }));
    assert.deepEqual(afterwards.StreamDescription, before.StreamDescription);
    assert.deepEqual(await tagsOf(kinesis, theirs.arn), { owner: "them" });
    assert.equal(await consumerStatusOf(kinesis, theirConsumer), "ACTIVE");

    // The same calls on its own stream go through: the consumer is its own
    // (registered by `register` before `describeConsumer` runs).
    let myConsumer = "";
    for (const [label, call] of Object.entries(calls(mine, ""))) {
      if (label === "tagConsumer" || label === "describeConsumer" || label === "deregister") {
        continue;
      }
      const out = await call();
      if (label === "register")
        myConsumer = (out as { consumer?: { consumerArn: string } }).consumer!.consumerArn;
      await until(
        () => summaryOf(kinesis, mine.name),
        (s) => s.StreamStatus === "ACTIVE",
      );
    }
    assert.deepEqual(await tagsOf(kinesis, mine.arn), { mine: "1" });
    await limited.consumer.describeStreamConsumer({ consumerArn: myConsumer });
    await limited.consumer.deregisterStreamConsumer({ consumerArn: myConsumer });
    // DescribeLimits addresses the account, not a stream.
    assert.equal((await limited.streams.describeLimits({})).shardLimit, 1000);
  });
});
