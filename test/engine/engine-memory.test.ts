/**
 * What the engine's byte caps bound is the memory the process really holds:
 * measured here as the heap and array buffers after a full collection, not
 * with the store's own counter.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import v8 from "node:v8";
import vm from "node:vm";
import { createEngine } from "../../src/engine/engine.ts";
import type { PutRecordsRequestEntry } from "../../src/kinesis/types.ts";
import { createManualClock } from "./helpers.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const MiB = 1024 * 1024;
/** Room for what else the test process allocates meanwhile. */
const SLACK_BYTES = 4 * MiB;

/** Heap and array buffers after full collections: what is still reachable. */
function retainedBytes(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/**
 * A PutRecords as the gRPC path hands it over: every record's data a view
 * of one request buffer. The first record is tiny; the rest are `size` bytes.
 */
function requestOf(count: number, size: number, key: (i: number) => string) {
  const buffer = new Uint8Array(count * size);
  const records: PutRecordsRequestEntry[] = [];
  for (let i = 0; i < count; i++) {
    const length = i === 0 ? 10 : size;
    records.push({ data: buffer.subarray(i * size, i * size + length), partitionKey: key(i) });
  }
  return records;
}

void suite("engine memory", () => {
  test("a stored record does not keep the request it came in alive, nor its throttled neighbours", () => {
    const clock = createManualClock();
    const engine = createEngine({
      now: clock.now,
      maxStreamBytes: 8 * MiB,
      shardWriteRecordsPerSecond: 1,
      burstSeconds: 1,
    });
    engine.createStream({ streamName: "s", shardCount: 1 });
    const before = retainedBytes();
    let stored = 0;
    for (let call = 0; call < 100; call++) {
      // 1 tiny record stored, 499 of 10 KiB throttled: about 5 MiB a request.
      const out = engine.putRecords({
        streamName: "s",
        records: requestOf(500, 10 * 1024, (i) => `k${call}-${i}`),
      });
      stored += 500 - out.failedRecordCount;
      clock.advance(1_000);
    }
    const grown = retainedBytes() - before;
    assert.equal(stored, 100);
    assert.equal(engine.readRecords({ streamName: "s" }, "shardId-000000000000").length, 100);
    assert.ok(grown < SLACK_BYTES, `100 tiny records retain ${(grown / MiB).toFixed(1)} MiB`);
  });

  test("the byte cap counts each record's bookkeeping, so many tiny records stay under it", () => {
    const engine = createEngine({ throttle: false, maxStreamBytes: 16 * MiB });
    engine.createStream({ streamName: "s", shardCount: 4 });
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    const before = retainedBytes();
    for (let call = 0; call < 800; call++) {
      engine.putRecords({
        streamName: "s",
        records: Array.from({ length: 500 }, (_, i) => ({
          data: new Uint8Array(10),
          // A key in a string of its own, as a decoder makes it.
          partitionKey: decoder.decode(encoder.encode(`key-${call}-${i}`.padEnd(16, "."))),
        })),
      });
    }
    const grown = retainedBytes() - before;
    const kept = [0, 1, 2, 3]
      .map(
        (shard) =>
          engine.readRecords({ streamName: "s" }, `shardId-00000000000${shard}`, {
            limit: 1_000_000,
          }).length,
      )
      .reduce((a, b) => a + b);
    assert.ok(kept < 400_000, `all ${kept} records kept: the cap did not count their bookkeeping`);
    assert.ok(
      grown < 16 * MiB + SLACK_BYTES,
      `${kept} records retain ${(grown / MiB).toFixed(1)} MiB against a 16 MiB cap`,
    );
  });

  test("a thousand shards with a record each hold little, and what they hold is counted", () => {
    const engine = createEngine({ throttle: false, shardLimit: 1000 });
    const before = retainedBytes();
    engine.createStream({ streamName: "wide", shardCount: 1000 });
    const step = 2n ** 128n / 1000n;
    for (let shard = 0; shard < 1000; shard++) {
      engine.putRecord({
        streamName: "wide",
        partitionKey: "k",
        data: new Uint8Array(1),
        explicitHashKey: (step * BigInt(shard)).toString(),
      });
    }
    const grown = retainedBytes() - before;
    assert.ok(
      grown < 40 * MiB,
      `1,000 one-byte records on 1,000 shards retain ${(grown / MiB).toFixed(1)} MiB`,
    );
  });

  test("all streams together stay under the engine's bound, the largest stream giving way first", () => {
    const engine = createEngine({ throttle: false, maxTotalBytes: 8 * MiB });
    for (const name of ["big", "small"]) engine.createStream({ streamName: name, shardCount: 1 });
    const put = (streamName: string, calls: number, tag: string) => {
      for (let call = 0; call < calls; call++) {
        engine.putRecords({
          streamName,
          records: Array.from({ length: 100 }, (_, i) => ({
            data: new Uint8Array(10 * 1024),
            partitionKey: `${tag}-${call}-${i}`,
          })),
        });
      }
    };
    const keys = (streamName: string) =>
      engine.readRecords({ streamName }, "shardId-000000000000", { limit: 10_000 });
    const before = retainedBytes();
    put("big", 12, "big"); // 12 MiB offered
    put("small", 3, "small"); // 3 MiB
    const grown = retainedBytes() - before;
    assert.ok(grown < 8 * MiB + SLACK_BYTES, `retained ${(grown / MiB).toFixed(1)} MiB`);
    assert.equal(keys("small").length, 300, "the smaller stream kept every record");
    const big = keys("big");
    assert.ok(big.length < 600, `${big.length} records of the big stream kept`);
    assert.equal(big.at(-1)?.partitionKey, "big-11-99", "the newest of the big stream are kept");
  });
});
