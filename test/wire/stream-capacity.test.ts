/**
 * Stream modes, warm throughput, account settings and `StreamId` over the
 * AWS SDK (and the AWS CLI) against the gateway's engine, and forwarded to a
 * real emulator.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, suite, test } from "node:test";
import {
  CreateStreamCommand,
  DescribeAccountSettingsCommand,
  DescribeLimitsCommand,
  DescribeStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ListStreamsCommand,
  PutRecordCommand,
  RegisterStreamConsumerCommand,
  type StreamMode,
  UpdateAccountSettingsCommand,
  UpdateStreamModeCommand,
  UpdateStreamWarmThroughputCommand,
} from "@aws-sdk/client-kinesis";
import { Decoder, Encoder } from "cbor-x";
import { awsCliVersion, awsKinesis, skipWithoutCli } from "../helpers/aws-cli.ts";
import { summaryOf } from "../helpers/control-plane.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { forwardingTo, useGateway } from "../helpers/gateway.ts";
import {
  activeStream,
  pinnedSdkClient,
  rejectsWith,
  sdkClient,
  untilStreamActive,
} from "../helpers/kinesis-sdk.ts";

const TRANSITION_MS = 200;
const DAY_MS = 24 * 60 * 60 * 1000;
/** A `StreamId` of the model's pattern. */
const STREAM_ID = "abcdefghij0123456789-abc";

const setMode = (StreamARN: string, mode: string, WarmThroughputMiBps?: number) =>
  new UpdateStreamModeCommand({
    StreamARN,
    StreamModeDetails: { StreamMode: mode as StreamMode },
    WarmThroughputMiBps,
  });

const commitment = (Status: string) =>
  new UpdateAccountSettingsCommand({
    MinimumThroughputBillingCommitment: { Status: Status as "ENABLED" },
  });

/**
 * The mode DescribeStreamSummary, DescribeStream and (unless `listed` is
 * false) ListStreams show, which must agree.
 */
async function shownMode(kinesis: KinesisClient, name: string, { listed = true } = {}) {
  const summary = await summaryOf(kinesis, name);
  const described = (await kinesis.send(new DescribeStreamCommand({ StreamName: name })))
    .StreamDescription!;
  assert.equal(described.StreamModeDetails?.StreamMode, summary.StreamModeDetails?.StreamMode);
  if (listed) {
    const listing = (await kinesis.send(new ListStreamsCommand({}))).StreamSummaries!;
    const entry = listing.find((s) => s.StreamName === name)!;
    assert.equal(entry.StreamModeDetails?.StreamMode, summary.StreamModeDetails?.StreamMode);
  }
  return summary.StreamModeDetails?.StreamMode;
}

