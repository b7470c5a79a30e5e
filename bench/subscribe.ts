/**
 * Enhanced fan-out, measured from outside: how long a record takes from its
 * PutRecord answer to a waiting subscriber, and what idle subscriptions cost
 * the server. Subscriptions are made as users make them: the AWS SDK's
 * `SubscribeToShardCommand` (HTTP/2, the Kinesis client's default handler)
 * on the wire API, or the gateway's gRPC `SubscribeToShard` with a consumer ARN.
 */
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateStreamCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  PutRecordCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
} from "@aws-sdk/client-kinesis";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { createEventStreamHandler } from "../src/backends/kinesis-event-stream.ts";
import { ConsumerService, ShardIteratorType } from "../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { ProducerService } from "../src/gen/kinesis/gateway/v1/producer_pb.ts";

export type Via = "wire" | "grpc";

const credentials = { accessKeyId: "bench", secretAccessKey: "bench" };

/**
 * A Kinesis client of the kind a consumer uses: the SDK's own defaults
 * (HTTP/2 for subscriptions). kinesis-local's HTTP/2 breaks the SDK's
 * default handler (it answers the GOAWAY the SDK sends once an event stream
 * starts with a PING ACK Node takes for a protocol error), so against it the
 * gateway's own forward-mode handler is used, which keeps the connection.
 */
const kinesisAt = (endpoint: string, keepConnection = false) =>
  new KinesisClient({
    endpoint,
    region: "us-east-1",
    credentials,
    maxAttempts: 1,
    ...(keepConnection ? { requestHandler: createEventStreamHandler() } : {}),
  });

/** A client for everything else, on HTTP/1.1 keep-alive, which every emulator speaks. */
const adminAt = (endpoint: string) =>
  new KinesisClient({
    endpoint,
    region: "us-east-1",
    credentials,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true }) }),
  });

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const value = await read();
    if (done(value) || i === 200) return value;
    await sleep(50);
  }
}

async function retryWhileLimited<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if ((err as Error).name !== "LimitExceededException" || attempt === 100) throw err;
      await sleep(250);
    }
  }
}

/** A new stream and `consumers` ACTIVE consumers of it: the stream's ARN and the consumers'. */
async function streamWithConsumers(
  client: KinesisClient,
  name: string,
  shards: number,
  consumers: number,
): Promise<{ streamArn: string; consumerArns: string[] }> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  const summary = await until(
    () => client.send(new DescribeStreamSummaryCommand({ StreamName: name })),
    (s) => s.StreamDescriptionSummary?.StreamStatus === "ACTIVE",
  );
  const streamArn = summary.StreamDescriptionSummary!.StreamARN!;
  const consumerArns: string[] = [];
  for (let i = 0; i < consumers; i++) {
    // kinesis-local takes 5 registrations a second and 5 consumers CREATING at once.
    const out = await retryWhileLimited(() =>
      client.send(
        new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: `c${i}` }),
      ),
    );
    consumerArns.push(out.Consumer!.ConsumerARN!);
  }
  for (const arn of consumerArns) {
    await until(
      () => client.send(new DescribeStreamConsumerCommand({ ConsumerARN: arn })),
      (d) => d.ConsumerDescription?.ConsumerStatus === "ACTIVE",
    );
  }
  return { streamArn, consumerArns };
}

/** An open subscription calling `onRecords` with each event's sequence numbers, until `signal`. */
async function subscribe(
  endpoint: string,
  via: Via,
  consumerArn: string,
  shardId: string,
  onRecords: (sequenceNumbers: string[]) => void,
  signal: AbortSignal,
  client: KinesisClient,
): Promise<void> {
  const live = Promise.withResolvers<void>();
  const reading = (async () => {
    if (via === "wire") {
      const out = await client.send(
        new SubscribeToShardCommand({
          ConsumerARN: consumerArn,
          ShardId: shardId,
          StartingPosition: { Type: "LATEST" },
        }),
        { abortSignal: signal },
      );
      live.resolve();
      for await (const event of out.EventStream!) {
        const records = event.SubscribeToShardEvent?.Records ?? [];
        if (records.length > 0) onRecords(records.map((r) => r.SequenceNumber!));
      }
    } else {
      const consumer = createClient(ConsumerService, createGrpcTransport({ baseUrl: endpoint }));
      for await (const event of consumer.subscribeToShard(
        { consumerArn, shardId, startingPosition: { type: ShardIteratorType.LATEST } },
        { signal },
      )) {
        live.resolve(); // the first event says the subscription is live
        if (event.records.length > 0) onRecords(event.records.map((r) => r.sequenceNumber));
      }
    }
  })().catch((err: unknown) => {
    if (!signal.aborted) live.reject(err);
  });
  await live.promise;
  void reading;
}

/**
 * Writes one 1 KiB record at a time to a stream's only shard while one
 * subscriber waits, and gives the milliseconds from each PutRecord answer to
 * the record's arrival (0 when it arrived first): p50 and p99 of `samples`,
 * or of those that fit in `maxSeconds` (20 at least).
 */
