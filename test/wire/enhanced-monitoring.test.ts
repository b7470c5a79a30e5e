/**
 * EnableEnhancedMonitoring and DisableEnhancedMonitoring over the AWS SDK
 * against the gateway's engine, and forwarded to a real emulator.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  DescribeStreamSummaryCommand,
  DisableEnhancedMonitoringCommand,
  EnableEnhancedMonitoringCommand,
  type KinesisClient,
  type MetricsName,
} from "@aws-sdk/client-kinesis";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { forwardingTo, useGateway } from "../helpers/gateway.ts";
import { activeStream, rejectsWith, sdkClient } from "../helpers/kinesis-sdk.ts";

const TRANSITION_MS = 200;
const EACH_METRIC = [
  "IncomingBytes",
  "IncomingRecords",
  "OutgoingBytes",
  "OutgoingRecords",
  "WriteProvisionedThroughputExceeded",
  "ReadProvisionedThroughputExceeded",
  "IteratorAgeMilliseconds",
];

/** The metrics DescribeStream and DescribeStreamSummary show, which must agree. */
async function shownMetrics(kinesis: KinesisClient, name: string) {
  const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
  const described = await kinesis.send(new DescribeStreamCommand({ StreamName: name }));
  const fromSummary = summary.StreamDescriptionSummary!.EnhancedMonitoring;
  assert.deepEqual(described.StreamDescription!.EnhancedMonitoring, fromSummary);
  assert.equal(fromSummary?.length, 1);
  return fromSummary[0]!.ShardLevelMetrics;
}

const enable = (StreamName: string, metrics: string[]) =>
  new EnableEnhancedMonitoringCommand({
    StreamName,
    ShardLevelMetrics: metrics as MetricsName[],
  });
const disable = (StreamName: string, metrics: string[]) =>
  new DisableEnhancedMonitoringCommand({
    StreamName,
    ShardLevelMetrics: metrics as MetricsName[],
  });

