/**
 * SplitShard, MergeShards, UpdateShardCount and ListShards' ShardFilter over
 * the AWS SDK against the gateway's engine, and forwarded to a real emulator.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  PutRecordCommand,
  type ScalingType,
  type Shard,
  type ShardFilterType,
  SplitShardCommand,
  UpdateShardCountCommand,
} from "@aws-sdk/client-kinesis";
import type { RunningGateway } from "../../src/main.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { startTestGateway, useGateway } from "../helpers/gateway.ts";
import { rejectsWith, sdkClient, untilStreamActive } from "../helpers/kinesis-sdk.ts";

const TRANSITION_MS = 200;
const ACCOUNT = "000000000000";
const MAX_HASH_KEY = (1n << 128n) - 1n;
const HALF = 1n << 127n;
const id = (index: number) => `shardId-${String(index).padStart(12, "0")}`;

async function createStream(kinesis: KinesisClient, name: string, shards: number) {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return untilStreamActive(kinesis, name);
}

async function listShards(
  kinesis: KinesisClient,
  name: string,
  filter?: { Type: ShardFilterType; ShardId?: string; Timestamp?: Date },
): Promise<Shard[]> {
  return (await kinesis.send(new ListShardsCommand({ StreamName: name, ShardFilter: filter })))
    .Shards!;
}

const ids = (shards: readonly Shard[]) => shards.map((shard) => shard.ShardId);
const isOpen = (shard: Shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined;

async function put(kinesis: KinesisClient, name: string, hashKey: bigint, data: string) {
  return kinesis.send(
    new PutRecordCommand({
      StreamName: name,
      PartitionKey: "k",
      ExplicitHashKey: hashKey.toString(),
      Data: new TextEncoder().encode(data),
    }),
  );
}

/**
 * Reads a closed shard from TRIM_HORIZON until an answer names its children;
 * the records' data and that answer.
 */
async function readToChildren(kinesis: KinesisClient, name: string, shardId: string) {
  let iterator = (
    await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: name,
        ShardId: shardId,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    )
  ).ShardIterator;
  const data: string[] = [];
  for (let calls = 0; calls < 20; calls++) {
    const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
    data.push(...out.Records!.map((r) => new TextDecoder().decode(r.Data)));
    if (out.ChildShards !== undefined && out.ChildShards.length > 0) return { data, out };
    iterator = out.NextShardIterator;
    assert.ok(iterator, "a shard without children ended");
  }
  throw new Error(`${shardId} never named its children`);
}

