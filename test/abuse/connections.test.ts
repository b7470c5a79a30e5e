/**
 * Attacks on admission: connections that never send anything, bodies
 * trickled a byte a second, connections kept open by PINGs, pipelined
 * requests never read, /metrics asked for thousands of times. Other clients
 * keep being served within 1 s, the gateway's memory stays bounded, and its
 * time-outs and limits close what does not behave.
 */
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import { after, before, suite, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { PutRecordsRequestSchema } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { clientsFor, transports } from "../helpers/gateway.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { envelope } from "../helpers/raw-grpc.ts";
import { connect, underAttack } from "./helpers.ts";

const bounds = { maxMemoryMiB: 384 };

/** Resolves with how long the server took to close the connection (or `limitMs`, if it did not). */
function closedWithin(socket: net.Socket, limitMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(0);
    const timer = setTimeout(() => resolve(limitMs), limitMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
  });
}

void suite("abuse: connections (--idle-timeout-seconds 3, --header-timeout-seconds 2)", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGatewayProcess([
      "--streams",
      "s:4",
      "--idle-timeout-seconds",
      "3",
      "--header-timeout-seconds",
      "2",
    ]);
  });
  after(() => gateway.stop());

  void test("1,000 connections that send nothing neither lock others out nor stay", async () => {
    const sockets: net.Socket[] = [];
    await underAttack(gateway, bounds, async () => {
      for (let i = 0; i < 1_000; i++) {
        const socket = await connect(gateway.port).catch(() => undefined);
        if (socket === undefined) continue;
        socket.on("error", () => undefined);
        sockets.push(socket);
      }
    });
    const open = await Promise.all(sockets.map((s) => closedWithin(s, 4_000)));
    assert.equal(open.filter((ms) => ms >= 4_000).length, 0, "connections left open");
  });

  void test("a body trickled a byte a second is answered and let go of, over HTTP/2 and HTTP/1.1", {
    timeout: 30_000,
  }, async () => {
    let grpcStatus: unknown;
    let wireStatus: number | undefined;
    let wireClosedMs = 0;
    await underAttack(gateway, bounds, async () => {
      const body = envelope(
        toBinary(
          PutRecordsRequestSchema,
          create(PutRecordsRequestSchema, {
            streamName: "s",
            records: [{ partitionKey: "k", data: new Uint8Array(100) }],
          }),
        ),
      );
      const session = http2.connect(gateway.url);
      const grpc = new Promise<void>((resolve) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/kinesis.gateway.v1.ProducerService/PutRecords",
          "content-type": "application/grpc",
          te: "trailers",
        });
        let sent = 0;
        const drip = setInterval(() => stream.write(body.subarray(sent, ++sent)), 1_000);
        stream.on("trailers", (t) => {
          grpcStatus = t["grpc-status"];
        });
        stream.on("data", () => undefined);
        stream.on("error", () => undefined);
        stream.on("close", () => {
          clearInterval(drip);
          resolve();
        });
      });
      const socket = await connect(gateway.port);
      const wire = new Promise<void>((resolve) => {
        let answer = "";
        socket.setEncoding("latin1").on("data", (chunk: string) => {
          answer += chunk;
          wireStatus ??= Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1]) || undefined;
        });
        socket.write(
          "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n" +
            "X-Amz-Target: Kinesis_20131202.PutRecord\r\n" +
            "Authorization: AWS4-HMAC-SHA256 Credential=key/20260101/us-east-1/kinesis/aws4_request\r\n" +
            "Content-Length: 100\r\n\r\n",
        );
        const drip = setInterval(() => socket.write("{"), 1_000);
        const started = performance.now();
        socket.on("close", () => {
          clearInterval(drip);
          wireClosedMs = performance.now() - started;
          resolve();
        });
      });
      await Promise.all([grpc, wire]);
      session.close();
    });
    assert.equal(grpcStatus, "4", "DEADLINE_EXCEEDED");
    assert.equal(wireStatus, 408);
    assert.ok(wireClosedMs < 15_000, `closed after ${wireClosedMs} ms`);
  });

  void test("an HTTP/2 connection with no calls is closed after the idle time-out, PINGs or not", async () => {
    const session = http2.connect(gateway.url);
    await new Promise<void>((resolve) => session.once("connect", () => resolve()));
    const pinging = setInterval(() => session.ping(() => undefined), 300);
    const started = performance.now();
    const closedMs = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => resolve(10_000), 10_000);
      session.once("close", () => {
        clearTimeout(timer);
        resolve(performance.now() - started);
      });
    });
    clearInterval(pinging);
    assert.ok(closedMs < 5_000, `closed after ${closedMs} ms`);
  });

  void test("85,000 pipelined GET /metrics never read cost a connection, not the server", async () => {
    let closedMs = 0;
    await underAttack(gateway, bounds, async () => {
      const socket = await connect(gateway.port);
      socket.on("error", () => undefined);
      socket.pause(); // never reads its answers
      const request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
      const started = performance.now();
      for (let i = 0; i < 85; i++) socket.write(request.repeat(1_000));
      closedMs = await closedWithin(socket, 4_000);
      socket.destroy();
      if (closedMs < 4_000) closedMs = performance.now() - started;
    });
    assert.ok(closedMs < 4_000, "the connection was not closed");
  });

  void test("scrapes within a second share one rendering of /metrics, however many ask", async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
    const bodies: Promise<string>[] = [];
    for (let i = 0; i < 30; i++) {
      // Each scrape follows a write that changes the counters.
      await producer.putRecord({ streamName: "s", partitionKey: `k${i}`, data: Buffer.from("x") });
      bodies.push(fetch(`${gateway.url}/metrics`).then((res) => res.text()));
    }
    const distinct = new Set(await Promise.all(bodies));
    assert.ok((await bodies[0]!).includes("kinesis_gateway_records_written"), "no metrics");
    // Rendered afresh at most once a second: the 30 scrapes span one or two renderings.
    assert.ok(distinct.size <= 2, `${distinct.size} renderings for 30 scrapes`);
  });

  void test("a client that stops mid-preface, or sends headers a line at a time, is cut off", async () => {
    const preface = await connect(gateway.port);
    preface.write("PRI * HTTP/2.0\r\n");
    const slow = await connect(gateway.port);
    slow.on("error", () => undefined);
    slow.write("POST /kinesis.gateway.v1.ProducerService/PutRecord HTTP/1.1\r\nHost: x\r\n");
    const drip = setInterval(() => slow.write("X-Slow: y\r\n"), 200);
    const [prefaceMs, slowMs] = await Promise.all([
      closedWithin(preface, 5_000),
      closedWithin(slow, 5_000),
    ]);
    clearInterval(drip);
    assert.ok(prefaceMs < 5_000 && slowMs < 5_000, `${prefaceMs} ms, ${slowMs} ms`);
  });

  void test("oversized headers are refused with 431", async () => {
    const res = await fetch(`${gateway.url}/healthz`, {
      headers: { "x-big": "y".repeat(64 * 1024) },
    });
    assert.equal(res.status, 431);
  });
});

void suite("abuse: --metrics-port keeps /metrics off the public port", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGatewayProcess(["--streams", "s:1", "--metrics-port", "0"]);
  });
  after(() => gateway.stop());

  void test("/metrics answers on its own port and 404 on the public one", async () => {
    const line = gateway
      .stdout()
      .split("\n")
      .find((l) => l.includes("kinesis-gateway listening"));
    const metricsUrl = (JSON.parse(line!) as { metrics: string }).metrics;
    assert.notEqual(new URL(metricsUrl).port, String(gateway.port));
    const own = await fetch(metricsUrl);
    assert.equal(own.status, 200);
    assert.match(await own.text(), /# HELP/);
    assert.equal((await fetch(`${gateway.url}/metrics`)).status, 404);
    const res = await new Promise<number | undefined>((resolve, reject) =>
      http.get(`${gateway.url}/healthz`, (r) => resolve(r.statusCode)).on("error", reject),
    );
    assert.equal(res, 200);
  });
});
