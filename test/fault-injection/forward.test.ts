/**
 * Fault rules in forward mode, with kinesis-local behind the gateway: the
 * faults act before forwarding, so a record failed by a rule never reaches
 * Kinesis and a call failed whole writes nothing, while the records the rule
 * spares are really written and answered in their places. What the gateway
 * reports written is checked against the emulator itself, read directly
 * with the AWS SDK.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { suite, test } from "node:test";
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from "@aws-sdk/client-kinesis";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { FaultService } from "../../src/gen/kinesis/gateway/v1/faults_pb.ts";
import type { PutRecordsResponse } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { readFromEmulator } from "../contract/targets.ts";
import { useEmulator } from "../helpers/emulator.ts";
import { clientsFor, forwardingTo, transports, useGateway } from "../helpers/gateway.ts";
import { rejectsWith, sdkClient } from "../helpers/kinesis-sdk.ts";

const RATE = 0.3;
const BATCH = 60;

/** Distinct data and keys, so each record can be found again in the emulator. */
const batchOf = (tag: string, count = BATCH) =>
  Array.from({ length: count }, (_, i) => ({
    data: `${tag} record ${i}`,
    partitionKey: `${tag}-key-${i}`,
  }));

interface Shard {
  id: string;
  start: bigint;
  end: bigint;
}

async function shardsOf(client: KinesisClient, streamName: string): Promise<Shard[]> {
  const { Shards } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  return (Shards ?? []).map((s) => ({
    id: s.ShardId ?? "",
    start: BigInt(s.HashKeyRange?.StartingHashKey ?? "0"),
    end: BigInt(s.HashKeyRange?.EndingHashKey ?? "0"),
  }));
}

/** The shard a partition key hashes to (MD5, read as a 128-bit unsigned integer). */
function shardOfKey(shards: Shard[], partitionKey: string): string {
  const hash = BigInt(`0x${createHash("md5").update(partitionKey, "utf8").digest("hex")}`);
  const shard = shards.find((s) => hash >= s.start && hash <= s.end);
  assert.ok(shard, `no shard holds ${partitionKey}`);
  return shard.id;
}

/** Every record of every shard of a stream, read from the emulator directly. */
async function readStream(client: KinesisClient, streamName: string) {
  const all: { shardId: string; data: string; partitionKey: string; sequenceNumber: string }[] = [];
  for (const shard of await shardsOf(client, streamName)) {
    for (const r of await readFromEmulator(client, streamName, shard.id)) {
      all.push({
        shardId: shard.id,
        data: Buffer.from(r.data).toString(),
        partitionKey: r.partitionKey,
        sequenceNumber: r.sequenceNumber,
      });
    }
  }
  return all;
}

async function codeOf(promise: Promise<unknown>): Promise<Code> {
  try {
    await promise;
  } catch (err) {
    return ConnectError.from(err).code;
  }
  assert.fail("the call succeeded");
}

