/**
 * StreamService's UpdateStreamMode, UpdateStreamWarmThroughput,
 * DescribeAccountSettings and UpdateAccountSettings over gRPC and Connect
 * JSON against the gateway's engine.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  MinimumThroughputBillingCommitmentStatus as CommitmentStatus,
  StreamMode,
  StreamStatus,
} from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

const rejectsWithCode = (promise: Promise<unknown>, code: Code, message: RegExp) =>
  assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(Code[err.code], Code[code]);
    assert.match(err.rawMessage, message);
    return true;
  });

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
      await rejectsWithCode(
        streams.updateStreamMode({ streamArn }),
        Code.InvalidArgument,
        /^1 validation error detected: Value null at 'streamModeDetails' failed to satisfy constraint: Member must not be null$/,
      );
      await rejectsWithCode(
        streams.updateStreamMode({ streamModeDetails: { streamMode: StreamMode.ON_DEMAND } }),
        Code.InvalidArgument,
        /Value null at 'streamARN' failed to satisfy constraint: Member must not be null/,
      );
      await rejectsWithCode(
        streams.updateAccountSettings({ minimumThroughputBillingCommitment: {} }),
        Code.InvalidArgument,
        /Value null at 'minimumThroughputBillingCommitment.status' failed to satisfy constraint: Member must not be null/,
      );
      await rejectsWithCode(
        streams.updateAccountSettings({
          minimumThroughputBillingCommitment: {
            status: CommitmentStatus.ENABLED_UNTIL_EARLIEST_ALLOWED_END,
          },
        }),
        Code.InvalidArgument,
        /Value 'ENABLED_UNTIL_EARLIEST_ALLOWED_END' at 'minimumThroughputBillingCommitment.status' failed to satisfy constraint: Member must satisfy enum value set: \[ENABLED, DISABLED\]/,
      );
      await rejectsWithCode(
        streams.updateStreamWarmThroughput({ streamName: "g-checks", warmThroughputMibps: 8 }),
        Code.InvalidArgument,
        /^WarmThroughputMiBps is only valid for on-demand streams$/,
      );
      const to = (streamMode: StreamMode) =>
        streams.updateStreamMode({ streamArn, streamModeDetails: { streamMode } });
      await to(StreamMode.ON_DEMAND);
      await to(StreamMode.PROVISIONED);
      await rejectsWithCode(
        to(StreamMode.ON_DEMAND),
        Code.ResourceExhausted,
        /has changed its capacity mode 2 times in the last 24 hours/,
      );
    });
  });
}
