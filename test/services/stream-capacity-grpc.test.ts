/**
 * StreamService's UpdateStreamMode, UpdateStreamWarmThroughput,
 * DescribeAccountSettings and UpdateAccountSettings over gRPC and Connect
 * JSON against the gateway's engine.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  MinimumThroughputBillingCommitmentStatus as CommitmentStatus,
  StreamMode,
  StreamStatus,
} from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import { failureOf } from "../helpers/control-plane.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Asserts the call fails with this status, its detail's AWS type, and a matching text. */
async function refused(call: Promise<unknown>, code: Code, type: string, message: RegExp) {
  const failure = await failureOf(call);
  assert.equal(failure.code, Code[code]);
  assert.equal(failure.type, type);
  assert.match(failure.message, message);
}

for (const protocol of ["gRPC over h2c", "Connect JSON over HTTP/1.1"]) {
  void suite(`stream modes and account settings over ${protocol}`, () => {
    const gateway = useGateway();
    const client = () => clientsFor(transports[protocol]!(gateway.current.url)).streams;

    void test("a stream switched to ON_DEMAND, the commitment enabled, warm throughput set", async () => {
      const streams = client();
      await streams.createStream({ streamName: "g", shardCount: 1 });
      const summary = async () =>
        (await streams.describeStreamSummary({ streamName: "g" })).streamDescriptionSummary!;
      const streamArn = (await summary()).streamArn;
      await streams.updateStreamMode({
        streamArn,
        streamModeDetails: { streamMode: StreamMode.ON_DEMAND },
      });
      assert.equal((await summary()).streamModeDetails?.streamMode, StreamMode.ON_DEMAND);
      assert.equal((await summary()).warmThroughput, undefined);

      const before = await streams.describeAccountSettings({});
      assert.equal(before.minimumThroughputBillingCommitment?.status, CommitmentStatus.DISABLED);
      const enabled = (
        await streams.updateAccountSettings({
          minimumThroughputBillingCommitment: { status: CommitmentStatus.ENABLED },
        })
      ).minimumThroughputBillingCommitment!;
      assert.equal(enabled.status, CommitmentStatus.ENABLED);
      assert.equal(
        timestampDate(enabled.earliestAllowedEndAt!).getTime() -
          timestampDate(enabled.startedAt!).getTime(),
        DAY_MS,
      );
      assert.equal((await summary()).warmThroughput?.currentMibps, 4);
      assert.equal((await summary()).warmThroughput?.targetMibps, undefined);

      const out = await streams.updateStreamWarmThroughput({
        streamName: "g",
        warmThroughputMibps: 16,
      });
      assert.equal(out.streamArn, streamArn);
      assert.equal(out.warmThroughput?.targetMibps, 16);
      assert.equal(out.warmThroughput?.currentMibps, 16);
      assert.equal((await summary()).streamStatus, StreamStatus.ACTIVE);

      await streams.createStream({
        streamName: "g-warm",
        streamModeDetails: { streamMode: StreamMode.ON_DEMAND },
        warmThroughputMibps: 0,
      });
      const created = (await streams.describeStreamSummary({ streamName: "g-warm" }))
        .streamDescriptionSummary!;
      assert.equal(created.warmThroughput?.targetMibps, 0);
      assert.equal(created.warmThroughput?.currentMibps, 4);

      const disabled = await streams.updateAccountSettings({
        minimumThroughputBillingCommitment: { status: CommitmentStatus.DISABLED },
      });
      assert.equal(
        disabled.minimumThroughputBillingCommitment?.status,
        CommitmentStatus.ENABLED_UNTIL_EARLIEST_ALLOWED_END,
      );
    });

    void test("bad requests answer INVALID_ARGUMENT with AWS's texts; a third switch RESOURCE_EXHAUSTED", async () => {
      const streams = client();
      await streams.createStream({ streamName: "g-checks", shardCount: 1 });
      const streamArn = (await streams.describeStreamSummary({ streamName: "g-checks" }))
        .streamDescriptionSummary!.streamArn;
      await refused(
        streams.updateStreamMode({ streamArn }),
        Code.InvalidArgument,
        "ValidationException",
        /^1 validation error detected: Value null at 'streamModeDetails' failed to satisfy constraint: Member must not be null$/,
      );
      await refused(
        streams.updateStreamMode({ streamModeDetails: { streamMode: StreamMode.ON_DEMAND } }),
        Code.InvalidArgument,
        "ValidationException",
        /Value null at 'streamARN' failed to satisfy constraint: Member must not be null/,
      );
      await refused(
        streams.updateAccountSettings({ minimumThroughputBillingCommitment: {} }),
        Code.InvalidArgument,
        "ValidationException",
        /Value null at 'minimumThroughputBillingCommitment.status' failed to satisfy constraint: Member must not be null/,
      );
      await refused(
        streams.updateAccountSettings({
          minimumThroughputBillingCommitment: {
            status: CommitmentStatus.ENABLED_UNTIL_EARLIEST_ALLOWED_END,
          },
        }),
        Code.InvalidArgument,
        "ValidationException",
        /Value 'ENABLED_UNTIL_EARLIEST_ALLOWED_END' at 'minimumThroughputBillingCommitment.status' failed to satisfy constraint: Member must satisfy enum value set: \[ENABLED, DISABLED\]/,
      );
      await refused(
        streams.updateStreamWarmThroughput({ streamName: "g-checks", warmThroughputMibps: 8 }),
        Code.InvalidArgument,
        "InvalidArgumentException",
        /^WarmThroughputMiBps is only valid for on-demand streams$/,
      );
      const to = (streamMode: StreamMode) =>
        streams.updateStreamMode({ streamArn, streamModeDetails: { streamMode } });
      await to(StreamMode.ON_DEMAND);
      await to(StreamMode.PROVISIONED);
      await refused(
        to(StreamMode.ON_DEMAND),
        Code.ResourceExhausted,
        "LimitExceededException",
        /has changed its capacity mode 2 times in the last 24 hours/,
      );
    });
  });
}
