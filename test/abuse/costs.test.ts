/**
 * What an outside attack found after the first round: requests that cost far
 * more decoded than their bytes (compressed padding, millions of empty JSON
 * or CBOR objects), streaming calls by the ten thousand, connections each
 * holding one, and readers that never read their answers. The same checks as
 * every abuse test: memory under the bound from /proc, a well-behaved client
 * served within 1 s, nothing logged at error level.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, suite, test } from "node:test";
import { gzipSync } from "node:zlib";
import { Encoder } from "cbor-x";
import { planMemory } from "../../src/memory-plan.ts";
import { DEFAULT_READ_MAX_BYTES } from "../../src/server/gateway-server.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { envelope } from "../helpers/raw-grpc.ts";
import { underAttack } from "./helpers.ts";

const bounds = { maxMemoryMiB: 384 };
const TOKEN = "costs-test-token-0123456789";
const SIGNED = `AWS4-HMAC-SHA256 Credential=${TOKEN}/20260101/us-east-1/kinesis/aws4_request`;

/** A gRPC call on `session` with the headers given; resolves with its status (or the reset). */
function grpcCall(
  session: http2.ClientHttp2Session,
  path: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let status: string | undefined;
    stream.on("response", (h) => {
      // A streaming call that is served answers its headers at once, its status at the end.
      status = h["grpc-status"] === undefined ? "open" : String(h["grpc-status"]);
    });
    stream.on("trailers", (t) => {
      status = String(t["grpc-status"]);
    });
    stream.on("data", () => undefined);
    stream.on("error", () => undefined);
    stream.on("close", () => resolve(status ?? `reset ${stream.rstCode}`));
    stream.end(body);
  });
}

