/**
 * Every operation of the Kinesis API reference, one after another through the
 * AWS SDK for JavaScript against the gateway's engine: each must answer, not
 * with UnknownOperationException, and do what it says (the other wire tests
 * check each in depth). The list is checked against the SDK's own commands,
 * so an operation AWS adds shows up here as a failure until it is served or
 * named below.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as sdk from "@aws-sdk/client-kinesis";
import { useGateway } from "../helpers/gateway.ts";
import { sdkClient } from "../helpers/kinesis-sdk.ts";

/**
 * The SDK's commands that the gateway does not serve on the wire API, and why.
 * The channel operations and
 * UpdateStreamRecordDistributionStrategy came to the SDK after the API
 * reference of July 2026 that issue 15 lists (39 operations).
 */
const NOT_SERVED = new Set([
  "CreateChannel",
  "DeleteChannel",
  "DescribeChannel",
  "ListChannels",
  "UpdateChannel",
  "UpdateStreamRecordDistributionStrategy",
]);

// A short subscription lifetime, for SubscribeToShard's event stream to end by itself.
const gateway = useGateway(["--stream-transition-ms", "0", "--subscription-lifetime-ms", "300"]);

void test("every operation of the API reference answers through the AWS SDK", async () => {
  const kinesis = sdkClient(gateway.current.url);
  const called = new Set<string>();
  async function call<Output>(command: {
    constructor: { name: string };
    input: object;
  }): Promise<Output> {
    called.add(command.constructor.name.replace(/Command$/, ""));
    // biome-ignore lint/suspicious/noExplicitAny: each command's own output type is given by the caller
    return (await kinesis.send(command as any)) as Output;
  }
  const StreamName = "tour";
  const data = new TextEncoder().encode("record");

  await call(new sdk.CreateStreamCommand({ StreamName, ShardCount: 2, Tags: { team: "a" } }));
  const listed = await call<sdk.ListStreamsOutput>(new sdk.ListStreamsCommand({}));
  assert.deepEqual(listed.StreamNames, [StreamName]);
  const summary = await call<sdk.DescribeStreamSummaryOutput>(
    new sdk.DescribeStreamSummaryCommand({ StreamName }),
  );
  const StreamARN = summary.StreamDescriptionSummary!.StreamARN!;
  const described = await call<sdk.DescribeStreamOutput>(
    new sdk.DescribeStreamCommand({ StreamName }),
  );
  assert.equal(described.StreamDescription!.Shards!.length, 2);
  const shards = await call<sdk.ListShardsOutput>(new sdk.ListShardsCommand({ StreamARN }));
  const ShardId = shards.Shards![0]!.ShardId!;

  const put = await call<sdk.PutRecordOutput>(
    new sdk.PutRecordCommand({ StreamARN, Data: data, PartitionKey: "k", ExplicitHashKey: "0" }),
  );
  assert.equal(put.ShardId, ShardId);
  const batch = await call<sdk.PutRecordsOutput>(
    new sdk.PutRecordsCommand({
      StreamName,
      Records: [{ Data: data, PartitionKey: "k", ExplicitHashKey: "1" }],
    }),
  );
  assert.equal(batch.FailedRecordCount, 0);
  const iterator = await call<sdk.GetShardIteratorOutput>(
    new sdk.GetShardIteratorCommand({ StreamName, ShardId, ShardIteratorType: "TRIM_HORIZON" }),
  );
  const read = await call<sdk.GetRecordsOutput>(
    new sdk.GetRecordsCommand({ ShardIterator: iterator.ShardIterator }),
  );
  assert.equal(read.Records!.length, 2);

  await call(
    new sdk.IncreaseStreamRetentionPeriodCommand({ StreamName, RetentionPeriodHours: 48 }),
  );
  await call(
    new sdk.DecreaseStreamRetentionPeriodCommand({ StreamName, RetentionPeriodHours: 24 }),
  );
  await call(new sdk.AddTagsToStreamCommand({ StreamName, Tags: { env: "dev" } }));
  await call(new sdk.RemoveTagsFromStreamCommand({ StreamName, TagKeys: ["team"] }));
  const streamTags = await call<sdk.ListTagsForStreamOutput>(
    new sdk.ListTagsForStreamCommand({ StreamName }),
  );
  assert.deepEqual(streamTags.Tags, [{ Key: "env", Value: "dev" }]);
  await call(new sdk.TagResourceCommand({ ResourceARN: StreamARN, Tags: { owner: "b" } }));
  await call(new sdk.UntagResourceCommand({ ResourceARN: StreamARN, TagKeys: ["env"] }));
  const resourceTags = await call<sdk.ListTagsForResourceOutput>(
    new sdk.ListTagsForResourceCommand({ ResourceARN: StreamARN }),
  );
  assert.deepEqual(resourceTags.Tags, [{ Key: "owner", Value: "b" }]);

  const Policy = JSON.stringify({ Version: "2012-10-17", Statement: [] });
  await call(new sdk.PutResourcePolicyCommand({ ResourceARN: StreamARN, Policy }));
  const policy = await call<sdk.GetResourcePolicyOutput>(
    new sdk.GetResourcePolicyCommand({ ResourceARN: StreamARN }),
  );
  assert.equal(policy.Policy, Policy);
  await call(new sdk.DeleteResourcePolicyCommand({ ResourceARN: StreamARN }));

  const monitoring = await call<sdk.EnhancedMonitoringOutput>(
    new sdk.EnableEnhancedMonitoringCommand({ StreamName, ShardLevelMetrics: ["IncomingBytes"] }),
  );
  assert.deepEqual(monitoring.DesiredShardLevelMetrics, ["IncomingBytes"]);
  await call(
    new sdk.DisableEnhancedMonitoringCommand({ StreamName, ShardLevelMetrics: ["IncomingBytes"] }),
  );
  await call(
    new sdk.StartStreamEncryptionCommand({
      StreamName,
      EncryptionType: "KMS",
      KeyId: "alias/aws/kinesis",
    }),
  );
  await call(
    new sdk.StopStreamEncryptionCommand({
      StreamName,
      EncryptionType: "KMS",
      KeyId: "alias/aws/kinesis",
    }),
  );
  const limits = await call<sdk.DescribeLimitsOutput>(new sdk.DescribeLimitsCommand({}));
  assert.equal(limits.OpenShardCount, 2);

  const registered = await call<sdk.RegisterStreamConsumerOutput>(
    new sdk.RegisterStreamConsumerCommand({ StreamARN, ConsumerName: "reader" }),
  );
  const ConsumerARN = registered.Consumer!.ConsumerARN!;
  await call(new sdk.DescribeStreamConsumerCommand({ ConsumerARN }));
  const consumers = await call<sdk.ListStreamConsumersOutput>(
    new sdk.ListStreamConsumersCommand({ StreamARN }),
  );
  assert.deepEqual(
    consumers.Consumers!.map((c) => c.ConsumerName),
    ["reader"],
  );
  // Here over HTTP/1.1 (the client's handler); HTTP/2, boto3 and CBOR in subscribe-to-shard.test.ts.
  const subscription = await call<sdk.SubscribeToShardOutput>(
    new sdk.SubscribeToShardCommand({
      ConsumerARN,
      ShardId,
      StartingPosition: { Type: "TRIM_HORIZON" },
    }),
  );
  const pushed: string[] = [];
  for await (const event of subscription.EventStream!) {
    for (const record of event.SubscribeToShardEvent?.Records ?? []) {
      pushed.push(new TextDecoder().decode(record.Data));
    }
  }
  assert.deepEqual(pushed, ["record", "record"]);
  await call(new sdk.DeregisterStreamConsumerCommand({ ConsumerARN }));

  await call(
    new sdk.SplitShardCommand({
      StreamName,
      ShardToSplit: ShardId,
      NewStartingHashKey: String(2n ** 126n),
    }),
  );
  await call(
    new sdk.MergeShardsCommand({
      StreamName,
      ShardToMerge: "shardId-000000000002",
      AdjacentShardToMerge: "shardId-000000000003",
    }),
  );
  const scaled = await call<sdk.UpdateShardCountOutput>(
    new sdk.UpdateShardCountCommand({
      StreamName,
      TargetShardCount: 3,
      ScalingType: "UNIFORM_SCALING",
    }),
  );
  assert.equal(scaled.CurrentShardCount, 2);
  await call(new sdk.UpdateMaxRecordSizeCommand({ StreamARN, MaxRecordSizeInKiB: 2048 }));

  const before = await call<sdk.DescribeAccountSettingsOutput>(
    new sdk.DescribeAccountSettingsCommand({}),
  );
  assert.equal(before.MinimumThroughputBillingCommitment?.Status, "DISABLED");
  await call(
    new sdk.UpdateAccountSettingsCommand({
      MinimumThroughputBillingCommitment: { Status: "ENABLED" },
    }),
  );
  await call(
    new sdk.UpdateStreamModeCommand({ StreamARN, StreamModeDetails: { StreamMode: "ON_DEMAND" } }),
  );
  const warm = await call<sdk.UpdateStreamWarmThroughputOutput>(
    new sdk.UpdateStreamWarmThroughputCommand({ StreamARN, WarmThroughputMiBps: 8 }),
  );
  assert.equal(warm.WarmThroughput?.TargetMiBps, 8);
  await call(new sdk.DeleteStreamCommand({ StreamName }));

  const commands = Object.keys(sdk)
    .filter((name) => name.endsWith("Command") && name !== "$Command")
    .map((name) => name.replace(/Command$/, ""));
  const served = commands.filter((name) => !NOT_SERVED.has(name)).sort();
  assert.equal(served.length, 39, "the API reference's 39 operations");
  assert.deepEqual([...called].sort(), served);
});
