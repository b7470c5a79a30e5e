/**
 * Enhanced fan-out subscriptions that never read, against the real command
 * with its defaults (an outside tester's finding): 300 over HTTP/2, each at
 * the start of a shard holding megabytes, keep the gateway's resident memory
 * (from /proc) under --max-memory-mib while a well-behaved client is served.
 * Each subscription holds the event it could not hand over: with 2 MiB
 * events, 150 over HTTP/2 and 150 over HTTP/1.1 took the gateway to 900 MiB.
 *
 * HTTP/1.1 subscribers are left out: the kernel takes a few MB of events for
 * each before TCP stops it, so a hundred of them catching up on megabytes at
 * once keep the gateway's two cores busy, and the well-behaved client's
 * slowest call took 3-4 s (README, "Enhanced fan-out").
 */
import http2 from "node:http2";
import { after, before, suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { underAttack } from "./helpers.ts";

const SHARDS = 50;
const AUTH =
  "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";

void suite("abuse: subscriptions that never read (defaults, --streams s:4,m:50)", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGatewayProcess(["--streams", `s:4,m:${SHARDS}`]);
  });
  after(() => gateway.stop());

  async function call(operation: string, body: object) {
    const res = await fetch(`${gateway.url}/`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": `Kinesis_20131202.${operation}`,
        authorization: AUTH,
      },
    });
    return { status: res.status, ...((await res.json()) as Record<string, unknown>) };
  }

  void test("300 HTTP/2 subscriptions at the start of full shards, unread, keep the gateway within its bound", async (t) => {
    // 60 MB over 50 shards: 1.2 MB a shard, within each shard's 1 MiB/s over the rounds.
    const data = Buffer.alloc(100 * 1024, 7).toString("base64");
    const hashKey = (i: number) => ((2n ** 128n / BigInt(SHARDS)) * BigInt(i) + 1n).toString();
    for (let round = 0; round < 12; round++) {
      await Promise.all(
        Array.from({ length: SHARDS }, (_, i) =>
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
    const summary = (await call("DescribeStreamSummary", { StreamName: "m" })) as {
      StreamDescriptionSummary?: { StreamARN: string };
    };
    const streamArn = summary.StreamDescriptionSummary!.StreamARN;
    const consumers: string[] = [];
    for (let i = 0; i < 6; i++) {
      const out = (await call("RegisterStreamConsumer", {
        StreamARN: streamArn,
        ConsumerName: `c${i}`,
      })) as { Consumer?: { ConsumerARN: string } };
      consumers.push(out.Consumer!.ConsumerARN);
    }
    const body = (n: number) =>
      JSON.stringify({
        ConsumerARN: consumers[Math.floor(n / SHARDS)],
        ShardId: `shardId-${String(n % SHARDS).padStart(12, "0")}`,
        StartingPosition: { Type: "TRIM_HORIZON" },
      });
    const headers = {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": "Kinesis_20131202.SubscribeToShard",
      authorization: AUTH,
    };
    const held: { destroy(): void }[] = [];
    const { peakMiB, victim } = await underAttack(
      gateway,
      { maxMemoryMiB: 384 },
      async () => {
        let n = 0;
        for (let i = 0; i < 300; i++) {
          if (i % 100 === 0) {
            const session = http2.connect(gateway.url);
            session.on("error", () => {});
            held.push(session);
          }
          const session = held.at(-1) as http2.ClientHttp2Session;
          const stream = session.request({ ":method": "POST", ":path": "/", ...headers });
          stream.on("error", () => {});
          stream.pause(); // never read
          stream.end(body(n++));
        }
        await sleep(15_000);
      },
      { stream: "s" },
    );
    for (const h of held) h.destroy();
    t.diagnostic(`peak RSS ${peakMiB.toFixed(0)} MiB, slowest ${victim.slowestMs} ms`);
  });
});
