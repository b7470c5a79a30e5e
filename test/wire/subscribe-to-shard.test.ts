/**
 * The wire API's SubscribeToShard (enhanced fan-out) against the gateway's
 * engine: the AWS SDK for JavaScript over HTTP/2 (its Kinesis client's
 * default handler), boto3 over HTTP/1.1 (a chunked answer), a CBOR request
 * answered with CBOR events, TLS with ALPN h2; lifetimes, resubscription
 * from the continuation, one subscription per consumer and shard, refusals
 * in AWS's words, exceptions as event-stream messages, and the metrics.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, suite, test } from "node:test";
import {
  DeregisterStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  PutRecordsCommand,
  type StartingPosition,
  SubscribeToShardCommand,
  type SubscribeToShardCommandInput,
  type SubscribeToShardEventStream,
} from "@aws-sdk/client-kinesis";
import { Encoder, Tag } from "cbor-x";
import { allMessages, rawSubscribe } from "../helpers/event-stream-client.ts";
import { metricValue, useGatewayWithMetrics } from "../helpers/gateway.ts";
import { activeConsumer, http2SdkClient, rejectsWith, sdkClient } from "../helpers/kinesis-sdk.ts";

const SHARD = "shardId-000000000000";
const LIFETIME_MS = 2000;

interface ReadResult {
  seen: string[];
  continuation: string | undefined;
  events: number;
  error?: Error | undefined;
}

/** Reads an SDK event stream to its end (or its exception): the records' data, the last continuation. */
async function readEvents(
  stream: AsyncIterable<SubscribeToShardEventStream>,
  onFirst?: () => Promise<unknown>,
): Promise<ReadResult> {
  const result: ReadResult = { seen: [], continuation: undefined, events: 0 };
  try {
    for await (const item of stream) {
      const event = item.SubscribeToShardEvent;
      assert.ok(event, `an event of another type: ${Object.keys(item)}`);
      result.events++;
      result.seen.push(...event.Records!.map((r) => Buffer.from(r.Data!).toString()));
      result.continuation = event.ContinuationSequenceNumber ?? result.continuation;
      if (result.events === 1) await onFirst?.();
    }
  } catch (err) {
    result.error = err as Error;
  }
  return result;
}

