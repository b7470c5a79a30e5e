/**
 * Enhanced fan-out consumer registration — RegisterStreamConsumer,
 * DescribeStreamConsumer, ListStreamConsumers, DeregisterStreamConsumer, and
 * ListTagsForResource of a consumer — over the AWS SDK against the gateway's
 * engine, and forwarded to a real emulator.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Consumer,
  CreateStreamCommand,
  DeleteStreamCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListStreamConsumersCommand,
  ListTagsForResourceCommand,
  RegisterStreamConsumerCommand,
} from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { RunningGateway } from "../../src/main.ts";
import { useEmulator } from "../helpers/emulator.ts";
import { startTestGateway, useGateway } from "../helpers/gateway.ts";
import { activeStream, rejectsWith, sdkClient, until } from "../helpers/kinesis-sdk.ts";

const TRANSITION_MS = 300;

const summaryOf = async (kinesis: KinesisClient, name: string) =>
  (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name })))
    .StreamDescriptionSummary!;

async function register(kinesis: KinesisClient, streamArn: string, name: string) {
  const out = await kinesis.send(
    new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: name }),
  );
  return out.Consumer!;
}

const describeByArn = async (kinesis: KinesisClient, consumerArn: string) =>
  (await kinesis.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn })))
    .ConsumerDescription!;

async function waitUntilConsumerActive(kinesis: KinesisClient, consumerArn: string) {
  const description = await until(
    () => describeByArn(kinesis, consumerArn),
    (d) => d.ConsumerStatus === "ACTIVE",
  );
  assert.equal(description.ConsumerStatus, "ACTIVE");
}

/** Every consumer of a stream, page by page, with the pages' sizes. */
async function listAll(kinesis: KinesisClient, streamArn: string, maxResults: number) {
  const pages: Consumer[][] = [];
  let nextToken: string | undefined;
  do {
    const out = await kinesis.send(
      new ListStreamConsumersCommand({
        StreamARN: streamArn,
        MaxResults: maxResults,
        NextToken: nextToken,
      }),
    );
    pages.push(out.Consumers ?? []);
    nextToken = out.NextToken;
  } while (nextToken !== undefined);
  return pages;
}

