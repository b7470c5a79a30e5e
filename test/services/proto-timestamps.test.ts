/**
 * A `google.protobuf.Timestamp` outside the range the type allows (0001-01-01
 * to 9999-12-31, nanos 0 to 999,999,999) is no date: every rpc that takes one
 * refuses it with INVALID_ARGUMENT, in the engine and forwarded alike, and a
 * forwarding gateway sends nothing upstream. (It used to become an Invalid
 * Date: the engine read it as absent, and the forward backend sent
 * `"StreamCreationTimestamp":NaN`, which is not JSON, to Kinesis.)
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ShardIteratorType } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import type { RunningGateway } from "../../src/main.ts";
import { failureOf } from "../helpers/control-plane.ts";
import { type FakeUpstream, startFakeUpstream } from "../helpers/fake-upstream.ts";
import { clientsFor, startTestGateway } from "../helpers/gateway.ts";

const STREAM = "stamps";
const STREAM_ARN = `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM}`;

const timestamp = (seconds: bigint, nanos = 0): Timestamp =>
  create(TimestampSchema, { seconds, nanos });

/** Timestamps the type does not allow, and why. */
const invalid: readonly [string, Timestamp][] = [
  ["seconds after 9999-12-31T23:59:59Z", timestamp(253_402_300_800n)],
  ["seconds far beyond a JavaScript Date", timestamp(2n ** 62n)],
  ["seconds before 0001-01-01T00:00:00Z", timestamp(-62_135_596_801n)],
  ["negative nanos", timestamp(0n, -1)],
  ["nanos of a whole second", timestamp(0n, 1_000_000_000)],
];

/** The rpcs that take a timestamp, called with `ts`. */
const rpcs = (gateway: RunningGateway) => {
  const { consumer } = clientsFor(createGrpcTransport({ baseUrl: gateway.url }));
  return {
    ListStreamConsumers: (ts: Timestamp) =>
      consumer.listStreamConsumers({ streamArn: STREAM_ARN, streamCreationTimestamp: ts }),
    GetShardIterator: (ts: Timestamp) =>
      consumer.getShardIterator({
        streamName: STREAM,
        shardId: "shardId-000000000000",
        shardIteratorType: ShardIteratorType.AT_TIMESTAMP,
        timestamp: ts,
      }),
    SubscribeToShard: async (ts: Timestamp) => {
      for await (const _ of consumer.subscribeToShard(
        {
          streamName: STREAM,
          shardId: "shardId-000000000000",
          startingPosition: { type: ShardIteratorType.AT_TIMESTAMP, timestamp: ts },
        },
        { timeoutMs: 2000 },
      )) {
        break;
      }
    },
  };
};

async function assertRefused(call: Promise<unknown>, member: string): Promise<void> {
  const failure = await failureOf(call);
  assert.equal(failure.code, "InvalidArgument", failure.message);
  assert.equal(failure.type, "SerializationException");
  assert.match(
    failure.message,
    new RegExp(`^The value of '${member}' .* is not a valid google\\.protobuf\\.Timestamp`),
  );
}

void suite("invalid protobuf timestamps, against the engine", () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startTestGateway(["--streams", `${STREAM}:1`]);
  });
  after(() => gateway.stop());

  for (const [why, ts] of invalid) {
    test(`${why}: refused by every rpc that takes a timestamp`, async () => {
      const call = rpcs(gateway);
      await assertRefused(call.ListStreamConsumers(ts), "streamCreationTimestamp");
      await assertRefused(call.GetShardIterator(ts), "timestamp");
      await assertRefused(call.SubscribeToShard(ts), "timestamp");
    });
  }

  test("the range's own ends are dates", async () => {
    const call = rpcs(gateway);
    for (const ts of [timestamp(-62_135_596_800n), timestamp(253_402_300_799n, 999_999_999)]) {
      assert.ok((await call.GetShardIterator(ts)).shardIterator);
      assert.deepEqual((await call.ListStreamConsumers(ts)).consumers, []);
    }
  });
});

void suite("invalid protobuf timestamps, forwarded", () => {
  let upstream: FakeUpstream;
  let gateway: RunningGateway;
  before(async () => {
    upstream = await startFakeUpstream();
    upstream.answer = { status: 200, body: {} };
    gateway = await startTestGateway([
      "--backend",
      "kinesis",
      "--kinesis-endpoint",
      upstream.endpoint,
    ]);
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
  });

  for (const [why, ts] of invalid) {
    test(`${why}: refused before anything is sent upstream`, async () => {
      const call = rpcs(gateway);
      await assertRefused(call.ListStreamConsumers(ts), "streamCreationTimestamp");
      await assertRefused(call.GetShardIterator(ts), "timestamp");
      const sent = upstream.targets.filter((t) => !t.endsWith(".ListStreams"));
      assert.deepEqual(sent, [], "nothing but the readiness probe reached Kinesis");
    });
  }
});