void suite("SubscribeToShard on the wire API", () => {
  const gateway = useGatewayWithMetrics([
    "--streams",
    "fan:1",
    "--throttle",
    "off",
    "--subscription-lifetime-ms",
    String(LIFETIME_MS),
  ]);
  let client: KinesisClient;
  let streamArn: string;
  before(async () => {
    client = http2SdkClient(gateway.current.url);
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: "fan" }));
    streamArn = summary.StreamDescriptionSummary!.StreamARN!;
  });
  after(() => client.destroy());

  const put = (...data: string[]) =>
    client.send(
      new PutRecordsCommand({
        StreamName: "fan",
        Records: data.map((d) => ({ Data: Buffer.from(d), PartitionKey: "k" })),
      }),
    );
  const consumer = (name: string) =>
    activeConsumer(sdkClient(gateway.current.url), streamArn, name);
  const subscribe = async (consumerArn: string, position: StartingPosition) =>
    (
      await client.send(
        new SubscribeToShardCommand({
          ConsumerARN: consumerArn,
          ShardId: SHARD,
          StartingPosition: position,
        }),
      )
    ).EventStream!;

  void test("reads records written before and after subscribing, ends after its lifetime, and resubscribing from the continuation misses nothing", async () => {
    const consumerArn = await consumer("one");
    await put("before-1", "before-2");
    const started = Date.now();
    const first = await readEvents(await subscribe(consumerArn, { Type: "TRIM_HORIZON" }), () =>
      put("during-1", "during-2"),
    );
    const tookMs = Date.now() - started;
    assert.equal(first.error, undefined, "the lifetime ends the stream cleanly");
    assert.ok(tookMs >= LIFETIME_MS - 100, `ended after ${tookMs} ms, before its lifetime`);
    assert.deepEqual(first.seen, ["before-1", "before-2", "during-1", "during-2"]);

    await put("between");
    const second = await readEvents(
      await subscribe(consumerArn, {
        Type: "AFTER_SEQUENCE_NUMBER",
        SequenceNumber: first.continuation!,
      }),
      () => put("after"),
    );
    assert.equal(second.error, undefined);
    assert.deepEqual(second.seen, ["between", "after"]);
  });

  void test("two consumers read the same shard independently", async () => {
    const [a, b] = await Promise.all([consumer("two-a"), consumer("two-b")]);
    const [readA, readB] = await Promise.all([
      readEvents(await subscribe(a, { Type: "LATEST" }), () => put("for-both")),
      readEvents(await subscribe(b, { Type: "LATEST" })),
    ]);
    assert.deepEqual(readA.seen, ["for-both"]);
    assert.deepEqual(readB.seen, ["for-both"]);
  });

  void test("a second subscription of one consumer to one shard within 5 s is ResourceInUseException", async () => {
    const consumerArn = await consumer("three");
    const holding = readEvents(await subscribe(consumerArn, { Type: "LATEST" }));
    await rejectsWith(
      subscribe(consumerArn, { Type: "LATEST" }),
      "ResourceInUseException",
      /already subscribed to shard shardId-000000000000/,
    );
    assert.equal((await holding).error, undefined, "the first subscription goes on");
  });

  void test("deregistering the consumer ends its event stream with a ResourceNotFoundException message", async () => {
    const consumerArn = await consumer("leaving");
    const read = await readEvents(await subscribe(consumerArn, { Type: "LATEST" }), () =>
      client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumerArn })),
    );
    assert.equal(read.error?.name, "ResourceNotFoundException");
    assert.equal(read.events, 1);
  });

  void test("refusals are answered as AWS answers them", async () => {
    await rejectsWith(
      subscribe(`${streamArn}/consumer/nobody:1700000000`, { Type: "LATEST" }),
      "ResourceNotFoundException",
    );
    const consumerArn = await consumer("four");
    await rejectsWith(
      client.send(
        // Sent without its required StartingPosition, which the SDK does not check.
        new SubscribeToShardCommand({
          ConsumerARN: consumerArn,
          ShardId: SHARD,
        } as SubscribeToShardCommandInput),
      ),
      "ValidationException",
      "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null",
    );
    await rejectsWith(
      subscribe(consumerArn, { Type: "AT_SEQUENCE_NUMBER", SequenceNumber: "x" }),
      "ValidationException",
      /^1 validation error detected: Value 'x' at 'startingPosition.sequenceNumber' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
    await rejectsWith(
      client.send(
        new SubscribeToShardCommand({
          ConsumerARN: consumerArn,
          ShardId: "shardId-000000000009",
          StartingPosition: { Type: "LATEST" },
        }),
      ),
      "ResourceNotFoundException",
    );
  });

  void test("a CBOR request gets CBOR events: data as bytes, times as tag 1 in milliseconds", async () => {
    const consumerArn = await consumer("cbor");
    const since = Date.now() - 1000;
    await put("in-cbor");
    const answer = await rawSubscribe({
      url: gateway.current.url,
      format: "cbor",
      http: "2",
      body: new Encoder({ useRecords: false, tagUint8Array: false }).encode({
        ConsumerARN: consumerArn,
        ShardId: SHARD,
        StartingPosition: { Type: "AT_TIMESTAMP", Timestamp: new Tag(since, 1) },
      }),
    });
    try {
      assert.equal(answer.status, 200);
      assert.equal(answer.headers["content-type"], "application/vnd.amazon.eventstream");
      const messages = await allMessages(answer);
      assert.deepEqual(messages[0], {
        messageType: "event",
        eventType: "initial-response",
        exceptionType: undefined,
        contentType: "application/x-amz-cbor-1.1",
        payload: {},
      });
      const event = messages[1]!;
      assert.equal(event.eventType, "SubscribeToShardEvent");
      assert.equal(event.contentType, "application/x-amz-cbor-1.1");
      const record = event.payload.Records.at(-1);
      assert.ok(record.Data instanceof Uint8Array, "data as a byte string");
      assert.equal(Buffer.from(record.Data).toString(), "in-cbor");
      // cbor-x reads tag 1 as seconds; AWS puts milliseconds there.
      const arrivalMs = record.ApproximateArrivalTimestamp.getTime() / 1000;
      assert.ok(Math.abs(arrivalMs - Date.now()) < 10_000, `arrival ${arrivalMs}`);
      assert.equal(event.payload.ContinuationSequenceNumber, record.SequenceNumber);
    } finally {
      answer.close();
    }
  });

  void test("events and records are counted by consumer, and each wire subscription's end", async () => {
    const consumerArn = await consumer("counted");
    await readEvents(await subscribe(consumerArn, { Type: "LATEST" }), () => put("c1", "c2"));
    const url = gateway.current.url;
    assert.equal(
      await metricValue(
        url,
        "kinesis_gateway_subscription_records_total",
        'messaging_consumer_group_name="counted"',
        'messaging_destination_partition_id="shardId-000000000000"',
      ),
      2,
    );
    const ended = await metricValue(
      url,
      "kinesis_gateway_wire_subscriptions_ended_total",
      'kinesis_gateway_subscription_end="lifetime"',
    );
    assert.ok(ended !== undefined && ended >= 1, "subscriptions ended by their lifetime");
    const calls = await metricValue(
      url,
      "rpc_server_call_duration_count",
      'rpc_method="Kinesis_20131202.SubscribeToShard"',
      'rpc_status_code="OK"',
    );
    assert.ok(calls !== undefined && calls >= 1, "subscriptions measured as calls");
  });

  void test("boto3's subscribe_to_shard reads the same events over HTTP/1.1", async (t) => {
    const consumerArn = await consumer("boto");
    await put("for-boto-1", "for-boto-2");
    const script = `
import json, sys, boto3
k = boto3.client("kinesis", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
out = k.subscribe_to_shard(ConsumerARN=sys.argv[2], ShardId="${SHARD}",
                           StartingPosition={"Type": "TRIM_HORIZON"})
seen = []
for event in out["EventStream"]:
    seen += [r["Data"].decode() for r in event["SubscribeToShardEvent"]["Records"]]
print(json.dumps({"status": out["ResponseMetadata"]["HTTPStatusCode"], "seen": seen}))
`;
    const result = await new Promise<{ stdout: string; stderr: string; missing: boolean }>(
      (resolve) =>
        execFile(
          "python3",
          ["-c", script, gateway.current.url, consumerArn],
          (err, stdout, stderr) =>
            resolve({ stdout, stderr, missing: err !== null && /No module named/.test(stderr) }),
        ),
    );
    if (result.missing) {
      t.skip("boto3 is not installed (apt-get install python3-boto3)");
      return;
    }
    assert.equal(result.stderr, "");
    const out = JSON.parse(result.stdout);
    assert.equal(out.status, 200);
    // Everything the shard holds, from its start: this suite's records, then boto3's.
    assert.deepEqual(out.seen.slice(-2), ["for-boto-1", "for-boto-2"]);
  });
});