void suite("stream consumers against the engine", () => {
  const gateway = useGateway(["--stream-transition-ms", String(TRANSITION_MS)]);
  let kinesis: KinesisClient;
  before(() => {
    kinesis = sdkClient(gateway.current.url);
  });
  after(() => kinesis.destroy());

  void test("a consumer is CREATING with AWS's ARN, then ACTIVE; ConsumerCount counts it", async () => {
    const streamArn = await activeStream(kinesis, "fan-out");
    const consumer = await register(kinesis, streamArn, "reader-1");
    assert.equal(consumer.ConsumerName, "reader-1");
    assert.equal(consumer.ConsumerStatus, "CREATING");
    const seconds = Math.floor(consumer.ConsumerCreationTimestamp!.getTime() / 1000);
    assert.equal(consumer.ConsumerARN, `${streamArn}/consumer/reader-1:${seconds}`);
    assert.equal(
      consumer.ConsumerARN,
      `arn:aws:kinesis:us-east-1:000000000000:stream/fan-out/consumer/reader-1:${seconds}`,
    );
    assert.equal((await summaryOf(kinesis, "fan-out")).ConsumerCount, 1);

    await waitUntilConsumerActive(kinesis, consumer.ConsumerARN!);
    const byName = await kinesis.send(
      new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: "reader-1" }),
    );
    assert.deepEqual(byName.ConsumerDescription, {
      ConsumerName: "reader-1",
      ConsumerARN: consumer.ConsumerARN,
      ConsumerStatus: "ACTIVE",
      ConsumerCreationTimestamp: consumer.ConsumerCreationTimestamp,
      StreamARN: streamArn,
    });
    // All three members, when they agree.
    const byAll = await kinesis.send(
      new DescribeStreamConsumerCommand({
        StreamARN: streamArn,
        ConsumerName: "reader-1",
        ConsumerARN: consumer.ConsumerARN,
      }),
    );
    assert.equal(byAll.ConsumerDescription?.ConsumerStatus, "ACTIVE");
  });

  void test("a deregistered consumer is DELETING, then gone, and no longer counted", async () => {
    const streamArn = await activeStream(kinesis, "fan-out-gone");
    const consumer = await register(kinesis, streamArn, "leaving");
    await waitUntilConsumerActive(kinesis, consumer.ConsumerARN!);
    await kinesis.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }));
    assert.equal((await describeByArn(kinesis, consumer.ConsumerARN!)).ConsumerStatus, "DELETING");
    await sleep(TRANSITION_MS + 50);
    await rejectsWith(
      describeByArn(kinesis, consumer.ConsumerARN!),
      "ResourceNotFoundException",
      `Consumer ${consumer.ConsumerARN} under stream fan-out-gone under account 000000000000 not found.`,
    );
    assert.equal((await summaryOf(kinesis, "fan-out-gone")).ConsumerCount, 0);

    // By stream ARN and name, too.
    const again = await register(kinesis, streamArn, "leaving-too");
    await kinesis.send(
      new DeregisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: "leaving-too" }),
    );
    assert.equal((await describeByArn(kinesis, again.ConsumerARN!)).ConsumerStatus, "DELETING");
  });

  void test("ListStreamConsumers pages in name order with sealed tokens", async () => {
    const streamArn = await activeStream(kinesis, "fan-out-pages");
    const otherArn = await activeStream(kinesis, "fan-out-other");
    for (const name of ["e", "c", "a", "d", "b"]) await register(kinesis, streamArn, name);
    const pages = await listAll(kinesis, streamArn, 2);
    assert.deepEqual(
      pages.map((page) => page.map((c) => c.ConsumerName)),
      [["a", "b"], ["c", "d"], ["e"]],
    );
    assert.ok(pages.flat().every((c) => c.ConsumerARN?.startsWith(`${streamArn}/consumer/`)));
    const first = await kinesis.send(
      new ListStreamConsumersCommand({ StreamARN: streamArn, MaxResults: 1 }),
    );
    // Sealed: it does not show the engine's token, which holds the last name in clear.
    assert.ok(!Buffer.from(first.NextToken!, "base64url").toString("latin1").includes(streamArn));
    await rejectsWith(
      kinesis.send(
        new ListStreamConsumersCommand({ StreamARN: otherArn, NextToken: first.NextToken }),
      ),
      "InvalidArgumentException",
      "Invalid NextToken.",
    );
    const all = await kinesis.send(new ListStreamConsumersCommand({ StreamARN: streamArn }));
    assert.equal(all.Consumers?.length, 5);
    assert.equal(all.NextToken, undefined);
  });

  void test("a stream takes 20 consumers; a 21st is LimitExceededException, a name twice ResourceInUseException", async () => {
    const streamArn = await activeStream(kinesis, "fan-out-full");
    // Five at a time: a sixth while five are CREATING is refused.
    for (let i = 0; i < 20; i++) {
      const consumer = await register(kinesis, streamArn, `c${i}`);
      if (i === 4) {
        await rejectsWith(
          register(kinesis, streamArn, "sixth"),
          "LimitExceededException",
          "Only 5 consumers can be created at the same time",
        );
      }
      if (i % 5 === 4) await waitUntilConsumerActive(kinesis, consumer.ConsumerARN!);
    }
    await rejectsWith(
      register(kinesis, streamArn, "c20"),
      "LimitExceededException",
      "Stream fan-out-full under account 000000000000 already has 20 registered consumers, the most a stream may have (20).",
    );
    assert.equal((await summaryOf(kinesis, "fan-out-full")).ConsumerCount, 20);

    const otherArn = await activeStream(kinesis, "fan-out-twice");
    await register(kinesis, otherArn, "same");
    await rejectsWith(
      register(kinesis, otherArn, "same"),
      "ResourceInUseException",
      "Consumer same under stream fan-out-twice under account 000000000000 already exists.",
    );
  });

  void test("a stream that is not ACTIVE takes no consumer", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "fan-out-creating", ShardCount: 1 }));
    const streamArn = (await summaryOf(kinesis, "fan-out-creating")).StreamARN!;
    await rejectsWith(
      register(kinesis, streamArn, "early"),
      "ResourceInUseException",
      "Stream fan-out-creating under account 000000000000 is not currently ACTIVE or UPDATING.",
    );
  });

  void test("invalid names and ARNs get AWS's validation texts", async () => {
    const streamArn = await activeStream(kinesis, "fan-out-invalid");
    await rejectsWith(
      register(kinesis, streamArn, "no spaces"),
      "ValidationException",
      "1 validation error detected: Value 'no spaces' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    );
    await rejectsWith(
      register(kinesis, streamArn, "x".repeat(129)),
      "ValidationException",
      /at 'consumerName' failed to satisfy constraint: Member must have length less than or equal to 128$/,
    );
    await rejectsWith(
      kinesis.send(
        new DescribeStreamConsumerCommand({
          ConsumerARN: "arn:aws:kinesis:us-east-1:000000000000:stream/fan-out-invalid",
        }),
      ),
      "ValidationException",
      /at 'consumerARN' failed to satisfy constraint: Member must satisfy regular expression pattern: \^\(arn\):aws/,
    );
    await rejectsWith(
      kinesis.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn })),
      "InvalidArgumentException",
      "ConsumerArn or both ConsumerName and StreamARN are required for this request.",
    );
    await rejectsWith(
      kinesis.send(new ListStreamConsumersCommand({ StreamARN: streamArn, MaxResults: 10_001 })),
      "ValidationException",
      "1 validation error detected: Value '10001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10000",
    );
    await rejectsWith(
      kinesis.send(
        new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: "absent" }),
      ),
      "ResourceNotFoundException",
      "Consumer absent under stream fan-out-invalid under account 000000000000 not found.",
    );
    await rejectsWith(
      register(kinesis, "arn:aws:kinesis:us-east-1:000000000000:stream/no-such-stream", "r"),
      "ResourceNotFoundException",
      "Stream no-such-stream under account 000000000000 not found.",
    );
  });

  void test("a consumer's tags are listed by its ARN; a missing consumer's ARN is ResourceNotFoundException", async () => {
    const streamArn = await activeStream(kinesis, "fan-out-tags");
    const out = await kinesis.send(
      new RegisterStreamConsumerCommand({
        StreamARN: streamArn,
        ConsumerName: "tagged",
        Tags: { team: "a", env: "dev" },
      }),
    );
    const tags = await kinesis.send(
      new ListTagsForResourceCommand({ ResourceARN: out.Consumer!.ConsumerARN }),
    );
    assert.deepEqual(tags.Tags, [
      { Key: "env", Value: "dev" },
      { Key: "team", Value: "a" },
    ]);
    const missing = `${streamArn}/consumer/absent:1700000000`;
    await rejectsWith(
      kinesis.send(new ListTagsForResourceCommand({ ResourceARN: missing })),
      "ResourceNotFoundException",
      `Consumer ${missing} under stream fan-out-tags under account 000000000000 not found.`,
    );
    // An earlier consumer of the name (another creation second) is not this one.
    const stale = out.Consumer!.ConsumerARN!.replace(/:\d+$/, ":1");
    await rejectsWith(
      kinesis.send(new ListTagsForResourceCommand({ ResourceARN: stale })),
      "ResourceNotFoundException",
    );
  });

  void test("DeleteStream refuses a stream with consumers unless told to delete them too", async () => {
    const streamArn = await activeStream(kinesis, "fan-out-deleted");
    await register(kinesis, streamArn, "doomed");
    await rejectsWith(
      kinesis.send(new DeleteStreamCommand({ StreamName: "fan-out-deleted" })),
      "ResourceInUseException",
      `DeleteStream can't delete ${streamArn} because there are consumers associated with this data stream. To delete fan-out-deleted anyway, set the EnforceConsumerDeletion parameter to true to force the deletion of all the consumers that are associated with it.`,
    );
    await kinesis.send(
      new DeleteStreamCommand({ StreamName: "fan-out-deleted", EnforceConsumerDeletion: true }),
    );
    await sleep(TRANSITION_MS + 50);
    await activeStream(kinesis, "fan-out-deleted");
    const out = await kinesis.send(new ListStreamConsumersCommand({ StreamARN: streamArn }));
    assert.deepEqual(out.Consumers, []);
  });
});

