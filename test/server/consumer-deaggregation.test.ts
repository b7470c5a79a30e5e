/**
 * gRPC reads take KPL-aggregated records apart: records aggregated by
 * `aws-kinesis-agg` and written with the AWS SDK come out of GetRecords and
 * SubscribeToShard as the user records they hold, whole aggregates per
 * answer within `max_message_bytes`; `keep_aggregated` and an aggregate too
 * large to take apart come as stored, flagged; the wire API returns them as
 * stored; data that only looks aggregated is a plain record. On the engine,
 * and forwarded to a real emulator (GetRecords passed through,
 * SubscribeToShard relayed from the upstream's and polled).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { before, suite, test } from "node:test";
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  PutRecordsCommand,
} from "@aws-sdk/client-kinesis";
import { toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { Client } from "@connectrpc/connect";
import {
  type ConsumerService,
  GetRecordsResponseSchema,
  type Record as ProtoRecord,
  ShardIteratorType,
  SubscribeToShardResponseSchema,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { AGGREGATION_MAGIC, type UserRecord } from "../../src/producer/aggregation.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { clientsFor, forwardingTo, transports, useGateway } from "../helpers/gateway.ts";
import { aggAggregated, aggDeaggregate } from "../helpers/kinesis-agg.ts";
import { activeConsumer, sdkClient } from "../helpers/kinesis-sdk.ts";

const SHARD = "shardId-000000000000";

/** A record as written: plain, or user records aggregated by aws-kinesis-agg. */
type Sent =
  | { readonly plain: { readonly partitionKey: string; readonly data: Uint8Array } }
  | { readonly users: readonly UserRecord[] };

/** Kinesis records as the wire API takes them. */
const entriesOf = (sent: readonly Sent[]) =>
  sent.map((s) => {
    const { partitionKey, data } = "plain" in s ? s.plain : aggAggregated(s.users);
    return { PartitionKey: partitionKey, Data: data };
  });

/** Writes with the AWS SDK, one PutRecords a call (so in order on a one-shard stream); the sequence numbers. */
async function putWithSdk(kinesis: KinesisClient, streamName: string, sent: readonly Sent[]) {
  const sequenceNumbers: string[] = [];
  // At most 500 records a call.
  for (let from = 0; from < sent.length; from += 500) {
    const out = await kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: entriesOf(sent.slice(from, from + 500)),
      }),
    );
    assert.equal(out.FailedRecordCount ?? 0, 0);
    sequenceNumbers.push(...out.Records!.map((r) => r.SequenceNumber!));
  }
  return sequenceNumbers;
}

/** What a test compares of a gRPC record. */
interface Seen {
  sequenceNumber: string;
  subSequenceNumber: number;
  partitionKey: string;
  explicitHashKey: string;
  data: string;
  aggregated: boolean;
}

const seen = (r: ProtoRecord): Seen => ({
  sequenceNumber: r.sequenceNumber,
  subSequenceNumber: Number(r.subSequenceNumber),
  partitionKey: r.partitionKey,
  explicitHashKey: r.explicitHashKey,
  data: Buffer.from(r.data).toString("hex"),
  aggregated: r.aggregated,
});

/** What a gRPC reader should get for `sent`, taken apart. */
function expected(sent: readonly Sent[], sequenceNumbers: readonly string[]): Seen[] {
  return sent.flatMap((s, i): Seen[] => {
    const sequenceNumber = sequenceNumbers[i]!;
    const users = "plain" in s ? [s.plain] : s.users;
    return users.map((u: UserRecord, subSequenceNumber) => ({
      sequenceNumber,
      subSequenceNumber,
      partitionKey: u.partitionKey,
      explicitHashKey: u.explicitHashKey ?? "",
      data: Buffer.from(u.data).toString("hex"),
      aggregated: false,
    }));
  });
}

const user = (partitionKey: string, data: string, explicitHashKey?: string): UserRecord =>
  explicitHashKey === undefined
    ? { partitionKey, data: Buffer.from(data) }
    : { partitionKey, explicitHashKey, data: Buffer.from(data) };
