/**
 * One contract, three targets: the engine, the gateway serving from its
 * engine, and the gateway forwarding to a real Kinesis emulator that the suite
 * starts itself. Throttling is off everywhere (the emulator never throttles;
 * the engine's throttling has its own tests). Where the emulator deviates
 * from AWS, the assertion says so.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import { KinesisError } from "../../src/kinesis/errors.ts";
import type { PutRecordsRequestEntry, Shard } from "../../src/kinesis/types.ts";
import { fitErrorMessage } from "../../src/services/error-budget.ts";
import { connectCodeForKinesisType } from "../../src/services/errors.ts";
import { useEmulator } from "../helpers/emulator.ts";
import {
  hashKeyVectors,
  isSerializationCase,
  putRecordInput,
  putRecordsInput,
  shardRangeVectors,
  validationCases,
  wireRequest,
} from "../helpers/vectors.ts";
import {
  type ContractTarget,
  engineTarget,
  gatewayDurableEngineTarget,
  gatewayEngineTarget,
  gatewayForwardTarget,
  type SubscribedEvent,
} from "./targets.ts";

const MAX_HASH_KEY = 2n ** 128n - 1n;
const bytes = (text: string) => new Uint8Array(Buffer.from(text));

/** The shard whose inclusive hash key range holds `hashKey`, by the target's own ListShards. */
function shardHolding(shards: readonly Shard[], hashKey: bigint): string {
  const shard = shards.find(
    (s) =>
      BigInt(s.hashKeyRange.startingHashKey) <= hashKey &&
      hashKey <= BigInt(s.hashKeyRange.endingHashKey),
  );
  assert.ok(shard, `no shard holds ${hashKey}`);
  return shard.shardId;
}

const hashKeyOf = (partitionKey: string) => {
  const vector = hashKeyVectors().find((v) => v.partitionKey === partitionKey);
  assert.ok(vector, `no vector for ${partitionKey}`);
  return BigInt(vector.hashKey);
};

/** Puts records and checks each landed, byte for byte, on the shard its hash key picks. */
async function putAndReadBack(
  target: ContractTarget,
  streamName: string,
  records: PutRecordsRequestEntry[],
  hashKeys: bigint[],
): Promise<void> {
  const shards = await target.listShards(streamName);
  const res = await target.putRecords({ streamName, records });
  assert.equal(res.failedRecordCount, 0);
  assert.equal(res.records.length, records.length);
  const byShard = new Map<string, { index: number; sequenceNumber: string }[]>();
  res.records.forEach((r, index) => {
    assert.match(r.sequenceNumber ?? "", /^\d{56}$/);
    assert.equal(r.shardId, shardHolding(shards, hashKeys[index]!), `record ${index}`);
    const list = byShard.get(r.shardId!) ?? [];
    list.push({ index, sequenceNumber: r.sequenceNumber! });
    byShard.set(r.shardId!, list);
  });
  for (const [shardId, written] of byShard) {
    const read = await target.readBack(streamName, shardId);
    for (const { index, sequenceNumber } of written) {
      const found = read.find((r) => r.sequenceNumber === sequenceNumber);
      assert.ok(found, `record ${index} (${sequenceNumber}) is not in ${shardId}`);
      assert.deepEqual(Buffer.from(found.data), Buffer.from(records[index]!.data!));
      assert.equal(found.partitionKey, records[index]!.partitionKey);
    }
    const sequence = read.map((r) => BigInt(r.sequenceNumber));
    assert.deepEqual(
      sequence,
      [...sequence].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      "a shard reads in sequence number order",
    );
  }
}

async function rejectsWithKinesisError(
  call: Promise<unknown>,
  type: string,
  message?: string | RegExp,
): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof KinesisError, String(err));
    assert.equal(err.type, type);
    if (typeof message === "string") assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