void suite("stream modes, warm throughput and account settings against the engine", () => {
  const gateway = useGateway(["--stream-transition-ms", String(TRANSITION_MS)]);
  let kinesis: KinesisClient;
  before(() => {
    kinesis = sdkClient(gateway.current.url);
  });
  after(() => kinesis.destroy());

  void test("PROVISIONED → ON_DEMAND → PROVISIONED: UPDATING for the transition, the shards kept, twice a day at most", async () => {
    const arn = await activeStream(kinesis, "moded");
    await kinesis.send(setMode(arn, "ON_DEMAND"));
    assert.equal((await summaryOf(kinesis, "moded")).StreamStatus, "UPDATING");
    await rejectsWith(
      kinesis.send(setMode(arn, "PROVISIONED")),
      "ResourceInUseException",
      "Stream moded under account 000000000000 is not currently ACTIVE.",
    );
    // Writes go on while UPDATING.
    await kinesis.send(
      new PutRecordCommand({ StreamName: "moded", PartitionKey: "k", Data: new Uint8Array(1) }),
    );
    await untilStreamActive(kinesis, "moded");
    assert.equal(await shownMode(kinesis, "moded"), "ON_DEMAND");
    assert.equal((await summaryOf(kinesis, "moded")).OpenShardCount, 1);
    const limits = await kinesis.send(new DescribeLimitsCommand({}));
    assert.equal(limits.OnDemandStreamCount, 1);

    await kinesis.send(setMode(arn, "PROVISIONED"));
    await untilStreamActive(kinesis, "moded");
    assert.equal(await shownMode(kinesis, "moded"), "PROVISIONED");
    await rejectsWith(
      kinesis.send(setMode(arn, "ON_DEMAND")),
      "LimitExceededException",
      "Stream moded under account 000000000000 has changed its capacity mode 2 times in the last 24 hours, the most allowed.",
    );
    assert.equal(await shownMode(kinesis, "moded"), "PROVISIONED");
  });

  void test("bad UpdateStreamMode requests are refused with AWS's texts and change nothing", async () => {
    const arn = await activeStream(kinesis, "mode-checks");
    await rejectsWith(
      kinesis.send(setMode(arn, "AUTO")),
      "ValidationException",
      "1 validation error detected: Value 'AUTO' at 'streamModeDetails.streamMode' failed to " +
        "satisfy constraint: Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]",
    );
    await rejectsWith(
      kinesis.send(new UpdateStreamModeCommand({ StreamARN: arn } as never)),
      "ValidationException",
      "1 validation error detected: Value null at 'streamModeDetails' failed to satisfy " +
        "constraint: Member must not be null",
    );
    await rejectsWith(
      kinesis.send(setMode(undefined as never, "ON_DEMAND")),
      "ValidationException",
      "1 validation error detected: Value null at 'streamARN' failed to satisfy constraint: " +
        "Member must not be null",
    );
    await rejectsWith(
      kinesis.send(setMode("orders", "ON_DEMAND")),
      "ValidationException",
      "1 validation error detected: Value 'orders' at 'streamARN' failed to satisfy constraint: " +
        "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+",
    );
    await rejectsWith(
      kinesis.send(setMode(arn, "ON_DEMAND", -1)),
      "ValidationException",
      "1 validation error detected: Value '-1' at 'warmThroughputMiBps' failed to satisfy " +
        "constraint: Member must have value greater than or equal to 0",
    );
    await rejectsWith(
      kinesis.send(setMode(arn, "PROVISIONED", 10)),
      "InvalidArgumentException",
      "WarmThroughputMiBps is only valid for on-demand streams",
    );
    await rejectsWith(
      kinesis.send(setMode(`${arn}-absent`, "ON_DEMAND")),
      "ResourceNotFoundException",
      "Stream mode-checks-absent under account 000000000000 not found.",
    );
    assert.equal((await summaryOf(kinesis, "mode-checks")).StreamStatus, "ACTIVE");
    assert.equal(await shownMode(kinesis, "mode-checks"), "PROVISIONED");
  });

  void test("the billing commitment, warm throughput with it, and what ends with it", async () => {
    await kinesis.send(
      new CreateStreamCommand({
        StreamName: "warm",
        StreamModeDetails: { StreamMode: "ON_DEMAND" },
      }),
    );
    await untilStreamActive(kinesis, "warm");
    const { $metadata: _, ...before } = await kinesis.send(new DescribeAccountSettingsCommand({}));
    assert.deepEqual(before, { MinimumThroughputBillingCommitment: { Status: "DISABLED" } });
    assert.equal((await summaryOf(kinesis, "warm")).WarmThroughput, undefined);
    await rejectsWith(
      kinesis.send(
        new UpdateStreamWarmThroughputCommand({ StreamName: "warm", WarmThroughputMiBps: 8 }),
      ),
      "InvalidArgumentException",
      "Warm throughput for stream warm under account 000000000000 needs the account's " +
        "MinimumThroughputBillingCommitment to be ENABLED (UpdateAccountSettings).",
    );

    const enabled = (await kinesis.send(commitment("ENABLED"))).MinimumThroughputBillingCommitment!;
    assert.equal(enabled.Status, "ENABLED");
    assert.ok(enabled.StartedAt instanceof Date);
    assert.equal(enabled.EarliestAllowedEndAt!.getTime() - enabled.StartedAt.getTime(), DAY_MS);
    assert.deepEqual((await summaryOf(kinesis, "warm")).WarmThroughput, { CurrentMiBps: 4 });

    const out = await kinesis.send(
      new UpdateStreamWarmThroughputCommand({ StreamName: "warm", WarmThroughputMiBps: 8 }),
    );
    assert.equal(out.StreamName, "warm");
    assert.match(out.StreamARN!, /:stream\/warm$/);
    assert.deepEqual(out.WarmThroughput, { TargetMiBps: 8, CurrentMiBps: 4 });
    const updating = await summaryOf(kinesis, "warm");
    assert.equal(updating.StreamStatus, "UPDATING");
    assert.deepEqual(updating.WarmThroughput, { TargetMiBps: 8, CurrentMiBps: 4 });
    await untilStreamActive(kinesis, "warm");
    assert.deepEqual((await summaryOf(kinesis, "warm")).WarmThroughput, {
      TargetMiBps: 8,
      CurrentMiBps: 8,
    });

    // Disabled within its 24 hours: it ends then, and holds until then.
    const disabled = (await kinesis.send(commitment("DISABLED")))
      .MinimumThroughputBillingCommitment!;
    assert.equal(disabled.Status, "ENABLED_UNTIL_EARLIEST_ALLOWED_END");
    assert.deepEqual(disabled.EarliestAllowedEndAt, enabled.EarliestAllowedEndAt);
    assert.equal((await summaryOf(kinesis, "warm")).WarmThroughput?.TargetMiBps, 8);
    const { $metadata: __, ...again } = await kinesis.send(commitment("ENABLED"));
    assert.deepEqual(again, { MinimumThroughputBillingCommitment: enabled });
  });

  void test("bad account settings and warm throughput are refused with AWS's texts", async () => {
    await rejectsWith(
      kinesis.send(commitment("PAUSED")),
      "ValidationException",
      "1 validation error detected: Value 'PAUSED' at 'minimumThroughputBillingCommitment.status' " +
        "failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]",
    );
    await rejectsWith(
      kinesis.send(new UpdateAccountSettingsCommand({} as never)),
      "ValidationException",
      "1 validation error detected: Value null at 'minimumThroughputBillingCommitment' failed to " +
        "satisfy constraint: Member must not be null",
    );
    await rejectsWith(
      kinesis.send(new UpdateStreamWarmThroughputCommand({ StreamName: "warm" } as never)),
      "ValidationException",
      "1 validation error detected: Value null at 'warmThroughputMiBps' failed to satisfy " +
        "constraint: Member must not be null",
    );
    await rejectsWith(
      kinesis.send(new UpdateStreamWarmThroughputCommand({ WarmThroughputMiBps: 8 })),
      "InvalidArgumentException",
      "Neither StreamName nor StreamARN was provided; give one of them, or both.",
    );
    await activeStream(kinesis, "warm-provisioned");
    await rejectsWith(
      kinesis.send(
        new UpdateStreamWarmThroughputCommand({
          StreamName: "warm-provisioned",
          WarmThroughputMiBps: 8,
        }),
      ),
      "InvalidArgumentException",
      "WarmThroughputMiBps is only valid for on-demand streams",
    );
    await rejectsWith(
      kinesis.send(
        new CreateStreamCommand({ StreamName: "warm-p", ShardCount: 1, WarmThroughputMiBps: 8 }),
      ),
      "InvalidArgumentException",
      "WarmThroughputMiBps is only valid for on-demand streams",
    );
    const names = (await kinesis.send(new ListStreamsCommand({}))).StreamNames!;
    assert.ok(!names.includes("warm-p"));
  });

  void test("StreamId: a valid one is accepted and ignored, a bad one gets AWS's ValidationException", async () => {
    const pinned = pinnedSdkClient(gateway.current.url);
    await activeStream(pinned, "with-id");
    const summary = await pinned.send(
      new DescribeStreamSummaryCommand({ StreamName: "with-id", StreamId: STREAM_ID }),
    );
    assert.equal(summary.StreamDescriptionSummary?.StreamName, "with-id");
    await rejectsWith(
      pinned.send(new DescribeStreamSummaryCommand({ StreamName: "with-id", StreamId: "ABC" })),
      "ValidationException",
      "1 validation error detected: Value 'ABC' at 'streamId' failed to satisfy constraint: " +
        "Member must satisfy regular expression pattern: [a-z0-9]{20}-[a-z0-9]{3}",
    );
    await rejectsWith(
      pinned.send(
        new PutRecordCommand({
          StreamName: "with-id",
          StreamId: `${STREAM_ID}x`,
          PartitionKey: "k",
          Data: new Uint8Array(1),
        }),
      ),
      "ValidationException",
      /Value 'abcdefghij0123456789-abcx' at 'streamId' failed to satisfy constraint: Member must satisfy regular expression pattern: \[a-z0-9\]\{20\}-\[a-z0-9\]\{3\}; Value 'abcdefghij0123456789-abcx' at 'streamId' failed to satisfy constraint: Member must have length less than or equal to 24$/,
    );
    pinned.destroy();
  });
});