const plain = (partitionKey: string, data: string | Uint8Array): Sent => ({
  plain: { partitionKey, data: typeof data === "string" ? Buffer.from(data) : data },
});

/**
 * Plain records between aggregates: one without hash keys, one with (keys
 * that do not read as array indexes, which aws-kinesis-agg's aggregator
 * would reorder), a single-record one, and a plain record of one byte.
 */
const MIXED: readonly Sent[] = [
  plain("plain-0", "first"),
  { users: [user("user-a", "a0"), user("user-b", "a1"), user("user-a", "a2")] },
  plain("plain-1", "x"),
  {
    users: [
      user("ключ", "b0", "4294967295"),
      user("键🔑", "b1", "99999999999"),
      user("ключ", "", "4294967295"),
    ],
  },
  { users: [user("alone", "c0")] },
  plain("plain-2", "last"),
];

type Consumer = Client<typeof ConsumerService>;

const trimHorizon = async (consumer: Consumer, streamName: string) =>
  (
    await consumer.getShardIterator({
      streamName,
      shardId: SHARD,
      shardIteratorType: ShardIteratorType.TRIM_HORIZON,
    })
  ).shardIterator;

/** GetRecords from the trim horizon until `count` records, each answer checked against `maxMessageBytes`. */
async function readAll(
  consumer: Consumer,
  streamName: string,
  count: number,
  request: { maxMessageBytes?: number; keepAggregated?: boolean } = {},
) {
  let shardIterator = await trimHorizon(consumer, streamName);
  const answers: ProtoRecord[][] = [];
  for (let calls = 0; answers.flat().length < count; calls++) {
    assert.ok(calls < 200, `only ${answers.flat().length} of ${count} records read`);
    const res = await consumer.getRecords({ shardIterator, ...request });
    const size = toBinary(GetRecordsResponseSchema, res).length;
    const budget = request.maxMessageBytes ?? 4 * 1024 * 1024;
    assert.ok(size <= budget || res.records.length === 1, `${size} > ${budget}`);
    if (res.records.length > 0) answers.push(res.records);
    shardIterator = res.nextShardIterator;
  }
  return { answers, records: answers.flat() };
}

/** SubscribeToShard from the trim horizon until `count` records; the events with records. */
async function subscribeAll(
  consumer: Consumer,
  request: {
    streamName?: string;
    consumerArn?: string;
    maxMessageBytes?: number;
    keepAggregated?: boolean;
  },
  count: number,
) {
  const abort = new AbortController();
  const timeout = setTimeout(() => abort.abort(), 20_000);
  const events: ProtoRecord[][] = [];
  try {
    for await (const event of consumer.subscribeToShard(
      {
        ...request,
        shardId: SHARD,
        startingPosition: { type: ShardIteratorType.TRIM_HORIZON },
      },
      { signal: abort.signal },
    )) {
      const size = toBinary(SubscribeToShardResponseSchema, event).length;
      const budget = request.maxMessageBytes ?? 4 * 1024 * 1024;
      assert.ok(size <= budget || event.records.length === 1, `${size} > ${budget}`);
      if (event.records.length === 0) continue;
      // Each event resumes after its own last Kinesis record.
      assert.equal(event.continuationSequenceNumber, event.records.at(-1)!.sequenceNumber);
      events.push(event.records);
      if (events.flat().length >= count) break;
    }
  } finally {
    clearTimeout(timeout);
    abort.abort();
  }
  return { events, records: events.flat() };
}

/** Asserts each answer holds whole aggregates: every Kinesis record's user records from 0 to its last. */
function assertWholeAggregates(
  answers: readonly ProtoRecord[][],
  sizes: ReadonlyMap<string, number>,
) {
  for (const answer of answers) {
    const bySequence = new Map<string, number[]>();
    for (const r of answer) {
      bySequence.set(r.sequenceNumber, [
        ...(bySequence.get(r.sequenceNumber) ?? []),
        Number(r.subSequenceNumber),
      ]);
    }
    for (const [sequenceNumber, subs] of bySequence) {
      const size = sizes.get(sequenceNumber) ?? 1;
      assert.deepEqual(
        subs,
        Array.from({ length: size }, (_, i) => i),
        sequenceNumber,
      );
    }
  }
}

