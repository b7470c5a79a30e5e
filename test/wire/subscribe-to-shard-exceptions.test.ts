/**
 * What the wire API's event stream says when a subscription's source fails
 * while events flow: the gateway's real port, wire handler and
 * subscriptions, over a source that fails on cue (the engine cannot be made
 * to fail so). A modelled exception keeps its type; anything else is AWS's
 * `InternalFailureException`, and either ends the stream after the events
 * already sent.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import { metrics, trace } from "@opentelemetry/api";
import { pino } from "pino";
import { createAuthenticator } from "../../src/auth/tokens.ts";
import { createEngineBackend } from "../../src/backends/engine-backend.ts";
import { createEngine } from "../../src/engine/index.ts";
import { KinesisError } from "../../src/kinesis/errors.ts";
import { createGatewayServer, type GatewayServer } from "../../src/server/gateway-server.ts";
import { createSubscriptions } from "../../src/subscriptions/subscriptions.ts";
import { createWireHandler } from "../../src/wire/wire-handler.ts";
import { allMessages, rawSubscribe } from "../helpers/event-stream-client.ts";

const CONSUMER = "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1700000000";

/** The failure each shard's subscription ends with, after one event: by shard id. */
const FAILURES: Record<string, Error> = {
  "shardId-000000000000": new KinesisError("InternalFailure", "The shard could not be read."),
  "shardId-000000000001": new KinesisError("KMSAccessDeniedException", "Access to the key denied."),
  "shardId-000000000002": new TypeError("a bug"),
};

void suite("an exception while a wire subscription runs", () => {
  let server: GatewayServer;
  let url: string;
  before(async () => {
    const logger = pino({ level: "silent" });
    const subscriptions = createSubscriptions({
      sources: new Map([
        [
          "engine",
          async (input) =>
            (async function* () {
              yield { records: [], continuationSequenceNumber: "1", millisBehindLatest: 0 };
              throw FAILURES[input.shardId!];
            })(),
        ],
      ]),
      backendNameFor: () => "engine",
    });
    const backend = createEngineBackend(createEngine());
    server = createGatewayServer({
      backend,
      logger,
      wireHandler: createWireHandler({
        backend,
        auth: createAuthenticator([]),
        logger,
        tracer: trace.getTracer("test"),
        meter: metrics.getMeter("test"),
        tracing: false,
        maxBodyBytes: 1024 * 1024,
        subscriptions,
      }),
    });
    const address = await server.listen(0, "127.0.0.1");
    url = `http://127.0.0.1:${address.port}`;
  });
  after(() => server.close());

  const exceptionFor = async (shardId: string) => {
    const answer = await rawSubscribe({
      url,
      format: "json",
      http: "2",
      body: Buffer.from(
        JSON.stringify({
          ConsumerARN: CONSUMER,
          ShardId: shardId,
          StartingPosition: { Type: "LATEST" },
        }),
      ),
    });
    try {
      const messages = await allMessages(answer);
      assert.deepEqual(
        messages.slice(0, 2).map((m) => m.eventType),
        ["initial-response", "SubscribeToShardEvent"],
      );
      assert.equal(messages.length, 3, "the exception is the last message");
      const last = messages[2]!;
      assert.equal(last.messageType, "exception");
      return { type: last.exceptionType, message: last.payload.message };
    } finally {
      answer.close();
    }
  };

  void test("InternalFailure is sent as InternalFailureException, with its words", async () => {
    assert.deepEqual(await exceptionFor("shardId-000000000000"), {
      type: "InternalFailureException",
      message: "The shard could not be read.",
    });
  });

  void test("a type the event stream models is sent as it is", async () => {
    assert.deepEqual(await exceptionFor("shardId-000000000001"), {
      type: "KMSAccessDeniedException",
      message: "Access to the key denied.",
    });
  });

  void test("an unexpected error is InternalFailureException, without its internals", async () => {
    assert.deepEqual(await exceptionFor("shardId-000000000002"), {
      type: "InternalFailureException",
      message: "Internal service failure.",
    });
  });
});
