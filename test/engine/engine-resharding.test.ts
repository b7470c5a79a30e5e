import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { createEngine, type Engine, type EngineOptions } from "../../src/engine/engine.ts";
import { MAX_HASH_KEY } from "../../src/engine/hash-key.ts";
import { parseSequenceNumber } from "../../src/engine/sequence-number.ts";
import { splitHashKeySpace } from "../../src/engine/shard-ranges.ts";
import type { Shard } from "../../src/kinesis/types.ts";
import { bytes, createManualClock, kinesisError } from "./helpers.ts";

const ACCOUNT = "000000000000";
const HOUR = 3_600_000;
const id = (index: number) => `shardId-${String(index).padStart(12, "0")}`;

function setUp(shardCount: number, options: EngineOptions = {}) {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now, ...options });
  engine.createStream({ streamName: "s", shardCount });
  return { clock, engine };
}

const shardsOf = (engine: Engine, filter?: Parameters<Engine["listShards"]>[0]["shardFilter"]) =>
  engine.listShards({ streamName: "s", shardFilter: filter }).shards;
const ids = (shards: readonly Shard[]) => shards.map((shard) => shard.shardId);
const open = (shards: readonly Shard[]) =>
  shards.filter((shard) => shard.sequenceNumberRange.endingSequenceNumber === undefined);
const range = (shard: Shard) => [
  BigInt(shard.hashKeyRange.startingHashKey),
  BigInt(shard.hashKeyRange.endingHashKey),
];

/** Writes one record at an explicit hash key and returns its shard. */
function writeAt(engine: Engine, hashKey: bigint, data = "x"): string {
  return engine.putRecord({
    streamName: "s",
    partitionKey: "k",
    explicitHashKey: hashKey.toString(),
    data: new TextEncoder().encode(data),
  }).shardId;
}

/** Reads a shard from TRIM_HORIZON until GetRecords answers no iterator; returns everything it saw. */
function drain(engine: Engine, shardId: string) {
  let iterator: string | undefined = engine.getShardIterator({
    streamName: "s",
    shardId,
    shardIteratorType: "TRIM_HORIZON",
  }).shardIterator;
  const data: string[] = [];
  for (let calls = 0; calls < 10; calls++) {
    const out = engine.getRecords({ shardIterator: iterator! });
    data.push(...out.records.map((r) => new TextDecoder().decode(r.data)));
    if (out.nextShardIterator === undefined) return { data, last: out };
    iterator = out.nextShardIterator;
  }
  throw new Error(`${shardId} never ended`);
}

const HALF = (MAX_HASH_KEY + 1n) / 2n;

