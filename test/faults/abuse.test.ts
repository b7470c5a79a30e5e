/**
 * Clients that misbehave on purpose: slow headers, a flood of connections,
 * oversized headers. The gateway cuts them off, keeps serving everyone else,
 * and its memory stays bounded.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { suite, test } from "node:test";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";

/** Resolves with how long the server took to close the connection. */
function closedAfter(socket: net.Socket): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => socket.once("close", () => resolve(performance.now() - started)));
}

const connect = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });

void suite("abusive clients", () => {
  const gateway = useGateway([
    "--streams",
    "orders:1",
    "--header-timeout-seconds",
    "1",
    "--max-connections",
    "64",
  ]);
  const healthy = async () => {
    const res = await fetch(`${gateway.current.url}/healthz`);
    assert.equal(res.status, 200);
  };

  void test("a slowloris client is cut off while others are served", async () => {
    const socket = await connect(gateway.current.port);
    socket.on("error", () => undefined);
    const closed = closedAfter(socket);
    socket.write("POST /kinesis.gateway.v1.ProducerService/PutRecord HTTP/1.1\r\nHost: x\r\n");
    const drip = setInterval(() => socket.write("X-Slow: y\r\n"), 200);
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    await producer.putRecord({ streamName: "orders", partitionKey: "k", data: Buffer.from("x") });
    const ms = await closed;
    clearInterval(drip);
    assert.ok(ms < 4_000, `held for ${ms.toFixed(0)} ms`);
  });

  void test("a connection that never sends a byte is closed", async () => {
    const socket = await connect(gateway.current.port);
    const ms = await closedAfter(socket);
    assert.ok(ms >= 900 && ms < 3_000, `closed after ${ms.toFixed(0)} ms`);
  });

  void test("an HTTP/2 client that stops mid-preface is closed", async () => {
    const socket = await connect(gateway.current.port);
    socket.write("PRI * HTTP/2.0\r\n");
    const ms = await closedAfter(socket);
    assert.ok(ms < 3_000, `closed after ${ms.toFixed(0)} ms`);
  });

  void test("a flood of idle connections is capped and cleared, and memory stays bounded", async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const sockets = await Promise.all(
      Array.from({ length: 300 }, () =>
        connect(gateway.current.port).then(
          (s) => {
            s.on("error", () => undefined);
            return s;
          },
          () => undefined,
        ),
      ),
    );
    const opened = sockets.filter((s) => s !== undefined);
    // Within a few seconds all of them are gone (refused past the cap, or cut
    // off after the 1 s header time-out); the server closes them, not the test.
    await Promise.race([
      Promise.all(opened.map((s) => (s.destroyed ? Promise.resolve(0) : closedAfter(s)))),
      new Promise((resolve) => setTimeout(resolve, 4_000)),
    ]);
    assert.equal(opened.filter((s) => !s.destroyed).length, 0, "connections still open after 4 s");
    await healthy();
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 50 * 1024 * 1024);
  });

  void test("oversized headers are refused with 431", async () => {
    const res = await fetch(`${gateway.current.url}/healthz`, {
      headers: { "x-big": "y".repeat(64 * 1024) },
    });
    assert.equal(res.status, 431);
    await healthy();
  });
});
