/**
 * StreamService's SplitShard, MergeShards and UpdateShardCount, ListShards'
 * shard filter, and the child shards ConsumerService answers at the end of a
 * closed shard, over gRPC: Connect's client on h2c, and @grpc/grpc-js.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  ConsumerService,
  ShardIteratorType,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { ScalingType, ShardFilterType } from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";
import { createGrpcJsClient } from "../helpers/grpc-js-client.ts";

const HALF = 1n << 127n;
const id = (index: number) => `shardId-${String(index).padStart(12, "0")}`;

void suite("resharding over gRPC", () => {
  const gateway = useGateway([
    "--streams",
    "split:1,merge:2,scale:2,bad:1,grpcjs:2",
    "--throttle",
    "off",
  ]);
  const clients = () => {
    const transport = transports["gRPC over h2c"]!(gateway.current.url);
    return { ...clientsFor(transport), consumer: createClient(ConsumerService, transport) };
  };

  void test("SplitShard, then GetRecords and SubscribeToShard at the parent's end name its children", async () => {
    const { producer, streams, consumer } = clients();
    await producer.putRecord({ streamName: "split", partitionKey: "a", data: Buffer.from("x") });
    await streams.splitShard({
      streamName: "split",
      shardToSplit: id(0),
      newStartingHashKey: HALF.toString(),
    });
    const { shards } = await streams.listShards({ streamName: "split" });
    assert.deepEqual(
      shards.map((s) => [
        s.shardId,
        s.parentShardId,
        s.sequenceNumberRange?.endingSequenceNumber !== "",
      ]),
      [
        [id(0), "", true],
        [id(1), id(0), false],
        [id(2), id(0), false],
      ],
    );
    const { shardIterator } = await consumer.getShardIterator({
      streamName: "split",
      shardId: id(0),
      shardIteratorType: ShardIteratorType.TRIM_HORIZON,
    });
    const end = await consumer.getRecords({ shardIterator });
    assert.equal(end.records.length, 1);
    assert.equal(end.nextShardIterator, "");
    const expected = [1, 2].map((i) => ({
      shardId: id(i),
      parentShards: [id(0)],
      startingHashKey: shards[i]!.hashKeyRange!.startingHashKey,
    }));
    const children = (list: typeof end.childShards) =>
      list.map((c) => ({
        shardId: c.shardId,
        parentShards: c.parentShards,
        startingHashKey: c.hashKeyRange!.startingHashKey,
      }));
    assert.deepEqual(children(end.childShards), expected);

    const events = [];
    for await (const event of consumer.subscribeToShard({
      streamName: "split",
      shardId: id(0),
      startingPosition: { type: ShardIteratorType.TRIM_HORIZON },
    })) {
      events.push(event);
    }
    // The subscription ends at the closed shard's end, its last event naming the children.
    assert.equal(events.flatMap((e) => e.records).length, 1);
    assert.deepEqual(children(events.at(-1)!.childShards), expected);
    // As AWS's: no continuation beside the children (an outside tester's finding).
    assert.equal(events.at(-1)!.continuationSequenceNumber, "");
  });

  void test("MergeShards and UpdateShardCount; ListShards with a filter", async () => {
    const { streams } = clients();
    await streams.mergeShards({
      streamName: "merge",
      shardToMerge: id(0),
      adjacentShardToMerge: id(1),
    });
    const latest = await streams.listShards({
      streamName: "merge",
      shardFilter: { type: ShardFilterType.AT_LATEST },
    });
    assert.deepEqual(
      latest.shards.map((s) => [s.shardId, s.parentShardId, s.adjacentParentShardId]),
      [[id(2), id(0), id(1)]],
    );
    const scaled = await streams.updateShardCount({
      streamName: "scale",
      targetShardCount: 3,
      scalingType: ScalingType.UNIFORM_SCALING,
    });
    assert.deepEqual(
      [scaled.streamName, scaled.currentShardCount, scaled.targetShardCount],
      ["scale", 2, 3],
    );
    assert.match(scaled.streamArn, /:stream\/scale$/);
    const open = await streams.listShards({
      streamName: "scale",
      shardFilter: { type: ShardFilterType.AT_LATEST },
    });
    assert.equal(open.shards.length, 3);
  });

  void test("required members left unset and AWS's refusals answer their Kinesis errors", async () => {
    const { streams } = clients();
    const rejects = (promise: Promise<unknown>, code: Code, message: RegExp) =>
      assert.rejects(promise, (err: unknown) => {
        assert.ok(err instanceof ConnectError);
        assert.equal(err.code, code);
        assert.match(err.rawMessage, message);
        return true;
      });
    await rejects(
      streams.updateShardCount({ streamName: "bad", targetShardCount: 2 }),
      Code.InvalidArgument,
      /Value null at 'scalingType' failed to satisfy constraint: Member must not be null/,
    );
    await rejects(
      streams.splitShard({ streamName: "bad", shardToSplit: id(0) }),
      Code.InvalidArgument,
      /Value null at 'newStartingHashKey' failed to satisfy constraint: Member must not be null/,
    );
    await rejects(
      streams.updateShardCount({
        streamName: "bad",
        targetShardCount: 3,
        scalingType: ScalingType.UNIFORM_SCALING,
      }),
      Code.ResourceExhausted,
      /^UpdateShardCount cannot scale up over double your current open shard count/,
    );
    await rejects(
      streams.listShards({ streamName: "bad", shardFilter: {} }),
      Code.InvalidArgument,
      /Value null at 'shardFilter.type' failed to satisfy constraint: Member must not be null/,
    );
    assert.equal((await streams.listShards({ streamName: "bad" })).shards.length, 1);
  });

  void test("a client built from the .proto files with @grpc/grpc-js scales and filters", async () => {
    const client = createGrpcJsClient(`127.0.0.1:${gateway.current.port}`);
    try {
      const scaled = await client.call("StreamService", "UpdateShardCount", {
        stream_name: "grpcjs",
        target_shard_count: 4,
        scaling_type: "SCALING_TYPE_UNIFORM_SCALING",
      });
      assert.deepEqual([scaled.current_shard_count, scaled.target_shard_count], [2, 4]);
      const latest = await client.call("StreamService", "ListShards", {
        stream_name: "grpcjs",
        shard_filter: { type: "SHARD_FILTER_TYPE_AT_LATEST" },
      });
      const shards = latest.shards as { shard_id: string; parent_shard_id: string }[];
      assert.deepEqual(
        shards.map((s) => s.parent_shard_id),
        [id(0), id(0), id(1), id(1)],
      );
    } finally {
      client.close();
    }
  });
});
