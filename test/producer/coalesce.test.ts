/**
 * Coalescing against calling alone: two engines on one clock, the same
 * calls — to one all at once through the coalescing decorator, to the other
 * one after another — and every caller's answer must be the same, sequence
 * numbers and throttling included.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Backend, backgroundCall, type CallContext } from "../../src/backends/backend.ts";
import { createEngineBackend } from "../../src/backends/engine-backend.ts";
import { createEngine } from "../../src/engine/index.ts";
import { KinesisError } from "../../src/kinesis/errors.ts";
import type { PutRecordInput, PutRecordsInput } from "../../src/kinesis/types.ts";
import { withCoalescing } from "../../src/producer/coalesce.ts";
import { createManualClock } from "../engine/helpers.ts";

type Call =
  | { readonly kind: "PutRecord"; readonly input: PutRecordInput }
  | { readonly kind: "PutRecords"; readonly input: PutRecordsInput };

/** An engine backend with its streams: throttled hard, so a batch mixes written and refused records. */
function engineBackend(clock: ReturnType<typeof createManualClock>): Backend {
  const engine = createEngine({ now: clock.now, shardWriteRecordsPerSecond: 12 });
  engine.createStream({ streamName: "orders", shardCount: 2 });
  engine.createStream({ streamName: "plain", shardCount: 1 });
  return createEngineBackend(engine);
}

/** What a caller saw: the answer, or the error's type and message. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return { answer: await promise };
  } catch (error) {
    if (error instanceof KinesisError) return { error: error.type, message: error.message };
    throw error;
  }
}

function send(backend: Backend, call: Call, context: CallContext = backgroundCall()) {
  return call.kind === "PutRecord"
    ? backend.putRecord(call.input, context)
    : backend.putRecords(call.input, context);
}

const data = (text: string) => new TextEncoder().encode(text);

function calls(count: number, streamName = "orders"): Call[] {
  return Array.from(
    { length: count },
    (_, i): Call =>
      i % 3 === 0
        ? {
            kind: "PutRecords",
            input: {
              streamName,
              records: Array.from({ length: 1 + (i % 4) }, (_, j) => ({
                data: data(`call ${i} record ${j}`),
                partitionKey: `key-${(i * 7 + j) % 9}`,
              })),
            },
          }
        : {
            kind: "PutRecord",
            input: { streamName, data: data(`call ${i}`), partitionKey: `key-${i % 5}` },
          },
  );
}

async function compare(mix: Call[]) {
  const clock = createManualClock();
  const coalesced = withCoalescing(engineBackend(clock), { patterns: ["orders"], lingerMs: 5 });
  const alone = engineBackend(clock);
  const together = await Promise.all(mix.map((call) => outcome(send(coalesced, call))));
  const oneByOne: unknown[] = [];
  for (const call of mix) oneByOne.push(await outcome(send(alone, call)));
  assert.deepEqual(together, oneByOne);
  return together;
}

void test("each caller gets what it would have got alone: its records, its order, throttled ones included", async () => {
  const seen = await compare(calls(40));
  const throttled = JSON.stringify(seen).match(/ProvisionedThroughputExceededException/g)?.length;
  assert.ok(throttled !== undefined && throttled > 10, "the mix holds refused records");
  assert.ok(JSON.stringify(seen).includes('"sequenceNumber"'), "and written ones");
});

void test("a record the stream refuses is its caller's refusal alone: the others are written", async () => {
  const mix = calls(6);
  mix.splice(3, 0, {
    kind: "PutRecords",
    input: {
      streamName: "orders",
      records: [
        { data: data("fits"), partitionKey: "k" },
        { data: new Uint8Array(1024 * 1024 + 1), partitionKey: "k" }, // over the stream's 1 MiB
      ],
    },
  });
  const seen = await compare(mix);
  assert.equal((seen[3] as { error: string }).error, "ValidationException");
  assert.ok(
    seen.filter((s) => (s as { answer?: unknown }).answer !== undefined).length === 6,
    "the six others are answered",
  );
});

void test("a stream that does not exist is every caller's answer, as alone", async () => {
  const mix = calls(5, "nope").map((call) => call);
  const clock = createManualClock();
  const coalesced = withCoalescing(engineBackend(clock), { patterns: ["*"], lingerMs: 5 });
  const seen = await Promise.all(mix.map((call) => outcome(send(coalesced, call))));
  for (const s of seen) assert.equal((s as { error: string }).error, "ResourceNotFoundException");
});

void test("calls are merged: 64 single-record callers make one shared call, and a full batch goes at once", async () => {
  const clock = createManualClock();
  const inner = engineBackend(clock);
  let shared = 0;
  const counting: Backend = {
    ...inner,
    putRecords: (input, context) => {
      shared++;
      return inner.putRecords(input, context);
    },
  };
  const coalesced = withCoalescing(counting, { patterns: ["orders"], lingerMs: 60_000 });
  const mix = calls(500).map(
    (_, i): Call => ({
      kind: "PutRecord",
      input: { streamName: "orders", data: data(`r${i}`), partitionKey: `p${i}` },
    }),
  );
  // 500 records fill a batch: it goes without waiting the (long) linger.
  await Promise.all(mix.map((call) => outcome(send(coalesced, call))));
  assert.equal(shared, 1);
});

void test("a caller that gives up before its batch goes is answered at once, and nothing is written for it", async () => {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now, throttle: false });
  engine.createStream({ streamName: "orders", shardCount: 1 });
  const coalesced = withCoalescing(createEngineBackend(engine), {
    patterns: ["orders"],
    lingerMs: 20,
  });
  const cancelled = new AbortController();
  const gone = coalesced.putRecord(
    { streamName: "orders", data: data("given up"), partitionKey: "k" },
    { signal: cancelled.signal },
  );
  const kept = coalesced.putRecord(
    { streamName: "orders", data: data("kept"), partitionKey: "k" },
    backgroundCall(),
  );
  cancelled.abort(new Error("the caller went away"));
  await assert.rejects(gone, /the caller went away/);
  await kept;
  assert.deepEqual(
    engine
      .readRecords({ streamName: "orders" }, "shardId-000000000000")
      .map((r) => new TextDecoder().decode(r.data)),
    ["kept"],
  );
});

void test("streams no pattern names are not held back", async () => {
  const clock = createManualClock();
  const coalesced = withCoalescing(engineBackend(clock), {
    patterns: ["orders"],
    lingerMs: 60_000,
  });
  const answer = await coalesced.putRecord(
    { streamName: "plain", data: data("now"), partitionKey: "k" },
    backgroundCall(),
  );
  assert.equal(answer.shardId, "shardId-000000000000");
});