void suite("abuse: what decoding and streaming cost (tokens on)", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGatewayProcess(["--streams", "s:4"], {
      KINESIS_GATEWAY_AUTH_TOKENS: TOKEN,
    });
  });
  after(() => gateway.stop());
  const victim = { stream: "s", token: TOKEN };

  void test("compressed requests padded with unknown fields are refused or skipped, not kept", async () => {
    // 7.5 MB of unknown field 15, gzipped to a few kilobytes.
    const padded = Buffer.concat([Buffer.from([0x0a, 0x01, 0x73]), Buffer.alloc(7_500_000)]);
    for (let i = 3; i < padded.length; i += 2) padded[i] = 0x78;
    const body = envelope(gzipSync(padded), 1);
    const outcomes: string[] = [];
    await underAttack(
      gateway,
      bounds,
      async () => {
        const session = http2.connect(gateway.url);
        session.on("error", () => undefined);
        const calls = [];
        for (let i = 0; i < 10; i++) {
          // Health needs no token; the others are refused for theirs after the read.
          calls.push(
            grpcCall(session, "/grpc.health.v1.Health/Watch", body, { "grpc-encoding": "gzip" }),
          );
          calls.push(
            grpcCall(session, "/kinesis.gateway.v1.StreamService/DescribeStreamSummary", body, {
              "grpc-encoding": "gzip",
              authorization: `Bearer ${TOKEN}`,
            }),
          );
        }
        outcomes.push(...(await Promise.all(calls)));
        session.close();
      },
      victim,
    );
    // RESOURCE_EXHAUSTED: larger than any such request (4 KiB for health, 256 KiB for streams).
    assert.deepEqual([...new Set(outcomes)], ["8"]);
  });

  void test("JSON and CBOR bodies of millions of empty objects are refused before they are decoded", async () => {
    const answers: string[] = [];
    await underAttack(
      gateway,
      bounds,
      async () => {
        const cbor = Buffer.from(
          new Encoder().encode({ StreamName: "s", Records: Array(2_000_000).fill({}) }),
        );
        const json = Buffer.from(
          `{"StreamName":"s","Tags":[${Array(2_000_000).fill("{}").join(",")}]}`,
        );
        for (const [type, body, target] of [
          ["application/x-amz-cbor-1.1", cbor, "DescribeStreamSummary"],
          ["application/x-amz-json-1.1", json, "DescribeStreamSummary"],
          ["application/x-amz-cbor-1.1", cbor, "PutRecords"],
        ] as const) {
          const res = await fetch(gateway.url, {
            method: "POST",
            headers: {
              "content-type": type,
              "x-amz-target": `Kinesis_20131202.${target}`,
              authorization: SIGNED,
            },
            body,
          });
          answers.push(`${res.status} ${res.headers.get("content-type")}`);
          await res.arrayBuffer();
        }
      },
      victim,
    );
    assert.deepEqual(
      answers.map((a) => a.split(" ")[0]),
      ["400", "400", "400"],
    );
  });

  void test("a thousand connections each holding a health watch do not lock others out", async () => {
    const sessions: http2.ClientHttp2Session[] = [];
    await underAttack(
      gateway,
      bounds,
      async () => {
        // Four client addresses (127.0.0.2–5), as many connections as the gateway takes in all.
        for (let i = 0; i < 1_000; i++) {
          const session = http2.connect(gateway.url, {
            localAddress: `127.0.0.${2 + (i % 4)}`,
          } as http2.SecureClientSessionOptions);
          session.on("error", () => undefined);
          sessions.push(session);
          void grpcCall(session, "/grpc.health.v1.Health/Watch", envelope(Buffer.alloc(0)));
          if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      },
      victim,
    );
    for (const session of sessions) session.destroy();
  });

  void test("readers that never read their answers are cut off, and hold no more than answers may", {
    timeout: 60_000,
  }, async () => {
    // A stream of 50 shards, 500 KB each.
    const wire = (target: string, body: unknown) =>
      fetch(gateway.url, {
        method: "POST",
        headers: {
          "content-type": "application/x-amz-json-1.1",
          "x-amz-target": `Kinesis_20131202.${target}`,
          authorization: SIGNED,
        },
        body: JSON.stringify(body),
      }).then((res) => res.json() as Promise<Record<string, unknown>>);
    await wire("CreateStream", { StreamName: "big", ShardCount: 50 });
    const data = Buffer.alloc(100_000, 7).toString("base64");
    for (let round = 0; round < 5; round++) {
      await wire("PutRecords", {
        StreamName: "big",
        Records: Array.from({ length: 50 }, (_, shard) => ({
          Data: data,
          PartitionKey: "k",
          ExplicitHashKey: ((2n ** 128n / 50n) * BigInt(shard)).toString(),
        })),
      });
    }
    const iterators = await Promise.all(
      Array.from({ length: 50 }, async (_, shard) => {
        const out = await wire("GetShardIterator", {
          StreamName: "big",
          ShardId: `shardId-${String(shard).padStart(12, "0")}`,
          ShardIteratorType: "TRIM_HORIZON",
        });
        return out.ShardIterator as string;
      }),
    );
    let answered = 0;
    let cut = 0;
    await underAttack(
      gateway,
      bounds,
      async () => {
        // Connections that open no window: the answers cannot leave.
        const sessions = Array.from({ length: 40 }, () =>
          http2.connect(gateway.url, { settings: { initialWindowSize: 0 } }),
        );
        const reads: Promise<void>[] = [];
        for (let round = 0; round < 4; round++) {
          for (const [i, session] of sessions.entries()) {
            session.on("error", () => undefined);
            const stream = session.request({
              ":method": "POST",
              ":path": "/",
              "content-type": "application/x-amz-json-1.1",
              "x-amz-target": "Kinesis_20131202.GetRecords",
              authorization: SIGNED,
            });
            reads.push(
              new Promise((resolve) => {
                stream.on("response", (h) => {
                  if (h[":status"] === 200) answered++;
                });
                stream.on("error", () => undefined);
                stream.on("close", () => {
                  if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) cut++;
                  resolve();
                });
              }),
            );
            stream.end(JSON.stringify({ ShardIterator: iterators[(i + round) % 50] }));
          }
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        // Stalled answers are cut off within the stall time (10 s).
        await Promise.race([Promise.all(reads), new Promise((r) => setTimeout(r, 15_000))]);
        for (const session of sessions) session.destroy();
      },
      victim,
    );
    assert.ok(answered > 0, "no answer began");
    assert.ok(cut > 0, `${cut} of ${answered} answers cut off`);
  });
});

// Its own gateway: a burst this size leaves the process's resident memory
// where it peaked (Node returns little of it), and later attacks would start there.
void suite("abuse: thousands of streaming calls at once", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGatewayProcess(["--streams", "s:4"], {
      KINESIS_GATEWAY_AUTH_TOKENS: TOKEN,
    });
  });
  after(() => gateway.stop());
  const victim = { stream: "s", token: TOKEN };

  void test("2,500 streaming calls at once are capped, and the gateway stays within its bound", async () => {
    const outcomes = new Map<string, number>();
    await underAttack(
      gateway,
      bounds,
      async () => {
        const sessions = Array.from({ length: 25 }, () =>
          http2.connect(gateway.url, { settings: { enablePush: false } }),
        );
        const calls = sessions.flatMap((session) => {
          session.on("error", () => undefined);
          return Array.from({ length: 100 }, () =>
            grpcCall(session, "/grpc.health.v1.Health/Watch", envelope(Buffer.alloc(0))),
          );
        });
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        for (const session of sessions) session.destroy();
        for (const outcome of await Promise.all(calls)) {
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        }
      },
      victim,
    );
    // Past the cap, refused with REFUSED_STREAM (7), and sessions that kept asking were
    // closed; never more open at once than the cap.
    const open = outcomes.get("open") ?? 0;
    const cap = planMemory(384, DEFAULT_READ_MAX_BYTES, 1000).streamingCalls;
    assert.ok(open > 0 && open <= cap, JSON.stringify([...outcomes]));
    assert.ok((outcomes.get("reset 7") ?? 0) > 0, JSON.stringify([...outcomes]));
  });
});
