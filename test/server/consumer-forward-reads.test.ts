/**
 * Reads larger than the caller's `max_message_bytes` in forward mode, against
 * a real emulator: an AWS iterator names no stream or shard, so the gateway
 * continues after a partial answer with GetShardIterator (which spends none of
 * the shard's read budget) when the request has a StreamARN, and by reading
 * again otherwise. Small records and a small budget keep the emulator quick;
 * `consumer-large-reads.test.ts` has the 4 MiB default against the engine.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { pino } from "pino";
import {
  ConsumerService,
  GetRecordsResponseSchema,
  ShardIteratorType,
  SubscribeToShardResponseSchema,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import type { RunningGateway } from "../../src/main.ts";
import { startTelemetry, type Telemetry } from "../../src/telemetry/telemetry.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { clientsFor, startTestGateway, transports } from "../helpers/gateway.ts";

/** Two 10,000-byte records fit, three do not. */
const maxMessageBytes = 25_000;

let telemetry: Telemetry;
before(async () => {
  telemetry = await startTelemetry({ logger: pino({ level: "silent" }) }); // metrics for /metrics
});
after(() => telemetry.shutdown());

void suite("reads larger than max_message_bytes, forwarded", () => {
  const emulator = useEmulator();
  let gateway: RunningGateway;
  let streamArn = "";
  /** Sequence numbers of 9 records of 10,000 bytes, in order. */
  const backlog: string[] = [];
  const consumer = () => createClient(ConsumerService, transports["gRPC over h2c"]!(gateway.url));

  before(async () => {
    gateway = await startTestGateway(
      ["--backend", "kinesis", "--kinesis-endpoint", emulator.current.endpoint],
      { telemetry },
    );
    const { producer, streams } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
    await streams.createStream({ streamName: "big-reads", shardCount: 1 });
    await waitUntilStreamActive(emulator.current.client(), "big-reads");
    streamArn = (await streams.describeStreamSummary({ streamName: "big-reads" }))
      .streamDescriptionSummary!.streamArn;
    const res = await producer.putRecords({
      streamName: "big-reads",
      records: Array.from({ length: 9 }, (_, i) => ({
        data: new Uint8Array(10_000).fill(i),
        partitionKey: String(i),
      })),
    });
    assert.equal(res.failedRecordCount, 0);
    backlog.push(...res.records.map((r) => r.sequenceNumber));
  });
  after(() => gateway.stop());

  const trimHorizon = async () =>
    (
      await consumer().getShardIterator({
        streamName: "big-reads",
        shardId: "shardId-000000000000",
        shardIteratorType: ShardIteratorType.TRIM_HORIZON,
      })
    ).shardIterator;

  /** The calls the gateway has made to Kinesis, by operation. */
  const upstreamCalls = async () => {
    await sleep(1_100); // /metrics renders at most once a second
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const count = (operation: string) =>
      Number(
        text
          .split("\n")
          .find(
            (l) =>
              l.startsWith("kinesis_gateway_backend_call_duration_count{") &&
              l.includes(`rpc_method="${operation}"`),
          )
          ?.split(" ")
          .at(-1) ?? 0,
      );
    return { getRecords: count("GetRecords"), getShardIterator: count("GetShardIterator") };
  };

  for (const [name, arn, perPartialAnswer] of [
    // The records' sequence numbers name the shard: a new iterator after the last one kept.
    ["with a StreamARN", () => streamArn, { getRecords: 1, getShardIterator: 1 }],
    // Nothing names the stream: the same iterator read again, limited to what fits.
    ["without a StreamARN", () => "", { getRecords: 2, getShardIterator: 0 }],
  ] as const) {
    void test(`GetRecords ${name}: answers that fit, each record once and in order`, async () => {
      let shardIterator = await trimHorizon();
      const before = await upstreamCalls();
      const read: string[] = [];
      const behind: bigint[] = [];
      for (let call = 0; call < 10 && read.length < backlog.length; call++) {
        const res = await consumer().getRecords({
          shardIterator,
          streamArn: arn(),
          maxMessageBytes,
        });
        assert.ok(toBinary(GetRecordsResponseSchema, res).length <= maxMessageBytes);
        read.push(...res.records.map((r) => r.sequenceNumber));
        behind.push(res.millisBehindLatest);
        shardIterator = res.nextShardIterator;
      }
      assert.deepEqual(read, backlog);
      assert.ok(
        behind.slice(0, -1).every((ms) => ms > 0n),
        behind.join(),
      );
      // Four partial answers of two records, then the last record alone.
      const now = await upstreamCalls();
      assert.deepEqual(
        {
          getRecords: now.getRecords - before.getRecords,
          getShardIterator: now.getShardIterator - before.getShardIterator,
        },
        {
          getRecords: 4 * perPartialAnswer.getRecords + 1,
          getShardIterator: 4 * perPartialAnswer.getShardIterator,
        },
      );
    });
  }

  void test("SubscribeToShard: events that fit, each resuming after its last record", async () => {
    const abort = new AbortController();
    const read: string[] = [];
    try {
      for await (const event of consumer().subscribeToShard(
        {
          streamName: "big-reads",
          shardId: "shardId-000000000000",
          startingPosition: { type: ShardIteratorType.TRIM_HORIZON },
          maxMessageBytes,
        },
        { signal: abort.signal },
      )) {
        assert.ok(toBinary(SubscribeToShardResponseSchema, event).length <= maxMessageBytes);
        assert.equal(event.records.length, read.length === 8 ? 1 : 2);
        read.push(...event.records.map((r) => r.sequenceNumber));
        assert.equal(event.continuationSequenceNumber, read.at(-1));
        if (read.length >= backlog.length) break;
      }
    } finally {
      abort.abort();
    }
    assert.deepEqual(read, backlog);
  });
});
