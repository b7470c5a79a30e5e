/**
 * gRPC SubscribeToShard with a consumer ARN: enhanced fan-out as on AWS. The
 * subscription is pushed by writes, ends (OK) after the gateway's lifetime,
 * and resubscribing from the last continuation misses nothing; a consumer
 * holds one subscription per shard; each consumer reads on its own; the
 * counts and lag are in the metrics with the consumer's name.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { pino } from "pino";
import { ShardIteratorType } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { startTelemetry, type Telemetry } from "../../src/telemetry/telemetry.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";
import { activeConsumer, sdkClient } from "../helpers/kinesis-sdk.ts";

const SHARD = "shardId-000000000000";

let telemetry: Telemetry;
before(async () => {
  telemetry = await startTelemetry({ logger: pino({ level: "silent" }) }); // metrics for /metrics
});
after(() => telemetry.shutdown());

void suite("gRPC SubscribeToShard with a consumer ARN", () => {
  const gateway = useGateway(
    ["--streams", "fan:1", "--throttle", "off", "--subscription-lifetime-ms", "1500"],
    {
      get telemetry() {
        return telemetry;
      },
    },
  );
  const clients = () => clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
  let streamArn: string;
  before(async () => {
    const out = await clients().streams.describeStreamSummary({ streamName: "fan" });
    streamArn = out.streamDescriptionSummary!.streamArn;
  });

  const put = (data: string) =>
    clients().producer.putRecord({
      streamName: "fan",
      partitionKey: "k",
      data: Buffer.from(data),
    });

  /** Reads a subscription to its end: the records' data, the last continuation. */
  async function readToEnd(consumerArn: string, position: object, onFirst?: () => Promise<void>) {
    const seen: string[] = [];
    let continuation = "";
    let first = true;
    for await (const event of clients().consumer.subscribeToShard({
      consumerArn,
      shardId: SHARD,
      startingPosition: position,
    })) {
      seen.push(...event.records.map((r) => Buffer.from(r.data).toString()));
      if (event.continuationSequenceNumber !== "") continuation = event.continuationSequenceNumber;
      if (first) {
        first = false;
        await onFirst?.();
      }
    }
    return { seen, continuation };
  }

  void test("records before and after subscribing arrive; after the lifetime, resubscribing misses nothing", async () => {
    const consumerArn = await activeConsumer(sdkClient(gateway.current.url), streamArn, "one");
    await put("a");
    const firstRound = await readToEnd(
      consumerArn,
      { type: ShardIteratorType.TRIM_HORIZON },
      async () => {
        await put("b");
        await put("c");
      },
    );
    // The call ended by itself, with OK, once the lifetime was over.
    assert.deepEqual(firstRound.seen, ["a", "b", "c"]);
    await put("d"); // between subscriptions
    const secondRound = await readToEnd(
      consumerArn,
      { type: ShardIteratorType.AFTER_SEQUENCE_NUMBER, sequenceNumber: firstRound.continuation },
      () => put("e").then(() => undefined),
    );
    assert.deepEqual(secondRound.seen, ["d", "e"]);
  });

  void test("a second subscription of a consumer to a shard within 5 s is refused; another consumer reads on its own", async () => {
    const kinesis = sdkClient(gateway.current.url);
    const consumerArn = await activeConsumer(kinesis, streamArn, "two");
    const other = await activeConsumer(kinesis, streamArn, "three");
    const holding = readToEnd(consumerArn, { type: ShardIteratorType.LATEST });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await assert.rejects(
      readToEnd(consumerArn, { type: ShardIteratorType.LATEST }),
      (err: unknown) => {
        assert.ok(err instanceof ConnectError);
        assert.equal(err.code, Code.FailedPrecondition);
        assert.match(
          err.rawMessage,
          /^Consumer .*consumer\/two:\d+ is already subscribed to shard shardId-000000000000/,
        );
        return true;
      },
    );
    const alone = await readToEnd(other, { type: ShardIteratorType.LATEST }, () =>
      put("for both").then(() => undefined),
    );
    assert.deepEqual(alone.seen, ["for both"]);
    assert.deepEqual((await holding).seen, ["for both"]);
  });

  void test("events, records and lag are counted by consumer and shard", async () => {
    const consumerArn = await activeConsumer(sdkClient(gateway.current.url), streamArn, "four");
    await readToEnd(consumerArn, { type: ShardIteratorType.LATEST }, () =>
      put("counted").then(() => undefined),
    );
    const text = await (await fetch(`${gateway.current.url}/metrics`)).text();
    const records = text
      .split("\n")
      .find(
        (line) =>
          line.startsWith("kinesis_gateway_subscription_records_total{") &&
          line.includes('messaging_consumer_group_name="four"'),
      );
    assert.ok(records, "records delivered to consumer four are counted");
    assert.match(records, /messaging_destination_partition_id="shardId-000000000000"/);
    assert.match(records, / 1$/);
  });
});