void suite("account settings over the wire API in JSON and CBOR", () => {
  const gateway = useGateway();
  const SIGNED =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";
  const call = async (contentType: string, body: Uint8Array, operation: string) => {
    const res = await fetch(`${gateway.current.url}/`, {
      method: "POST",
      headers: {
        "content-type": contentType,
        "x-amz-target": `Kinesis_20131202.${operation}`,
        authorization: SIGNED,
      },
      body,
    });
    assert.equal(res.status, 200);
    return new Uint8Array(await res.arrayBuffer());
  };
  const body = { MinimumThroughputBillingCommitment: { Status: "ENABLED" } };

  void test("timestamps are epoch seconds in JSON and epoch milliseconds under tag 1 in CBOR, as AWS sends them", async () => {
    const json = JSON.parse(
      Buffer.from(
        await call(
          "application/x-amz-json-1.1",
          Buffer.from(JSON.stringify(body)),
          "UpdateAccountSettings",
        ),
      ).toString(),
    ).MinimumThroughputBillingCommitment;
    assert.equal(typeof json.StartedAt, "number");
    assert.equal(json.EarliestAllowedEndAt - json.StartedAt, DAY_MS / 1000);
    // AWS's millisecond timestamps are 64-bit integers (a runtime option cbor-x's types omit).
    const options = { mapsAsObjects: true, useRecords: false, int64AsNumber: true };
    const cbor = new Decoder(options).decode(
      await call(
        "application/x-amz-cbor-1.1",
        new Encoder({ mapsAsObjects: true, useRecords: false }).encode({}),
        "DescribeAccountSettings",
      ),
    ).MinimumThroughputBillingCommitment;
    assert.equal(cbor.Status, "ENABLED");
    assert.ok(cbor.StartedAt instanceof Date);
    // cbor-x reads tag 1 as seconds, as the CBOR spec has it; AWS puts milliseconds there.
    assert.equal(cbor.StartedAt.getTime() / 1000, Math.round(json.StartedAt * 1000));
  });
});