void suite("stream consumers and tokens limited to some streams", () => {
  const FULL = "full-access-token-0123456789";
  const LIMITED = "orders-only-token-0123456789";
  let gateway: RunningGateway;
  before(async () => {
    const tokens = join(mkdtempSync(join(tmpdir(), "tokens-")), "tokens");
    writeFileSync(tokens, `${FULL}\n${LIMITED} orders\n`);
    gateway = await startTestGateway([
      "--streams",
      "orders:1,other:1",
      "--auth-tokens-file",
      tokens,
    ]);
  });
  after(() => gateway.stop());
  const withToken = (token: string) =>
    new KinesisClient({
      endpoint: gateway.url,
      region: "us-east-1",
      credentials: { accessKeyId: token, secretAccessKey: "unused" },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    });

  void test("a consumer ARN is its stream's: a limited caller reaches its own stream's consumers only", async () => {
    const full = withToken(FULL);
    const limited = withToken(LIMITED);
    const arnOf = async (name: string) => (await summaryOf(full, name)).StreamARN!;
    const ordersArn = await arnOf("orders");
    const otherArn = await arnOf("other");
    const theirs = await register(full, otherArn, "theirs");
    const mine = await register(limited, ordersArn, "mine");
    assert.equal((await describeByArn(limited, mine.ConsumerARN!)).ConsumerName, "mine");
    const tags = await limited.send(
      new ListTagsForResourceCommand({ ResourceARN: mine.ConsumerARN }),
    );
    assert.deepEqual(tags.Tags, []);
    const listed = await limited.send(new ListStreamConsumersCommand({ StreamARN: ordersArn }));
    assert.deepEqual(
      listed.Consumers?.map((c) => c.ConsumerName),
      ["mine"],
    );
    for (const command of [
      new RegisterStreamConsumerCommand({ StreamARN: otherArn, ConsumerName: "x" }),
      new DescribeStreamConsumerCommand({ ConsumerARN: theirs.ConsumerARN }),
      new DeregisterStreamConsumerCommand({ ConsumerARN: theirs.ConsumerARN }),
      new ListStreamConsumersCommand({ StreamARN: otherArn }),
      new ListTagsForResourceCommand({ ResourceARN: theirs.ConsumerARN }),
    ]) {
      await rejectsWith(limited.send(command as never), "AccessDeniedException");
    }
    await limited.send(new DeregisterStreamConsumerCommand({ ConsumerARN: mine.ConsumerARN }));
    full.destroy();
    limited.destroy();
  });
});

