/**
 * The AWS CLI's own put-records example against the gateway, then
 * get-shard-iterator and get-records. Needs the `aws` command (Debian's
 * `awscli`, which `.ci/run` installs); says so and skips where it is absent.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { awsCliVersion, awsKinesis, skipWithoutCli } from "../helpers/aws-cli.ts";
import { useGateway } from "../helpers/gateway.ts";

void suite("the AWS CLI", async () => {
  const version = await awsCliVersion();
  const gateway = useGateway(["--streams", "samplestream:1"]);

  const aws = async (...args: string[]) => {
    const { stdout } = await awsKinesis(gateway.current.url, ...args);
    // Commands without an answer (split-shard, merge-shards) print nothing.
    return (stdout.trim() === "" ? {} : JSON.parse(stdout)) as Record<string, unknown>;
  };
  const skip = skipWithoutCli(version);

  void test("put-records of the CLI's example, then get-records, returns the two blobs", {
    skip,
  }, async (t) => {
    t.diagnostic(`using ${version}`);
    // Version 1 reads blob arguments as raw text already, and lacks the flag.
    const rawBlobs = version?.startsWith("aws-cli/1.")
      ? []
      : ["--cli-binary-format", "raw-in-base64-out"];
    const put = await aws(
      "put-records",
      "--stream-name",
      "samplestream",
      "--records",
      "Data=blob1,PartitionKey=partitionkey1",
      "Data=blob2,PartitionKey=partitionkey2",
      ...rawBlobs,
    );
    assert.equal(put.FailedRecordCount, 0);
    const { ShardIterator } = await aws(
      "get-shard-iterator",
      "--stream-name",
      "samplestream",
      "--shard-id",
      "shardId-000000000000",
      "--shard-iterator-type",
      "TRIM_HORIZON",
    );
    const got = await aws("get-records", "--shard-iterator", String(ShardIterator));
    const records = got.Records as { Data: string; PartitionKey: string }[];
    // The CLI prints blobs in base64: blob1 and blob2.
    assert.deepEqual(
      records.map((r) => [Buffer.from(r.Data, "base64").toString(), r.PartitionKey]),
      [
        ["blob1", "partitionkey1"],
        ["blob2", "partitionkey2"],
      ],
    );
  });

  void test("split-shard, merge-shards, update-shard-count, and list-shards --shard-filter", {
    skip,
  }, async () => {
    type Shards = { ShardId: string; ParentShardId?: string; AdjacentParentShardId?: string }[];
    const listShards = async (...filter: string[]) =>
      ((await aws("list-shards", "--stream-name", "cli-reshard", ...filter)).Shards as Shards).map(
        (s) => [s.ShardId, s.ParentShardId ?? "", s.AdjacentParentShardId ?? ""].join(" ").trim(),
      );
    await aws("create-stream", "--stream-name", "cli-reshard", "--shard-count", "2");
    await aws(
      "split-shard",
      "--stream-name",
      "cli-reshard",
      "--shard-to-split",
      "shardId-000000000000",
      "--new-starting-hash-key",
      String(1n << 126n),
    );
    await aws(
      "merge-shards",
      "--stream-name",
      "cli-reshard",
      "--shard-to-merge",
      "shardId-000000000003",
      "--adjacent-shard-to-merge",
      "shardId-000000000001",
    );
    assert.deepEqual(await listShards("--shard-filter", "Type=AT_LATEST"), [
      "shardId-000000000002 shardId-000000000000",
      "shardId-000000000004 shardId-000000000003 shardId-000000000001",
    ]);
    const scaled = await aws(
      "update-shard-count",
      "--stream-name",
      "cli-reshard",
      "--target-shard-count",
      "4",
      "--scaling-type",
      "UNIFORM_SCALING",
    );
    assert.deepEqual([scaled.CurrentShardCount, scaled.TargetShardCount], [2, 4]);
    assert.equal((await listShards("--shard-filter", "Type=AT_LATEST")).length, 4);
    assert.deepEqual(await listShards("--shard-filter", "Type=AT_TRIM_HORIZON"), [
      "shardId-000000000000",
      "shardId-000000000001",
    ]);
    assert.deepEqual(
      await listShards("--shard-filter", "Type=AFTER_SHARD_ID,ShardId=shardId-000000000003"),
      (await listShards()).slice(4),
    );
  });
});