void suite("On-demand Advantage consumers against the engine", () => {
  const gateway = useGateway();

  void test("an on-demand stream takes more than 20 consumers once the billing commitment is enabled", async () => {
    const kinesis = sdkClient(gateway.current.url);
    await kinesis.send(
      new CreateStreamCommand({
        StreamName: "fan",
        StreamModeDetails: { StreamMode: "ON_DEMAND" },
      }),
    );
    const StreamARN = await untilStreamActive(kinesis, "fan");
    const register = (i: number) =>
      kinesis.send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: `c${i}` }));
    for (let i = 0; i < 20; i++) await register(i);
    await rejectsWith(register(20), "LimitExceededException", /the most a stream may have \(20\)/);
    await kinesis.send(commitment("ENABLED"));
    await register(20);
    assert.equal((await summaryOf(kinesis, "fan")).ConsumerCount, 21);
    kinesis.destroy();
  });
});

void suite("account settings and tokens limited to some streams", () => {
  const LIMITED = "orders-only-token-0123456789";
  const tokens = join(mkdtempSync(join(tmpdir(), "tokens-")), "tokens");
  writeFileSync(tokens, `${LIMITED} orders\n`);
  const gateway = useGateway(["--streams", "orders:1", "--auth-tokens-file", tokens]);

  void test("a limited caller reads the account's settings but cannot change them", async () => {
    const limited = sdkClient(gateway.current.url, LIMITED);
    const settings = await limited.send(new DescribeAccountSettingsCommand({}));
    assert.equal(settings.MinimumThroughputBillingCommitment?.Status, "DISABLED");
    await rejectsWith(limited.send(commitment("ENABLED")), "AccessDeniedException");
    const after = await limited.send(new DescribeAccountSettingsCommand({}));
    assert.equal(after.MinimumThroughputBillingCommitment?.Status, "DISABLED");
    const arn = (await summaryOf(limited, "orders")).StreamARN!;
    await limited.send(setMode(arn, "ON_DEMAND"));
    assert.equal((await summaryOf(limited, "orders")).StreamModeDetails?.StreamMode, "ON_DEMAND");
    limited.destroy();
  });
});