void suite("EnableEnhancedMonitoring and DisableEnhancedMonitoring against the engine", () => {
  const gateway = useGateway(["--stream-transition-ms", String(TRANSITION_MS)]);
  let kinesis: KinesisClient;
  before(() => {
    kinesis = sdkClient(gateway.current.url);
  });
  after(() => kinesis.destroy());

  void test("a new stream shows no metrics; enabling answers the metrics before and after, in the model's order", async () => {
    const arn = await activeStream(kinesis, "monitored");
    assert.deepEqual(await shownMetrics(kinesis, "monitored"), []);

    const first = await kinesis.send(enable("monitored", ["OutgoingBytes", "IncomingBytes"]));
    assert.equal(first.StreamName, "monitored");
    assert.equal(first.StreamARN, arn);
    assert.deepEqual(first.CurrentShardLevelMetrics, []);
    assert.deepEqual(first.DesiredShardLevelMetrics, ["IncomingBytes", "OutgoingBytes"]);

    const again = await kinesis.send(
      enable("monitored", ["IncomingBytes", "IteratorAgeMilliseconds"]),
    );
    assert.deepEqual(again.CurrentShardLevelMetrics, ["IncomingBytes", "OutgoingBytes"]);
    assert.deepEqual(again.DesiredShardLevelMetrics, [
      "IncomingBytes",
      "OutgoingBytes",
      "IteratorAgeMilliseconds",
    ]);
    assert.deepEqual(await shownMetrics(kinesis, "monitored"), [
      "IncomingBytes",
      "OutgoingBytes",
      "IteratorAgeMilliseconds",
    ]);

    const off = await kinesis.send(disable("monitored", ["OutgoingBytes", "IncomingRecords"]));
    assert.deepEqual(off.CurrentShardLevelMetrics, [
      "IncomingBytes",
      "OutgoingBytes",
      "IteratorAgeMilliseconds",
    ]);
    assert.deepEqual(off.DesiredShardLevelMetrics, ["IncomingBytes", "IteratorAgeMilliseconds"]);
    assert.deepEqual(await shownMetrics(kinesis, "monitored"), [
      "IncomingBytes",
      "IteratorAgeMilliseconds",
    ]);
  });

  void test("ALL enables and disables each metric", async () => {
    await activeStream(kinesis, "monitored-all");
    const on = await kinesis.send(enable("monitored-all", ["ALL"]));
    assert.deepEqual(on.DesiredShardLevelMetrics, EACH_METRIC);
    assert.deepEqual(await shownMetrics(kinesis, "monitored-all"), EACH_METRIC);
    const off = await kinesis.send(disable("monitored-all", ["ALL"]));
    assert.deepEqual(off.CurrentShardLevelMetrics, EACH_METRIC);
    assert.deepEqual(off.DesiredShardLevelMetrics, []);
    assert.deepEqual(await shownMetrics(kinesis, "monitored-all"), []);
  });

  void test("metrics outside the enum, none, or more than 7 are ValidationExceptions that change nothing", async () => {
    await activeStream(kinesis, "monitored-checks");
    await kinesis.send(enable("monitored-checks", ["IncomingRecords"]));
    const enumText =
      "[IncomingBytes, IncomingRecords, OutgoingBytes, OutgoingRecords, " +
      "WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, " +
      "IteratorAgeMilliseconds, ALL]";
    for (const command of [enable, disable]) {
      await rejectsWith(
        kinesis.send(command("monitored-checks", ["IncomingBytes", "Latency"])),
        "ValidationException",
        "1 validation error detected: Value '[IncomingBytes, Latency]' at 'shardLevelMetrics' " +
          `failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: ${enumText}]`,
      );
      await rejectsWith(
        kinesis.send(command("monitored-checks", [])),
        "ValidationException",
        "1 validation error detected: Value '[]' at 'shardLevelMetrics' failed to satisfy " +
          "constraint: Member must have length greater than or equal to 1",
      );
      await rejectsWith(
        kinesis.send(command("monitored-checks", [...EACH_METRIC, "ALL"])),
        "ValidationException",
        /'shardLevelMetrics' failed to satisfy constraint: Member must have length less than or equal to 7/,
      );
      await rejectsWith(
        kinesis.send(
          new EnableEnhancedMonitoringCommand({
            StreamName: "monitored-checks",
            ShardLevelMetrics: undefined,
          }),
        ),
        "ValidationException",
        /'shardLevelMetrics' failed to satisfy constraint: Member must not be null/,
      );
    }
    assert.deepEqual(await shownMetrics(kinesis, "monitored-checks"), ["IncomingRecords"]);
  });

  void test("a stream that is not ACTIVE is ResourceInUseException; an absent one ResourceNotFoundException", async () => {
    await kinesis.send(
      new CreateStreamCommand({ StreamName: "monitored-creating", ShardCount: 1 }),
    );
    for (const command of [enable, disable]) {
      await rejectsWith(
        kinesis.send(command("monitored-creating", ["ALL"])),
        "ResourceInUseException",
        "Stream monitored-creating under account 000000000000 is not currently ACTIVE or UPDATING.",
      );
      await rejectsWith(
        kinesis.send(command("monitored-absent", ["ALL"])),
        "ResourceNotFoundException",
      );
    }
    await sleep(TRANSITION_MS + 50);
    assert.deepEqual(await shownMetrics(kinesis, "monitored-creating"), []);
  });
});

void suite("EnableEnhancedMonitoring and DisableEnhancedMonitoring forwarded to a real emulator", () => {
  const emulator = useEmulator();
  const gateway = useGateway(forwardingTo(emulator));

  void test("the upstream's metrics pass through the answers and DescribeStream(Summary)", async () => {
    const kinesis = sdkClient(gateway.current.url);
    const name = "forwarded-monitoring";
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    await waitUntilStreamActive(emulator.current.client(), name);
    const on = await kinesis.send(enable(name, ["IncomingBytes", "OutgoingRecords"]));
    assert.equal(on.StreamName, name);
    assert.deepEqual(
      new Set(on.DesiredShardLevelMetrics),
      new Set(["IncomingBytes", "OutgoingRecords"]),
    );
    await waitUntilStreamActive(emulator.current.client(), name);
    assert.deepEqual(
      new Set(await shownMetrics(kinesis, name)),
      new Set(["IncomingBytes", "OutgoingRecords"]),
    );
    const off = await kinesis.send(disable(name, ["IncomingBytes"]));
    assert.deepEqual(off.DesiredShardLevelMetrics, ["OutgoingRecords"]);
    await waitUntilStreamActive(emulator.current.client(), name);
    assert.deepEqual(await shownMetrics(kinesis, name), ["OutgoingRecords"]);
    kinesis.destroy();
  });
});
