/**
 * A well-behaved client, in a process of its own so that an attack run by
 * the test process cannot slow it down: every 100 ms a gRPC `PutRecord` on
 * its one long-lived connection, every 250 ms `GET /healthz` on a new
 * connection. It prints one JSON line per call: what it was, how long it
 * took, and the error if it failed. It stops when its stdin closes.
 *
 *   node test/abuse/victim.ts <gateway url> <stream>
 */
import http from "node:http";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ProducerService } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";

const [url = "", streamName = "s", token] = process.argv.slice(2);
const producer = createClient(
  ProducerService,
  createGrpcTransport({
    baseUrl: url,
    interceptors: token
      ? [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${token}`);
            return next(req);
          },
        ]
      : [],
  }),
);

function report(kind: string, started: number, error?: unknown): void {
  const ms = performance.now() - started;
  const line = { kind, ms: Math.round(ms), ...(error ? { error: String(error) } : {}) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const put = async () => {
  const started = performance.now();
  try {
    await producer.putRecord(
      { streamName, partitionKey: "victim", data: Buffer.from("still here") },
      { timeoutMs: 5_000 },
    );
    report("put", started);
  } catch (err) {
    report("put", started, err);
  }
};

const health = () => {
  const started = performance.now();
  const req = http.get(`${url}/healthz`, { agent: false, timeout: 5_000 }, (res) => {
    res.resume();
    res.on("end", () =>
      report("health", started, res.statusCode === 200 ? undefined : res.statusCode),
    );
  });
  req.on("timeout", () => req.destroy(new Error("timed out")));
  req.on("error", (err) => report("health", started, err));
};

const timers = [setInterval(put, 100), setInterval(health, 250)];
process.stdin.resume();
process.stdin.on("end", () => {
  for (const timer of timers) clearInterval(timer);
  setTimeout(() => process.exit(0), 200);
});
process.stdout.write(`${JSON.stringify({ kind: "ready" })}\n`);