void suite("fault rules in forward mode, kinesis-local behind", () => {
  const emulator = useEmulator({
    initializeStreams: "orders:2,replayed:2,calls:2,slow:1,plain:1,listed:3,reads:1",
  });
  const gateway = useGateway(() => [...forwardingTo(emulator)(), "--fault-control", "on"]);

  const faults = () =>
    createClient(
      FaultService,
      createConnectTransport({ baseUrl: gateway.current.url, httpVersion: "1.1" }),
    );
  const clients = () => clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
  const put = (streamName: string, batch: { data: string; partitionKey: string }[]) =>
    clients().producer.putRecords({
      streamName,
      records: batch.map((r) => ({ data: Buffer.from(r.data), partitionKey: r.partitionKey })),
    });

  void test("a seeded per-record failure rate: injected failures and the emulator's answers mix in order; the emulator holds exactly the records reported written", async () => {
    const client = emulator.current.client();
    try {
      await faults().setFaults({
        seed: 1234,
        rules: [
          {
            streams: "orders",
            operations: ["PutRecords"],
            recordFailure: { rate: RATE, code: "ProvisionedThroughputExceededException" },
          },
        ],
      });
      const batch = batchOf("orders");
      const res = await put("orders", batch);
      assert.equal(res.records.length, BATCH, "one result per record, in order");

      const failed = res.records.flatMap((r, i) => (r.errorCode === "" ? [] : [i]));
      const written = res.records.flatMap((r, i) => (r.errorCode === "" ? [i] : []));
      assert.equal(res.failedRecordCount, failed.length);
      assert.ok(failed.length > 0 && written.length > 0, `failed ${failed.length} of ${BATCH}`);
      // Not a prefix nor a suffix: the injected failures sit among the written records.
      assert.ok(failed.some((i) => i > written[0]!) && written.some((i) => i > failed[0]!));

      const shards = await shardsOf(client, "orders");
      for (const i of failed) {
        const r = res.records[i]!;
        assert.equal(r.errorCode, "ProvisionedThroughputExceededException");
        assert.equal(
          r.errorMessage,
          `Rate exceeded for shard ${shardOfKey(shards, batch[i]!.partitionKey)} in stream orders under account ${emulator.current.accountId}.`,
        );
        assert.equal(r.sequenceNumber, "");
        assert.equal(r.shardId, "");
      }
      for (const i of written) {
        const r = res.records[i]!;
        assert.match(r.sequenceNumber, /^\d{56}$/);
        assert.equal(r.shardId, shardOfKey(shards, batch[i]!.partitionKey));
      }

      // The emulator holds the written records, each with the sequence number and
      // shard the gateway reported, and none of the failed ones.
      const stored = await readStream(client, "orders");
      assert.equal(stored.length, written.length);
      const bySequence = new Map(stored.map((s) => [`${s.shardId}/${s.sequenceNumber}`, s]));
      for (const i of written) {
        const r = res.records[i]!;
        const s = bySequence.get(`${r.shardId}/${r.sequenceNumber}`);
        assert.ok(s, `record ${i} reported written is not in the emulator`);
        assert.equal(s.data, batch[i]!.data);
        assert.equal(s.partitionKey, batch[i]!.partitionKey);
      }
      const storedData = new Set(stored.map((s) => s.data));
      for (const i of failed) assert.ok(!storedData.has(batch[i]!.data), `record ${i} was written`);
    } finally {
      await faults().clearFaults({});
      client.destroy();
    }
  });

  void test("the same seed and calls fail the same records again; another seed does not", async () => {
    const rulesWith = (seed: number) => ({
      seed,
      rules: [
        {
          streams: "replayed",
          operations: ["PutRecords"],
          recordFailure: { rate: RATE, code: "InternalFailure" as const },
        },
      ],
    });
    const failedOf = (res: PutRecordsResponse) =>
      res.records.flatMap((r, i) => (r.errorCode === "" ? [] : [i]));
    const batch = batchOf("replayed");
    const runs: number[][][] = [];
    for (const seed of [99, 99, 100]) {
      await faults().setFaults(rulesWith(seed));
      // Two calls each time: the second call's decisions differ from the first's.
      runs.push([failedOf(await put("replayed", batch)), failedOf(await put("replayed", batch))]);
    }
    await faults().clearFaults({});
    const [first, again, other] = runs as [number[][], number[][], number[][]];
    assert.deepEqual(again, first);
    assert.notDeepEqual(first[1], first[0]);
    assert.notDeepEqual(other, first);

    const client = emulator.current.client();
    try {
      const stored = await readStream(client, "replayed");
      const expected = runs.flat().reduce((sum, failed) => sum + BATCH - failed.length, 0);
      assert.equal(stored.length, expected, "every record not failed was written, once");
    } finally {
      client.destroy();
    }
  });

  void test("an injected call failure writes nothing upstream; an injected PutRecord failure neither", async () => {
    const client = emulator.current.client();
    try {
      await faults().setFaults({
        seed: 5,
        rules: [
          {
            streams: "calls",
            operations: ["PutRecords"],
            callFailure: { rate: 1, code: "ServiceUnavailable" },
          },
          {
            streams: "calls",
            operations: ["PutRecord"],
            recordFailure: { rate: 1, code: "ProvisionedThroughputExceededException" },
          },
        ],
      });
      assert.equal(Code[await codeOf(put("calls", batchOf("calls", 20)))], "Unavailable");
      const single = await codeOf(
        clients().producer.putRecord({
          streamName: "calls",
          data: Buffer.from("calls single"),
          partitionKey: "calls-single",
        }),
      );
      assert.equal(Code[single], "ResourceExhausted");
      assert.deepEqual(await readStream(client, "calls"), []);

      await faults().clearFaults({});
      const res = await put("calls", batchOf("calls-after", 5));
      assert.equal(res.failedRecordCount, 0);
      assert.equal((await readStream(client, "calls")).length, 5, "once cleared, calls write");
    } finally {
      await faults().clearFaults({});
      client.destroy();
    }
  });

  void test("injected latency delays the forwarded call, which then writes", async () => {
    const client = emulator.current.client();
    try {
      await faults().setFaults({
        seed: 5,
        rules: [{ streams: "slow", operations: ["PutRecords"], latency: { ms: 400 } }],
      });
      const started = performance.now();
      const res = await put("slow", batchOf("slow", 3));
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 390, `answered in ${elapsed.toFixed(0)} ms, before the latency`);
      assert.equal(res.failedRecordCount, 0);
      assert.equal((await readStream(client, "slow")).length, 3);
    } finally {
      await faults().clearFaults({});
      client.destroy();
    }
  });

  void test("ListShards, DescribeStreamSummary and streams the rules do not match pass untouched", async () => {
    const client = emulator.current.client();
    try {
      // Every PutRecords to orders* and listed fails (an outage until cleared).
      await faults().setFaults({
        seed: 5,
        rules: [{ streams: "orders*,listed", operations: ["PutRecords"], outage: {} }],
      });
      const { streams } = clients();
      const listed = await streams.listShards({ streamName: "listed" });
      const direct = await shardsOf(client, "listed");
      assert.deepEqual(
        listed.shards.map((s) => [
          s.shardId,
          s.hashKeyRange?.startingHashKey,
          s.hashKeyRange?.endingHashKey,
        ]),
        direct.map((s) => [s.id, String(s.start), String(s.end)]),
      );
      const summary = await streams.describeStreamSummary({ streamName: "listed" });
      const { StreamDescriptionSummary } = await client.send(
        new DescribeStreamSummaryCommand({ StreamName: "listed" }),
      );
      assert.equal(
        summary.streamDescriptionSummary?.streamArn,
        StreamDescriptionSummary?.StreamARN,
      );
      assert.equal(summary.streamDescriptionSummary?.openShardCount, 3);

      assert.equal(Code[await codeOf(put("listed", batchOf("listed", 3)))], "Unavailable");
      const plain = await put("plain", batchOf("plain", 4));
      assert.equal(plain.failedRecordCount, 0);
      const stored = await readStream(client, "plain");
      assert.deepEqual(
        stored.map((s) => s.sequenceNumber).sort(),
        plain.records.map((r) => r.sequenceNumber).sort(),
      );
      assert.deepEqual(await readStream(client, "listed"), []);
    } finally {
      await faults().clearFaults({});
      client.destroy();
    }
  });

  void test("a rule for a stream reaches GetRecords with the upstream's opaque iterators, got through the gateway", async () => {
    const kinesis = sdkClient(gateway.current.url);
    try {
      await put("reads", batchOf("reads", 3));
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: "reads",
          ShardId: "shardId-000000000000",
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      const first = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
      assert.equal(first.Records?.length, 3);
      await faults().setFaults({
        seed: 1,
        rules: [
          {
            streams: "reads",
            operations: ["GetRecords"],
            callFailure: { rate: 1, code: "InternalFailure" },
          },
        ],
      });
      // Both the first iterator and the one the last answer gave name their stream.
      for (const iterator of [ShardIterator, first.NextShardIterator]) {
        await rejectsWith(
          kinesis.send(new GetRecordsCommand({ ShardIterator: iterator })),
          "InternalFailure",
          "Internal service failure.",
        );
      }
      // Another stream's reads are not the rule's.
      const other = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: "plain",
          ShardId: "shardId-000000000000",
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      await kinesis.send(new GetRecordsCommand({ ShardIterator: other.ShardIterator }));
    } finally {
      await faults().clearFaults({});
      kinesis.destroy();
    }
  });
});