void suite("stream consumers forwarded to a real emulator", () => {
  const emulator = useEmulator();
  let gateway: RunningGateway;
  let kinesis: KinesisClient;
  before(async () => {
    gateway = await startTestGateway([
      "--backend",
      "kinesis",
      "--kinesis-endpoint",
      emulator.current.endpoint,
    ]);
    kinesis = sdkClient(gateway.url);
  });
  after(async () => {
    kinesis.destroy();
    await gateway.stop();
  });

  void test("register, describe, list in pages and deregister come back as the emulator answers", async () => {
    const streamArn = await activeStream(kinesis, "forwarded-fan-out");
    const consumer = await register(kinesis, streamArn, "reader");
    const seconds = Math.floor(consumer.ConsumerCreationTimestamp!.getTime() / 1000);
    assert.equal(consumer.ConsumerARN, `${streamArn}/consumer/reader:${seconds}`);
    await waitUntilConsumerActive(kinesis, consumer.ConsumerARN!);
    const byName = await kinesis.send(
      new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: "reader" }),
    );
    assert.equal(byName.ConsumerDescription?.ConsumerARN, consumer.ConsumerARN);
    assert.equal(byName.ConsumerDescription?.StreamARN, streamArn);
    const tagged = await kinesis.send(
      new RegisterStreamConsumerCommand({
        StreamARN: streamArn,
        ConsumerName: "reader-2",
        Tags: { team: "a" },
      }),
    );
    const tags = await kinesis.send(
      new ListTagsForResourceCommand({ ResourceARN: tagged.Consumer!.ConsumerARN }),
    );
    // kinesis-mock 0.6.2 keeps no tags given at registration (AWS does, its API
    // reference says; the engine's test above asserts that): the gateway
    // answers a consumer's ARN with what the emulator itself answers.
    const direct = await emulator.current
      .client()
      .send(new ListTagsForResourceCommand({ ResourceARN: tagged.Consumer!.ConsumerARN }));
    assert.deepEqual(tags.Tags, direct.Tags);
    await register(kinesis, streamArn, "reader-3");
    // The emulator's token passes through sealed, and pages on when sent back.
    // (kinesis-mock 0.6.2 deviates from AWS: of three consumers with
    // MaxResults 2 it answers two and no NextToken, so only the first step
    // of paging is asserted here; the engine's paging is tested above.)
    const first = await kinesis.send(
      new ListStreamConsumersCommand({ StreamARN: streamArn, MaxResults: 1 }),
    );
    assert.equal(first.Consumers?.length, 1);
    assert.ok(
      first.NextToken !== undefined && first.NextToken !== first.Consumers?.[0]?.ConsumerName,
    );
    const second = await kinesis.send(
      new ListStreamConsumersCommand({
        StreamARN: streamArn,
        MaxResults: 1,
        NextToken: first.NextToken,
      }),
    );
    assert.equal(second.Consumers?.length, 1);
    assert.notEqual(second.Consumers?.[0]?.ConsumerName, first.Consumers?.[0]?.ConsumerName);
    assert.equal((await summaryOf(kinesis, "forwarded-fan-out")).ConsumerCount, 3);
    await kinesis.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }));
    const gone = await until(
      () =>
        describeByArn(kinesis, consumer.ConsumerARN!).then(
          (d) => d.ConsumerStatus,
          (err: Error) => err.name,
        ),
      (status) => status === "ResourceNotFoundException",
    );
    assert.equal(gone, "ResourceNotFoundException");
  });

  void test("a name twice is ResourceInUseException, a 21st consumer LimitExceededException", async () => {
    const streamArn = await activeStream(kinesis, "forwarded-full");
    await register(kinesis, streamArn, "c0");
    await rejectsWith(register(kinesis, streamArn, "c0"), "ResourceInUseException");
    for (let i = 1; i < 20; i++) await register(kinesis, streamArn, `c${i}`);
    // kinesis-mock's own text; the engine's is tested above.
    await rejectsWith(
      register(kinesis, streamArn, "c20"),
      "LimitExceededException",
      "Only 20 consumers can be registered to a stream at once",
    );
  });
});