/** `protobuf` framed as an aggregated record: magic, the bytes, their MD5. */
function framed(protobuf: Uint8Array): Uint8Array {
  return Buffer.concat([AGGREGATION_MAGIC, protobuf, createHash("md5").update(protobuf).digest()]);
}

/** Data that starts with the magic and is not a sound aggregate, by what is wrong with it. */
function hostileData(): Record<string, Uint8Array> {
  const keyOutOfRange = new BinaryWriter();
  keyOutOfRange.tag(1, WireType.LengthDelimited).string("k");
  keyOutOfRange.tag(3, WireType.LengthDelimited).fork();
  keyOutOfRange.tag(1, WireType.Varint).uint32(7);
  keyOutOfRange.tag(3, WireType.LengthDelimited).bytes(Buffer.from("data"));
  keyOutOfRange.join();
  const hugeRecord = new BinaryWriter().tag(1, WireType.LengthDelimited).string("k").finish();
  const hugeData = new BinaryWriter();
  hugeData.tag(1, WireType.LengthDelimited).string("k");
  // A record of 6 bytes whose data says it has 2^31 - 1.
  hugeData.tag(3, WireType.LengthDelimited).uint32(8);
  hugeData.tag(1, WireType.Varint).uint32(0);
  hugeData.tag(3, WireType.LengthDelimited).uint32(0x7fff_ffff);
  hugeData.raw(Buffer.from("ab"));
  const noUserRecords = new BinaryWriter().tag(1, WireType.LengthDelimited).string("k").finish();
  return {
    "the magic and garbage": Buffer.concat([AGGREGATION_MAGIC, Buffer.alloc(64, 0xab)]),
    "a checksum that does not match": (() => {
      const data = Buffer.from(aggAggregated([user("k", "v")]).data);
      data[data.length - 1]! ^= 1;
      return data;
    })(),
    "a partition key index outside its table": framed(keyOutOfRange.finish()),
    "a record declared 4 GiB long": framed(
      Buffer.concat([hugeRecord, Buffer.from([0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x08, 0x00])]),
    ),
    "data declared 2 GiB long": framed(hugeData.finish()),
    "no user records": framed(noUserRecords),
  };
}

