/**
 * Produce against clients that misbehave: a message naming no stream, 10,000
 * records in one message, repeated ids, an oversized partition key, a stream
 * the token may not use, a client that cancels mid-stream, one that never
 * reads its acks, one that streams 40 MiB. Each gets a clear answer, and the
 * gateway goes on serving others.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type ProduceAck,
  type ProduceRecord,
  ProduceRequestSchema,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { planMemory } from "../../src/memory-plan.ts";
import { DEFAULT_READ_MAX_BYTES } from "../../src/server/gateway-server.ts";
import { useGateway, withBearerToken } from "../helpers/gateway.ts";
import { codeCounts, oneAckEach, produce, produceClient, records } from "../helpers/produce.ts";
import { envelope } from "../helpers/raw-grpc.ts";

const FULL = "full-access-token-0123456789";
const LIMITED = "pub-only-token-0123456789ab";
const MAX_MEMORY_MIB = 256;
const MiB = 1024 * 1024;

const tokens = join(mkdtempSync(join(tmpdir(), "tokens-")), "tokens");
writeFileSync(tokens, `${FULL}\n${LIMITED} pub*\n`);

type Record = Omit<ProduceRecord, "$typeName" | "$unknown">;
const record = (id: bigint, key: string, data = `record ${id}`): Record => ({
  id,
  partitionKey: key,
  data: new TextEncoder().encode(data),
  explicitHashKey: "",
});

void suite("Produce against hostile clients", () => {
  const gateway = useGateway([
    "--streams",
    "pub:4,secret:1",
    "--throttle",
    "off",
    "--auth-tokens-file",
    tokens,
    "--max-memory-mib",
    String(MAX_MEMORY_MIB),
  ]);
  const client = (token = FULL) =>
    produceClient(gateway.current.url, { interceptors: [withBearerToken(token)] });

  /** One call of the messages given, half-closed after them; every ack, by id. */
  async function call(
    messages: { streamName?: string; records: Record[] }[],
    token = FULL,
  ): Promise<ProduceAck[]> {
    async function* requests() {
      for (const m of messages) yield create(ProduceRequestSchema, m);
    }
    const acks: ProduceAck[] = [];
    for await (const response of client(token).produce(requests())) acks.push(...response.acks);
    return acks;
  }

  /** Another client is served: 100 records of 10 keys, all written. */
  async function assertServing(streamName = "pub"): Promise<void> {
    const sent = records(100, 10, "healthy");
    const acks = await call([
      {
        streamName,
        records: sent.map((r) => record(r.id, r.key, r.data)),
      },
    ]);
    const byId = oneAckEach(sent, acks);
    for (const ack of byId.values()) assert.equal(ack.errorCode, "", ack.errorMessage);
  }

  void test("a message naming no stream: its records are refused in AWS's words, the next message is written", async () => {
    const acks = await call([
      { records: [record(1n, "k"), record(2n, "k")] },
      { streamName: "pub", records: [record(3n, "k")] },
    ]);
    assert.equal(acks.length, 3);
    const byId = new Map(acks.map((ack) => [ack.id, ack]));
    for (const id of [1n, 2n]) {
      assert.match(byId.get(id)!.errorCode, /^(ValidationException|InvalidArgumentException)$/);
      assert.notEqual(byId.get(id)!.errorMessage, "");
    }
    assert.equal(byId.get(3n)!.errorCode, "");
    await assertServing();
  });

  void test("10,000 records in one message: one ack each, all written", async () => {
    const sent = records(10_000, 100);
    const acks = await call([
      { streamName: "pub", records: sent.map((r) => record(r.id, r.key, r.data)) },
    ]);
    const byId = oneAckEach(sent, acks);
    assert.deepEqual(codeCounts(byId.values()), { "": 10_000 });
    await assertServing();
  });

  void test("repeated ids: one ack per record received, each with its own sequence number", async () => {
    const acks = await call([
      { streamName: "pub", records: [7n, 7n, 7n, 8n, 7n].map((id, i) => record(id, `k${i}`)) },
    ]);
    assert.equal(acks.length, 5);
    assert.deepEqual(acks.map((ack) => ack.id).sort(), [7n, 7n, 7n, 7n, 8n]);
    for (const ack of acks) assert.equal(ack.errorCode, "", ack.errorMessage);
    assert.equal(new Set(acks.map((ack) => ack.sequenceNumber)).size, 5);
  });

  void test("an oversized partition key: that record refused, its neighbours written", async () => {
    const acks = await call([
      {
        streamName: "pub",
        records: [record(1n, "a"), record(2n, "k".repeat(257)), record(3n, "b")],
      },
    ]);
    const byId = new Map(acks.map((ack) => [ack.id, ack]));
    assert.equal(byId.size, 3);
    assert.equal(byId.get(2n)!.errorCode, "ValidationException");
    assert.match(byId.get(2n)!.errorMessage, /Member must have length less than or equal to 256/);
    assert.equal(byId.get(1n)!.errorCode, "");
    assert.equal(byId.get(3n)!.errorCode, "");
  });

  void test("a stream the token may not use: AccessDeniedException per record; no token: UNAUTHENTICATED", async () => {
    const acks = await call(
      [
        { streamName: "secret", records: [record(1n, "k")] },
        { streamName: "pub", records: [record(2n, "k")] },
      ],
      LIMITED,
    );
    const byId = new Map(acks.map((ack) => [ack.id, ack]));
    assert.equal(byId.get(1n)!.errorCode, "AccessDeniedException");
    assert.equal(byId.get(2n)!.errorCode, "");
    await assert.rejects(
      call([{ streamName: "pub", records: [record(3n, "k")] }], "not-a-token-0123456789abcdef"),
      (err) => ConnectError.from(err).code === Code.Unauthenticated,
    );
    await assertServing();
  });

  void test("a client that cancels mid-stream: the gateway goes on serving", async () => {
    const controller = new AbortController();
    async function* requests() {
      for (let i = 0; ; i++) {
        yield create(ProduceRequestSchema, {
          streamName: "pub",
          records: Array.from({ length: 100 }, (_, j) => record(BigInt(i * 100 + j), `k${j}`)),
        });
        await sleep(5);
      }
    }
    let acked = 0;
    await assert.rejects(
      (async () => {
        for await (const response of client().produce(requests(), {
          signal: controller.signal,
        })) {
          acked += response.acks.length;
          if (acked >= 1_000) controller.abort();
        }
      })(),
      (err) => ConnectError.from(err).code === Code.Canceled,
    );
    await assertServing();
  });

  void test("a client that never reads its acks is held back within the buffer budget; others are served meanwhile", async (t) => {
    // Raw HTTP/2: a generated client reads what comes. 500 records of 1 KiB a message.
    const session = http2.connect(gateway.current.url);
    const stream = session.request({
      ":method": "POST",
      ":path": "/kinesis.gateway.v1.ProducerService/Produce",
      "content-type": "application/grpc",
      te: "trailers",
      authorization: `Bearer ${FULL}`,
    });
    stream.pause(); // never read: no acks, and no window for more
    let ended: string | undefined;
    stream.on("error", (err: Error) => {
      ended = err.message;
    });
    const started = performance.now();
    let written = 0;
    for (let message = 0; ; message++) {
      const body = toBinary(
        ProduceRequestSchema,
        create(ProduceRequestSchema, {
          streamName: "pub",
          records: Array.from({ length: 500 }, (_, i) =>
            record(BigInt(message * 500 + i), `k${i}`, "x".repeat(1024)),
          ),
        }),
      );
      const flowing = stream.write(envelope(body));
      written += body.length;
      if (stream.destroyed) break;
      if (!flowing) {
        const drained = await Promise.race([
          new Promise<boolean>((resolve) => stream.once("drain", () => resolve(true))),
          sleep(3_000).then(() => false),
        ]);
        if (!drained) break;
      }
      assert.ok(written < 256 * MiB, "the gateway took 256 MiB from a client that reads nothing");
    }
    t.diagnostic(
      `${(written / MiB).toFixed(1)} MiB written in ${Math.round(performance.now() - started)} ms; ended: ${ended}`,
    );
    // Bounded: one call's share of the buffer budget (a quarter of a stream's), plus HTTP/2
    // windows and socket buffers.
    const budget = planMemory(MAX_MEMORY_MIB, DEFAULT_READ_MAX_BYTES, 0).producerBytes;
    assert.ok(
      written <= budget / 8 + 16 * MiB,
      `${(written / MiB).toFixed(1)} MiB taken from a client that reads nothing`,
    );
    // Other producers, of another stream or of the same one, are served while the
    // reader-less call is still open (the gateway cuts it for not reading only after 10 s).
    await assertServing("secret");
    const waiting = performance.now();
    await assertServing("pub");
    const waitedMs = performance.now() - waiting;
    t.diagnostic(`the same stream's next producer waited ${Math.round(waitedMs)} ms; ${ended}`);
    assert.ok(waitedMs < 5_000, `the same stream's producer waited ${Math.round(waitedMs)} ms`);
    stream.destroy();
    session.destroy();
    await assertServing();
  });

  void test("40 MiB through one stream: every record written (a long stream does not exhaust the request budget)", async () => {
    const sent = records(5_000, 50).map((r) => ({ ...r, data: r.data.padEnd(8 * 1024, "x") }));
    const acks = await produce(gateway.current.url, "pub", sent, 50, "", [withBearerToken(FULL)]);
    const byId = oneAckEach(sent, acks);
    assert.deepEqual(codeCounts(byId.values()), { "": 5_000 });
    await assertServing();
  });
});