export async function measureDeliveryLatency(
  endpoint: string,
  via: Via,
  keepConnection = false,
  samples = 300,
  maxSeconds = 30,
): Promise<{ p50: number; p99: number }> {
  const admin = adminAt(endpoint);
  const subscriber = kinesisAt(endpoint, keepConnection);
  const { consumerArns } = await streamWithConsumers(admin, "latency", 1, 1);
  const arrivals = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const stop = new AbortController();
  await subscribe(
    endpoint,
    via,
    consumerArns[0]!,
    "shardId-000000000000",
    (sequenceNumbers) => {
      const at = performance.now();
      for (const sequenceNumber of sequenceNumbers) {
        arrivals.set(sequenceNumber, at);
        waiting.get(sequenceNumber)?.();
      }
    },
    stop.signal,
    subscriber,
  );
  const producer = createClient(ProducerService, createGrpcTransport({ baseUrl: endpoint }));
  const data = new Uint8Array(1024).fill(120);
  const delays: number[] = [];
  // A slow server gets fewer samples: as many as fit in `maxSeconds`.
  const deadline = performance.now() + maxSeconds * 1000;
  for (let i = 0; i < samples + 20 && (i < 40 || performance.now() < deadline); i++) {
    let sequenceNumber: string;
    if (via === "wire") {
      const out = await admin.send(
        new PutRecordCommand({ StreamName: "latency", PartitionKey: `k${i}`, Data: data }),
      );
      sequenceNumber = out.SequenceNumber!;
    } else {
      const out = await producer.putRecord({ streamName: "latency", partitionKey: `k${i}`, data });
      sequenceNumber = out.sequenceNumber;
    }
    const answered = performance.now();
    if (!arrivals.has(sequenceNumber)) {
      const arrived = new Promise<void>((resolve) => waiting.set(sequenceNumber, resolve));
      await Promise.race([arrived, sleep(10_000)]);
      waiting.delete(sequenceNumber);
    }
    const at = arrivals.get(sequenceNumber);
    if (at === undefined) throw new Error(`record ${i} did not arrive within 10 s`);
    if (i >= 20) delays.push(Math.max(0, at - answered)); // the first 20 warm up
  }
  stop.abort();
  admin.destroy();
  subscriber.destroy();
  delays.sort((a, b) => a - b);
  const at = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

/**
 * Opens `count` subscriptions (20 consumers of a 5-shard stream, each to
 * every shard), lets them settle, and gives the share of a core the server
 * used over `seconds` while nothing is written, in percent. With
 * `count` 0, only the stream and its consumers exist.
 */
export async function measureIdleCpu(
  endpoint: string,
  via: Via,
  count: number,
  cpuSeconds: () => number,
  keepConnection = false,
  seconds = 10,
): Promise<number> {
  const shards = 5;
  const admin = kinesisAt(endpoint);
  const { consumerArns } = await streamWithConsumers(
    admin,
    "idle",
    shards,
    Math.ceil(count / shards),
  );
  const stop = new AbortController();
  // kinesis-local's HTTP/2 now and then breaks a subscription in a way the
  // SDK lets escape, uncaught (ERR_HTTP2_ERROR); so, after other groups have
  // run, did the gateway's (not found yet; alone, this group runs through).
  // Those are counted and said, and the subscription is tried again, instead
  // of ending the benchmark.
  let broken = 0;
  const onBroken = (err: unknown) => {
    if ((err as { code?: string })?.code !== "ERR_HTTP2_ERROR") throw err;
    broken++;
  };
  process.on("unhandledRejection", onBroken);
  process.on("uncaughtException", onBroken);
  // One client per consumer: a consumer process holds one connection to Kinesis.
  const clients = consumerArns.map(() => kinesisAt(endpoint, keepConnection));
  for (let i = 0; i < count; i++) {
    const consumer = Math.floor(i / shards);
    // kinesis-local's HTTP/2 now and then breaks a new subscription (a
    // protocol error in Node's HTTP/2): it is tried again, as a consumer would.
    for (let attempt = 1; ; attempt++) {
      try {
        // A subscription whose session broke uncaught never settles.
        const timedOut = sleep(10_000).then(() => {
          throw new Error("no subscription within 10 s");
        });
        await Promise.race([
          subscribe(
            endpoint,
            via,
            consumerArns[consumer]!,
            `shardId-00000000000${i % shards}`,
            () => {},
            stop.signal,
            clients[consumer]!,
          ),
          timedOut,
        ]);
        timedOut.catch(() => undefined);
        break;
      } catch (err) {
        if (attempt === 5) throw err;
        await sleep(4_000); // past its refusal of a second subscription
      }
    }
  }
  await sleep(2_000);
  const before = cpuSeconds();
  const started = performance.now();
  await sleep(seconds * 1000);
  const used = cpuSeconds() - before;
  const percent = (100 * used) / ((performance.now() - started) / 1000);
  stop.abort();
  for (const client of [admin, ...clients]) client.destroy();
  // What breaks as the connections close is counted too.
  setTimeout(() => {
    process.off("unhandledRejection", onBroken);
    process.off("uncaughtException", onBroken);
  }, 5_000).unref();
  if (broken > 0) {
    process.stderr.write(
      `    (${broken} subscriptions broken by an HTTP/2 protocol error, and tried again)\n`,
    );
  }
  return percent;
}