suite("engine SplitShard", () => {
  test("closes the parent and opens two children covering its range", () => {
    const { engine } = setUp(1);
    engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: String(HALF) });
    const [parent, lower, upper] = shardsOf(engine);
    assert.equal(parent!.shardId, id(0));
    assert.match(parent!.sequenceNumberRange.endingSequenceNumber!, /^\d{56}$/);
    assert.deepEqual(
      [lower, upper].map((s) => [s!.shardId, s!.parentShardId, s!.adjacentParentShardId]),
      [
        [id(1), id(0), undefined],
        [id(2), id(0), undefined],
      ],
    );
    assert.deepEqual(range(lower!), [0n, HALF - 1n]);
    assert.deepEqual(range(upper!), [HALF, MAX_HASH_KEY]);
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).openShardCount, 2);
    assert.equal(engine.describeLimits().openShardCount, 2);
  });

  test("the ending sequence number is the largest the parent could have issued", () => {
    const { engine } = setUp(1);
    writeAt(engine, 0n);
    engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: String(HALF) });
    const parent = shardsOf(engine)[0]!;
    const fields = parseSequenceNumber(parent.sequenceNumberRange.endingSequenceNumber!)!;
    assert.equal(fields.shardIndex, 0);
    assert.equal(fields.counter, (1n << 63n) - 1n);
    const written = engine.readRecords({ streamName: "s" }, id(0))[0]!.sequenceNumber;
    assert.ok(BigInt(written) < BigInt(parent.sequenceNumberRange.endingSequenceNumber!));
  });

  test("writes go to the children after the split; the parent keeps its records", () => {
    const { engine } = setUp(1);
    assert.equal(writeAt(engine, 1n, "before"), id(0));
    engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: String(HALF) });
    assert.equal(writeAt(engine, 1n, "low"), id(1));
    assert.equal(writeAt(engine, MAX_HASH_KEY, "high"), id(2));
    assert.deepEqual(drain(engine, id(0)).data, ["before"]);
  });

  test("GetRecords at the end of the closed parent answers its children and no iterator", () => {
    const { engine } = setUp(1);
    writeAt(engine, 1n, "a");
    writeAt(engine, 2n, "b");
    engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: String(HALF) });
    const iterator = engine.getShardIterator({
      streamName: "s",
      shardId: id(0),
      shardIteratorType: "TRIM_HORIZON",
    }).shardIterator;
    // Before the end, a read behaves as always.
    const first = engine.getRecords({ shardIterator: iterator, limit: 1 });
    assert.equal(first.records.length, 1);
    assert.ok(first.nextShardIterator);
    assert.equal(first.childShards, undefined);
    const end = engine.getRecords({ shardIterator: first.nextShardIterator! });
    assert.equal(end.records.length, 1);
    assert.equal(end.nextShardIterator, undefined);
    assert.equal(end.millisBehindLatest, 0);
    assert.deepEqual(end.childShards, [
      {
        shardId: id(1),
        parentShards: [id(0)],
        hashKeyRange: { startingHashKey: "0", endingHashKey: String(HALF - 1n) },
      },
      {
        shardId: id(2),
        parentShards: [id(0)],
        hashKeyRange: { startingHashKey: String(HALF), endingHashKey: String(MAX_HASH_KEY) },
      },
    ]);
  });

  test("LATEST and AT_SEQUENCE_NUMBER iterators work on a closed shard", () => {
    const { engine } = setUp(1);
    const { sequenceNumber } = engine.putRecord({
      streamName: "s",
      partitionKey: "k",
      data: bytes(1),
    });
    engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: String(HALF) });
    const latest = engine.getShardIterator({
      streamName: "s",
      shardId: id(0),
      shardIteratorType: "LATEST",
    });
    const atEnd = engine.getRecords({ shardIterator: latest.shardIterator });
    assert.deepEqual([atEnd.records.length, atEnd.nextShardIterator], [0, undefined]);
    assert.equal(atEnd.childShards?.length, 2);
    const at = engine.getShardIterator({
      streamName: "s",
      shardId: id(0),
      shardIteratorType: "AT_SEQUENCE_NUMBER",
      startingSequenceNumber: sequenceNumber,
    });
    const read = engine.getRecords({ shardIterator: at.shardIterator });
    assert.deepEqual(
      read.records.map((r) => r.sequenceNumber),
      [sequenceNumber],
    );
    assert.equal(read.nextShardIterator, undefined);
  });

  test("refuses keys at or next to the parent's start, or at or past its end, with AWS's text", () => {
    const { engine } = setUp(2);
    const [, second] = splitHashKeySpace(2);
    for (const key of [second!.startingHashKey, second!.startingHashKey + 1n, MAX_HASH_KEY, 5n]) {
      assert.throws(
        () =>
          engine.splitShard({
            streamName: "s",
            shardToSplit: id(1),
            newStartingHashKey: String(key),
          }),
        kinesisError(
          "InvalidArgumentException",
          `NewStartingHashKey ${key} used in SplitShard() on shard ${id(1)} in stream s under ` +
            `account ${ACCOUNT} is not both greater than one plus the shard's StartingHashKey ` +
            `${second!.startingHashKey} and less than the shard's EndingHashKey ${MAX_HASH_KEY}.`,
        ),
      );
    }
    assert.equal(shardsOf(engine).length, 2);
  });

  test("refuses a missing shard, a closed shard, and a full account", () => {
    const { engine } = setUp(1, { shardLimit: 3 });
    assert.throws(
      () => engine.splitShard({ streamName: "s", shardToSplit: id(7), newStartingHashKey: "9" }),
      kinesisError(
        "ResourceNotFoundException",
        `Could not find shard ${id(7)} in stream s under account ${ACCOUNT}.`,
      ),
    );
    engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: String(HALF) });
    assert.throws(
      () => engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: "9" }),
      kinesisError(
        "InvalidArgumentException",
        `Shard ${id(0)} in stream s under account ${ACCOUNT} has already been merged or split, ` +
          "and thus is not eligible for merging or splitting.",
      ),
    );
    engine.splitShard({ streamName: "s", shardToSplit: id(1), newStartingHashKey: "9" });
    assert.throws(
      () =>
        engine.splitShard({
          streamName: "s",
          shardToSplit: id(2),
          newStartingHashKey: String(HALF + 10n),
        }),
      kinesisError(
        "LimitExceededException",
        `This request would exceed the shard limit for the account ${ACCOUNT} in us-east-1. ` +
          "Current shard count for the account: 3. Limit: 3. Number of additional shards that " +
          "would have resulted from this request: 1. Refer to the AWS Service Limits page " +
          "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current " +
          "limits and how to request higher limits.",
      ),
    );
  });

  test("UPDATING for the transition: the children appear when it ends, another reshard waits", () => {
    const { clock, engine } = setUp(1, { transitionDelayMs: 1000 });
    clock.advance(1000); // CREATING is over
    engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: String(HALF) });
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "UPDATING");
    assert.deepEqual(ids(shardsOf(engine)), [id(0)]);
    // Writes and reads go on meanwhile, against the parent.
    assert.equal(writeAt(engine, MAX_HASH_KEY), id(0));
    assert.throws(
      () =>
        engine.mergeShards({ streamName: "s", shardToMerge: id(0), adjacentShardToMerge: id(1) }),
      kinesisError(
        "ResourceNotFoundException",
        `Could not find shard ${id(1)} in stream s under account ${ACCOUNT}.`,
      ),
    );
    assert.throws(
      () =>
        engine.updateShardCount({
          streamName: "s",
          targetShardCount: 2,
          scalingType: "UNIFORM_SCALING",
        }),
      kinesisError(
        "ResourceInUseException",
        `Stream s under account ${ACCOUNT} not ACTIVE, instead in state UPDATING`,
      ),
    );
    clock.advance(1000);
    assert.equal(engine.describeStreamSummary({ streamName: "s" }).streamStatus, "ACTIVE");
    assert.deepEqual(ids(shardsOf(engine)), [id(0), id(1), id(2)]);
    assert.equal(writeAt(engine, MAX_HASH_KEY), id(2));
  });

  test("a key's sequence numbers keep increasing across a split and a merge in the same second", () => {
    const { engine } = setUp(1);
    const numberAt = (hashKey: bigint) =>
      BigInt(
        engine.putRecord({
          streamName: "s",
          partitionKey: "k",
          explicitHashKey: hashKey.toString(),
          data: bytes(1),
        }).sequenceNumber,
      );
    const before = numberAt(5n);
    engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: String(HALF) });
    const inChild = numberAt(5n);
    engine.mergeShards({ streamName: "s", shardToMerge: id(1), adjacentShardToMerge: id(2) });
    const inGrandchild = numberAt(5n);
    assert.ok(before < inChild && inChild < inGrandchild);
    const [parent] = shardsOf(engine);
    assert.ok(BigInt(parent!.sequenceNumberRange.endingSequenceNumber!) < inChild);
  });

  test("children have their own throughput", () => {
    const { engine } = setUp(1, { shardWriteRecordsPerSecond: 2, burstSeconds: 1 });
    engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: String(HALF) });
    for (const key of [1n, 2n, HALF, HALF + 1n]) writeAt(engine, key);
    assert.throws(
      () => writeAt(engine, 3n),
      kinesisError(
        "ProvisionedThroughputExceededException",
        `Rate exceeded for shard ${id(1)} in stream s under account ${ACCOUNT}.`,
      ),
    );
  });
});

