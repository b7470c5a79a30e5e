/**
 * The resharding scenario: a producer writes without pause through the
 * gateway with the AWS SDK while the stream is split, merged, and scaled up
 * and down; a consumer that follows the shards' lineage as the KCL does (a
 * shard is read only once all its parents are read to their ends; children
 * are found through GetRecords' ChildShards) must get every acknowledged
 * record exactly once, in order per partition key.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type ChildShard,
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
  UpdateShardCountCommand,
} from "@aws-sdk/client-kinesis";
import { useGateway } from "../helpers/gateway.ts";
import { sdkClient, untilStreamActive } from "../helpers/kinesis-sdk.ts";

const STREAM = "scenario";
const KEYS = 24;
const id = (index: number) => `shardId-${String(index).padStart(12, "0")}`;

/**
 * Writes, round after round, the next counter of every partition key in one
 * PutRecords. A key whose record failed (throttled) sends the same counter
 * again next round, so a key never has two records in flight and its
 * acknowledged counters are 0, 1, 2, … in write order.
 */
function startProducer(kinesis: KinesisClient) {
  const next = new Array<number>(KEYS).fill(0);
  let acknowledged = 0;
  let throttled = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const records = next.map((n, key) => ({
        PartitionKey: `key-${key}`,
        Data: new TextEncoder().encode(JSON.stringify({ key, n })),
      }));
      const out = await kinesis.send(
        new PutRecordsCommand({ StreamName: STREAM, Records: records }),
      );
      out.Records!.forEach((result, key) => {
        if (result.SequenceNumber === undefined) {
          throttled++;
        } else {
          next[key]!++;
          acknowledged++;
        }
      });
      await sleep(15);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { next, acknowledged, throttled };
    },
  };
}

/**
 * Reads the stream as the KCL does: every shard from TRIM_HORIZON to its
 * end, a child only once each of its parents has ended. Records are kept in
 * the order the consumer got them.
 */
function startConsumer(kinesis: KinesisClient, roots: readonly string[]) {
  const received: { key: number; n: number; shardId: string; sequenceNumber: string }[] = [];
  const parentsOf = new Map<string, readonly string[]>(roots.map((shardId) => [shardId, []]));
  const ended = new Set<string>();
  const started = new Set<string>();
  const readers: Promise<void>[] = [];
  let running = true;

  async function read(shardId: string): Promise<void> {
    let iterator = (
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: STREAM,
          ShardId: shardId,
          ShardIteratorType: "TRIM_HORIZON",
        }),
      )
    ).ShardIterator;
    while (running) {
      let out: Awaited<ReturnType<typeof getRecords>>;
      try {
        out = await getRecords(iterator!);
      } catch (err) {
        if ((err as Error).name !== "ProvisionedThroughputExceededException") throw err;
        await sleep(200);
        continue;
      }
      for (const record of out.Records!) {
        const { key, n } = JSON.parse(new TextDecoder().decode(record.Data)) as {
          key: number;
          n: number;
        };
        received.push({ key, n, shardId, sequenceNumber: record.SequenceNumber! });
      }
      if (out.NextShardIterator === undefined) {
        discover(out.ChildShards ?? []);
        ended.add(shardId);
        startReady();
        return;
      }
      iterator = out.NextShardIterator;
      await sleep(out.Records!.length > 0 ? 50 : 250);
    }
  }

  const getRecords = (ShardIterator: string) =>
    kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 }));

  function discover(children: readonly ChildShard[]) {
    for (const child of children) parentsOf.set(child.ShardId!, child.ParentShards!);
  }

  function startReady() {
    for (const [shardId, parents] of parentsOf) {
      if (started.has(shardId) || !parents.every((parent) => ended.has(parent))) continue;
      started.add(shardId);
      readers.push(read(shardId));
    }
  }

  startReady();
  return {
    received,
    ended,
    started,
    async stop() {
      running = false;
      // Readers start readers; wait until none is left running.
      for (let settled = 0; settled < readers.length; settled = readers.length) {
        await Promise.all(readers.slice(settled));
      }
    },
  };
}

