/**
 * The AWS SDK for JavaScript as the wire API's tests use it: a client with
 * placeholder credentials and no retries, and the waits a test needs for a
 * stream or consumer to become ACTIVE.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateStreamCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  RegisterStreamConsumerCommand,
} from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/** `accessKeyId` is how the wire API takes a gateway token (`--auth-tokens-file`). */
export const sdkClient = (endpoint: string, accessKeyId = "AKIDEXAMPLE") =>
  new KinesisClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId, secretAccessKey: "secret" },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
  });

/**
 * A client as the SDK makes it for Kinesis: its default handler speaks
 * HTTP/2 (SubscribeToShard's event stream), here over h2c to the gateway.
 */
export const http2SdkClient = (endpoint: string) =>
  new KinesisClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    maxAttempts: 1,
  });

/** `read()` again every 20 ms until `done` says so, for up to 10 s; the last value read. */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(20);
  }
}

/** Waits until the stream is ACTIVE; its ARN. */
export async function untilStreamActive(kinesis: KinesisClient, name: string): Promise<string> {
  const summary = await until(
    async () =>
      (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name })))
        .StreamDescriptionSummary!,
    (s) => s.StreamStatus === "ACTIVE",
  );
  assert.equal(summary.StreamStatus, "ACTIVE", `${name} did not become ACTIVE`);
  return summary.StreamARN!;
}

/** Creates a 1-shard stream, waits until it is ACTIVE, and gives its ARN. */
export async function activeStream(kinesis: KinesisClient, name: string): Promise<string> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  return untilStreamActive(kinesis, name);
}

/** Registers a consumer of the stream, waits until it is ACTIVE, and gives its ARN. */
export async function activeConsumer(
  kinesis: KinesisClient,
  streamArn: string,
  name: string,
): Promise<string> {
  const out = await kinesis.send(
    new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: name }),
  );
  const arn = out.Consumer!.ConsumerARN!;
  const status = await until(
    async () =>
      (await kinesis.send(new DescribeStreamConsumerCommand({ ConsumerARN: arn })))
        .ConsumerDescription!.ConsumerStatus,
    (s) => s === "ACTIVE",
  );
  assert.equal(status, "ACTIVE", `${name} did not become ACTIVE`);
  return arn;
}

/** Asserts the call fails with this AWS error type, and this message (exact, or matching) when given. */
export const rejectsWith = (promise: Promise<unknown>, name: string, message?: string | RegExp) =>
  assert.rejects(promise, (err: Error) => {
    assert.equal(err.name, name);
    if (typeof message === "string") assert.equal(err.message, message);
    else if (message !== undefined) assert.match(err.message, message);
    return true;
  });

/**
 * An SDK client whose requests all go to `endpoint`. The SDK's endpoint
 * rules (client-kinesis 3.1143) send a request carrying a `StreamId` to
 * AWS's per-stream host otherwise, custom endpoint or not.
 */
export function pinnedSdkClient(endpoint: string): KinesisClient {
  const url = new URL(endpoint);
  const client = sdkClient(endpoint);
  client.config.endpointProvider = () => ({ url });
  return client;
}
