/**
 * A KCL-style enhanced fan-out consumer on the AWS SDK for JavaScript: it
 * subscribes to every shard it may read, follows a closed shard's
 * ChildShards (a child only once its parents are read to their end, as the
 * KCL does), and renews each subscription from its ContinuationSequenceNumber
 * when the subscription's lifetime is over. It runs for several lifetimes
 * while the stream is split and merged under a steady stream of writes, and
 * must read every record exactly once, each partition key's in order.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  PutRecordsCommand,
  type Shard,
  SplitShardCommand,
  type StartingPosition,
  SubscribeToShardCommand,
} from "@aws-sdk/client-kinesis";
import { useGateway } from "../helpers/gateway.ts";
import { activeConsumer, activeStream, sdkClient } from "../helpers/kinesis-sdk.ts";

const LIFETIME_MS = 1_500;

interface ShardReader {
  readonly shardId: string;
  readonly parents: string[];
  position: StartingPosition;
  lastSubscribedMs: number;
  done: boolean;
  reading: boolean;
}

/** What the consumer read: each record's key and id, in the order it got them, and its subscriptions. */
interface Consumed {
  readonly records: { key: string; id: number; shardId: string }[];
  subscriptions: number;
}

/**
 * Runs the consumer until `stop` aborts: a loop that starts a subscription
 * for every shard that is ready (not reading, not done, parents done).
 */
async function runConsumer(
  endpoint: string,
  streamName: string,
  consumerArn: string,
  consumed: Consumed,
  stop: AbortSignal,
): Promise<void> {
  const admin = sdkClient(endpoint);
  // The SDK's own Kinesis client: HTTP/2, as a fan-out consumer uses it.
  const subscriber = new KinesisClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    maxAttempts: 1,
  });
  const shards = new Map<string, ShardReader>();
  const learn = (shard: { ShardId?: string | undefined }, parents: string[]) => {
    if (shards.has(shard.ShardId!)) return;
    shards.set(shard.ShardId!, {
      shardId: shard.ShardId!,
      parents,
      position: { Type: "TRIM_HORIZON" },
      lastSubscribedMs: 0,
      done: false,
      reading: false,
    });
  };
  const listed = await admin.send(new ListShardsCommand({ StreamName: streamName }));
  for (const shard of listed.Shards as Shard[]) {
    learn(
      shard,
      [shard.ParentShardId, shard.AdjacentParentShardId].filter((p) => p !== undefined),
    );
  }

  async function read(reader: ShardReader): Promise<void> {
    reader.reading = true;
    // A consumer subscribes to a shard at most once a second.
    await sleep(Math.max(0, reader.lastSubscribedMs + 1_050 - Date.now()));
    reader.lastSubscribedMs = Date.now();
    try {
      const out = await subscriber.send(
        new SubscribeToShardCommand({
          ConsumerARN: consumerArn,
          ShardId: reader.shardId,
          StartingPosition: reader.position,
        }),
        { abortSignal: stop },
      );
      consumed.subscriptions++;
      for await (const event of out.EventStream!) {
        const shardEvent = event.SubscribeToShardEvent;
        assert.ok(shardEvent, `an exception event: ${JSON.stringify(event)}`);
        for (const record of shardEvent.Records ?? []) {
          const [key, id] = Buffer.from(record.Data!).toString().split(":");
          consumed.records.push({ key: key!, id: Number(id), shardId: reader.shardId });
        }
        if (shardEvent.ChildShards !== undefined && shardEvent.ChildShards.length > 0) {
          assert.equal(shardEvent.ContinuationSequenceNumber, undefined);
          reader.done = true;
          for (const child of shardEvent.ChildShards) learn(child, child.ParentShards ?? []);
        } else {
          reader.position = {
            Type: "AFTER_SEQUENCE_NUMBER",
            SequenceNumber: shardEvent.ContinuationSequenceNumber,
          };
        }
      }
    } catch (err) {
      if (!stop.aborted) throw err;
    } finally {
      reader.reading = false;
    }
  }

  const running = new Set<Promise<void>>();
  while (!stop.aborted) {
    for (const reader of shards.values()) {
      const ready = reader.parents.every((p) => shards.get(p)?.done ?? true);
      if (reader.reading || reader.done || !ready) continue;
      const task = read(reader);
      running.add(task);
      void task.finally(() => running.delete(task));
    }
    // Any failure fails the consumer.
    await Promise.race([Promise.race(running), sleep(50)]);
  }
  await Promise.allSettled(running);
  admin.destroy();
  subscriber.destroy();
}

void suite("a KCL-style enhanced fan-out consumer on the AWS SDK", () => {
  const gateway = useGateway([
    "--throttle",
    "off",
    "--subscription-lifetime-ms",
    String(LIFETIME_MS),
  ]);

  void test("reads every record once and each key in order, across lifetimes, a split and a merge", async () => {
    const kinesis = sdkClient(gateway.current.url);
    const streamArn = await activeStream(kinesis, "kcl");
    const consumerArn = await activeConsumer(kinesis, streamArn, "kcl-app");
    const stop = new AbortController();
    const consumed: Consumed = { records: [], subscriptions: 0 };
    const consuming = runConsumer(gateway.current.url, "kcl", consumerArn, consumed, stop.signal);

    const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`);
    let written = 0;
    const write = async (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const Records = keys.map((key) => ({
          PartitionKey: key,
          Data: Buffer.from(`${key}:${written++}`),
        }));
        const out = await kinesis.send(new PutRecordsCommand({ StreamName: "kcl", Records }));
        assert.equal(out.FailedRecordCount, 0);
        await sleep(20);
      }
    };
    await write(1_000);
    await kinesis.send(
      new SplitShardCommand({
        StreamName: "kcl",
        ShardToSplit: "shardId-000000000000",
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await write(2_000);
    await kinesis.send(
      new MergeShardsCommand({
        StreamName: "kcl",
        ShardToMerge: "shardId-000000000001",
        AdjacentShardToMerge: "shardId-000000000002",
      }),
    );
    await write(2_000);

    // Then the consumer catches up (or fails), and stops.
    const deadline = Date.now() + 15_000;
    while (consumed.records.length < written && Date.now() < deadline) {
      await Promise.race([consuming, sleep(50)]);
    }
    stop.abort();
    await consuming;

    const ids = consumed.records.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, "no record is read twice");
    assert.deepEqual(
      [...ids].sort((a, b) => a - b),
      Array.from({ length: written }, (_, i) => i),
      "every record written is read",
    );
    for (const key of keys) {
      const order = consumed.records.filter((r) => r.key === key).map((r) => r.id);
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        `${key} is read in order`,
      );
    }
    assert.deepEqual([...new Set(consumed.records.map((r) => r.shardId))].sort(), [
      "shardId-000000000000",
      "shardId-000000000001",
      "shardId-000000000002",
      "shardId-000000000003",
    ]);
    assert.ok(
      consumed.subscriptions >= 6,
      `subscriptions renewed after their lifetime (${consumed.subscriptions})`,
    );
  });
});
