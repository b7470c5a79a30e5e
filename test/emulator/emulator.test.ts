/**
 * The emulator harness against the real thing: streams, PutRecords, reads and
 * shard placement through the AWS SDK, and stopping, pausing and restarting.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  ListStreamsCommand,
  PutRecordsCommand,
  type Shard,
} from "@aws-sdk/client-kinesis";
import { hashKeyForPartitionKey, MAX_HASH_KEY } from "../../src/engine/hash-key.ts";
import {
  shardIdFor,
  shardIndexForHashKey,
  splitHashKeySpace,
} from "../../src/engine/shard-ranges.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";

/** The records of the AWS CLI `put-records` example. */
const CLI_EXAMPLE_RECORDS = [
  { Data: Buffer.from("blob1"), PartitionKey: "partitionkey1" },
  { Data: Buffer.from("blob2"), PartitionKey: "partitionkey2" },
];

/**
 * kinesis-mock (kinesis-local, and LocalStack, which runs it) splits the key
 * space of a new stream with step floor((2^128 − 1) / N), where AWS uses
 * floor(2^128 / N): for N = 4 each of the first three shards ends 1, 2 and 3
 * keys earlier than on AWS. These are its 4-shard ranges.
 */
const KINESIS_MOCK_4_SHARD_RANGES = [
  ["0", "85070591730234615865843651857942052862"],
  ["85070591730234615865843651857942052863", "170141183460469231731687303715884105725"],
  ["170141183460469231731687303715884105726", "255211775190703847597530955573826158588"],
  ["255211775190703847597530955573826158589", "340282366920938463463374607431768211455"],
];

