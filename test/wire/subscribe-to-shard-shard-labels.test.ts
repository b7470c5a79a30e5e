/**
 * A subscription's metrics name its shard as AWS does, however the caller
 * spelled it (an outside tester's finding): `0`, `x-00` and
 * `shardId-000000000000` name one shard, and labelled as given each
 * spelling made series of its own: one consumer could add a thousand series
 * per shard, multiplied by its stream and consumer labels.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DescribeStreamSummaryCommand } from "@aws-sdk/client-kinesis";
import { useGatewayWithMetrics } from "../helpers/gateway.ts";
import { activeConsumer, sdkClient } from "../helpers/kinesis-sdk.ts";

const AUTHORIZATION =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";

/** Subscribes over HTTP/1.1 and hangs up once the answer's headers are in: its status. */
function subscribeOnce(url: string, body: object): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "Kinesis_20131202.SubscribeToShard",
        authorization: AUTHORIZATION,
      },
    });
    req.on("response", (res) => {
      resolve(res.statusCode);
      res.resume();
      setTimeout(() => req.destroy(), 100);
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

void suite("subscription metrics", () => {
  const gateway = useGatewayWithMetrics(["--streams", "labels:1"]);

  void test("label a shard by its id, not by the caller's spelling of it", async () => {
    const url = gateway.current.url;
    const kinesis = sdkClient(url);
    const streamArn = (
      await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: "labels" }))
    ).StreamDescriptionSummary!.StreamARN!;
    const consumerArn = await activeConsumer(kinesis, streamArn, "spellings");
    for (const shardId of ["0", "x-00", "shardId-0", "shardId-000000000000"]) {
      const status = await subscribeOnce(url, {
        ConsumerARN: consumerArn,
        ShardId: shardId,
        StartingPosition: { Type: "LATEST" },
      });
      assert.equal(status, 200, shardId);
      await sleep(1100); // one call a second per consumer and shard
    }
    const text = await (await fetch(`${url}/metrics`)).text();
    const series = text
      .split("\n")
      .filter(
        (l) =>
          l.startsWith("kinesis_gateway_subscription_events_total{") && l.includes('"spellings"'),
      );
    assert.equal(series.length, 1, series.join("\n"));
    assert.match(series[0]!, /messaging_destination_partition_id="shardId-000000000000"/);
    kinesis.destroy();
  });
});
