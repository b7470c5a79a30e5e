/**
 * gRPC SubscribeToShard with a consumer ARN in forward mode: the gateway
 * subscribes with the upstream's own SubscribeToShard (the AWS SDK's event
 * stream over HTTP/2) and relays its events, against kinesis-local. Here:
 * the upstream's refusals with their gRPC codes, and the upstream's
 * subscription ending with the call. The contract suite (`test/contract/`)
 * has the records relayed, on the engine and forwarded alike.
 *
 * What kinesis-local (kinesis-mock) does that AWS does not, measured with
 * 0.6.2: it sends no initial-response, so a subscription is accepted only
 * with its first event, about 2 s after the call (records are found by a
 * poll about once a second, and an event comes each second, records or not);
 * it refuses a second subscription of a consumer to a shard for as long as
 * the first is open, where AWS lets a new one take over after 5 s, and
 * accepts one again about 3 s after the first was cancelled.
 */
import assert from "node:assert/strict";
import { before, suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { KinesisErrorDetailSchema } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import { ShardIteratorType } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { clientsFor, forwardingTo, transports, useGateway } from "../helpers/gateway.ts";
import { activeConsumer } from "../helpers/kinesis-sdk.ts";

const STREAM = "relayed";
const SHARD = "shardId-000000000000";

/** Asserts a gRPC failure carries this code and AWS error type, and a message matching. */
function failsWith(code: Code, type: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.findDetails(KinesisErrorDetailSchema)[0]?.type, type);
    assert.match(err.rawMessage, message);
    return true;
  };
}

void suite("gRPC SubscribeToShard with a consumer ARN, relayed from the upstream's own", () => {
  const emulator = useEmulator();
  const gateway = useGateway(forwardingTo(emulator));
  const clients = () => clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
  let streamArn = "";
  before(async () => {
    await clients().streams.createStream({ streamName: STREAM, shardCount: 1 });
    await waitUntilStreamActive(emulator.current.client(), STREAM);
    const summary = await clients().streams.describeStreamSummary({ streamName: STREAM });
    streamArn = summary.streamDescriptionSummary!.streamArn;
  });
  const consumer = (name: string) => activeConsumer(emulator.current.client(), streamArn, name);

  /** Subscribes from LATEST; each event goes to `onEvent` until it says stop, or the signal aborts. */
  async function subscribe(
    consumerArn: string,
    onEvent: () => boolean = () => false,
    signal?: AbortSignal,
  ) {
    const events = clients().consumer.subscribeToShard(
      { consumerArn, shardId: SHARD, startingPosition: { type: ShardIteratorType.LATEST } },
      signal === undefined ? {} : { signal },
    );
    for await (const _ of events) {
      if (onEvent()) return;
    }
  }

  void test("an unknown consumer is the upstream's ResourceNotFoundException, NOT_FOUND", async () => {
    const unknown = `${streamArn}/consumer/nobody:1700000000`;
    await assert.rejects(
      subscribe(unknown),
      failsWith(
        Code.NotFound,
        "ResourceNotFoundException",
        /^ConsumerARN .*consumer\/nobody:1700000000 not found/,
      ),
    );
  });

  void test("a second subscription of a consumer to a shard while one is open is the upstream's ResourceInUseException", async () => {
    const consumerArn = await consumer("twice");
    const holding = new AbortController();
    let accepted!: () => void;
    const first = new Promise<void>((resolve) => {
      accepted = resolve;
    });
    const held = subscribe(
      consumerArn,
      () => {
        accepted();
        return false;
      },
      holding.signal,
    );
    try {
      await Promise.race([first, held]);
      await assert.rejects(
        subscribe(consumerArn),
        failsWith(
          Code.FailedPrecondition,
          "ResourceInUseException",
          // kinesis-mock's text; AWS's differs.
          /^Another active subscription exists for consumer .*consumer\/twice:\d+ on shard shardId-000000000000/,
        ),
      );
    } finally {
      holding.abort();
      await held.catch(() => undefined);
    }
  });

  void test("cancelling the gRPC call ends the upstream's subscription: the consumer may subscribe again", async () => {
    const consumerArn = await consumer("cancels");
    const cancelled = new AbortController();
    await subscribe(
      consumerArn,
      () => {
        cancelled.abort();
        return true;
      },
      cancelled.signal,
    );
    // kinesis-mock refuses while a subscription is open, however long (20 s
    // measured), and accepts again about 3 s after it was cancelled.
    const deadline = Date.now() + 10_000;
    let lastError: unknown;
    for (;;) {
      try {
        await subscribe(consumerArn, () => true);
        return;
      } catch (err) {
        lastError = err;
        if (Date.now() > deadline) break;
        await sleep(250);
      }
    }
    assert.fail(`still refused 10 s after the call was cancelled: ${String(lastError)}`);
  });
});