function contract(
  name: string,
  makeTarget: () => Promise<ContractTarget>,
  /** Whether the target can receive a null field (only the engine: gRPC has no null). */
  { sendsNull }: { sendsNull: boolean },
): void {
  void suite(`the Kinesis contract: ${name}`, () => {
    let target: ContractTarget;
    before(async () => {
      target = await makeTarget();
      await target.createStream("four", 4);
      await target.createStream("samplestream", 1);
    });
    after(async () => {
      await target?.stop();
    });

    void test("the AWS CLI example lands on the shards its MD5 picks, byte for byte", async () => {
      const shards = await target.listShards("four");
      if (target.shardSplit === "aws") {
        assert.deepEqual(
          shards.map((s) => [s.hashKeyRange.startingHashKey, s.hashKeyRange.endingHashKey]),
          shardRangeVectors()["4"]!.map((r) => [r.startingHashKey, r.endingHashKey]),
        );
      } else {
        // kinesis-mock deviates: its split step is floor((2^128 − 1) / N), one key
        // shorter per shard than AWS's floor(2^128 / N); the last shard still ends at 2^128 − 1.
        assert.notEqual(
          shards[0]!.hashKeyRange.endingHashKey,
          shardRangeVectors()["4"]![0]!.endingHashKey,
        );
        assert.equal(shards.at(-1)!.hashKeyRange.endingHashKey, MAX_HASH_KEY.toString());
      }
      const records = [
        { data: bytes("blob1"), partitionKey: "partitionkey1" },
        { data: bytes("blob2"), partitionKey: "partitionkey2" },
      ];
      await putAndReadBack(
        target,
        "four",
        records,
        records.map((r) => hashKeyOf(r.partitionKey)),
      );
      // These two keys sit far from any boundary: both splits agree with AWS here.
      const res = await target.putRecords({ streamName: "four", records });
      assert.deepEqual(
        res.records.map((r) => r.shardId),
        ["shardId-000000000001", "shardId-000000000003"],
      );
    });

    void test("Unicode partition keys hash as UTF-8", async () => {
      const vectors = hashKeyVectors();
      const records = vectors.map((v, i) => ({
        data: bytes(`unicode ${i}`),
        partitionKey: v.partitionKey,
      }));
      await putAndReadBack(
        target,
        "four",
        records,
        vectors.map((v) => BigInt(v.hashKey)),
      );
      if (target.shardSplit === "aws") {
        const res = await target.putRecords({ streamName: "four", records });
        res.records.forEach((r, i) => {
          assert.equal(r.shardId, `shardId-00000000000${vectors[i]!.shardIndexByShardCount["4"]}`);
        });
      }
    });

    void test("explicit hash keys override the partition key, at the range edges too", async () => {
      const shards = await target.listShards("four");
      const edges = shards.flatMap((s) => [
        s.hashKeyRange.startingHashKey,
        s.hashKeyRange.endingHashKey,
      ]);
      const records = edges.map((key, i) => ({
        data: bytes(`edge ${i}`),
        partitionKey: "a", // hashes into shard 0; the explicit key wins
        explicitHashKey: key,
      }));
      await putAndReadBack(target, "four", records, edges.map(BigInt));
    });

    void test("a batch of 500 records is written whole", async () => {
      const records = Array.from({ length: 500 }, (_, i) => ({
        data: bytes(`record ${i} `.repeat(10)),
        partitionKey: `key-${i}`,
        explicitHashKey: ((MAX_HASH_KEY / 500n) * BigInt(i)).toString(),
      }));
      await putAndReadBack(
        target,
        "four",
        records,
        records.map((r) => BigInt(r.explicitHashKey)),
      );
    });

    void test("a record of 1 MiB, data and key together, is written whole", async () => {
      const partitionKey = "big";
      const data = new Uint8Array(1024 * 1024 - partitionKey.length).map((_, i) => i % 251);
      const res = await target.putRecord({ streamName: "samplestream", partitionKey, data });
      const read = await target.readBack("samplestream", res.shardId);
      const found = read.find((r) => r.sequenceNumber === res.sequenceNumber);
      assert.ok(found);
      assert.deepEqual(Buffer.from(found.data), Buffer.from(data));
    });

    void test("an unknown stream is ResourceNotFoundException", async () => {
      const call = target.putRecords({
        streamName: "nope",
        records: [{ data: bytes("x"), partitionKey: "k" }],
      });
      if (target.notFoundText === "aws") {
        await rejectsWithKinesisError(
          call,
          "ResourceNotFoundException",
          `Stream nope under account ${target.accountId} not found.`,
        );
      } else {
        // kinesis-mock deviates: it names the stream by ARN, without AWS's wording.
        await rejectsWithKinesisError(call, "ResourceNotFoundException", /nope/);
      }
    });

    void test("streams are created, listed, described and deleted", async () => {
      await target.createStream("lifecycle", 3);
      assert.ok((await target.listStreamNames()).includes("lifecycle"));
      const summary = await target.describe("lifecycle");
      assert.equal(summary.status, "ACTIVE");
      assert.equal(summary.openShardCount, 3);
      assert.match(
        summary.arn,
        new RegExp(`^arn:aws:kinesis:[a-z0-9-]+:${target.accountId}:stream/lifecycle$`),
      );
      assert.equal((await target.listShards("lifecycle")).length, 3);
      await rejectsWithKinesisError(target.createStream("lifecycle", 1), "ResourceInUseException");
      await target.deleteStream("lifecycle");
      await waitUntilGone(target, "lifecycle");
    });

    void test("a stream switched to ON_DEMAND and back keeps its shards, and writes land as before", async () => {
      await target.createStream("moded", 2);
      const { arn } = await target.describe("moded");
      await target.updateStreamMode(arn, "moded", "ON_DEMAND");
      const onDemand = await target.describe("moded");
      assert.equal(onDemand.mode, "ON_DEMAND");
      assert.equal(onDemand.openShardCount, 2);
      await putAndReadBack(
        target,
        "moded",
        ["a", "b"].map((k) => ({ data: bytes(k), partitionKey: k })),
        ["a", "b"].map(hashKeyOf),
      );
      await target.updateStreamMode(arn, "moded", "PROVISIONED");
      const provisioned = await target.describe("moded");
      assert.equal(provisioned.mode, "PROVISIONED");
      assert.equal(provisioned.openShardCount, 2);
    });

    void test("a split closes the parent and routes writes to its children; a merge joins them", async () => {
      await target.createStream("reshard", 1);
      const [parent] = await target.listShards("reshard");
      const middle = BigInt(parent!.hashKeyRange.endingHashKey) / 2n + 1n;
      await target.splitShard("reshard", parent!.shardId, middle.toString());
      const afterSplit = await target.listShards("reshard");
      const closed = afterSplit.find((s) => s.shardId === parent!.shardId)!;
      assert.match(closed.sequenceNumberRange.endingSequenceNumber ?? "", /^\d+$/);
      const children = afterSplit.filter((s) => s.parentShardId === parent!.shardId);
      assert.deepEqual(
        children.map((c) => [c.hashKeyRange.startingHashKey, c.hashKeyRange.endingHashKey]),
        [
          ["0", String(middle - 1n)],
          [String(middle), String(MAX_HASH_KEY)],
        ],
      );
      const writeAt = async (hashKey: bigint) =>
        (
          await target.putRecord({
            streamName: "reshard",
            partitionKey: "k",
            explicitHashKey: hashKey.toString(),
            data: bytes("x"),
          })
        ).shardId;
      assert.deepEqual(
        [await writeAt(0n), await writeAt(MAX_HASH_KEY)],
        children.map((c) => c.shardId),
      );
      await target.mergeShards("reshard", children[0]!.shardId, children[1]!.shardId);
      const open = (await target.listShards("reshard")).filter(
        (s) => s.sequenceNumberRange.endingSequenceNumber === undefined,
      );
      assert.equal(open.length, 1);
      assert.deepEqual(
        [open[0]!.parentShardId, open[0]!.adjacentParentShardId, open[0]!.hashKeyRange],
        [
          children[0]!.shardId,
          children[1]!.shardId,
          { startingHashKey: "0", endingHashKey: String(MAX_HASH_KEY) },
        ],
      );
      assert.equal(await writeAt(12n), open[0]!.shardId);
    });

    /**
     * Enhanced fan-out. Forwarded, the gateway relays the upstream's own
     * SubscribeToShard, so kinesis-mock's deviations show through: its texts
     * are its own; it sends no initial-response (a subscription is accepted
     * with its first event, about 2 s on); it refuses a second subscription
     * for as long as the first is open, where AWS lets one take over after
     * 5 s; and a shard closed by a reshard never ends its subscriptions
     * with ChildShards, sending empty events instead (kinesis-local 0.6.2).
     */
    void suite("SubscribeToShard with a consumer", () => {
      const SHARD = "shardId-000000000000";
      let streamArn = "";
      before(async () => {
        await target.createStream("subscribed", 1);
        streamArn = (await target.describe("subscribed")).arn;
      });
      const put = async (text: string) =>
        (await target.putRecord({ streamName: "subscribed", partitionKey: "k", data: bytes(text) }))
          .sequenceNumber;

      void test("records written before and after subscribing arrive once, in order, and the continuation is the last", async () => {
        const consumerArn = await target.registerConsumer(streamArn, "reader");
        const written = [await put("before")];
        const seen: { data: string; sequenceNumber: string; arrivedAt: Date }[] = [];
        let continuation: string | undefined;
        for await (const event of target.subscribeToShard(consumerArn, SHARD, {
          type: "TRIM_HORIZON",
        })) {
          for (const r of event.records) {
            seen.push({
              data: Buffer.from(r.data).toString(),
              sequenceNumber: r.sequenceNumber,
              arrivedAt: r.approximateArrivalTimestamp,
            });
          }
          continuation = event.continuationSequenceNumber;
          if (written.length === 1) written.push(await put("after 1"), await put("after 2"));
          if (seen.length >= 3) break;
        }
        assert.deepEqual(
          seen.map((r) => r.data),
          ["before", "after 1", "after 2"],
        );
        assert.deepEqual(
          seen.map((r) => r.sequenceNumber),
          written,
        );
        for (const r of seen) {
          assert.ok(Math.abs(r.arrivedAt.getTime() - Date.now()) < 60_000, "its arrival time");
        }
        assert.equal(continuation, written.at(-1));
      });

      void test("an unknown consumer is ResourceNotFoundException", async () => {
        const consumerArn = `${streamArn}/consumer/nobody:1700000000`;
        const events = target.subscribeToShard(consumerArn, SHARD, { type: "LATEST" });
        const refused = events[Symbol.asyncIterator]().next();
        if (target.notFoundText === "aws") {
          await rejectsWithKinesisError(
            refused,
            "ResourceNotFoundException",
            `Consumer ${consumerArn} under stream subscribed under account ${target.accountId} not found.`,
          );
        } else {
          await rejectsWithKinesisError(
            refused,
            "ResourceNotFoundException",
            `ConsumerARN ${consumerArn} not found`,
          );
        }
      });

      void test("a second subscription of a consumer to a shard while one is open is ResourceInUseException", async () => {
        const consumerArn = await target.registerConsumer(streamArn, "twice");
        const open = target.subscribeToShard(consumerArn, SHARD, { type: "LATEST" });
        const held = open[Symbol.asyncIterator]();
        try {
          await held.next(); // accepted
          const second = target.subscribeToShard(consumerArn, SHARD, { type: "LATEST" });
          await rejectsWithKinesisError(
            second[Symbol.asyncIterator]().next(),
            "ResourceInUseException",
            target.notFoundText === "aws"
              ? /is already subscribed to shard shardId-000000000000/
              : /^Another active subscription exists for consumer .* on shard shardId-000000000000/,
          );
        } finally {
          await held.return?.();
        }
      });

      void test("a subscription to a shard a split closed ends with its children", async () => {
        await target.createStream("resharded", 1);
        const arn = (await target.describe("resharded")).arn;
        const consumerArn = await target.registerConsumer(arn, "follower");
        const parent = (
          await target.putRecord({ streamName: "resharded", partitionKey: "k", data: bytes("p") })
        ).sequenceNumber;
        await target.splitShard("resharded", SHARD, String(2n ** 127n));
        const children = (await target.listShards("resharded"))
          .filter((s) => s.parentShardId === SHARD)
          .map((s) => s.shardId);
        assert.equal(children.length, 2);
        const events: SubscribedEvent[] = [];
        for await (const event of target.subscribeToShard(consumerArn, SHARD, {
          type: "TRIM_HORIZON",
        })) {
          events.push(event);
          if (events.length === 4) break; // kinesis-mock's never end
        }
        assert.deepEqual(
          events.flatMap((e) => e.records.map((r) => r.sequenceNumber)),
          [parent],
        );
        if (target.closedShardSubscription === "aws") {
          const last = events.at(-1)!;
          assert.ok(events.length < 4, "the subscription ended by itself");
          assert.deepEqual(last.childShards?.map((c) => c.shardId).sort(), children.sort());
          assert.equal(last.continuationSequenceNumber, undefined);
        } else {
          // kinesis-mock deviates: empty events on, never the children.
          assert.ok(events.every((e) => e.childShards === undefined));
          assert.equal(events.at(-1)!.continuationSequenceNumber, parent);
        }
      });
    });

    void suite("every validation error gets AWS's type and text", () => {
      for (const c of validationCases().filter(
        (c) => !isSerializationCase(c) && c.expected.status === 400,
      )) {
        const request = wireRequest(c);
        const input =
          c.operation === "PutRecords" ? putRecordsInput(request) : putRecordInput(request);
        if (JSON.stringify(input).includes(":null") && !sendsNull) continue;
        void test(`${c.operation}: ${c.case}`, async () => {
          const call =
            c.operation === "PutRecords"
              ? target.putRecords(input as ReturnType<typeof putRecordsInput>)
              : target.putRecord(input as ReturnType<typeof putRecordInput>);
          if (target.notFoundText === "kinesis-mock" && overStreamMaximum(c.expected.message)) {
            // kinesis-mock deviates: only the stream knows its maximum record
            // size, and kinesis-mock fails the record alone, with its own text.
            const out = (await call) as Awaited<ReturnType<ContractTarget["putRecords"]>>;
            assert.equal(out.records[0]?.errorCode, "InvalidArgumentException");
            assert.match(
              out.records[0]?.errorMessage ?? "",
              /exceeds the stream's max record size/,
            );
            return;
          }
          await assert.rejects(call, (err: unknown) => {
            assert.ok(err instanceof KinesisError, String(err));
            assert.equal(err.type, c.expected.type);
            if (
              err.type === "ResourceNotFoundException" &&
              target.notFoundText === "kinesis-mock"
            ) {
              return true; // kinesis-mock's own text; see "an unknown stream is …" above
            }
            // Over gRPC a message that would not fit its metadata keeps its head and tail (see the README).
            const fit = (message: string) =>
              fitErrorMessage(message, connectCodeForKinesisType(err.type), err.type);
            assert.equal(fit(err.message), fit(c.expected.message!));
            return true;
          });
        });
      }
    });
  });
}

/**
 * Whether AWS's answer is about data over the stream's maximum record size,
 * which only the store knows (1 MiB unless raised); the largest any stream
 * takes (10 MiB) is checked before anything is forwarded.
 */
const overStreamMaximum = (message: string | undefined) =>
  /member\.data' failed to satisfy constraint: Member must have length less than or equal to (?!10485760)/.test(
    message ?? "",
  );

/** Deletion may take a moment on an emulator (DELETING, then gone). */
async function waitUntilGone(target: ContractTarget, streamName: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (!(await target.listStreamNames()).includes(streamName)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`${streamName} is still listed after deletion`);
}

contract("the engine", async () => engineTarget(), { sendsNull: true });
contract("the gateway serving from its engine", gatewayEngineTarget, { sendsNull: false });
contract("the gateway serving from its durable engine", gatewayDurableEngineTarget, {
  sendsNull: false,
});

void suite("forwarding to a real emulator", () => {
  const emulator = useEmulator();
  contract("the gateway forwarding to the emulator", () => gatewayForwardTarget(emulator.current), {
    sendsNull: false,
  });
});
