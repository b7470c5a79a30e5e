/**
 * The producer's per-key order where its shard map goes away under it: a
 * record that comes back for a retry while the map is being read again must
 * still go before its key's later records.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../../src/backends/backend.ts";
import { createEngineBackend } from "../../src/backends/engine-backend.ts";
import { createEngine } from "../../src/engine/index.ts";
import { createProducer, type RecordOutcome } from "../../src/producer/producer.ts";
import { createShardMaps } from "../../src/producer/shard-map.ts";

const data = (text: string) => new TextEncoder().encode(text);

void test("a record retried while the shard map is read again is written before its key's later records", async () => {
  const engine = createEngine({ throttle: false });
  engine.createStream({ streamName: "s", shardCount: 1 });
  const inner = createEngineBackend(engine);
  let calls = 0;
  // The first call: "k 1" fails (retryable) and "j 1" is answered from a shard the map did
  // not predict, so the map is read again while "k 1" waits for its retry.
  const backend: Backend = {
    ...inner,
    putRecords: async (input, context) => {
      const output = await inner.putRecords(input, context);
      if (calls++ > 0) return output;
      return {
        ...output,
        records: output.records.map((result, i) =>
          input.records?.[i]?.partitionKey === "k"
            ? { errorCode: "InternalFailure", errorMessage: "Internal service failure." }
            : { ...result, shardId: "shardId-000000000009" },
        ),
      };
    },
  };
  const producer = createProducer({
    backend,
    shardMaps: createShardMaps(backend),
    lingerMs: 0,
    aggregates: () => false,
    aggregationMaxBytes: 51_200,
    ordered: () => true,
    random: () => 0,
  });
  const outcomes = new Map<string, RecordOutcome>();
  const done = Promise.withResolvers<void>();
  const records = ["k 1", "j 1", "k 2", "k 3"].map((label) => ({
    entry: { partitionKey: label.split(" ")[0]!, data: data(label) },
    deadline: Date.now() + 10_000,
    label,
    done: (outcome: RecordOutcome) => {
      outcomes.set(label, outcome);
      if (outcomes.size === 4) done.resolve();
    },
  }));
  producer.put({ streamName: "s" }, records);
  await done.promise;

  const sequenceOf = (label: string) => {
    const outcome = outcomes.get(label)!;
    assert.equal(outcome.errorCode, undefined, `${label}: ${JSON.stringify(outcome)}`);
    return BigInt((outcome as { sequenceNumber: string }).sequenceNumber);
  };
  assert.ok(sequenceOf("k 1") < sequenceOf("k 2"), "k 1 written before k 2");
  assert.ok(sequenceOf("k 2") < sequenceOf("k 3"), "k 2 written before k 3");
  assert.ok(calls >= 3);
});
