/**
 * `--coalesce` on the real server: many callers of unary PutRecord, over
 * gRPC and the wire API at once, are answered each with its own record's
 * result while the engine gets a few shared PutRecords calls.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordCommand,
} from "@aws-sdk/client-kinesis";
import { hashKeyForPartitionKey } from "../../src/engine/hash-key.ts";
import { ShardIteratorType } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import {
  clientsFor,
  forwardingTo,
  transports,
  useGateway,
  useGatewayWithMetrics,
} from "../helpers/gateway.ts";
import { aggDeaggregate } from "../helpers/kinesis-agg.ts";
import { sdkClient } from "../helpers/kinesis-sdk.ts";

void suite("--coalesce", () => {
  const gateway = useGatewayWithMetrics([
    "--streams",
    "orders:1,plain:1",
    "--coalesce",
    "ord*",
    "--linger-ms",
    "50",
  ]);

  /**
   * Backend calls by operation, from the call-duration histogram's counts. The
   * gateway renders `/metrics` at most once a second: one scrape, after the calls.
   */
  async function backendCalls(): Promise<Map<string, number>> {
    const text = await (await fetch(`${gateway.current.url}/metrics`)).text();
    const counts = new Map<string, number>();
    for (const line of text.split("\n")) {
      const method = /^kinesis_gateway_backend_call_duration_count\{.*rpc_method="(\w+)"/.exec(
        line,
      )?.[1];
      if (method !== undefined)
        counts.set(method, (counts.get(method) ?? 0) + Number(line.split(" ").at(-1)));
    }
    return counts;
  }

  void test("64 PutRecord callers over gRPC and the wire API: each its own answer, a few shared calls", async () => {
    const { producer, consumer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const kinesis = sdkClient(gateway.current.url);
    const sent = Array.from({ length: 64 }, (_, i) => `event ${i}`);
    const answers = await Promise.all(
      sent.map(async (text, i) => {
        const data = new TextEncoder().encode(text);
        if (i % 2 === 0) {
          const answer = await producer.putRecord({
            streamName: "orders",
            partitionKey: `k${i}`,
            data,
          });
          return { text, sequenceNumber: answer.sequenceNumber, shardId: answer.shardId };
        }
        const answer = await kinesis.send(
          new PutRecordCommand({ StreamName: "orders", PartitionKey: `k${i}`, Data: data }),
        );
        return { text, sequenceNumber: answer.SequenceNumber!, shardId: answer.ShardId! };
      }),
    );
    // A stream no pattern names is written call by call.
    await producer.putRecord({ streamName: "plain", partitionKey: "k", data: new Uint8Array([1]) });
    const calls = await backendCalls();
    const shared = calls.get("PutRecords") ?? 0;
    // A caller alone in its batch (one that came after the linger, on a busy machine) goes as it
    // came; one of the PutRecord calls is the plain stream's.
    const alone = (calls.get("PutRecord") ?? 0) - 1;
    assert.ok(shared >= 1, "callers were merged");
    assert.ok(shared + alone <= 8, `${shared} shared and ${alone} lone calls for 64 callers`);
    // Every answer is the caller's own record: read back by its sequence number.
    const iterator = await consumer.getShardIterator({
      streamName: "orders",
      shardId: "shardId-000000000000",
      shardIteratorType: ShardIteratorType.TRIM_HORIZON,
    });
    const read = await consumer.getRecords({ shardIterator: iterator.shardIterator, limit: 1000 });
    const bySequence = new Map(
      read.records.map((r) => [r.sequenceNumber, new TextDecoder().decode(r.data)]),
    );
    for (const answer of answers) {
      assert.equal(answer.shardId, "shardId-000000000000");
      assert.equal(bySequence.get(answer.sequenceNumber), answer.text);
    }
    assert.equal(bySequence.size, 64);
  });
});