async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await sleep(50);
  return done();
}

void suite("resharding while writing and reading", () => {
  // Throttling stays on: the producer's retries and the consumer's waits are part of it.
  // 300 records/s a shard: the producer outpaces some shards and retries (~10 % of its records).
  const gateway = useGateway([
    "--stream-transition-ms",
    "150",
    "--shard-records-per-second",
    "300",
  ]);

  void test("every acknowledged record is read once, in order per key, across split, merge and scaling", {
    timeout: 60_000,
  }, async () => {
    const kinesis = sdkClient(gateway.current.url);
    await kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 2 }));
    await untilStreamActive(kinesis, STREAM);
    const producer = startProducer(kinesis);
    const consumer = startConsumer(kinesis, [id(0), id(1)]);
    const reshard = async (request: () => Promise<unknown>) => {
      await sleep(400);
      await request();
      await untilStreamActive(kinesis, STREAM);
    };

    // 0 → 2, 3; then 3 and 1 → 4; then 2 open shards up to 4, down to 3.
    await reshard(() =>
      kinesis.send(
        new SplitShardCommand({
          StreamName: STREAM,
          ShardToSplit: id(0),
          NewStartingHashKey: String(1n << 126n),
        }),
      ),
    );
    await reshard(() =>
      kinesis.send(
        new MergeShardsCommand({
          StreamName: STREAM,
          ShardToMerge: id(3),
          AdjacentShardToMerge: id(1),
        }),
      ),
    );
    await reshard(() =>
      kinesis.send(
        new UpdateShardCountCommand({
          StreamName: STREAM,
          TargetShardCount: 4,
          ScalingType: "UNIFORM_SCALING",
        }),
      ),
    );
    await reshard(() =>
      kinesis.send(
        new UpdateShardCountCommand({
          StreamName: STREAM,
          TargetShardCount: 3,
          ScalingType: "UNIFORM_SCALING",
        }),
      ),
    );
    await sleep(400);
    const produced = await producer.stop();

    const caughtUp = await until(() => consumer.received.length >= produced.acknowledged, 15_000);
    await sleep(300); // anything more would be a duplicate
    await consumer.stop();
    assert.ok(caughtUp, `read ${consumer.received.length} of ${produced.acknowledged}`);

    // Per key: exactly 0, 1, …, last acknowledged, in that order.
    const byKey = Array.from({ length: KEYS }, () => [] as number[]);
    for (const { key, n } of consumer.received) byKey[key]!.push(n);
    byKey.forEach((counters, key) => {
      const expected = Array.from({ length: produced.next[key]! }, (_, n) => n);
      assert.deepEqual(counters, expected, `key-${key}`);
    });
    assert.equal(consumer.received.length, produced.acknowledged);
    // A key's sequence numbers increase across the lineage too, as on AWS.
    for (let key = 0; key < KEYS; key++) {
      const numbers = consumer.received
        .filter((r) => r.key === key)
        .map((r) => BigInt(r.sequenceNumber));
      assert.ok(
        numbers.every((n, i) => i === 0 || numbers[i - 1]! < n),
        `key-${key}'s sequence numbers`,
      );
    }

    // The consumer went through the whole lineage, which ListShards agrees with.
    const listed = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!;
    assert.deepEqual([...consumer.started].sort(), listed.map((s) => s.ShardId).sort());
    const open = listed.filter((s) => s.SequenceNumberRange!.EndingSequenceNumber === undefined);
    assert.equal(open.length, 3);
    assert.deepEqual(
      [...consumer.ended].sort(),
      listed
        .filter((s) => !open.includes(s))
        .map((s) => s.ShardId)
        .sort(),
    );
    // Records landed on shards of every generation, not only the last.
    const shardsWithRecords = new Set(consumer.received.map((r) => r.shardId));
    assert.ok(shardsWithRecords.size >= 6, `records on ${shardsWithRecords.size} shards`);
    kinesis.destroy();
  });
});
