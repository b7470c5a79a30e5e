/**
 * Refused records cost the gateway no more than taken ones: an ack's text is
 * bounded (AWS's texts quote what was refused, of any length), and acks of
 * refused records hold room in the buffer budget until they are written, so a
 * client that sends refused records without reading their acks is held back.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ProduceAck,
  type ProduceRequest,
  ProduceRequestSchema,
  ProducerService,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { createBufferBudget } from "../../src/producer/buffer-budget.ts";
import type { Producer } from "../../src/producer/producer.ts";
import {
  createProduceHandler,
  fitAckMessage,
  MAX_ACK_MESSAGE_BYTES,
} from "../../src/services/produce.ts";
import { useGateway, useGatewayWithMetrics } from "../helpers/gateway.ts";

const utf8 = (text: string) => Buffer.byteLength(text, "utf8");

void suite("Produce refusals", () => {
  void test("ack texts are at most 1 KiB, cut between characters, ends kept", () => {
    assert.equal(fitAckMessage("short"), "short");
    for (const unit of ["k", "é", "€", "😀"]) {
      const long = `1 validation error detected: Value '${unit.repeat(300_000)}' at 'partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256`;
      const fitted = fitAckMessage(long);
      assert.ok(utf8(fitted) <= MAX_ACK_MESSAGE_BYTES, `${unit}: ${utf8(fitted)} bytes`);
      assert.ok(fitted.startsWith("1 validation error detected: Value '"));
      assert.ok(fitted.endsWith("Member must have length less than or equal to 256"));
      assert.match(fitted, /characters left out/);
      assert.equal(fitted, fitted.toWellFormed(), "no half of a surrogate pair");
      assert.ok(!fitted.includes("\uFFFD"), "no character cut in two");
    }
  });

  const gateway = useGateway(["--streams", "plain:1"]);

  void test("a stream name of 200,000 characters, 2,000 records: small acks, small answers", async () => {
    const client = createClient(
      ProducerService,
      createGrpcTransport({ baseUrl: gateway.current.url }),
    );
    async function* requests() {
      yield create(ProduceRequestSchema, {
        streamName: "x".repeat(200_000),
        records: Array.from({ length: 2_000 }, (_, i) => ({ id: BigInt(i), partitionKey: "k" })),
      });
      yield create(ProduceRequestSchema, {
        streamName: "plain",
        records: [
          { id: 5_000n, partitionKey: "k", explicitHashKey: "9".repeat(100_000) },
          { id: 5_001n, partitionKey: "é".repeat(100_000) },
        ],
      });
    }
    const acks: ProduceAck[] = [];
    for await (const response of client.produce(requests())) {
      assert.ok(response.acks.length * (MAX_ACK_MESSAGE_BYTES + 256) < 4 * 1024 * 1024);
      acks.push(...response.acks);
    }
    assert.equal(acks.length, 2_002);
    for (const ack of acks) {
      assert.equal(ack.errorCode, "ValidationException");
      assert.ok(utf8(ack.errorMessage) <= MAX_ACK_MESSAGE_BYTES, `${utf8(ack.errorMessage)} bytes`);
    }
  });

  void test("refused records' acks not read: the stream is not read either", async () => {
    const producer: Producer = {
      put() {
        throw new Error("nothing is taken");
      },
      held: 0,
      flushAll() {},
      abandon() {},
    };
    const budget = createBufferBudget(1024 * 1024, 512 * 1024);
    const handler = createProduceHandler({
      producer,
      budget,
      recordTtlMs: 30_000,
      shutdown: new AbortController().signal,
    });
    let read = 0;
    async function* requests(): AsyncGenerator<ProduceRequest> {
      for (;;) {
        read++;
        yield create(ProduceRequestSchema, {
          streamName: "s",
          records: Array.from({ length: 1_000 }, (_, i) => ({ id: BigInt(i), partitionKey: "" })),
        });
      }
    }
    const abort = new AbortController();
    const ctx = {
      signal: abort.signal,
      timeoutMs: () => undefined,
      values: { get: () => undefined },
    } as unknown as HandlerContext;
    const responses = handler(requests(), ctx);
    // The first answer is taken, and no other: the client reads no more.
    await responses.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // 1 MiB of budget, some 400 bytes an ack: a few messages of 1,000, not an endless pile.
    assert.ok(read < 10, `${read} messages read`);
    assert.ok(budget.bytes <= 1024 * 1024);
    abort.abort();
    await responses.return(undefined);
  });
});

void suite("Produce metrics: stream names", () => {
  const gateway = useGatewayWithMetrics(["--streams", "real:1"]);

  void test("a stream that does not exist is no label", async () => {
    const client = createClient(
      ProducerService,
      createGrpcTransport({ baseUrl: gateway.current.url }),
    );
    async function* requests() {
      for (let i = 0; i < 20; i++) {
        yield create(ProduceRequestSchema, {
          streamName: `made-up-${i}`,
          records: [{ id: BigInt(i), partitionKey: "k" }],
        });
      }
      yield create(ProduceRequestSchema, {
        streamName: "real",
        records: [{ id: 100n, partitionKey: "k" }],
      });
    }
    const acks: ProduceAck[] = [];
    for await (const response of client.produce(requests())) acks.push(...response.acks);
    assert.equal(acks.length, 21);
    assert.equal(acks.filter((a) => a.errorCode === "ResourceNotFoundException").length, 20);
    const text = await (await fetch(`${gateway.current.url}/metrics`)).text();
    assert.ok(!text.includes("made-up-"), "no made-up stream name in /metrics");
    assert.match(
      text,
      /kinesis_gateway_records_written_total\{[^}]*messaging_destination_name="real"/,
    );
  });
});