void suite("--coalesce in front of a real emulator", () => {
  const emulator = useEmulator();
  const gateway = useGateway(() => [...forwardingTo(emulator)(), "--coalesce", "fwd-*"]);

  void test("PutRecord callers get their own records' results from the upstream's shared PutRecords", async () => {
    const { producer, streams } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    await streams.createStream({ streamName: "fwd-events", shardCount: 2 });
    await waitUntilStreamActive(emulator.current.client(), "fwd-events");
    const sent = Array.from({ length: 20 }, (_, i) => `forwarded ${i}`);
    const answers = await Promise.all(
      sent.map((text, i) =>
        producer.putRecord({
          streamName: "fwd-events",
          partitionKey: `k${i}`,
          data: new TextEncoder().encode(text),
        }),
      ),
    );
    // Read back from the emulator itself, shard by shard.
    const kinesis = emulator.current.client();
    const stored = new Map<string, string>();
    for (const shardId of new Set(answers.map((a) => a.shardId))) {
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: "fwd-events",
          ShardId: shardId,
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      const { Records = [] } = await kinesis.send(
        new GetRecordsCommand({ ShardIterator: ShardIterator! }),
      );
      for (const r of Records) stored.set(r.SequenceNumber!, new TextDecoder().decode(r.Data));
    }
    for (const [i, answer] of answers.entries()) {
      assert.equal(stored.get(answer.sequenceNumber), sent[i]);
    }
    assert.equal(stored.size, 20);
  });
});

void suite("--coalesce with --aggregate", () => {
  const gateway = useGateway([
    "--streams",
    "packed:2",
    "--coalesce",
    "packed",
    "--aggregate",
    "packed",
    "--linger-ms",
    "50",
  ]);

  void test("concurrent PutRecord callers share aggregated records per shard; aws-kinesis-agg finds each one's record", async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const kinesis = sdkClient(gateway.current.url);
    const sent = Array.from({ length: 64 }, (_, i) => ({ key: `key-${i}`, text: `packed ${i}` }));
    const answers = await Promise.all(
      sent.map(async ({ key, text }, i) => {
        const data = new TextEncoder().encode(text);
        if (i % 2 === 0) {
          const answer = await producer.putRecord({
            streamName: "packed",
            partitionKey: key,
            data,
          });
          return { shardId: answer.shardId, sequenceNumber: answer.sequenceNumber };
        }
        const answer = await kinesis.send(
          new PutRecordCommand({ StreamName: "packed", PartitionKey: key, Data: data }),
        );
        return { shardId: answer.ShardId!, sequenceNumber: answer.SequenceNumber! };
      }),
    );
    const kinesisRecords = new Set(answers.map((a) => a.sequenceNumber));
    assert.ok(kinesisRecords.size <= 8, `${kinesisRecords.size} Kinesis records for 64 callers`);
    // Read as stored through the wire API, and taken apart by the KCL's library for Node.
    const users = new Map<string, { key: string; text: string; shardId: string }[]>();
    for (const shardId of ["shardId-000000000000", "shardId-000000000001"]) {
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: "packed",
          ShardId: shardId,
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      const { Records = [] } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
      for (const record of Records) {
        const { error, records } = aggDeaggregate(
          record.Data!,
          record.PartitionKey!,
          record.SequenceNumber!,
        );
        assert.equal(error, undefined);
        users.set(
          record.SequenceNumber!,
          records.map((user) => ({
            key: user.partitionKey,
            text: Buffer.from(user.data, "base64").toString(),
            shardId,
          })),
        );
      }
    }
    sent.forEach(({ key, text }, i) => {
      const answer = answers[i]!;
      const found = users.get(answer.sequenceNumber)?.find((user) => user.key === key);
      assert.ok(found, `caller ${i}'s record is in the aggregated record its answer names`);
      assert.equal(found.text, text);
      assert.equal(found.shardId, answer.shardId);
      // Packed per predicted shard: the record belongs to the shard it is in.
      const expectedShard =
        hashKeyForPartitionKey(key) < 2n ** 127n ? "shardId-000000000000" : "shardId-000000000001";
      assert.equal(found.shardId, expectedShard);
    });
  });
});
