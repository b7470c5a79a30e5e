// Reproduction (an outside tester's): wire SubscribeToShard subscriptions that
// never read take the gateway far past --max-memory-mib (384 by default).
// Not a suite test (it takes a minute and two cores); run it by hand:
//   node_modules/.bin/node test/attack/subscription-memory.repro.mjs [h1|h2|both] [count]
// It starts bin/kinesis-gateway.js with defaults and a 50-shard stream, writes
// ~60 MB, registers 20 consumers, opens `count` subscriptions at TRIM_HORIZON
// that never read, waits 25 s, and reads VmHWM from /proc. Exits 1 when the
// peak is over the bound. Measured (2 cores, Node 24.21): 150 over HTTP/1.1
// 515-578 MB; 150 over h2c 486-698 MB; 150 + 150 900-960 MB; the same writes
// without subscriptions 314 MB.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { fileURLToPath } from "node:url";

const mode = process.argv[2] ?? "h1";
const count = Number(process.argv[3] ?? 150);
const AUTH =
  "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const bin = fileURLToPath(new URL("../../bin/kinesis-gateway.js", import.meta.url));
const gw = spawn(
  process.execPath,
  [bin, "--port", "0", "--host", "127.0.0.1", "--streams", "m:50", "--log-level", "info"],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const killTimer = setTimeout(() => gw.kill("SIGKILL"), 180_000);
const port = await new Promise((resolve) => {
  let out = "";
  gw.stdout.on("data", (d) => {
    out += d;
    const m = /"port":(\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
});
const hwm = () =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${gw.pid}/status`, "utf8"))[1]) / 1024;
async function call(op, body) {
  const r = await fetch(`http://127.0.0.1:${port}/`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `Kinesis_20131202.${op}`,
      authorization: AUTH,
    },
  });
  return { status: r.status, ...(await r.json()) };
}
const shardId = (i) => `shardId-${String(i).padStart(12, "0")}`;
const hashKey = (i) => ((2n ** 128n / 50n) * BigInt(i) + 1n).toString();
const data = Buffer.alloc(100 * 1024, 7).toString("base64");
for (let round = 0; round < 12; round++) {
  await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      call("PutRecords", {
        StreamName: "m",
        Records: Array.from({ length: 5 }, () => ({
          Data: data,
          PartitionKey: "p",
          ExplicitHashKey: hashKey(i),
        })),
      }),
    ),
  );
  await sleep(100);
}
const streamArn = (await call("DescribeStreamSummary", { StreamName: "m" }))
  .StreamDescriptionSummary.StreamARN;
const consumers = [];
for (let i = 0; i < 20; i++) {
  let r;
  do {
    r = await call("RegisterStreamConsumer", { StreamARN: streamArn, ConsumerName: `c${i}` });
    if (r.status !== 200) await sleep(300);
  } while (r.status !== 200);
  consumers.push(r.Consumer.ConsumerARN);
}
await sleep(500);
const before = hwm();
const body = (n) =>
  JSON.stringify({
    ConsumerARN: consumers[Math.floor(n / 50)],
    ShardId: shardId(n % 50),
    StartingPosition: { Type: "TRIM_HORIZON" },
  });
const headers = {
  "content-type": "application/x-amz-json-1.1",
  "x-amz-target": "Kinesis_20131202.SubscribeToShard",
  authorization: AUTH,
};
const held = [];
let n = 0;
if (mode === "h2" || mode === "both") {
  for (let i = 0; i < count; i++) {
    if (i % 75 === 0) {
      const s = http2.connect(`http://127.0.0.1:${port}`);
      s.on("error", () => {});
      held.push(s);
    }
    const req = held.at(-1).request({ ":method": "POST", ":path": "/", ...headers });
    req.on("error", () => {});
    req.pause();
    req.end(body(n++));
  }
}
if (mode === "h1" || mode === "both") {
  for (let i = 0; i < count; i++) {
    const req = http.request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/",
      agent: false,
      headers,
    });
    req.on("response", (res) => res.pause());
    req.on("error", () => {});
    req.end(body(n++));
    held.push(req);
  }
}
await sleep(25_000);
const peak = hwm();
console.log(
  `${mode} x${count}: VmHWM before subscribing ${before.toFixed(0)} MiB, after ${peak.toFixed(0)} MiB (bound 384)`,
);
for (const h of held) h.destroy();
gw.kill("SIGTERM");
clearTimeout(killTimer);
process.exit(peak > 384 ? 1 : 0);
