/**
 * A forwarded subscription whose upstream dies mid-subscription fails, over
 * the wire API and gRPC, rather than ending as if the upstream had ended it
 * (an outside tester's finding): Node ends an HTTP/2 stream cut off with its
 * connection as it ends a finished one, only with a reset code, and the SDK's
 * event stream ended cleanly, so subscribers were told `OK` and a clean end,
 * as at the end of a lifetime, of an upstream that was gone.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  SubscribeToShardCommand,
} from "@aws-sdk/client-kinesis";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { forwardingTo, useGateway } from "../helpers/gateway.ts";
import { activeConsumer, http2SdkClient } from "../helpers/kinesis-sdk.ts";

const STREAM = "cut-off";

void suite("a forwarded subscription whose upstream dies", () => {
  const emulator = useEmulator();
  const gateway = useGateway(() => [
    ...forwardingTo(emulator)(),
    "--subscription-lifetime-ms",
    "60000",
  ]);
  let client: KinesisClient;
  before(() => {
    client = http2SdkClient(gateway.current.url);
  });
  after(() => {
    client.destroy();
  });

  void test("ends with InternalFailureException, not a clean end", async () => {
    await client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
    await waitUntilStreamActive(emulator.current.client(), STREAM);
    const streamArn = (await client.send(new DescribeStreamSummaryCommand({ StreamName: STREAM })))
      .StreamDescriptionSummary!.StreamARN!;
    const consumerArn = await activeConsumer(client, streamArn, "cut-off-reader");
    const out = await client.send(
      new SubscribeToShardCommand({
        ConsumerARN: consumerArn,
        ShardId: "shardId-000000000000",
        StartingPosition: { Type: "LATEST" },
      }),
    );
    let events = 0;
    const ended = (async () => {
      try {
        for await (const _ of out.EventStream!) {
          if (++events === 1) await emulator.current.stop();
        }
        return "a clean end";
      } catch (err) {
        return (err as Error).name;
      }
    })();
    assert.equal(await ended, "InternalFailureException");
    assert.ok(events >= 1);
  });
});