void suite("gRPC reads take KPL-aggregated records apart", () => {
  const gateway = useGateway(["--streams", "mixed:1,tiny:1,many:1,hostile:1", "--throttle", "off"]);
  const consumer = () => clientsFor(transports["gRPC over h2c"]!(gateway.current.url)).consumer;
  const kinesis = () => sdkClient(gateway.current.url);
  let mixed: string[];
  before(async () => {
    mixed = await putWithSdk(kinesis(), "mixed", MIXED);
  });

  void test("GetRecords returns each aggregate's user records with their keys, data, hash keys and sub-sequence numbers, in the shard's order", async () => {
    const want = expected(MIXED, mixed);
    const { records } = await readAll(consumer(), "mixed", want.length);
    assert.deepEqual(records.map(seen), want);
    // Each user record has its Kinesis record's arrival time and encryption type.
    const stored = (await readAll(consumer(), "mixed", MIXED.length, { keepAggregated: true }))
      .records;
    for (const r of records) {
      const kinesisRecord = stored.find((s) => s.sequenceNumber === r.sequenceNumber)!;
      assert.deepEqual(r.approximateArrivalTimestamp, kinesisRecord.approximateArrivalTimestamp);
      assert.equal(r.encryptionType, kinesisRecord.encryptionType);
    }
  });

  void test("keep_aggregated returns the records as stored, aggregates flagged", async () => {
    const { records } = await readAll(consumer(), "mixed", MIXED.length, { keepAggregated: true });
    const entries = entriesOf(MIXED);
    assert.deepEqual(
      records.map(seen),
      MIXED.map((s, i) => ({
        sequenceNumber: mixed[i]!,
        subSequenceNumber: 0,
        partitionKey: entries[i]!.PartitionKey,
        explicitHashKey: "",
        data: Buffer.from(entries[i]!.Data).toString("hex"),
        aggregated: "users" in s,
      })),
    );
  });

  void test("the wire API's GetRecords returns them as stored, and aws-kinesis-agg takes them apart", async () => {
    const { ShardIterator } = await kinesis().send(
      new GetShardIteratorCommand({
        StreamName: "mixed",
        ShardId: SHARD,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    const { Records } = await kinesis().send(new GetRecordsCommand({ ShardIterator }));
    const entries = entriesOf(MIXED);
    assert.deepEqual(
      Records!.map((r) => [r.SequenceNumber, r.PartitionKey, Buffer.from(r.Data!).toString("hex")]),
      entries.map((e, i) => [mixed[i], e.PartitionKey, Buffer.from(e.Data).toString("hex")]),
    );
    const taken = Records!.flatMap((r) => {
      const { error, records } = aggDeaggregate(r.Data!, r.PartitionKey, r.SequenceNumber);
      assert.ifError(error);
      return records.map((u) => [u.partitionKey, Buffer.from(u.data, "base64").toString("hex")]);
    });
    assert.deepEqual(
      taken,
      expected(MIXED, mixed).map((s) => [s.partitionKey, s.data]),
    );
  });

  void test("SubscribeToShard takes them apart, shared and with a consumer; keep_aggregated keeps them", async () => {
    const want = expected(MIXED, mixed);
    const shared = await subscribeAll(consumer(), { streamName: "mixed" }, want.length);
    assert.deepEqual(shared.records.map(seen), want);

    const { streamDescriptionSummary } = await clientsFor(
      transports["gRPC over h2c"]!(gateway.current.url),
    ).streams.describeStreamSummary({ streamName: "mixed" });
    const streamArn = streamDescriptionSummary!.streamArn;
    const consumerArn = await activeConsumer(kinesis(), streamArn, "deaggregating");
    const fanOut = await subscribeAll(consumer(), { consumerArn }, want.length);
    assert.deepEqual(fanOut.records.map(seen), want);

    const kept = await subscribeAll(
      consumer(),
      { streamName: "mixed", keepAggregated: true },
      MIXED.length,
    );
    assert.deepEqual(
      kept.records.map((r) => [r.sequenceNumber, r.aggregated]),
      MIXED.map((s, i) => [mixed[i], "users" in s]),
    );
  });

  void test("an aggregate too large taken apart for max_message_bytes comes as stored, flagged; with room, taken apart", async () => {
    // 3,000 one-byte user records: some 21 KB aggregated, over 200 KB taken apart (more user
    // records than a 30,000-byte answer can hold at all). Then 200 of 100 bytes: some 21 KB
    // aggregated, some 40 KB taken apart (few enough records, too many bytes).
    const sent: Sent[] = [
      { users: Array.from({ length: 3000 }, (_, i) => user(`k${i % 7}`, String(i % 10))) },
      { users: Array.from({ length: 200 }, (_, i) => user(`wide-${i % 3}`, "w".repeat(100))) },
    ];
    const sequenceNumbers = await putWithSdk(kinesis(), "tiny", sent);
    const stored = entriesOf(sent).map((e, i) => ({
      sequenceNumber: sequenceNumbers[i]!,
      subSequenceNumber: 0,
      partitionKey: e.PartitionKey,
      explicitHashKey: "",
      data: Buffer.from(e.Data).toString("hex"),
      aggregated: true,
    }));
    const limit = 30_000;
    const small = await readAll(consumer(), "tiny", sent.length, { maxMessageBytes: limit });
    assert.deepEqual(small.records.map(seen), stored);
    const subscribed = await subscribeAll(
      consumer(),
      { streamName: "tiny", maxMessageBytes: limit },
      sent.length,
    );
    assert.deepEqual(subscribed.records.map(seen), stored);

    const want = expected(sent, sequenceNumbers);
    const roomy = await readAll(consumer(), "tiny", want.length);
    assert.deepEqual(roomy.records.map(seen), want);
  });

  void test("a limit that fits some aggregates gives whole ones per answer, and the rest follow, none lost or repeated", async () => {
    // 12 aggregates of 40 user records, a third without a hash key, and a plain record after each.
    const sent: Sent[] = Array.from({ length: 12 }, (_, a): Sent[] => [
      {
        users: Array.from({ length: 40 }, (_, u) =>
          user(
            `key-${a}-${u % 5}`,
            `aggregate ${a} record ${u}`,
            u % 3 === 0 ? undefined : "4294967295",
          ),
        ),
      },
      plain(`plain-${a}`, `between ${a}`),
    ]).flat();
    const sequenceNumbers = await putWithSdk(kinesis(), "many", sent);
    const want = expected(sent, sequenceNumbers);
    const sizes = new Map(
      sent.map((s, i) => [sequenceNumbers[i]!, "users" in s ? s.users.length : 1]),
    );
    // Two aggregates and their plain records (some 4.8 KB each pair, taken apart) fit; three do not.
    const limit = 12_500;

    const read = await readAll(consumer(), "many", want.length, { maxMessageBytes: limit });
    assert.deepEqual(read.records.map(seen), want);
    assertWholeAggregates(read.answers, sizes);
    assert.deepEqual(
      read.answers.map((a) => a.length),
      Array(6).fill(2 * 41),
    );

    const subscribed = await subscribeAll(
      consumer(),
      { streamName: "many", maxMessageBytes: limit },
      want.length,
    );
    assert.deepEqual(subscribed.records.map(seen), want);
    assertWholeAggregates(subscribed.events, sizes);
    assert.ok(subscribed.events.length >= 6, `${subscribed.events.length} events`);
  });

  void test("data that starts with the magic but is not a sound aggregate comes as stored, unflagged", async () => {
    const hostile = hostileData();
    const sent = [
      ...Object.entries(hostile).map(([name, data]) => plain(name.slice(0, 20), data)),
      plain("after", "still here"),
    ];
    const sequenceNumbers = await putWithSdk(kinesis(), "hostile", sent);
    const want = expected(sent, sequenceNumbers);
    for (const keepAggregated of [false, true]) {
      const { records } = await readAll(consumer(), "hostile", sent.length, { keepAggregated });
      assert.deepEqual(records.map(seen), want, `keep_aggregated ${keepAggregated}`);
    }
    const subscribed = await subscribeAll(consumer(), { streamName: "hostile" }, sent.length);
    assert.deepEqual(subscribed.records.map(seen), want);
    // The gateway is fine: it reads a sound aggregate next.
    assert.deepEqual(
      (await readAll(consumer(), "mixed", expected(MIXED, mixed).length)).records.map(seen),
      expected(MIXED, mixed),
    );
  });
});

void suite("gRPC reads take KPL-aggregated records apart, forwarded to an emulator", () => {
  const emulator = useEmulator();
  const gateway = useGateway(forwardingTo(emulator));
  const clients = () => clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
  let sequenceNumbers: string[];
  let streamArn: string;
  before(async () => {
    const kinesis = sdkClient(gateway.current.url);
    await kinesis.send(new CreateStreamCommand({ StreamName: "relayed", ShardCount: 1 }));
    await waitUntilStreamActive(emulator.current.client(), "relayed");
    sequenceNumbers = await putWithSdk(kinesis, "relayed", MIXED);
    const summary = await clients().streams.describeStreamSummary({ streamName: "relayed" });
    streamArn = summary.streamDescriptionSummary!.streamArn;
  });

  void test("GetRecords passed through", async () => {
    const want = expected(MIXED, sequenceNumbers);
    const { records } = await readAll(clients().consumer, "relayed", want.length);
    assert.deepEqual(records.map(seen), want);
  });

  void test("SubscribeToShard polled (shared) and relayed (consumer)", async () => {
    const want = expected(MIXED, sequenceNumbers);
    const shared = await subscribeAll(clients().consumer, { streamName: "relayed" }, want.length);
    assert.deepEqual(shared.records.map(seen), want);
    const consumerArn = await activeConsumer(emulator.current.client(), streamArn, "relay");
    const relayed = await subscribeAll(clients().consumer, { consumerArn }, want.length);
    assert.deepEqual(relayed.records.map(seen), want);
  });
});
