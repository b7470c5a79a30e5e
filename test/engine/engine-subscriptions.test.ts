/**
 * The engine's subscriptions and the push source over them: records reach a
 * waiting subscriber because the write wakes it, the consumer's slot rules,
 * its own read budget, and a closed shard's last event.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createEngine, type Engine } from "../../src/engine/index.ts";
import { GatewayError } from "../../src/kinesis/errors.ts";
import type { SubscribeToShardEvent } from "../../src/kinesis/types.ts";
import { createEngineSource } from "../../src/subscriptions/engine-source.ts";
import { createSubscriptions } from "../../src/subscriptions/subscriptions.ts";
import { createManualClock, kinesisError } from "./helpers.ts";

function withConsumer(engine: Engine, shardCount = 1) {
  engine.createStream({ streamName: "s", shardCount });
  const streamArn = engine.describeStreamSummary({ streamName: "s" }).streamArn;
  const { consumerArn } = engine.registerStreamConsumer({ streamArn, consumerName: "c" }).consumer;
  return { streamArn, consumerArn };
}

const put = (engine: Engine, data: string) =>
  engine.putRecord({ streamName: "s", partitionKey: "k", data: Buffer.from(data) });

const subscriptionsOver = (engine: Engine, lifetimeMs = 60_000) =>
  createSubscriptions({
    sources: new Map([["engine", createEngineSource(engine)]]),
    backendNameFor: () => "engine",
    lifetimeMs,
  });

void test("a write wakes a waiting subscriber: it gets the record without polling", async () => {
  const engine = createEngine();
  const { consumerArn } = withConsumer(engine);
  put(engine, "before");
  const subscription = await subscriptionsOver(engine).subscribe(
    { consumerArn, shardId: "shardId-000000000000", startingPosition: { type: "TRIM_HORIZON" } },
    { signal: new AbortController().signal },
    { requireConsumer: true },
  );
  const iterator = subscription.events[Symbol.asyncIterator]();
  const first = (await iterator.next()).value as SubscribeToShardEvent;
  assert.deepEqual(
    first.records.map((r) => Buffer.from(r.data).toString()),
    ["before"],
  );
  const next = iterator.next();
  // Nothing is there: the subscriber waits on the shard, not on a timer.
  const pending = await Promise.race([next.then(() => "event"), delay(50).then(() => "waiting")]);
  assert.equal(pending, "waiting");
  const written = put(engine, "after");
  const started = performance.now();
  const second = (await next).value as SubscribeToShardEvent;
  assert.ok(performance.now() - started < 20, "delivered within milliseconds of the write");
  assert.deepEqual(
    second.records.map((r) => Buffer.from(r.data).toString()),
    ["after"],
  );
  assert.equal(second.continuationSequenceNumber, written.sequenceNumber);
  await iterator.return?.();
  subscription.close();
});

void test("a consumer holds one subscription per shard: refused within 5 s, taken over after", async () => {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now });
  const { consumerArn } = withConsumer(engine);
  const input = {
    consumerArn,
    shardId: "shardId-000000000000",
    startingPosition: { type: "LATEST" as const },
  };
  const first = engine.subscribeToShard(input);
  clock.advance(4_999);
  assert.throws(
    () => engine.subscribeToShard(input),
    (err: unknown) => kinesisError("ResourceInUseException", (err as Error).message)(err),
  );
  clock.advance(1);
  let woken = false;
  first.onChange(() => {
    woken = true;
  });
  const second = engine.subscribeToShard(input);
  assert.ok(woken, "the earlier subscription is told at once");
  assert.throws(
    () => first.read(),
    kinesisError(
      "ResourceInUseException",
      `Another subscription of consumer ${consumerArn} to shard shardId-000000000000 took this one over.`,
    ),
  );
  assert.equal(second.read().kind, "event");
  second.close();
  // Ended, the slot is free after a second; within it the rate limit answers.
  assert.throws(
    () => engine.subscribeToShard(input),
    (err: unknown) => kinesisError("LimitExceededException", (err as Error).message)(err),
  );
  clock.advance(1_000);
  engine.subscribeToShard(input).close();
});

void test("a consumer reads 2 MiB/s of a shard, apart from the shard's GetRecords budget", () => {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now, shardWriteBytesPerSecond: 64 * 1024 * 1024 });
  const { consumerArn } = withConsumer(engine);
  const record = Buffer.alloc(512 * 1024 - 1); // with its 1-byte key, a quarter of 2 MiB
  for (let i = 0; i < 12; i++) {
    engine.putRecord({ streamName: "s", partitionKey: "k", data: record });
  }
  const subscription = engine.subscribeToShard({
    consumerArn,
    shardId: "shardId-000000000000",
    startingPosition: { type: "TRIM_HORIZON" },
  });
  const first = subscription.read();
  assert.equal(first.kind, "event");
  assert.equal(first.kind === "event" && first.event.records.length, 4); // 2 MiB of 512 KiB records
  const spent = subscription.read();
  assert.equal(spent.kind, "wait");
  // GetRecords still has the shard's own 2 MiB.
  const { shardIterator } = engine.getShardIterator({
    streamName: "s",
    shardId: "shardId-000000000000",
    shardIteratorType: "TRIM_HORIZON",
  });
  assert.equal(engine.getRecords({ shardIterator }).records.length, 12);
  clock.advance(1_000);
  const after = subscription.read();
  assert.equal(after.kind === "event" && after.event.records.length, 4);
  subscription.close();
});

void test("a subscription to a shard that a split closes ends with its children and no continuation", async () => {
  // Real time, which the split's end waits on, moved on by hand past each transition:
  // the larger of a manual clock and real time could stay behind a transition on a busy machine.
  let ahead = 0;
  const engine = createEngine({ transitionDelayMs: 30, now: () => Date.now() + ahead });
  engine.createStream({ streamName: "s", shardCount: 1 });
  ahead += 30;
  const streamArn = engine.describeStreamSummary({ streamName: "s" }).streamArn;
  const { consumerArn } = engine.registerStreamConsumer({ streamArn, consumerName: "c" }).consumer;
  ahead += 30;
  const written = put(engine, "parent");
  const subscription = await subscriptionsOver(engine).subscribe(
    { consumerArn, shardId: "shardId-000000000000", startingPosition: { type: "LATEST" } },
    { signal: new AbortController().signal },
    { requireConsumer: true },
  );
  const events: SubscribeToShardEvent[] = [];
  const reading = (async () => {
    for await (const event of subscription.events) events.push(event);
  })();
  await delay(10);
  engine.splitShard({
    streamName: "s",
    shardToSplit: "shardId-000000000000",
    newStartingHashKey: (2n ** 127n).toString(),
  });
  await reading; // ends by itself once the reshard is due
  const last = events.at(-1)!;
  assert.deepEqual(
    last.childShards?.map((c) => c.shardId),
    ["shardId-000000000001", "shardId-000000000002"],
  );
  assert.equal(last.continuationSequenceNumber, undefined);
  assert.equal(events[0]!.continuationSequenceNumber, written.sequenceNumber);
  assert.equal(subscription.end(), "source");
});

void test("a subscription ends cleanly when its lifetime is over, and frees its slot", async () => {
  const engine = createEngine();
  const { consumerArn } = withConsumer(engine);
  const subscriptions = subscriptionsOver(engine, 100);
  const input = {
    consumerArn,
    shardId: "shardId-000000000000",
    startingPosition: { type: "LATEST" as const },
  };
  const subscription = await subscriptions.subscribe(
    input,
    { signal: new AbortController().signal },
    { requireConsumer: true },
  );
  let count = 0;
  for await (const _ of subscription.events) count++;
  assert.equal(count, 1, "the first event says the subscription is live");
  assert.equal(subscription.end(), "lifetime");
  await delay(1_000);
  const again = await subscriptions.subscribe(
    input,
    { signal: new AbortController().signal },
    { requireConsumer: true },
  );
  again.close();
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

void test("deregistering the consumer ends its subscriptions with ResourceNotFoundException", async () => {
  const engine = createEngine();
  const { consumerArn } = withConsumer(engine);
  const subscription = await subscriptionsOver(engine).subscribe(
    { consumerArn, shardId: "shardId-000000000000", startingPosition: { type: "LATEST" } },
    { signal: new AbortController().signal },
    { requireConsumer: true },
  );
  const iterator = subscription.events[Symbol.asyncIterator]();
  await iterator.next(); // live
  const next = iterator.next();
  engine.deregisterStreamConsumer({ consumerArn });
  await assert.rejects(
    next,
    kinesisError(
      "ResourceNotFoundException",
      `Consumer ${consumerArn} under stream s under account 000000000000 not found.`,
    ),
  );
  subscription.close();
});

void test("a record written while the subscriber holds an event is delivered when it asks for the next", async () => {
  const engine = createEngine();
  const { consumerArn } = withConsumer(engine);
  const subscription = await subscriptionsOver(engine).subscribe(
    { consumerArn, shardId: "shardId-000000000000", startingPosition: { type: "LATEST" } },
    { signal: new AbortController().signal },
    { requireConsumer: true },
  );
  const iterator = subscription.events[Symbol.asyncIterator]();
  await iterator.next(); // live; the subscription waits at its yield, not on the shard
  put(engine, "meanwhile");
  const next = await Promise.race([iterator.next(), delay(1_000).then(() => undefined)]);
  assert.ok(next !== undefined, "delivered at once, not at the next heartbeat");
  assert.deepEqual(
    (next.value as SubscribeToShardEvent).records.map((r) => Buffer.from(r.data).toString()),
    ["meanwhile"],
  );
  await iterator.return?.();
  subscription.close();
});

void test("a drain while a source is still subscribing refuses the subscription as unavailable", async () => {
  const shutdown = new AbortController();
  const subscriptions = createSubscriptions({
    // A source that is still asking its upstream when the drain begins.
    sources: new Map([
      [
        "slow",
        (_input, call) =>
          new Promise((_resolve, reject) =>
            call.signal.addEventListener("abort", () => reject(call.signal.reason), { once: true }),
          ),
      ],
    ]),
    backendNameFor: () => "slow",
    shutdown: shutdown.signal,
  });
  const subscribing = subscriptions.subscribe(
    { streamName: "s", shardId: "shardId-000000000000", startingPosition: { type: "LATEST" } },
    { signal: new AbortController().signal },
    { requireConsumer: false },
  );
  shutdown.abort();
  await assert.rejects(subscribing, (err: unknown) => {
    assert.ok(err instanceof GatewayError);
    assert.equal(err.kind, "unavailable");
    return true;
  });
});
