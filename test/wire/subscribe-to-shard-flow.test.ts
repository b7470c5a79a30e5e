/**
 * The wire API's SubscribeToShard as a long call on the gateway's port: an
 * idle subscription outlives the port's idle time-outs (idle is not a stall),
 * a reader that stops reading is cut off without the engine reading on for
 * it, a subscription taken over ends with an event-stream exception, TLS
 * serves it over ALPN h2 and http/1.1, and a drain ends open subscriptions
 * cleanly.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import {
  DescribeStreamSummaryCommand,
  KinesisClient,
  PutRecordsCommand,
  SubscribeToShardCommand,
  type SubscribeToShardEventStream,
} from "@aws-sdk/client-kinesis";
import { hasOpenssl, makeCertificates } from "../helpers/certificates.ts";
import { allMessages, rawSubscribe } from "../helpers/event-stream-client.ts";
import {
  metricValue,
  startTestGateway,
  useGateway,
  useGatewayWithMetrics,
} from "../helpers/gateway.ts";
import { activeConsumer, http2SdkClient, sdkClient } from "../helpers/kinesis-sdk.ts";

const SHARD = "shardId-000000000000";

const streamArnOf = async (endpoint: string, name: string) =>
  (await sdkClient(endpoint).send(new DescribeStreamSummaryCommand({ StreamName: name })))
    .StreamDescriptionSummary!.StreamARN!;

const jsonSubscription = (consumerArn: string, type = "LATEST") =>
  Buffer.from(
    JSON.stringify({ ConsumerARN: consumerArn, ShardId: SHARD, StartingPosition: { Type: type } }),
  );

/** Reads an SDK event stream to its end: how many events, and the error it ended with, if any. */
async function drainEvents(
  stream: AsyncIterable<SubscribeToShardEventStream>,
  onFirst?: () => unknown,
) {
  let events = 0;
  try {
    for await (const _ of stream) if (++events === 1) onFirst?.();
    return { events, error: undefined };
  } catch (error) {
    return { events, error: error as Error };
  }
}

void suite("a subscription on a port with short time-outs", () => {
  const LIFETIME_MS = 6000;
  // Idle connections are closed after 2 s, and answers not read for 2 s are cut off.
  const gateway = useGatewayWithMetrics([
    "--streams",
    "slow:1",
    "--throttle",
    "off",
    "--subscription-lifetime-ms",
    String(LIFETIME_MS),
    "--idle-timeout-seconds",
    "2",
  ]);
  let client: KinesisClient;
  let streamArn: string;
  before(async () => {
    client = http2SdkClient(gateway.current.url);
    streamArn = await streamArnOf(gateway.current.url, "slow");
  });
  after(() => client.destroy());
  const consumer = (name: string) =>
    activeConsumer(sdkClient(gateway.current.url), streamArn, name);

  void test("an idle subscription lasts its lifetime over HTTP/2 and HTTP/1.1, past the idle time-outs", async () => {
    const [h2, h1] = await Promise.all([consumer("idle-h2"), consumer("idle-h1")]);
    const started = Date.now();
    const overHttp2 = (async () => {
      const out = await client.send(
        new SubscribeToShardCommand({
          ConsumerARN: h2,
          ShardId: SHARD,
          StartingPosition: { Type: "LATEST" },
        }),
      );
      const read = await drainEvents(out.EventStream!);
      return { ...read, tookMs: Date.now() - started };
    })();
    const overHttp1 = (async () => {
      const answer = await rawSubscribe({
        url: gateway.current.url,
        format: "json",
        http: "1.1",
        body: jsonSubscription(h1),
      });
      try {
        assert.equal(answer.headers["transfer-encoding"], "chunked");
        const messages = await allMessages(answer);
        return { messages, tookMs: Date.now() - started };
      } finally {
        answer.close();
      }
    })();
    const [two, one] = await Promise.all([overHttp2, overHttp1]);
    assert.equal(two.error, undefined, "HTTP/2: ended cleanly");
    assert.ok(two.tookMs >= LIFETIME_MS - 100, `HTTP/2: ended after ${two.tookMs} ms`);
    assert.ok(one.tookMs >= LIFETIME_MS - 100, `HTTP/1.1: ended after ${one.tookMs} ms`);
    // initial-response and the first event, then nothing for the whole lifetime: no records, no exception.
    assert.deepEqual(
      one.messages.map((m) => m.eventType),
      ["initial-response", "SubscribeToShardEvent"],
    );
  });

  void test("a reader that stops reading is cut off, and no more is read for it than flow control lets through", async () => {
    const consumerArn = await consumer("stalled");
    const answer = await rawSubscribe({
      url: gateway.current.url,
      format: "json",
      http: "2",
      body: jsonSubscription(consumerArn),
    });
    answer.body.pause(); // and never read again
    const written = 90;
    const data = Buffer.alloc(100 * 1024, 1);
    for (let batch = 0; batch < written / 30; batch++) {
      await client.send(
        new PutRecordsCommand({
          StreamName: "slow",
          Records: Array.from({ length: 30 }, () => ({ Data: data, PartitionKey: "k" })),
        }),
      );
    }
    const writtenAt = Date.now();
    const { rstCode } = await answer.closed;
    const cutAfterMs = Date.now() - writtenAt;
    answer.close();
    assert.ok(rstCode !== undefined && rstCode !== 0, `reset (code ${rstCode}), not ended`);
    assert.ok(
      cutAfterMs < LIFETIME_MS - 1000,
      `cut off after ${cutAfterMs} ms, not at its lifetime`,
    );
    // One event of up to 2 MiB (20 records) waits on the client's window; the next is never read.
    const pulled =
      (await metricValue(
        gateway.current.url,
        "kinesis_gateway_subscription_records_total",
        'messaging_consumer_group_name="stalled"',
      )) ?? 0;
    assert.ok(
      pulled <= 40,
      `${pulled} of ${written} records were read for a reader that reads none`,
    );
  });

  void test("a subscription taken over after 5 s ends with ResourceInUseException in its event stream", async () => {
    const consumerArn = await consumer("taken");
    const subscribe = () =>
      client.send(
        new SubscribeToShardCommand({
          ConsumerARN: consumerArn,
          ShardId: SHARD,
          StartingPosition: { Type: "LATEST" },
        }),
      );
    const first = drainEvents((await subscribe()).EventStream!);
    await new Promise((resolve) => setTimeout(resolve, 5200));
    const second = drainEvents((await subscribe()).EventStream!);
    const { error } = await first;
    assert.equal(error?.name, "ResourceInUseException");
    assert.match(error.message, /took this one over/);
    assert.equal((await second).error, undefined);
  });
});

