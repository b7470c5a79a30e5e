/**
 * `ProducerService.Produce` on the real server, over gRPC (h2c) with a
 * Connect client: exactly one ack per record, per-key order, refusals in
 * AWS's words, throttling retried, time to live, aggregation read back by
 * `aws-kinesis-agg`.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { GetRecordsCommand, GetShardIteratorCommand } from "@aws-sdk/client-kinesis";
import { Code, type ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { hashKeyForPartitionKey } from "../../src/engine/hash-key.ts";
import { ShardIteratorType } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import type { ProduceAck } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { clientsFor, useGateway, useGatewayWithMetrics } from "../helpers/gateway.ts";
import { aggDeaggregate } from "../helpers/kinesis-agg.ts";
import { sdkClient } from "../helpers/kinesis-sdk.ts";
import { acksFor, assertKeyOrder, oneAckEach, produce, records } from "../helpers/produce.ts";

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
    const acks = await acksFor(gateway.current.url, [
      {
        streamName: "plain",
        records: [
          { id: 1n, partitionKey: "", data: new Uint8Array([1]) },
          { id: 2n, partitionKey: "k".repeat(257), data: new Uint8Array([1]) },
          { id: 3n, partitionKey: "k", explicitHashKey: "-1", data: new Uint8Array([1]) },
          { id: 4n, partitionKey: "k", data: new Uint8Array([4]) },
          { id: 7n, partitionKey: "other", data: new Uint8Array([7]) },
        ],
      },
      { streamName: "nope", records: [{ id: 5n, partitionKey: "k", data: new Uint8Array([5]) }] },
      {
        streamName: "bad name!",
        records: [{ id: 6n, partitionKey: "k", data: new Uint8Array([6]) }],
      },
    ]);
    assert.equal(acks.size, 7);
    assert.equal(acks.get(1n)!.errorCode, "ValidationException");
    assert.match(
      acks.get(1n)!.errorMessage,
      /partitionKey.*Member must have length greater than or equal to 1/,
    );
    assert.equal(acks.get(2n)!.errorCode, "ValidationException");
    assert.match(acks.get(2n)!.errorMessage, /Member must have length less than or equal to 256/);
    assert.equal(acks.get(3n)!.errorCode, "ValidationException");
    // A refused record with a valid key keeps its key's order: the key's later records are
    // not written after it (a gap no consumer could see), and say why.
    assert.equal(acks.get(4n)!.errorCode, "PrecedingRecordFailed");
    assert.match(acks.get(4n)!.errorMessage, /^Not written: record 3 with the same partition key/);
    assert.equal(acks.get(7n)!.errorCode, "");
    assert.match(acks.get(7n)!.shardId, /^shardId-/);
    assert.equal(acks.get(5n)!.errorCode, "ResourceNotFoundException");
    assert.equal(acks.get(5n)!.errorMessage, "Stream nope under account 000000000000 not found.");
    assert.equal(acks.get(6n)!.errorCode, "ValidationException");
  });

  void test("a message of more than 10,000 records is refused on its count, after the records before it are acked", async () => {
    const acks = new Map<bigint, ProduceAck>();
    await assert.rejects(
      acksFor(
        gateway.current.url,
        [
          {
            streamName: "plain",
            records: [{ id: 1n, partitionKey: "k", data: new Uint8Array([1]) }],
          },
          {
            streamName: "plain",
            records: Array.from({ length: 10_001 }, (_, i) => ({
              id: BigInt(i + 2),
              partitionKey: "k",
            })),
          },
        ],
        acks,
      ),
      (err: ConnectError) =>
        err.code === Code.InvalidArgument &&
        /A ProduceRequest holds at most 10000 records; this one holds 10001/.test(err.rawMessage),
    );
    assert.deepEqual(
      [...acks.values()].map((ack) => [ack.id, ack.errorCode]),
      [[1n, ""]],
    );
  });

  void test("a record larger than the stream takes fails alone, in AWS's words; the others are written", async () => {
    const acks = await acksFor(gateway.current.url, [
      {
        streamName: "plain",
        records: [
          { id: 1n, partitionKey: "k1", data: new Uint8Array(10) },
          { id: 2n, partitionKey: "k2", data: new Uint8Array(2 * 1024 * 1024) },
          { id: 3n, partitionKey: "k3", data: new Uint8Array(10) },
        ],
      },
    ]);
    assert.equal(acks.get(1n)!.errorCode, "");
    assert.equal(acks.get(3n)!.errorCode, "");
    assert.equal(acks.get(2n)!.errorCode, "ValidationException");
    assert.match(
      acks.get(2n)!.errorMessage,
      /member\.data' failed to satisfy constraint: Member must have length less than or equal to 1048576$/,
    );
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
    // And through gRPC GetRecords, de-aggregated by the gateway: each ack's (sequence, sub-sequence).
    const { consumer } = clientsFor(createGrpcTransport({ baseUrl: gateway.current.url }));
    const { shardIterator } = await consumer.getShardIterator({
      streamName: "agg",
      shardId: "shardId-000000000000",
      shardIteratorType: ShardIteratorType.TRIM_HORIZON,
    });
    const page = await consumer.getRecords({ shardIterator });
    const read = new Map(
      page.records.map((r) => [`${r.sequenceNumber}/${r.subSequenceNumber}`, r] as const),
    );
    assert.equal(read.size, 600);
    for (const r of sent) {
      const ack = byId.get(r.id)!;
      const record = read.get(`${ack.sequenceNumber}/${ack.subSequenceNumber}`);
      assert.ok(record, `record ${r.id} read back through gRPC`);
      assert.equal(record.partitionKey, r.key);
      assert.equal(new TextDecoder().decode(record.data), r.data);
    }
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
    // Long enough that only the throttling, not a loaded machine's slowness before the first
    // send, makes records expire (at 400 ms a CI run once expired a key's head unsent).
    "--record-ttl-ms",
    "1500",
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
      // Sent and throttled until its time was up, or held back behind the throttled shard: the
      // failure is said either way.
      assert.match(
        mine[firstFailure]!.errorMessage,
        /^Not written within its time to live \(\d+ ms\); (the last attempt failed|held back by a failure): ProvisionedThroughputExceededException: Rate exceeded for shard shardId-000000000000 /,
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

void suite("Produce across a reshard", () => {
  const gateway = useGateway([
    "--streams",
    "split:1",
    "--aggregate",
    "split",
    "--linger-ms",
    "5",
    "--stream-transition-ms",
    "100",
  ]);

  void test("a split mid-stream: shards predicted again, everything written, each key in order", async () => {
    const { streams } = clientsFor(createGrpcTransport({ baseUrl: gateway.current.url }));
    const before = records(300, 10, "before");
    const beforeAcks = await produce(gateway.current.url, "split", before);
    await streams.splitShard({
      streamName: "split",
      shardToSplit: "shardId-000000000000",
      newStartingHashKey: (2n ** 127n).toString(),
    });
    // Wait for the children: ACTIVE again.
    for (let i = 0; i < 100; i++) {
      const { streamDescriptionSummary } = await streams.describeStreamSummary({
        streamName: "split",
      });
      if (streamDescriptionSummary?.openShardCount === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Written while the map still shows the parent: each aggregated record goes where its first
    // record's hash key leads, its other records with it (the KPL does the same).
    const stale = records(300, 10, "stale").map((r) => ({ ...r, id: r.id + 1000n }));
    const staleAcks = await produce(gateway.current.url, "split", stale);
    // Its answers named a child: the map was read again, and each record goes to its own child.
    const after = records(300, 10, "after").map((r) => ({ ...r, id: r.id + 2000n }));
    const afterAcks = await produce(gateway.current.url, "split", after);
    const all = [...before, ...stale, ...after];
    const byId = oneAckEach(all, [...beforeAcks, ...staleAcks, ...afterAcks]);
    for (const ack of byId.values()) assert.equal(ack.errorCode, "", ack.errorMessage);
    assertKeyOrder(all, byId);
    const children = ["shardId-000000000001", "shardId-000000000002"];
    for (const r of stale) assert.ok(children.includes(byId.get(r.id)!.shardId));
    for (const r of after) {
      const inLow = hashKeyForPartitionKey(r.key) < 2n ** 127n;
      assert.equal(byId.get(r.id)!.shardId, children[inLow ? 0 : 1], `record ${r.id}`);
    }
  });
});

void suite("Produce's metrics", () => {
  const gateway = useGatewayWithMetrics([
    "--streams",
    "measured:1",
    "--aggregate",
    "measured",
    "--shard-records-per-second",
    "5",
    "--record-ttl-ms",
    "300",
    "--aggregation-max-bytes",
    "1024",
  ]);

  void test("batches, aggregation sizes, retries and records given up on, by error type only", async () => {
    // ~300 B each: three to an aggregated record, more aggregated records than 5 a second.
    const sent = records(200, 200, "m".repeat(300));
    const acks = await produce(gateway.current.url, "measured", sent, 200);
    const byId = oneAckEach(sent, acks);
    const expired = [...byId.values()].filter((ack) => ack.errorCode === "RecordExpired").length;
    const written = [...byId.values()].filter((ack) => ack.errorCode === "").length;
    assert.ok(written > 0 && expired > 0, `${written} written, ${expired} expired`);
    // One scrape, after the calls: /metrics renders at most once a second.
    const text = await (await fetch(`${gateway.current.url}/metrics`)).text();
    const value = (pattern: RegExp) =>
      text
        .split("\n")
        .filter((line) => pattern.test(line))
        .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
    assert.ok(value(/^kinesis_gateway_producer_batch_size_count\{/) >= 1);
    assert.ok(value(/^kinesis_gateway_producer_aggregation_size_sum\{/) >= 2);
    assert.equal(
      value(/^kinesis_gateway_producer_given_up_total\{.*error_type="RecordExpired"/),
      expired,
    );
    assert.ok(
      value(
        /^kinesis_gateway_producer_retries_total\{.*error_type="ProvisionedThroughputExceededException"/,
      ) >= 1,
    );
    assert.equal(
      value(/^kinesis_gateway_producer_buffered\{/),
      0,
      "nothing held once all is acked",
    );
    assert.equal(
      value(/^kinesis_gateway_records_written_total\{.*messaging_destination_name="measured"/),
      written,
    );
    for (const line of text.split("\n").filter((l) => l.startsWith("kinesis_gateway_producer_"))) {
      assert.ok(!/key-|mmmm/.test(line), `no request value in ${line}`);
    }
  });
});
