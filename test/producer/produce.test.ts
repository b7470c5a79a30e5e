/**
 * `ProducerService.Produce` on the real server, over gRPC (h2c) with a
 * Connect client: exactly one ack per record, per-key order, refusals in
 * AWS's words, throttling retried, time to live, aggregation read back by
 * `aws-kinesis-agg`.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { GetRecordsCommand, GetShardIteratorCommand } from "@aws-sdk/client-kinesis";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ShardIteratorType } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import {
  type ProduceAck,
  ProduceRequestSchema,
  ProducerService,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { clientsFor, useGateway } from "../helpers/gateway.ts";
import { aggDeaggregate } from "../helpers/kinesis-agg.ts";
import { sdkClient } from "../helpers/kinesis-sdk.ts";
import { assertKeyOrder, oneAckEach, produce, records } from "../helpers/produce.ts";

/** Every record of the shard, through the wire API, as stored. */
async function readShard(url: string, stream: string, shardId: string) {
  const kinesis = sdkClient(url);
  let iterator = (
    await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: shardId,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    )
  ).ShardIterator;
  const out: { SequenceNumber: string; PartitionKey: string; Data: Uint8Array }[] = [];
  for (;;) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
    for (const r of page.Records ?? []) {
      out.push({ SequenceNumber: r.SequenceNumber!, PartitionKey: r.PartitionKey!, Data: r.Data! });
    }
    if ((page.Records ?? []).length === 0) break;
    iterator = page.NextShardIterator;
  }
  return out;
}

void suite("Produce", () => {
  const gateway = useGateway([
    "--streams",
    "plain:4,slow:1,agg:1",
    "--aggregate",
    "agg",
    "--linger-ms",
    "5",
  ]);

  void test("2,000 records of 50 keys: one ack each, all written, each key in order", async () => {
    const sent = records(2_000, 50);
    const acks = await produce(gateway.current.url, "plain", sent);
    const byId = oneAckEach(sent, acks);
    for (const ack of byId.values()) assert.equal(ack.errorCode, "", ack.errorMessage);
    assertKeyOrder(sent, byId);
    // Read back: each shard's records in sequence order are each key's in send order.
    const { consumer } = clientsFor(createGrpcTransport({ baseUrl: gateway.current.url }));
    const shards = new Set([...byId.values()].map((ack) => ack.shardId));
    let read = 0;
    for (const shardId of shards) {
      const { shardIterator } = await consumer.getShardIterator({
        streamName: "plain",
        shardId,
        shardIteratorType: ShardIteratorType.TRIM_HORIZON,
      });
      const page = await consumer.getRecords({ shardIterator });
      read += page.records.length;
      for (const record of page.records) {
        const ack = [...byId.values()].find((a) => a.sequenceNumber === record.sequenceNumber);
        assert.ok(ack !== undefined, "every record read back was acked");
        assert.equal(new TextDecoder().decode(record.data), `r ${ack.id}`);
      }
    }
    assert.equal(read, 2_000);
  });

  void test("refusals in AWS's words, record by record; the rest is written", async () => {
    const client = createClient(
      ProducerService,
      createGrpcTransport({ baseUrl: gateway.current.url }),
    );
    async function* requests() {
      yield create(ProduceRequestSchema, {
        streamName: "plain",
        records: [
          { id: 1n, partitionKey: "", data: new Uint8Array([1]) },
          { id: 2n, partitionKey: "k".repeat(257), data: new Uint8Array([1]) },
          { id: 3n, partitionKey: "k", explicitHashKey: "-1", data: new Uint8Array([1]) },
          { id: 4n, partitionKey: "k", data: new Uint8Array([4]) },
        ],
      });
      yield create(ProduceRequestSchema, {
        streamName: "nope",
        records: [{ id: 5n, partitionKey: "k", data: new Uint8Array([5]) }],
      });
      yield create(ProduceRequestSchema, {
        streamName: "bad name!",
        records: [{ id: 6n, partitionKey: "k", data: new Uint8Array([6]) }],
      });
    }
    const acks = new Map<bigint, ProduceAck>();
    for await (const response of client.produce(requests())) {
      for (const ack of response.acks) acks.set(ack.id, ack);
    }
    assert.equal(acks.size, 6);
    assert.equal(acks.get(1n)!.errorCode, "ValidationException");
    assert.match(
      acks.get(1n)!.errorMessage,
      /partitionKey.*Member must have length greater than or equal to 1/,
    );
    assert.equal(acks.get(2n)!.errorCode, "ValidationException");
    assert.match(acks.get(2n)!.errorMessage, /Member must have length less than or equal to 256/);
    assert.equal(acks.get(3n)!.errorCode, "ValidationException");
    assert.equal(acks.get(4n)!.errorCode, "");
    assert.match(acks.get(4n)!.shardId, /^shardId-/);
    assert.equal(acks.get(5n)!.errorCode, "ResourceNotFoundException");
    assert.equal(acks.get(5n)!.errorMessage, "Stream nope under account 000000000000 not found.");
    assert.equal(acks.get(6n)!.errorCode, "ValidationException");
  });

  void test("aggregated: records share Kinesis records, and aws-kinesis-agg reads them back", async () => {
    const sent = records(600, 7, "agg");
    const acks = await produce(gateway.current.url, "agg", sent);
    const byId = oneAckEach(sent, acks);
    for (const ack of byId.values()) assert.equal(ack.errorCode, "", ack.errorMessage);
    assertKeyOrder(sent, byId);
    const kinesisRecords = new Set([...byId.values()].map((ack) => ack.sequenceNumber));
    assert.ok(
      kinesisRecords.size < 60,
      `${kinesisRecords.size} Kinesis records for 600 user records`,
    );
    const stored = await readShard(gateway.current.url, "agg", "shardId-000000000000");
    const users: { key: string; data: string; seq: string; sub: number }[] = [];
    for (const record of stored) {
      const { error, records: held } = aggDeaggregate(
        record.Data,
        record.PartitionKey,
        record.SequenceNumber,
      );
      assert.equal(error, undefined);
      for (const user of held) {
        users.push({
          key: user.partitionKey,
          data: Buffer.from(user.data, "base64").toString(),
          seq: record.SequenceNumber,
          sub: Number(user.subSequenceNumber ?? 0),
        });
      }
    }
    assert.equal(users.length, 600);
    for (const r of sent) {
      const ack = byId.get(r.id)!;
      const found = users.find(
        (u) => u.seq === ack.sequenceNumber && u.sub === Number(ack.subSequenceNumber),
      );
      assert.ok(found, `record ${r.id} read back where its ack says`);
      assert.equal(found.key, r.key);
      assert.equal(found.data, r.data);
    }
  });
});

