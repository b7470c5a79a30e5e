/**
 * A wire subscription whose HTTP/2 client goes away while an event waits for
 * its flow-control window ends on the gateway too (an outside tester's
 * finding). Node's compatibility response has no `destroyed`, and a stream
 * destroyed with a write pending can close with `writableFinished` set: the
 * subscription took the close for a finished answer, read its next event,
 * wrote it to the dead stream and waited for a 'drain' or 'close' that never
 * came, holding the event (megabytes) and its engine subscription for good.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DescribeStreamSummaryCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { useGatewayWithMetrics } from "../helpers/gateway.ts";
import { activeConsumer, sdkClient } from "../helpers/kinesis-sdk.ts";

const SHARD = "shardId-000000000000";
const AUTHORIZATION =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";

/** The series of a metric on `/metrics` whose labels include `label`. */
async function series(baseUrl: string, name: string, label: string): Promise<string[]> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) && l.includes(label));
}

void suite("wire subscriptions whose HTTP/2 client went away", () => {
  const gateway = useGatewayWithMetrics(["--streams", "gone:1", "--throttle", "off"]);

  void test("end on the gateway, however far their events had got", async () => {
    const url = gateway.current.url;
    const kinesis = sdkClient(url);
    const streamArn = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: "gone" })))
      .StreamDescriptionSummary!.StreamARN!;
    // 8 MB in the shard: each subscription's first event is 2 MiB (2.7 MB as JSON).
    const data = new Uint8Array(200 * 1024).fill(7);
    for (let i = 0; i < 10; i++) {
      const out = await kinesis.send(
        new PutRecordsCommand({
          StreamName: "gone",
          Records: Array.from({ length: 4 }, () => ({ Data: data, PartitionKey: "p" })),
        }),
      );
      assert.equal(out.FailedRecordCount, 0);
    }
    const consumers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => activeConsumer(kinesis, streamArn, `gone-${i}`)),
    );
    const session = http2.connect(url);
    session.on("error", () => {});
    const statuses = await Promise.all(
      consumers.map(
        (consumerArn) =>
          new Promise<unknown>((resolve) => {
            const req = session.request({
              ":method": "POST",
              ":path": "/",
              "content-type": "application/x-amz-json-1.1",
              "x-amz-target": "Kinesis_20131202.SubscribeToShard",
              authorization: AUTHORIZATION,
            });
            req.on("error", () => {});
            req.on("response", (headers) => resolve(headers[":status"]));
            req.pause(); // never reads: events wait for the window
            req.end(
              JSON.stringify({
                ConsumerARN: consumerArn,
                ShardId: SHARD,
                StartingPosition: { Type: "TRIM_HORIZON" },
              }),
            );
          }),
      ),
    );
    assert.deepEqual(statuses, Array(12).fill(200));
    await sleep(1500);
    session.destroy();
    let open: string[] = [];
    let ended = 0;
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      open = await series(url, "kinesis_gateway_subscription_millis_behind_latest", 'name="gone"');
      ended = (await series(url, "kinesis_gateway_wire_subscriptions_ended_total", "caller"))
        .map((l) => Number(l.split(" ").at(-1)))
        .reduce((a, b) => a + b, 0);
      if (open.length === 0 && ended === 12) break;
    }
    assert.deepEqual(open, [], "subscriptions still open on the gateway");
    assert.equal(ended, 12, "subscriptions ended as their caller's");
    kinesis.destroy();
  });
});
