/**
 * The producer's per-key order when records are given up on: the key's acks
 * come in the order its records were sent, and a record is only ever failed
 * for one sent before it.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import type { Backend } from "../../src/backends/backend.ts";
import type { PutRecordsResultEntry } from "../../src/kinesis/types.ts";
import { createProducer, type RecordOutcome } from "../../src/producer/producer.ts";
import type { ShardMaps } from "../../src/producer/shard-map.ts";

const SHARD = "shardId-000000000000";
const THROTTLED: PutRecordsResultEntry = {
  errorCode: "ProvisionedThroughputExceededException",
  errorMessage: `Rate exceeded for shard ${SHARD} in stream s under account 000000000000.`,
};

/** A backend whose PutRecords calls wait until the test answers them. */
function fakeBackend() {
  const calls: { records: number; answer: (results: PutRecordsResultEntry[]) => void }[] = [];
  let sequence = 0;
  const backend = {
    putRecords(input: { records: readonly unknown[] }) {
      return new Promise((resolve) => {
        calls.push({
          records: input.records.length,
          answer: (results) => resolve({ records: results, failedRecordCount: 0 }),
        });
      });
    },
  } as unknown as Backend;
  const written = (): PutRecordsResultEntry => ({
    shardId: SHARD,
    sequenceNumber: String(++sequence).padStart(56, "0"),
  });
  return { backend, calls, written };
}

const shardMaps: ShardMaps = {
  get: async () => ({ shardFor: () => SHARD, shardIds: [SHARD] }),
  invalidate() {},
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(5);
  assert.ok(check(), "timed out");
}

/**
 * An ordered, aggregating producer over `backend` with a fixed backoff draw,
 * the acks it gives as they come, and records of one key to give it.
 */
function aggregatingProducer(backend: Backend, draw: number) {
  const producer = createProducer({
    backend,
    shardMaps,
    lingerMs: 0,
    aggregates: () => true,
    aggregationMaxBytes: 51_200,
    ordered: () => true,
    random: () => draw,
  });
  const acks: [string, RecordOutcome][] = [];
  const record = (label: string, deadline: number) => ({
    entry: { partitionKey: "k", data: new Uint8Array([1]) },
    deadline,
    label,
    done: (outcome: RecordOutcome) => acks.push([label, outcome]),
  });
  return { producer, acks, record };
}

void suite("producer: a key's order when records are given up on", () => {
  void test("an aggregate expires in flight: its records, then the waiting ones, in order", async () => {
    const { backend, calls } = fakeBackend();
    const { producer, acks, record } = aggregatingProducer(backend, 0.5);
    const deadline = Date.now() + 150;
    producer.put({ streamName: "s" }, [record("1", deadline), record("2", deadline)]);
    await until(() => calls.length === 1);
    // Sent together in one aggregated record; 3 waits for it.
    producer.put({ streamName: "s" }, [record("3", deadline + 10)]);
    await sleep(400); // past every deadline, and a sweep or more
    calls[0]!.answer([THROTTLED]);
    await until(() => acks.length === 3);
    assert.deepEqual(
      acks.map(([label, outcome]) => `${label} ${outcome.errorCode}`),
      ["1 RecordExpired", "2 PrecedingRecordFailed", "3 PrecedingRecordFailed"],
    );
    for (const [, outcome] of acks.slice(1)) {
      assert.match(outcome.errorCode === undefined ? "" : outcome.errorMessage, /record 1 /);
    }
  });

  void test("records sent together are retried together: none is failed for a later one", async () => {
    const { backend, calls, written } = fakeBackend();
    const { producer, acks, record } = aggregatingProducer(backend, 0);
    // Two calls' records of one key: the later one with the sooner deadline.
    producer.put({ streamName: "s" }, [
      record("1", Date.now() + 10_000),
      record("2", Date.now() + 60),
    ]);
    await until(() => calls.length === 1);
    await sleep(100);
    calls[0]!.answer([THROTTLED]);
    await until(() => calls.length === 2 || acks.length === 2);
    if (calls.length === 2) calls[1]!.answer([written()]);
    await until(() => acks.length === 2);
    // Record 1 is never failed because of record 2, sent after it.
    assert.notEqual(acks.find(([label]) => label === "1")![1].errorCode, "PrecedingRecordFailed");
    assert.deepEqual(
      acks.map(([label]) => label),
      ["1", "2"],
    );
  });
});

void suite("producer: a refused record in its key's order", () => {
  void test("answered after the key's record in flight, and its key's later records with it", async () => {
    const { backend, calls, written } = fakeBackend();
    const { producer, acks, record } = aggregatingProducer(backend, 0.5);
    const deadline = Date.now() + 30_000;
    producer.put({ streamName: "s" }, [record("1", deadline)]);
    await until(() => calls.length === 1);
    const refused = {
      ...record("2", deadline),
      refused: { code: "ValidationException", message: "bad explicit hash key" },
    };
    producer.put({ streamName: "s" }, [refused, record("3", deadline)]);
    await sleep(50);
    assert.equal(acks.length, 0, "nothing of the key is answered before its record in flight");
    calls[0]!.answer([written()]);
    await until(() => acks.length === 3);
    assert.deepEqual(
      acks.map(([label, outcome]) => `${label} ${outcome.errorCode ?? "written"}`),
      ["1 written", "2 ValidationException", "3 PrecedingRecordFailed"],
    );
    assert.equal(calls.length, 1, "nothing more was sent");
  });
});

void suite("producer: batches of aggregated records", () => {
  void test("more than a PutRecords call holds, ready at once: full batches, no crash", async () => {
    const { backend, calls, written } = fakeBackend();
    const { producer } = aggregatingProducer(backend, Math.random());
    let acked = 0;
    const deadline = Date.now() + 30_000;
    // 12 MiB of 1 KiB records of distinct keys for one shard, taken in at once.
    producer.put(
      { streamName: "s" },
      Array.from({ length: 12_000 }, (_, i) => ({
        entry: { partitionKey: `key-${i}`, data: new Uint8Array(1_000) },
        deadline,
        label: String(i),
        done: () => {
          acked++;
        },
      })),
    );
    await until(() => calls.length >= 1);
    for (let answered = 0; acked < 12_000; ) {
      await until(() => calls.length > answered);
      const call = calls[answered++]!;
      call.answer(Array.from({ length: call.records }, written));
      await sleep(5);
    }
    assert.equal(acked, 12_000);
  });
});