suite("engine MergeShards", () => {
  test("merges adjacent shards in either order into one with both parents", () => {
    const { engine } = setUp(3);
    engine.mergeShards({ streamName: "s", shardToMerge: id(2), adjacentShardToMerge: id(1) });
    const child = shardsOf(engine)[3]!;
    assert.equal(child.shardId, id(3));
    assert.equal(child.parentShardId, id(2));
    assert.equal(child.adjacentParentShardId, id(1));
    const [, second, third] = splitHashKeySpace(3);
    assert.deepEqual(range(child), [second!.startingHashKey, third!.endingHashKey]);
    assert.deepEqual(ids(open(shardsOf(engine))), [id(0), id(3)]);
    assert.deepEqual(drain(engine, id(1)).last.childShards, [
      {
        shardId: id(3),
        parentShards: [id(2), id(1)],
        hashKeyRange: child.hashKeyRange,
      },
    ]);
  });

  test("refuses shards that are not adjacent, with AWS's text, and changes nothing", () => {
    const { engine } = setUp(3);
    assert.throws(
      () =>
        engine.mergeShards({ streamName: "s", shardToMerge: id(0), adjacentShardToMerge: id(2) }),
      kinesisError(
        "InvalidArgumentException",
        `Shards ${id(0)} and ${id(2)} in stream s under account ${ACCOUNT} are not an adjacent ` +
          "pair of shards eligible for merging",
      ),
    );
    assert.equal(shardsOf(engine).length, 3);
  });
});

