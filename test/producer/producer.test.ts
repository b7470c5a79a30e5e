/**
 * The producer on its own, over the engine's backend, with per-record
 * failures injected where only a scripted upstream can make them on demand
 * (an `InternalFailure` of one record, a failure text of emoji).
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { type Backend, backendOf } from "../../src/backends/backend.ts";
import { createEngineBackend } from "../../src/backends/engine-backend.ts";
import { createEngine } from "../../src/engine/engine.ts";
import type { PutRecordsOutput } from "../../src/kinesis/types.ts";
import { KPL_AGGREGATION_MAX_BYTES } from "../../src/producer/aggregation.ts";
import {
  createProducer,
  type ProducedRecord,
  type RecordOutcome,
} from "../../src/producer/producer.ts";
import { createShardMaps } from "../../src/producer/shard-map.ts";

/** The engine's backend, with the first answer of each record whose data says "fail" replaced. */
function failingOnce(inner: Backend, errorMessage: string): Backend {
  const failed = new Set<string>();
  return backendOf(async (operation, input, call) => {
    const out = await inner.call(operation, input, call);
    if (operation.name !== "PutRecords") return out;
    const records = (input as { records: { data: Uint8Array }[] }).records;
    const output = out as PutRecordsOutput;
    output.records = output.records.map((result, i) => {
      const text = new TextDecoder().decode(records[i]!.data);
      if (!text.startsWith("fail") || failed.has(text)) return result;
      failed.add(text);
      return { errorCode: "InternalFailure", errorMessage };
    });
    return out as never;
  });
}

async function produceAll(
  backend: Backend,
  texts: readonly { key: string; data: string }[],
  ttlMs = 5_000,
  ordered = true,
): Promise<RecordOutcome[]> {
  const producer = createProducer({
    backend,
    shardMaps: createShardMaps(backend),
    lingerMs: 1,
    aggregates: () => false,
    aggregationMaxBytes: KPL_AGGREGATION_MAX_BYTES,
    ordered: () => ordered,
  });
  const outcomes: RecordOutcome[] = new Array(texts.length);
  await new Promise<void>((resolve) => {
    let left = texts.length;
    const records: ProducedRecord[] = texts.map(({ key, data }, i) => ({
      entry: { partitionKey: key, data: new TextEncoder().encode(data) },
      deadline: Date.now() + ttlMs,
      label: String(i),
      done: (outcome) => {
        assert.equal(outcomes[i], undefined, `a second outcome for record ${i}`);
        outcomes[i] = outcome;
        if (--left === 0) resolve();
      },
    }));
    producer.put({ streamName: "s" }, records);
  });
  return outcomes;
}

void suite("producer", () => {
  void test("a record failed by Kinesis is retried, and its key's later records wait for it", async () => {
    const engine = createEngine({ throttle: false });
    engine.createStream({ streamName: "s", shardCount: 1 });
    const backend = failingOnce(createEngineBackend(engine), "Internal service failure.");
    const texts = [
      { key: "a", data: "fail a0" },
      { key: "a", data: "a1" },
      { key: "b", data: "b0" },
      { key: "a", data: "a2" },
    ];
    const outcomes = await produceAll(backend, texts);
    for (const outcome of outcomes) assert.equal(outcome.errorCode, undefined);
    const seq = (i: number) => BigInt((outcomes[i] as { sequenceNumber: string }).sequenceNumber);
    // a0 was retried, yet a's records are stored in the order they came.
    assert.ok(seq(0) < seq(1) && seq(1) < seq(3));
    // b did not wait for a.
    assert.ok(seq(2) < seq(0));
  });

  void test("one hot key: ordered, a record a call; unordered (--unordered), all in one call", async () => {
    const calls = { ordered: 0, unordered: 0 };
    for (const ordered of [true, false]) {
      const engine = createEngine({ throttle: false });
      engine.createStream({ streamName: "s", shardCount: 1 });
      const inner = createEngineBackend(engine);
      const counted = backendOf((operation, input, call) => {
        if (operation.name === "PutRecords") calls[ordered ? "ordered" : "unordered"]++;
        return inner.call(operation, input, call);
      });
      const texts = Array.from({ length: 50 }, (_, i) => ({ key: "hot", data: `r${i}` }));
      const outcomes = await produceAll(counted, texts, 5_000, ordered);
      for (const outcome of outcomes) assert.equal(outcome.errorCode, undefined);
    }
    assert.equal(calls.ordered, 50, "a key has one record in flight");
    assert.equal(calls.unordered, 1, "everything ready goes at once");
  });

  void test("a record given up on fails its key's later records, naming it; texts are cut whole", async () => {
    const engine = createEngine({ throttle: false });
    engine.createStream({ streamName: "s", shardCount: 1 });
    // Every attempt of a "fail" record fails, with a text of 2,000 emoji.
    const inner = createEngineBackend(engine);
    const backend = backendOf(async (operation, input, call) => {
      const out = await inner.call(operation, input, call);
      if (operation.name !== "PutRecords") return out;
      const records = (input as { records: { data: Uint8Array }[] }).records;
      const output = out as PutRecordsOutput;
      output.records = output.records.map((result, i) =>
        new TextDecoder().decode(records[i]!.data).startsWith("fail")
          ? { errorCode: "InternalFailure", errorMessage: "🔥".repeat(2_000) }
          : result,
      );
      return out as never;
    });
    const outcomes = await produceAll(
      backend,
      [
        { key: "a", data: "fail a0" },
        { key: "a", data: "a1" },
        { key: "b", data: "b0" },
      ],
      300,
    );
    const [a0, a1, b0] = outcomes as { errorCode?: string; errorMessage?: string }[];
    assert.equal(a0!.errorCode, "RecordExpired");
    assert.equal(a1!.errorCode, "PrecedingRecordFailed");
    assert.match(a1!.errorMessage!, /^Not written: record 0 with the same partition key/);
    assert.equal(b0!.errorCode, undefined);
    for (const text of [a0!.errorMessage!, a1!.errorMessage!]) {
      assert.ok(text.length <= 1_200, `${text.length} characters`);
      assert.ok(text.isWellFormed(), "no surrogate cut in half");
    }
  });
});