suite("Kinesis emulator", () => {
  const emulator = useEmulator();
  let kinesis: KinesisClient;
  before(() => {
    kinesis = emulator.current.client();
  });
  after(() => {
    kinesis.destroy();
  });

  async function createActiveStream(name: string, shardCount: number): Promise<Shard[]> {
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
    await waitUntilStreamActive(kinesis, name);
    const listed = await kinesis.send(new ListShardsCommand({ StreamName: name }));
    return listed.Shards ?? [];
  }

  /** The id of the shard whose inclusive hash key range contains `hashKey`. */
  function shardContaining(shards: Shard[], hashKey: bigint): string | undefined {
    return shards.find(
      (shard) =>
        BigInt(shard.HashKeyRange?.StartingHashKey ?? "-1") <= hashKey &&
        hashKey <= BigInt(shard.HashKeyRange?.EndingHashKey ?? "-1"),
    )?.ShardId;
  }

  test("creates a 4-shard stream whose shards cover the hash key space", async () => {
    const shards = await createActiveStream("harness-create", 4);

    assert.deepEqual(
      shards.map((shard) => shard.ShardId),
      [0, 1, 2, 3].map(shardIdFor),
    );
    let next = 0n;
    for (const shard of shards) {
      assert.equal(BigInt(shard.HashKeyRange?.StartingHashKey ?? "-1"), next, shard.ShardId);
      next = BigInt(shard.HashKeyRange?.EndingHashKey ?? "-1") + 1n;
    }
    assert.equal(next, MAX_HASH_KEY + 1n);
  });

  test("splits the key space with (2^128 − 1) / N, unlike AWS's 2^128 / N", async (t) => {
    if (emulator.current.kind === "external") {
      t.skip("only kinesis-mock is known to deviate");
      return;
    }
    const shards = await createActiveStream("harness-ranges", 4);
    const ranges = shards.map((shard) => [
      shard.HashKeyRange?.StartingHashKey,
      shard.HashKeyRange?.EndingHashKey,
    ]);

    assert.deepEqual(ranges, KINESIS_MOCK_4_SHARD_RANGES);
    const aws = splitHashKeySpace(4).map((span) => span.endingHashKey);
    assert.deepEqual(
      shards.map((shard, i) => aws[i]! - BigInt(shard.HashKeyRange?.EndingHashKey ?? "-1")),
      [1n, 2n, 3n, 0n],
    );
  });

  test("puts the AWS CLI example's records on the shards of their MD5 hash keys and reads them back", async () => {
    const shards = await createActiveStream("harness-put", 4);
    const awsStarts = splitHashKeySpace(4).map((span) => span.startingHashKey);

    const put = await kinesis.send(
      new PutRecordsCommand({ StreamName: "harness-put", Records: CLI_EXAMPLE_RECORDS }),
    );

    assert.equal(put.FailedRecordCount, 0);
    assert.equal(put.Records?.length, 2);
    const placed = CLI_EXAMPLE_RECORDS.map((record, i) => {
      const hashKey = hashKeyForPartitionKey(record.PartitionKey);
      const result = put.Records?.[i];
      // The emulator routes by its own ranges (see the test above) ...
      assert.equal(result?.ShardId, shardContaining(shards, hashKey), record.PartitionKey);
      // ... which agree with AWS's for these keys: they are far from any boundary.
      assert.equal(result?.ShardId, shardIdFor(shardIndexForHashKey(awsStarts, hashKey)));
      return { record, shardId: result?.ShardId ?? "", sequenceNumber: result?.SequenceNumber };
    });
    assert.deepEqual(
      placed.map(({ shardId }) => shardId),
      ["shardId-000000000001", "shardId-000000000003"],
    );

    for (const { record, shardId, sequenceNumber } of placed) {
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: "harness-put",
          ShardId: shardId,
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      const read = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
      assert.equal(read.Records?.length, 1, shardId);
      const [got] = read.Records ?? [];
      assert.deepEqual(Buffer.from(got?.Data ?? []), record.Data);
      assert.equal(got?.PartitionKey, record.PartitionKey);
      assert.equal(got?.SequenceNumber, sequenceNumber);
    }
  });

  test("routes an explicit hash key on AWS's shard boundary to the next shard", async (t) => {
    if (emulator.current.kind === "external") {
      t.skip("only kinesis-mock is known to deviate");
      return;
    }
    await createActiveStream("harness-boundary", 4);
    const awsSpans = splitHashKeySpace(4);
    // 2^126 − 1: the last key of AWS's shard 0, the first of kinesis-mock's shard 1.
    const boundary = awsSpans[0]!.endingHashKey;
    const onAws = shardIdFor(
      shardIndexForHashKey(
        awsSpans.map((span) => span.startingHashKey),
        boundary,
      ),
    );

    const put = await kinesis.send(
      new PutRecordsCommand({
        StreamName: "harness-boundary",
        Records: [
          { Data: Buffer.from("edge"), PartitionKey: "k", ExplicitHashKey: String(boundary) },
        ],
      }),
    );

    assert.equal(onAws, "shardId-000000000000");
    assert.equal(put.Records?.[0]?.ShardId, "shardId-000000000001");
  });

  test("stop() refuses connections; restart() brings it back empty on the same endpoint", async (t) => {
    if (emulator.current.kind === "external") {
      t.skip("an external emulator cannot be restarted");
      return;
    }
    const { endpoint } = emulator.current;
    await createActiveStream("harness-restart", 1);

    await emulator.current.stop();
    await assert.rejects(kinesis.send(new ListStreamsCommand({})), { code: "ECONNREFUSED" });

    await emulator.current.restart();
    assert.equal(emulator.current.endpoint, endpoint);
    const listed = await kinesis.send(new ListStreamsCommand({}));
    assert.deepEqual(listed.StreamNames, []);
  });

  test("pause() leaves calls unanswered; restart() resumes it with its streams", async (t) => {
    if (emulator.current.kind === "external") {
      t.skip("an external emulator cannot be paused");
      return;
    }
    await createActiveStream("harness-pause", 1);

    await emulator.current.pause();
    await assert.rejects(
      kinesis.send(new ListStreamsCommand({}), { abortSignal: AbortSignal.timeout(300) }),
      { name: "AbortError" },
    );

    await emulator.current.restart();
    const listed = await kinesis.send(new ListStreamsCommand({}));
    assert.deepEqual(listed.StreamNames, ["harness-pause"]);
  });
});
