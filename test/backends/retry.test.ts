/**
 * The opt-in retry of failed records, against the real engine: its
 * per-shard throttling produces genuine ProvisionedThroughputExceeded
 * failures, and refills as real time passes.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { backgroundCall } from "../../src/backends/backend.ts";
import { createEngineBackend } from "../../src/backends/engine-backend.ts";
import { backoffMs, withRetry } from "../../src/backends/retry.ts";
import { createEngine } from "../../src/engine/index.ts";

const HALF = (2n ** 127n).toString(); // first hash key of shard 1 of 2

/** A 2-shard stream whose shards take 10 records a second; records alternate shards. */
function setUp() {
  const engine = createEngine({ shardWriteRecordsPerSecond: 10 });
  engine.createStream({ streamName: "slow", shardCount: 2 });
  const records = Array.from({ length: 40 }, (_, i) => ({
    data: new Uint8Array([i]),
    partitionKey: `k${i}`,
    explicitHashKey: i % 2 === 0 ? "0" : HALF,
  }));
  return { backend: createEngineBackend(engine), records };
}

const expectedShard = (i: number) => `shardId-00000000000${i % 2}`;

void suite("retry of failed records", () => {
  void test("without retry, records past the shard's capacity fail", async () => {
    const { backend, records } = setUp();
    const res = await backend.putRecords({ streamName: "slow", records }, backgroundCall());
    assert.equal(res.failedRecordCount, 20);
  });

  void test("retries only the failed records, until all are written, keeping the request's order", async () => {
    const { backend, records } = setUp();
    const retried: number[] = [];
    const retrying = withRetry(backend, {
      retries: 8,
      baseDelayMs: 150,
      maxDelayMs: 600,
      random: () => 0.999, // no jitter: 150, 300, 600, 600 … ms
      onRetry: (_attempt, count) => retried.push(count),
    });
    const res = await retrying.putRecords({ streamName: "slow", records }, backgroundCall());
    assert.equal(res.failedRecordCount, 0);
    assert.equal(res.records.length, 40);
    res.records.forEach((r, i) => {
      assert.equal(r.shardId, expectedShard(i), `record ${i}`);
      assert.equal(r.errorCode, undefined);
    });
    assert.equal(retried[0], 20, "the first retry sends the 20 failed records only");
    for (let k = 1; k < retried.length; k++) assert.ok(retried[k]! < retried[k - 1]!);
  });

  void test("stops retrying when the caller's deadline leaves no time, answering what it has", async () => {
    const { backend, records } = setUp();
    const retrying = withRetry(backend, { retries: 8, baseDelayMs: 150, random: () => 0.999 });
    const started = Date.now();
    const res = await retrying.putRecords(
      { streamName: "slow", records },
      { signal: new AbortController().signal, deadline: started + 400 },
    );
    assert.ok(Date.now() - started < 400, "answered before the deadline");
    assert.ok(
      res.failedRecordCount > 0 && res.failedRecordCount < 20,
      String(res.failedRecordCount),
    );
    const failed = res.records.filter((r) => r.errorCode !== undefined);
    assert.equal(failed.length, res.failedRecordCount);
    for (const r of failed) assert.equal(r.errorCode, "ProvisionedThroughputExceededException");
  });

  void test("a throttled PutRecord is retried too", async () => {
    const { backend } = setUp();
    const retrying = withRetry(backend, { retries: 3, baseDelayMs: 200, random: () => 0.999 });
    const input = {
      streamName: "slow",
      partitionKey: "k",
      data: new Uint8Array(1),
      explicitHashKey: "0",
    };
    for (let i = 0; i < 10; i++) await backend.putRecord(input, backgroundCall());
    await assert.rejects(backend.putRecord(input, backgroundCall()), {
      type: "ProvisionedThroughputExceededException",
    });
    const res = await retrying.putRecord(input, backgroundCall());
    assert.equal(res.shardId, "shardId-000000000000");
  });

  void test("backoff doubles up to its cap, with full jitter", () => {
    const options = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    const top = (attempt: number) => backoffMs(attempt, { ...options, random: () => 0.999999 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(top), [99, 199, 399, 799, 999, 999]);
    assert.equal(backoffMs(3, { ...options, random: () => 0 }), 0);
  });
});
