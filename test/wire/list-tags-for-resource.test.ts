/**
 * ListTagsForResource, the first operation added through the operation table
 * alone: over the AWS SDK and gRPC against the engine, and forwarded to a
 * real emulator.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListTagsForResourceCommand,
} from "@aws-sdk/client-kinesis";
import { Code, ConnectError } from "@connectrpc/connect";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { clientsFor, forwardingTo, transports, useGateway } from "../helpers/gateway.ts";

const sdkClient = (endpoint: string) =>
  new KinesisClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
  });

async function taggedStreamArn(kinesis: KinesisClient, name: string): Promise<string> {
  await kinesis.send(
    new CreateStreamCommand({ StreamName: name, ShardCount: 1, Tags: { team: "a", env: "dev" } }),
  );
  const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
  return summary.StreamDescriptionSummary?.StreamARN ?? "";
}

void suite("ListTagsForResource against the engine", () => {
  const gateway = useGateway();

  void test("lists a stream's tags by its ARN, in key order, over the AWS SDK and gRPC", async () => {
    const kinesis = sdkClient(gateway.current.url);
    const arn = await taggedStreamArn(kinesis, "tagged");
    const out = await kinesis.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
    assert.deepEqual(out.Tags, [
      { Key: "env", Value: "dev" },
      { Key: "team", Value: "a" },
    ]);
    const { streams } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const answer = await streams.listTagsForResource({ resourceArn: arn });
    assert.deepEqual(
      answer.tags.map((t) => [t.key, t.value]),
      [
        ["env", "dev"],
        ["team", "a"],
      ],
    );
    kinesis.destroy();
  });

  void test("an ARN of no stream is ResourceNotFoundException; a missing ARN a ValidationException", async () => {
    const kinesis = sdkClient(gateway.current.url);
    await assert.rejects(
      kinesis.send(
        new ListTagsForResourceCommand({
          ResourceARN: "arn:aws:kinesis:us-east-1:000000000000:stream/absent",
        }),
      ),
      { name: "ResourceNotFoundException" },
    );
    const { streams } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    await assert.rejects(streams.listTagsForResource({}), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.rawMessage, /resourceARN.*must not be null/);
      return true;
    });
    kinesis.destroy();
  });
});

void suite("ListTagsForResource forwarded to a real emulator", () => {
  const emulator = useEmulator();
  const gateway = useGateway(forwardingTo(emulator));

  void test("the emulator's answer comes back unchanged", async () => {
    const kinesis = sdkClient(gateway.current.url);
    const arn = await taggedStreamArn(kinesis, "forwarded-tags");
    await waitUntilStreamActive(emulator.current.client(), "forwarded-tags");
    const out = await kinesis.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
    assert.deepEqual(
      [...(out.Tags ?? [])].sort((a, b) => (a.Key ?? "").localeCompare(b.Key ?? "")),
      [
        { Key: "env", Value: "dev" },
        { Key: "team", Value: "a" },
      ],
    );
    kinesis.destroy();
  });
});