void suite("resharding against the engine", () => {
  const gateway = useGateway(["--stream-transition-ms", String(TRANSITION_MS)]);
  let kinesis: KinesisClient;
  before(() => {
    kinesis = sdkClient(gateway.current.url);
  });
  after(() => kinesis.destroy());

  void test("SplitShard: UPDATING, then the parent closed and two children; the parent's end names them", async () => {
    await createStream(kinesis, "split", 1);
    await put(kinesis, "split", 1n, "before");
    await kinesis.send(
      new SplitShardCommand({
        StreamName: "split",
        ShardToSplit: id(0),
        NewStartingHashKey: HALF.toString(),
      }),
    );
    const summary = async () =>
      (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: "split" })))
        .StreamDescriptionSummary!;
    assert.equal((await summary()).StreamStatus, "UPDATING");
    // The children appear when UPDATING ends; writes go on meanwhile, to the parent.
    assert.deepEqual(ids(await listShards(kinesis, "split")), [id(0)]);
    assert.equal((await put(kinesis, "split", MAX_HASH_KEY, "during")).ShardId, id(0));
    await untilStreamActive(kinesis, "split");
    assert.equal((await summary()).OpenShardCount, 2);

    const [parent, lower, upper] = await listShards(kinesis, "split");
    assert.match(parent!.SequenceNumberRange!.EndingSequenceNumber!, /^\d{56}$/);
    assert.deepEqual(
      [lower, upper].map((s) => [s!.ShardId, s!.ParentShardId, s!.HashKeyRange]),
      [
        [id(1), id(0), { StartingHashKey: "0", EndingHashKey: String(HALF - 1n) }],
        [id(2), id(0), { StartingHashKey: String(HALF), EndingHashKey: String(MAX_HASH_KEY) }],
      ],
    );
    const described = (await kinesis.send(new DescribeStreamCommand({ StreamName: "split" })))
      .StreamDescription!.Shards!;
    assert.deepEqual(described, [parent, lower, upper]);
    assert.equal((await put(kinesis, "split", MAX_HASH_KEY, "after")).ShardId, id(2));

    const { data, out } = await readToChildren(kinesis, "split", id(0));
    assert.deepEqual(data, ["before", "during"]);
    assert.equal(out.NextShardIterator, undefined);
    assert.equal(out.MillisBehindLatest, 0);
    assert.deepEqual(out.ChildShards, [
      { ShardId: id(1), ParentShards: [id(0)], HashKeyRange: lower!.HashKeyRange },
      { ShardId: id(2), ParentShards: [id(0)], HashKeyRange: upper!.HashKeyRange },
    ]);
  });

  void test("SplitShard refuses, with AWS's texts and nothing changed", async () => {
    await createStream(kinesis, "split-checks", 2);
    const split = (ShardToSplit: string | undefined, NewStartingHashKey: string | undefined) =>
      kinesis.send(
        new SplitShardCommand({
          StreamName: "split-checks",
          ShardToSplit: ShardToSplit as string,
          NewStartingHashKey: NewStartingHashKey as string,
        }),
      );
    await rejectsWith(
      split(id(1), "12a"),
      "ValidationException",
      "1 validation error detected: Value '12a' at 'newStartingHashKey' failed to satisfy " +
        "constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})",
    );
    await rejectsWith(
      split(undefined, "5"),
      "ValidationException",
      "1 validation error detected: Value null at 'shardToSplit' failed to satisfy constraint: " +
        "Member must not be null",
    );
    await rejectsWith(
      split(id(1), "5"),
      "InvalidArgumentException",
      `NewStartingHashKey 5 used in SplitShard() on shard ${id(1)} in stream split-checks under ` +
        `account ${ACCOUNT} is not both greater than one plus the shard's StartingHashKey ${HALF} ` +
        `and less than the shard's EndingHashKey ${MAX_HASH_KEY}.`,
    );
    await rejectsWith(
      split(id(9), "5"),
      "ResourceNotFoundException",
      `Could not find shard ${id(9)} in stream split-checks under account ${ACCOUNT}.`,
    );
    assert.equal((await listShards(kinesis, "split-checks")).length, 2);
    await split(id(0), "100");
    await rejectsWith(
      split(id(1), String(HALF + 100n)),
      "ResourceInUseException",
      `Stream split-checks under account ${ACCOUNT} not ACTIVE, instead in state UPDATING`,
    );
    await untilStreamActive(kinesis, "split-checks");
    assert.equal((await listShards(kinesis, "split-checks")).length, 4);
  });

  void test("MergeShards: one child of two adjacent parents; shards not adjacent are refused", async () => {
    await createStream(kinesis, "merge", 3);
    await rejectsWith(
      kinesis.send(
        new MergeShardsCommand({
          StreamName: "merge",
          ShardToMerge: id(0),
          AdjacentShardToMerge: id(2),
        }),
      ),
      "InvalidArgumentException",
      `Shards ${id(0)} and ${id(2)} in stream merge under account ${ACCOUNT} are not an ` +
        "adjacent pair of shards eligible for merging",
    );
    await kinesis.send(
      new MergeShardsCommand({
        StreamName: "merge",
        ShardToMerge: id(1),
        AdjacentShardToMerge: id(2),
      }),
    );
    await untilStreamActive(kinesis, "merge");
    const shards = await listShards(kinesis, "merge");
    const child = shards[3]!;
    assert.deepEqual(
      [child.ShardId, child.ParentShardId, child.AdjacentParentShardId],
      [id(3), id(1), id(2)],
    );
    assert.equal(child.HashKeyRange!.StartingHashKey, shards[1]!.HashKeyRange!.StartingHashKey);
    assert.equal(child.HashKeyRange!.EndingHashKey, String(MAX_HASH_KEY));
    assert.deepEqual(ids(shards.filter(isOpen)), [id(0), id(3)]);
    const { out } = await readToChildren(kinesis, "merge", id(2));
    assert.deepEqual(out.ChildShards, [
      { ShardId: id(3), ParentShards: [id(1), id(2)], HashKeyRange: child.HashKeyRange },
    ]);
  });

  void test("UpdateShardCount: the answer, AWS's even split after UPDATING, and its limits", async () => {
    await createStream(kinesis, "scale", 5);
    const scale = (TargetShardCount: number, ScalingType = "UNIFORM_SCALING") =>
      kinesis.send(
        new UpdateShardCountCommand({
          StreamName: "scale",
          TargetShardCount,
          ScalingType: ScalingType as ScalingType,
        }),
      );
    await rejectsWith(
      scale(3, "UNEVEN"),
      "ValidationException",
      "1 validation error detected: Value 'UNEVEN' at 'scalingType' failed to satisfy " +
        "constraint: Member must satisfy enum value set: [UNIFORM_SCALING]",
    );
    await rejectsWith(
      scale(0),
      "ValidationException",
      "1 validation error detected: Value '0' at 'targetShardCount' failed to satisfy " +
        "constraint: Member must have value greater than or equal to 1",
    );
    await rejectsWith(
      scale(11),
      "LimitExceededException",
      "UpdateShardCount cannot scale up over double your current open shard count. " +
        "Current open shard count: 5, Target shard count: 11",
    );
    await rejectsWith(
      scale(2),
      "LimitExceededException",
      "UpdateShardCount cannot scale down below half your current open shard count. " +
        "Current open shard count: 5, Target shard count: 2",
    );
    const answer = await scale(3);
    assert.deepEqual(
      [answer.StreamName, answer.CurrentShardCount, answer.TargetShardCount],
      ["scale", 5, 3],
    );
    assert.equal(answer.StreamARN, `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/scale`);
    await untilStreamActive(kinesis, "scale");
    const open = await listShards(kinesis, "scale", { Type: "AT_LATEST" });
    const step = (MAX_HASH_KEY + 1n) / 3n;
    assert.deepEqual(
      open
        .map((s) => s.HashKeyRange!.StartingHashKey!)
        .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)),
      ["0", String(step), String(2n * step)],
    );
    for (const shard of open) {
      assert.ok(shard.ParentShardId, `${shard.ShardId} has a parent`);
    }
  });

  void test("ListShards: each ShardFilter type, and AWS's rules on what goes with what", async () => {
    await createStream(kinesis, "filters", 2);
    const created = new Date();
    await kinesis.send(
      new MergeShardsCommand({
        StreamName: "filters",
        ShardToMerge: id(0),
        AdjacentShardToMerge: id(1),
      }),
    );
    await untilStreamActive(kinesis, "filters");
    const all = [id(0), id(1), id(2)];
    assert.deepEqual(ids(await listShards(kinesis, "filters")), all);
    assert.deepEqual(ids(await listShards(kinesis, "filters", { Type: "FROM_TRIM_HORIZON" })), all);
    assert.deepEqual(ids(await listShards(kinesis, "filters", { Type: "AT_TRIM_HORIZON" })), [
      id(0),
      id(1),
    ]);
    assert.deepEqual(ids(await listShards(kinesis, "filters", { Type: "AT_LATEST" })), [id(2)]);
    assert.deepEqual(
      ids(await listShards(kinesis, "filters", { Type: "AFTER_SHARD_ID", ShardId: id(0) })),
      [id(1), id(2)],
    );
    assert.deepEqual(
      ids(await listShards(kinesis, "filters", { Type: "AT_TIMESTAMP", Timestamp: created })),
      [id(0), id(1)],
    );
    assert.deepEqual(
      ids(await listShards(kinesis, "filters", { Type: "FROM_TIMESTAMP", Timestamp: new Date() })),
      [id(2)],
    );
    const page = await kinesis.send(
      new ListShardsCommand({
        StreamName: "filters",
        MaxResults: 1,
        ShardFilter: { Type: "AT_TRIM_HORIZON" },
      }),
    );
    assert.deepEqual(ids(page.Shards!), [id(0)]);
    const next = await kinesis.send(new ListShardsCommand({ NextToken: page.NextToken }));
    assert.deepEqual(ids(next.Shards!), [id(1)]);
    await rejectsWith(
      kinesis.send(
        new ListShardsCommand({ NextToken: page.NextToken, ShardFilter: { Type: "AT_LATEST" } }),
      ),
      "InvalidArgumentException",
      "NextToken and ShardFilter cannot be provided together.",
    );
    await rejectsWith(
      listShards(kinesis, "filters", { Type: "AFTER_SHARD_ID" }),
      "InvalidArgumentException",
      "ShardId must be supplied in a ShardFilter with a Type of AFTER_SHARD_ID",
    );
    await rejectsWith(
      listShards(kinesis, "filters", { Type: "AT_LATEST", ShardId: id(0) }),
      "InvalidArgumentException",
      "ShardId can only be supplied in a ShardFilter with a Type of AFTER_SHARD_ID",
    );
    await rejectsWith(
      listShards(kinesis, "filters", { Type: "FROM_TIMESTAMP" }),
      "InvalidArgumentException",
      "Timestamp must be supplied in a ShardFilter with a Type of FROM_TIMESTAMP or AT_TIMESTAMP",
    );
    await rejectsWith(
      listShards(kinesis, "filters", { Type: "AT_TRIM_HORIZON", Timestamp: created }),
      "InvalidArgumentException",
      "Timestamp can only be supplied in a ShardFilter with a Type of FROM_TIMESTAMP or AT_TIMESTAMP",
    );
  });
});

