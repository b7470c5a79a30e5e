/** The engine's consumer registration on its own, with a clock that moves only when told to. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createEngine } from "../../src/engine/index.ts";
import { createManualClock, kinesisError } from "./helpers.ts";

void test("a consumer registered again in the same second gets another ARN, and the old one names nothing", () => {
  const clock = createManualClock();
  const engine = createEngine({ now: clock.now });
  engine.createStream({ streamName: "s", shardCount: 1 });
  const streamArn = engine.describeStreamSummary({ streamName: "s" }).streamArn;
  const seconds = Math.floor(clock.now() / 1000);
  const first = engine.registerStreamConsumer({ streamArn, consumerName: "c" }).consumer;
  assert.equal(first.consumerArn, `${streamArn}/consumer/c:${seconds}`);
  engine.deregisterStreamConsumer({ consumerArn: first.consumerArn });
  clock.advance(10);
  const second = engine.registerStreamConsumer({ streamArn, consumerName: "c" }).consumer;
  assert.equal(second.consumerArn, `${streamArn}/consumer/c:${seconds + 1}`);
  assert.throws(
    () => engine.describeStreamConsumer({ consumerArn: first.consumerArn }),
    kinesisError(
      "ResourceNotFoundException",
      `Consumer ${first.consumerArn} under stream s under account 000000000000 not found.`,
    ),
  );
  assert.equal(
    engine.describeStreamConsumer({ consumerArn: second.consumerArn }).consumerDescription
      .consumerStatus,
    "ACTIVE",
  );
  // Once the clock has passed the second, the name takes the clock's second again.
  engine.deregisterStreamConsumer({ streamArn, consumerName: "c" });
  clock.advance(5_000);
  const third = engine.registerStreamConsumer({ streamArn, consumerName: "c" }).consumer;
  assert.equal(third.consumerArn, `${streamArn}/consumer/c:${seconds + 5}`);
});

void test("a consumer ARN that AWS's pattern takes but that names no stream of ours names no consumer", () => {
  const engine = createEngine();
  engine.createStream({ streamName: "s", shardCount: 1 });
  const arn = "arn:aws:kinesis:us-east-1:000000000000:xstream/s/consumer/c:1";
  assert.throws(
    () => engine.describeStreamConsumer({ consumerArn: arn }),
    kinesisError(
      "ResourceNotFoundException",
      `Consumer ${arn} under stream s under account 000000000000 not found.`,
    ),
  );
});

void test("RegisterStreamConsumer answers CREATING as AWS does, even when the consumer is ACTIVE at once", () => {
  const engine = createEngine();
  engine.createStream({ streamName: "s", shardCount: 1 });
  const streamArn = engine.describeStreamSummary({ streamName: "s" }).streamArn;
  const registered = engine.registerStreamConsumer({ streamArn, consumerName: "c" }).consumer;
  assert.equal(registered.consumerStatus, "CREATING");
  const described = engine.describeStreamConsumer({ consumerArn: registered.consumerArn });
  assert.equal(described.consumerDescription.consumerStatus, "ACTIVE");
});