void suite("stream modes, warm throughput and account settings forwarded to a real emulator", () => {
  const emulator = useEmulator();
  const gateway = useGateway(forwardingTo(emulator));
  let kinesis: KinesisClient;
  before(() => {
    kinesis = pinnedSdkClient(gateway.current.url);
  });
  after(() => kinesis.destroy());

  void test("UpdateStreamMode switches the emulator's stream", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "fwd-mode", ShardCount: 1 }));
    await waitUntilStreamActive(emulator.current.client(), "fwd-mode");
    const arn = (await summaryOf(kinesis, "fwd-mode")).StreamARN!;
    await kinesis.send(setMode(arn, "ON_DEMAND"));
    await waitUntilStreamActive(emulator.current.client(), "fwd-mode");
    // kinesis-mock's ListStreams has no StreamSummaries (AWS's has, since 2022).
    assert.equal(await shownMode(kinesis, "fwd-mode", { listed: false }), "ON_DEMAND");
    // The gateway's validation answers before anything is forwarded.
    await rejectsWith(
      kinesis.send(setMode(arn, "AUTO")),
      "ValidationException",
      /Value 'AUTO' at 'streamModeDetails.streamMode'/,
    );
  });

  void test("account settings and warm throughput pass through, kinesis-mock's deviations named", async () => {
    // kinesis-mock deviates: it answers no commitment at all before one was
    // set (AWS, and the engine: Status DISABLED), and ends one at once
    // (EarliestAllowedEndAt = StartedAt, where AWS keeps it 24 hours).
    const { $metadata: _, ...before } = await kinesis.send(new DescribeAccountSettingsCommand({}));
    assert.deepEqual(before, {});
    await kinesis.send(commitment("ENABLED"));
    const enabled = (await kinesis.send(new DescribeAccountSettingsCommand({})))
      .MinimumThroughputBillingCommitment!;
    assert.equal(enabled.Status, "ENABLED");
    assert.ok(enabled.StartedAt instanceof Date);

    await kinesis.send(
      new CreateStreamCommand({
        StreamName: "fwd-warm",
        StreamModeDetails: { StreamMode: "ON_DEMAND" },
      }),
    );
    await waitUntilStreamActive(emulator.current.client(), "fwd-warm");
    // kinesis-mock answers without StreamARN and with CurrentMiBps at the
    // target at once; AWS scales towards it while the stream is UPDATING.
    const out = await kinesis.send(
      new UpdateStreamWarmThroughputCommand({ StreamName: "fwd-warm", WarmThroughputMiBps: 12 }),
    );
    assert.equal(out.StreamName, "fwd-warm");
    assert.equal(out.WarmThroughput?.TargetMiBps, 12);
    await waitUntilStreamActive(emulator.current.client(), "fwd-warm");
    assert.equal((await summaryOf(kinesis, "fwd-warm")).WarmThroughput?.TargetMiBps, 12);
  });

  void test("a StreamId is forwarded to the configured endpoint, not to AWS's per-stream host", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "fwd-id", ShardCount: 1 }));
    await waitUntilStreamActive(emulator.current.client(), "fwd-id");
    const summary = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: "fwd-id", StreamId: STREAM_ID }),
    );
    assert.equal(summary.StreamDescriptionSummary?.StreamName, "fwd-id");
  });
});

void suite("the AWS CLI's update-stream-mode", async () => {
  const version = await awsCliVersion();
  const gateway = useGateway(["--streams", "cli-moded:2"]);
  const aws = (...args: string[]) => awsKinesis(gateway.current.url, ...args);

  void test("switches a stream to ON_DEMAND, and the CLI shows it", {
    skip: skipWithoutCli(version),
  }, async (t) => {
    t.diagnostic(`using ${version}`);
    const describe = async () =>
      JSON.parse((await aws("describe-stream-summary", "--stream-name", "cli-moded")).stdout)
        .StreamDescriptionSummary as {
        StreamARN: string;
        StreamModeDetails: { StreamMode: string };
      };
    const arn = (await describe()).StreamARN;
    const { stdout } = await aws(
      "update-stream-mode",
      "--stream-arn",
      arn,
      "--stream-mode-details",
      "StreamMode=ON_DEMAND",
    );
    assert.equal(stdout.trim(), "");
    assert.equal((await describe()).StreamModeDetails.StreamMode, "ON_DEMAND");
    await assert.rejects(
      aws("update-stream-mode", "--stream-arn", arn, "--stream-mode-details", "StreamMode=AUTO"),
      (err: { stderr: string }) => {
        assert.match(err.stderr, /ValidationException/);
        assert.match(err.stderr, /Member must satisfy enum value set: \[PROVISIONED, ON_DEMAND\]/);
        return true;
      },
    );
  });
});