void suite("resharding forwarded to a real emulator", () => {
  const emulator = useEmulator();
  let gateway: RunningGateway;
  let kinesis: KinesisClient;
  before(async () => {
    gateway = await startTestGateway([
      "--backend",
      "kinesis",
      "--kinesis-endpoint",
      emulator.current.endpoint,
    ]);
    kinesis = sdkClient(gateway.url);
  });
  after(async () => {
    kinesis.destroy();
    await gateway.stop();
  });

  const settled = (name: string) => waitUntilStreamActive(emulator.current.client(), name);

  void test("SplitShard through the gateway, and GetRecords passes the parent's ChildShards through", async () => {
    const name = "forwarded-split";
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    await settled(name);
    await put(kinesis, name, 1n, "before");
    await kinesis.send(
      new SplitShardCommand({
        StreamName: name,
        ShardToSplit: id(0),
        NewStartingHashKey: HALF.toString(),
      }),
    );
    await settled(name);
    const shards = await listShards(kinesis, name);
    const children = shards.filter((s) => s.ParentShardId === id(0));
    assert.equal(children.length, 2);
    const { data, out } = await readToChildren(kinesis, name, id(0));
    assert.deepEqual(data, ["before"]);
    assert.deepEqual(
      out.ChildShards!.map((c) => [c.ShardId, c.ParentShards, c.HashKeyRange]).sort(),
      children.map((c) => [c.ShardId, [id(0)], c.HashKeyRange]).sort(),
    );
  });

  void test("MergeShards and UpdateShardCount through the gateway", async () => {
    const name = "forwarded-scale";
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    await settled(name);
    await kinesis.send(
      new MergeShardsCommand({
        StreamName: name,
        ShardToMerge: id(0),
        AdjacentShardToMerge: id(1),
      }),
    );
    await settled(name);
    const merged = (await listShards(kinesis, name)).filter((s) => s.AdjacentParentShardId);
    assert.equal(merged.length, 1);
    const answer = await kinesis.send(
      new UpdateShardCountCommand({
        StreamName: name,
        TargetShardCount: 2,
        ScalingType: "UNIFORM_SCALING",
      }),
    );
    assert.deepEqual([answer.StreamName, answer.TargetShardCount], [name, 2]);
    await settled(name);
    assert.equal((await listShards(kinesis, name, { Type: "AT_LATEST" })).length, 2);
    await kinesis.send(
      new UpdateShardCountCommand({
        StreamName: name,
        TargetShardCount: 3,
        ScalingType: "UNIFORM_SCALING",
      }),
    );
    await settled(name);
    // A deviation of kinesis-mock: it splits its widest shard, so its three open shards cover
    // a half and two quarters, not AWS's even thirds (which the engine makes: see above).
    const open = await listShards(kinesis, name, { Type: "AT_LATEST" });
    assert.equal(open.length, 3);
    assert.notDeepEqual(
      open.map((s) => s.HashKeyRange!.StartingHashKey!).sort(),
      ["0", String((MAX_HASH_KEY + 1n) / 3n), String((2n * (MAX_HASH_KEY + 1n)) / 3n)].sort(),
    );
  });

  void test("refusals pass through as the upstream words them (kinesis-mock's deviate from AWS's)", async () => {
    const name = "forwarded-refusals";
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 3 }));
    await settled(name);
    // Validation is the gateway's own, the same in both modes.
    await rejectsWith(
      kinesis.send(
        new SplitShardCommand({ StreamName: name, ShardToSplit: id(1), NewStartingHashKey: "x" }),
      ),
      "ValidationException",
      /at 'newStartingHashKey' failed to satisfy constraint/,
    );
    // Deviations of kinesis-mock, whose texts come through as it sends them; the engine
    // answers AWS's (see "SplitShard refuses" and "MergeShards" above).
    await rejectsWith(
      kinesis.send(
        new SplitShardCommand({ StreamName: name, ShardToSplit: id(1), NewStartingHashKey: "5" }),
      ),
      "InvalidArgumentException",
      /^NewStartingHashKey is not within the hash range shard/,
    );
    await rejectsWith(
      kinesis.send(
        new MergeShardsCommand({
          StreamName: name,
          ShardToMerge: id(0),
          AdjacentShardToMerge: id(2),
        }),
      ),
      "InvalidArgumentException",
      "Provided shards are not adjacent",
    );
    // AWS: LimitExceededException "UpdateShardCount cannot scale up over double …".
    await rejectsWith(
      kinesis.send(
        new UpdateShardCountCommand({
          StreamName: name,
          TargetShardCount: 7,
          ScalingType: "UNIFORM_SCALING",
        }),
      ),
      "InvalidArgumentException",
      "Cannot update shard count beyond 2x current shard count",
    );
  });
});