void suite("Produce against a throttled shard", () => {
  const gateway = useGateway([
    "--streams",
    "hot:1",
    "--shard-records-per-second",
    "200",
    "--throttle-burst-seconds",
    "1",
    "--linger-ms",
    "5",
  ]);

  void test("throttled records are retried until written, each key in order", async () => {
    const sent = records(800, 20);
    const acks = await produce(gateway.current.url, "hot", sent, 400);
    const byId = oneAckEach(sent, acks);
    for (const ack of byId.values()) assert.equal(ack.errorCode, "", ack.errorMessage);
    assertKeyOrder(sent, byId);
  });
});

void suite("Produce with a short time to live", () => {
  const gateway = useGateway([
    "--streams",
    "hot:1",
    "--shard-records-per-second",
    "20",
    "--throttle-burst-seconds",
    "1",
    "--record-ttl-ms",
    "400",
  ]);

  void test("what cannot be written in time is acked RecordExpired; its key's later records say why", async () => {
    const sent = records(300, 3);
    const acks = await produce(gateway.current.url, "hot", sent, 300);
    const byId = oneAckEach(sent, acks);
    const codes = new Map<string, number>();
    for (const ack of byId.values()) codes.set(ack.errorCode, (codes.get(ack.errorCode) ?? 0) + 1);
    assert.ok((codes.get("") ?? 0) > 0, "some were written");
    assert.ok((codes.get("RecordExpired") ?? 0) > 0, `some expired: ${JSON.stringify([...codes])}`);
    assertKeyOrder(sent, byId);
    // After a key's first failure nothing of it is written (no gaps a consumer cannot see).
    for (let k = 0; k < 3; k++) {
      const mine = sent.filter((r) => r.key === `key-${k}`).map((r) => byId.get(r.id)!);
      const firstFailure = mine.findIndex((ack) => ack.errorCode !== "");
      if (firstFailure < 0) continue;
      assert.equal(mine[firstFailure]!.errorCode, "RecordExpired");
      assert.match(
        mine[firstFailure]!.errorMessage,
        /Rate exceeded for shard shardId-000000000000/,
      );
      for (const later of mine.slice(firstFailure + 1)) {
        assert.notEqual(later.errorCode, "", "nothing written after a key's failure");
        if (later.errorCode === "PrecedingRecordFailed") {
          assert.match(later.errorMessage, /^Not written: record \d+ with the same partition key/);
        }
      }
    }
  });
});
