/**
 * The wire API's SubscribeToShard in forward mode: the AWS SDK for
 * JavaScript (its default HTTP/2 handler) subscribes through the gateway,
 * which subscribes with kinesis-local's own SubscribeToShard and relays its
 * events. kinesis-local's deviations (no initial-response, a second
 * subscription refused while the first is open, about 3 s to let go of a
 * cancelled one) are in `test/server/consumer-forward-subscribe.test.ts`.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  PutRecordCommand,
  type StartingPosition,
  SubscribeToShardCommand,
} from "@aws-sdk/client-kinesis";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { forwardingTo, useGateway } from "../helpers/gateway.ts";
import { activeConsumer, http2SdkClient, rejectsWith } from "../helpers/kinesis-sdk.ts";

const STREAM = "relayed-wire";
const SHARD = "shardId-000000000000";
/** Long enough for kinesis-local's first event (about 2 s) and a record after it (about 1 s). */
const LIFETIME_MS = 6000;

void suite("SubscribeToShard on the wire API, forwarded to kinesis-local", () => {
  const emulator = useEmulator();
  const gateway = useGateway(() => [
    ...forwardingTo(emulator)(),
    "--subscription-lifetime-ms",
    String(LIFETIME_MS),
  ]);
  let client: KinesisClient;
  let streamArn = "";
  before(async () => {
    client = http2SdkClient(gateway.current.url);
    await client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
    await waitUntilStreamActive(emulator.current.client(), STREAM);
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
    streamArn = summary.StreamDescriptionSummary!.StreamARN!;
  });
  after(() => client.destroy());

  const put = async (data: string) =>
    (
      await client.send(
        new PutRecordCommand({ StreamName: STREAM, PartitionKey: "k", Data: Buffer.from(data) }),
      )
    ).SequenceNumber!;
  const subscribe = (consumerArn: string, position: StartingPosition) =>
    client.send(
      new SubscribeToShardCommand({
        ConsumerARN: consumerArn,
        ShardId: SHARD,
        StartingPosition: position,
      }),
    );

  void test("records before and after subscribing arrive; after the lifetime the SDK resubscribes from the continuation and misses nothing", async () => {
    const consumerArn = await activeConsumer(client, streamArn, "wire-reader");
    const written = [await put("before")];
    const first = await subscribe(consumerArn, { Type: "TRIM_HORIZON" });
    const seen: string[] = [];
    let continuation: string | undefined;
    // Read to the end: the gateway's lifetime ends it, cleanly.
    for await (const item of first.EventStream!) {
      const event = item.SubscribeToShardEvent!;
      seen.push(...event.Records!.map((r) => Buffer.from(r.Data!).toString()));
      continuation = event.ContinuationSequenceNumber ?? continuation;
      if (written.length === 1) written.push(await put("after"));
    }
    assert.deepEqual(seen, ["before", "after"]);
    assert.equal(continuation, written.at(-1));

    await put("between");
    // kinesis-mock lets go of the ended subscription some seconds later; until then it refuses.
    const deadline = Date.now() + 10_000;
    let second: Awaited<ReturnType<typeof subscribe>> | undefined;
    while (second === undefined) {
      try {
        second = await subscribe(consumerArn, {
          Type: "AFTER_SEQUENCE_NUMBER",
          SequenceNumber: continuation,
        });
      } catch (err) {
        assert.equal((err as Error).name, "ResourceInUseException");
        assert.ok(Date.now() < deadline, "still refused 10 s after the lifetime ended");
        await sleep(250);
      }
    }
    const next: string[] = [];
    for await (const item of second.EventStream!) {
      next.push(
        ...item.SubscribeToShardEvent!.Records!.map((r) => Buffer.from(r.Data!).toString()),
      );
      if (next.length > 0) break;
    }
    assert.deepEqual(next, ["between"]);
  });

  void test("the upstream's refusals come back as the SDK's errors, in kinesis-mock's words", async () => {
    await rejectsWith(
      subscribe(`${streamArn}/consumer/nobody:1700000000`, { Type: "LATEST" }),
      "ResourceNotFoundException",
      /^ConsumerARN .*consumer\/nobody:1700000000 not found/,
    );
    const consumerArn = await activeConsumer(client, streamArn, "wire-twice");
    const held = await subscribe(consumerArn, { Type: "LATEST" });
    const holding = held.EventStream![Symbol.asyncIterator]();
    try {
      await rejectsWith(
        subscribe(consumerArn, { Type: "LATEST" }),
        "ResourceInUseException",
        /^Another active subscription exists for consumer .*consumer\/wire-twice:\d+ on shard shardId-000000000000/,
      );
    } finally {
      await holding.return?.();
    }
  });
});