void suite("a subscription over TLS", {
  skip: hasOpenssl() ? false : "openssl is not installed",
}, () => {
  const certs = makeCertificates();
  const gateway = useGateway([
    "--streams",
    "secure:1",
    "--subscription-lifetime-ms",
    "1000",
    "--tls-cert",
    certs.serverCertFile,
    "--tls-key",
    certs.serverKeyFile,
  ]);

  for (const http of ["2", "1.1"] as const) {
    void test(`is served over ${http === "2" ? "ALPN h2" : "ALPN http/1.1, chunked"}`, async () => {
      const admin = new KinesisClient({
        endpoint: gateway.current.url,
        region: "us-east-1",
        credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
        maxAttempts: 1,
        requestHandler: new (await import("@smithy/node-http-handler")).NodeHttpHandler({
          httpsAgent: new (await import("node:https")).Agent({ ca: certs.ca }),
        }),
      });
      const summary = await admin.send(new DescribeStreamSummaryCommand({ StreamName: "secure" }));
      const consumerArn = await activeConsumer(
        admin,
        summary.StreamDescriptionSummary!.StreamARN!,
        `tls-${http.replace(".", "")}`,
      );
      await admin.send(
        new PutRecordsCommand({
          StreamName: "secure",
          Records: [{ Data: Buffer.from(`over ${http}`), PartitionKey: "k" }],
        }),
      );
      const answer = await rawSubscribe({
        url: gateway.current.url,
        format: "json",
        http,
        ca: certs.ca,
        body: jsonSubscription(consumerArn, "TRIM_HORIZON"),
      });
      try {
        assert.equal(answer.status, 200);
        const messages = await allMessages(answer);
        assert.equal(messages[0]!.eventType, "initial-response");
        const records = messages.flatMap((m) => m.payload.Records ?? []);
        assert.ok(
          records.some(
            (r: { Data: string }) => Buffer.from(r.Data, "base64").toString() === `over ${http}`,
          ),
        );
      } finally {
        answer.close();
        admin.destroy();
      }
    });
  }
});

void test("a drain ends open subscriptions cleanly, over HTTP/2 and HTTP/1.1", async () => {
  const gateway = await startTestGateway(["--streams", "draining:1"]);
  const client = http2SdkClient(gateway.url);
  try {
    const streamArn = await streamArnOf(gateway.url, "draining");
    const [h2, h1] = await Promise.all([
      activeConsumer(sdkClient(gateway.url), streamArn, "drain-h2"),
      activeConsumer(sdkClient(gateway.url), streamArn, "drain-h1"),
    ]);
    let firstEvent!: () => void;
    const subscribed = new Promise<void>((resolve) => {
      firstEvent = resolve;
    });
    const out = await client.send(
      new SubscribeToShardCommand({
        ConsumerARN: h2,
        ShardId: SHARD,
        StartingPosition: { Type: "LATEST" },
      }),
    );
    const overHttp2 = drainEvents(out.EventStream!, firstEvent);
    const answer = await rawSubscribe({
      url: gateway.url,
      format: "json",
      http: "1.1",
      body: jsonSubscription(h1),
    });
    const overHttp1 = allMessages(answer);
    await subscribed;
    const started = Date.now();
    await gateway.stop(10_000);
    const stoppedMs = Date.now() - started;
    assert.equal((await overHttp2).error, undefined, "the SDK's iterator ends without an error");
    const messages = await overHttp1; // throws if the answer was cut
    assert.equal(messages.at(-1)!.messageType, "event");
    assert.ok(
      stoppedMs < 5000,
      `drained in ${stoppedMs} ms (the subscriptions did not wait for their lifetime)`,
    );
    answer.close();
  } finally {
    client.destroy();
  }
});