suite("engine UpdateShardCount", () => {
  const scale = (engine: Engine, targetShardCount: number) =>
    engine.updateShardCount({ streamName: "s", targetShardCount, scalingType: "UNIFORM_SCALING" });

  for (const [from, to] of [
    [1, 2],
    [2, 4],
    [4, 2],
    [5, 3],
    [3, 5],
    [4, 7],
    [7, 4],
    [3, 6],
    [10, 5],
  ] as const) {
    test(`${from} → ${to}: the open shards are AWS's even split, each new shard of adjacent parents`, () => {
      const { engine } = setUp(from);
      assert.deepEqual(scale(engine, to), {
        streamName: "s",
        streamArn: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/s`,
        currentShardCount: from,
        targetShardCount: to,
      });
      const all = shardsOf(engine);
      const byId = new Map(all.map((shard) => [shard.shardId, shard]));
      assert.deepEqual(
        open(all)
          .map(range)
          .sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
        splitHashKeySpace(to).map((span) => [span.startingHashKey, span.endingHashKey]),
      );
      for (const shard of all.slice(from)) {
        const parents = [shard.parentShardId, shard.adjacentParentShardId].filter(
          (p) => p !== undefined,
        );
        assert.ok(parents.length >= 1, `${shard.shardId} has a parent`);
        const spans = parents
          .map((p) => range(byId.get(p!)!))
          .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
        const [lo, hi] = [spans[0]![0]!, spans.at(-1)![1]!];
        if (parents.length === 2) {
          // Adjacent, and the child is their union.
          assert.equal(spans[0]![1]! + 1n, spans[1]![0]);
          assert.deepEqual(range(shard), [lo, hi]);
        } else {
          assert.ok(range(shard)[0]! >= lo && range(shard)[1]! <= hi, "inside its parent");
        }
      }
      assert.equal(engine.describeLimits().openShardCount, to);
    });
  }

  test("the shards it makes carry one creation second, the one after the old shards'", () => {
    const { clock, engine } = setUp(4);
    const seconds = (shard: Shard) =>
      parseSequenceNumber(shard.sequenceNumberRange.startingSequenceNumber)!.shardCreatedSeconds;
    const created = Math.floor(clock.now() / 1000);
    scale(engine, 7);
    // Splits and merges in one step, intermediate shards included: one second later, not one per step.
    assert.deepEqual(new Set(shardsOf(engine).slice(4).map(seconds)), new Set([created + 1]));
    clock.advance(5000);
    scale(engine, 5);
    assert.deepEqual(new Set(open(shardsOf(engine)).map(seconds)), new Set([created + 5]));
  });

  test("limits: double, half, 10,000 a stream, the account quota, ten a day", () => {
    const { clock, engine } = setUp(4, { shardLimit: 9 });
    const counts = (target: number) => `Current open shard count: 4, Target shard count: ${target}`;
    assert.throws(
      () => scale(engine, 9),
      kinesisError(
        "LimitExceededException",
        `UpdateShardCount cannot scale up over double your current open shard count. ${counts(9)}`,
      ),
    );
    assert.throws(
      () => scale(engine, 1),
      kinesisError(
        "LimitExceededException",
        `UpdateShardCount cannot scale down below half your current open shard count. ${counts(1)}`,
      ),
    );
    assert.throws(
      () => scale(engine, 10_001),
      kinesisError(
        "LimitExceededException",
        `Target shard count or number of open shards cannot be greater than 10000. ${counts(10001)}`,
      ),
    );
    engine.createStream({ streamName: "other", shardCount: 2 });
    assert.throws(
      () => scale(engine, 8),
      (error: Error) =>
        /Number of additional shards that would have resulted from this request: 4\./.test(
          error.message,
        ),
    );
    engine.deleteStream({ streamName: "other" });
    for (let i = 0; i < 10; i++) {
      scale(engine, i % 2 === 0 ? 3 : 4);
      clock.advance(HOUR);
    }
    assert.throws(
      () => scale(engine, 3),
      kinesisError(
        "LimitExceededException",
        `UpdateShardCount of stream s under account ${ACCOUNT} cannot run more than 10 times in a rolling 24-hour period.`,
      ),
    );
    clock.advance(14 * HOUR + 1);
    scale(engine, 3);
  });
});

test("an on-demand stream is not resharded", () => {
  const engine = createEngine();
  engine.createStream({ streamName: "od", streamMode: "ON_DEMAND" });
  assert.throws(
    () =>
      engine.updateShardCount({
        streamName: "od",
        targetShardCount: 5,
        scalingType: "UNIFORM_SCALING",
      }),
    kinesisError(
      "InvalidArgumentException",
      `UpdateShardCount is only supported for streams in PROVISIONED mode; stream od under account ${ACCOUNT} is ON_DEMAND.`,
    ),
  );
  assert.throws(
    () =>
      engine.mergeShards({ streamName: "od", shardToMerge: id(0), adjacentShardToMerge: id(1) }),
    /MergeShards is only supported/,
  );
  assert.equal(engine.describeStreamSummary({ streamName: "od" }).openShardCount, 4);
});

suite("engine closed shards and ListShards filters", () => {
  test("a closed shard whose records aged out leaves ListShards and DescribeStream", () => {
    const { clock, engine } = setUp(1);
    engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: String(HALF) });
    clock.advance(24 * HOUR);
    assert.deepEqual(ids(shardsOf(engine)), [id(0), id(1), id(2)]);
    clock.advance(1);
    assert.deepEqual(ids(shardsOf(engine)), [id(1), id(2)]);
    assert.deepEqual(ids(engine.describeStream({ streamName: "s" }).shards), [id(1), id(2)]);
    assert.throws(
      () =>
        engine.getShardIterator({
          streamName: "s",
          shardId: id(0),
          shardIteratorType: "TRIM_HORIZON",
        }),
      kinesisError(
        "ResourceNotFoundException",
        `Shard ${id(0)} in stream s under account ${ACCOUNT} does not exist`,
      ),
    );
  });

  test("each filter type selects AWS's shards", () => {
    const { clock, engine } = setUp(2);
    const created = clock.now();
    clock.advance(HOUR);
    engine.splitShard({ streamName: "s", shardToSplit: id(0), newStartingHashKey: "100" }); // 2, 3
    const split = clock.now();
    clock.advance(HOUR);
    engine.mergeShards({ streamName: "s", shardToMerge: id(3), adjacentShardToMerge: id(1) }); // 4
    const merged = clock.now();
    clock.advance(HOUR);
    const all = [id(0), id(1), id(2), id(3), id(4)];
    assert.deepEqual(ids(shardsOf(engine)), all);
    assert.deepEqual(ids(shardsOf(engine, { type: "FROM_TRIM_HORIZON" })), all);
    assert.deepEqual(ids(shardsOf(engine, { type: "AT_TRIM_HORIZON" })), [id(0), id(1)]);
    assert.deepEqual(ids(shardsOf(engine, { type: "AT_LATEST" })), [id(2), id(4)]);
    assert.deepEqual(ids(shardsOf(engine, { type: "AFTER_SHARD_ID", shardId: id(2) })), [
      id(3),
      id(4),
    ]);
    const at = (ms: number) =>
      ids(shardsOf(engine, { type: "AT_TIMESTAMP", timestamp: new Date(ms) }));
    assert.deepEqual(at(created - HOUR), [id(0), id(1)]);
    assert.deepEqual(at(split + 1), [id(1), id(2), id(3)]);
    assert.deepEqual(at(merged + 1), [id(2), id(4)]);
    const from = (ms: number) =>
      ids(shardsOf(engine, { type: "FROM_TIMESTAMP", timestamp: new Date(ms) }));
    assert.deepEqual(from(created), all);
    assert.deepEqual(from(split + 1), [id(1), id(2), id(3), id(4)]);
    assert.deepEqual(from(merged + 1), [id(2), id(4)]);
  });

  test("a page token carries the filter, and ExclusiveStartShardId applies after it", () => {
    const { engine } = setUp(4);
    engine.mergeShards({ streamName: "s", shardToMerge: id(0), adjacentShardToMerge: id(1) }); // 4
    engine.mergeShards({ streamName: "s", shardToMerge: id(2), adjacentShardToMerge: id(3) }); // 5
    const first = engine.listShards({
      streamName: "s",
      maxResults: 1,
      shardFilter: { type: "AT_LATEST" },
    });
    assert.deepEqual(ids(first.shards), [id(4)]);
    const next = engine.listShards({ nextToken: first.nextToken });
    assert.deepEqual(ids(next.shards), [id(5)]);
    assert.equal(next.nextToken, undefined);
    const after = engine.listShards({
      streamName: "s",
      exclusiveStartShardId: id(4),
      shardFilter: { type: "AT_LATEST" },
    });
    assert.deepEqual(ids(after.shards), [id(5)]);
  });
});
