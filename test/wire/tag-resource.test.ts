/**
 * TagResource and UntagResource — a stream's or a consumer's tags by ARN —
 * over the AWS SDK against the gateway's engine, and forwarded to a real
 * emulator.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ListTagsForResourceCommand,
  ListTagsForStreamCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from "@aws-sdk/client-kinesis";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { forwardingTo, useGateway } from "../helpers/gateway.ts";
import { activeConsumer, activeStream, rejectsWith, sdkClient } from "../helpers/kinesis-sdk.ts";

const TRANSITION_MS = 200;

const tagsOf = async (kinesis: KinesisClient, arn: string) =>
  Object.fromEntries(
    ((await kinesis.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags ?? []).map(
      (t) => [t.Key!, t.Value!],
    ),
  );

const manyTags = (count: number, prefix: string) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, "v"]));

void suite("TagResource and UntagResource against the engine", () => {
  const gateway = useGateway(["--stream-transition-ms", String(TRANSITION_MS)]);
  let kinesis: KinesisClient;
  before(() => {
    kinesis = sdkClient(gateway.current.url);
  });
  after(() => kinesis.destroy());

  void test("tags a stream by its ARN, overwriting a value; ListTagsForStream sees them", async () => {
    const arn = await activeStream(kinesis, "tag-stream");
    await kinesis.send(
      new TagResourceCommand({ ResourceARN: arn, Tags: { team: "a", env: "dev" } }),
    );
    await kinesis.send(new TagResourceCommand({ ResourceARN: arn, Tags: { env: "prod" } }));
    assert.deepEqual(await tagsOf(kinesis, arn), { env: "prod", team: "a" });
    const byName = await kinesis.send(new ListTagsForStreamCommand({ StreamName: "tag-stream" }));
    assert.deepEqual(byName.Tags, [
      { Key: "env", Value: "prod" },
      { Key: "team", Value: "a" },
    ]);

    await kinesis.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ["team", "absent"] }));
    assert.deepEqual(await tagsOf(kinesis, arn), { env: "prod" });
  });

  void test("tags and untags a consumer by its ARN, apart from its stream's tags", async () => {
    const streamArn = await activeStream(kinesis, "tag-consumer");
    const consumerArn = await activeConsumer(kinesis, streamArn, "reader");
    await kinesis.send(
      new TagResourceCommand({ ResourceARN: consumerArn, Tags: { owner: "x", tier: "1" } }),
    );
    assert.deepEqual(await tagsOf(kinesis, consumerArn), { owner: "x", tier: "1" });
    assert.deepEqual(await tagsOf(kinesis, streamArn), {});
    await kinesis.send(new UntagResourceCommand({ ResourceARN: consumerArn, TagKeys: ["owner"] }));
    assert.deepEqual(await tagsOf(kinesis, consumerArn), { tier: "1" });
  });

  void test("a 51st tag is LimitExceededException for a stream and a consumer, and adds none", async () => {
    const streamArn = await activeStream(kinesis, "tag-limit");
    const consumerArn = await activeConsumer(kinesis, streamArn, "limited");
    for (const [arn, kind, name] of [
      [streamArn, "stream", "tag-limit"],
      [consumerArn, "consumer", "limited"],
    ] as const) {
      await kinesis.send(new TagResourceCommand({ ResourceARN: arn, Tags: manyTags(49, "k") }));
      await rejectsWith(
        kinesis.send(
          new TagResourceCommand({ ResourceARN: arn, Tags: { k0: "overwritten", a: "1", b: "2" } }),
        ),
        "LimitExceededException",
        `Failed to add tags to ${kind} ${name} under account 000000000000 because a given ` +
          `${kind} cannot have more than 50 tags associated with it.`,
      );
      const tags = await tagsOf(kinesis, arn);
      assert.equal(Object.keys(tags).length, 49);
      assert.equal(tags.k0, "v");
      // Overwriting counts no new tag: the 50th fits.
      await kinesis.send(new TagResourceCommand({ ResourceARN: arn, Tags: { k0: "w", a: "1" } }));
      assert.equal(Object.keys(await tagsOf(kinesis, arn)).length, 50);
    }
  });

  void test("AddTagsToStream's checks on tags and keys are ValidationExceptions that change nothing", async () => {
    const arn = await activeStream(kinesis, "tag-checks");
    await kinesis.send(new TagResourceCommand({ ResourceARN: arn, Tags: { kept: "1" } }));
    const refusals: [Promise<unknown>, RegExp][] = [
      [
        kinesis.send(new TagResourceCommand({ ResourceARN: arn, Tags: manyTags(51, "t") })),
        /'tags' failed to satisfy constraint: Member must have length less than or equal to 50/,
      ],
      [
        kinesis.send(
          new TagResourceCommand({ ResourceARN: arn, Tags: { ["k".repeat(129)]: "v" } }),
        ),
        /'tags' failed to satisfy constraint: Map keys must satisfy constraint: \[Member must have length less than or equal to 128/,
      ],
      [
        kinesis.send(new TagResourceCommand({ ResourceARN: arn, Tags: { k: "v".repeat(257) } })),
        /Map value must satisfy constraint: \[Member must have length less than or equal to 256/,
      ],
      [
        kinesis.send(new TagResourceCommand({ ResourceARN: arn, Tags: {} })),
        /'tags' failed to satisfy constraint: Member must have length greater than or equal to 1/,
      ],
      [
        kinesis.send(new TagResourceCommand({ ResourceARN: arn, Tags: undefined })),
        /'tags' failed to satisfy constraint: Member must not be null/,
      ],
      [
        kinesis.send(
          new UntagResourceCommand({ ResourceARN: arn, TagKeys: ["kept", "k".repeat(129)] }),
        ),
        /'tagKeys' failed to satisfy constraint: Member must satisfy constraint: \[Member must have length less than or equal to 128/,
      ],
      [
        kinesis.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: [] })),
        /'tagKeys' failed to satisfy constraint: Member must have length greater than or equal to 1/,
      ],
      [
        kinesis.send(
          new UntagResourceCommand({
            ResourceARN: arn,
            TagKeys: ["kept", ...Object.keys(manyTags(50, "t"))],
          }),
        ),
        /'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 50/,
      ],
      [
        kinesis.send(
          new TagResourceCommand({ ResourceARN: "arn:aws:s3:::bucket", Tags: { a: "1" } }),
        ),
        /'resourceARN' failed to satisfy constraint: Member must satisfy regular expression pattern/,
      ],
    ];
    for (const [promise, message] of refusals)
      await rejectsWith(promise, "ValidationException", message);
    assert.deepEqual(await tagsOf(kinesis, arn), { kept: "1" });
  });

  void test("an ARN of no stream or consumer is ResourceNotFoundException; of no stream or consumer kind, InvalidArgumentException", async () => {
    const account = "arn:aws:kinesis:us-east-1:000000000000";
    await rejectsWith(
      kinesis.send(
        new TagResourceCommand({ ResourceARN: `${account}:stream/absent`, Tags: { a: "1" } }),
      ),
      "ResourceNotFoundException",
    );
    await rejectsWith(
      kinesis.send(
        new UntagResourceCommand({
          ResourceARN: `${account}:stream/absent/consumer/c:1700000000`,
          TagKeys: ["a"],
        }),
      ),
      "ResourceNotFoundException",
    );
    await rejectsWith(
      kinesis.send(new TagResourceCommand({ ResourceARN: `${account}:table/x`, Tags: { a: "1" } })),
      "InvalidArgumentException",
      `Resource ARN ${account}:table/x is not a recognized Kinesis stream or consumer ARN.`,
    );
  });

  void test("a stream that is not yet ACTIVE is ResourceInUseException, as for AddTagsToStream", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "tag-creating", ShardCount: 1 }));
    const summary = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: "tag-creating" }),
    );
    const arn = summary.StreamDescriptionSummary!.StreamARN!;
    assert.equal(summary.StreamDescriptionSummary!.StreamStatus, "CREATING");
    await rejectsWith(
      kinesis.send(new TagResourceCommand({ ResourceARN: arn, Tags: { a: "1" } })),
      "ResourceInUseException",
    );
    await rejectsWith(
      kinesis.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ["a"] })),
      "ResourceInUseException",
    );
  });
});

void suite("TagResource and UntagResource forwarded to a real emulator", () => {
  const emulator = useEmulator();
  const gateway = useGateway(forwardingTo(emulator));

  void test("a stream's tags set and removed by ARN through the gateway", async () => {
    const kinesis = sdkClient(gateway.current.url);
    await kinesis.send(
      new CreateStreamCommand({ StreamName: "forwarded-tag-resource", ShardCount: 1 }),
    );
    await waitUntilStreamActive(emulator.current.client(), "forwarded-tag-resource");
    const summary = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: "forwarded-tag-resource" }),
    );
    const arn = summary.StreamDescriptionSummary!.StreamARN!;
    await kinesis.send(
      new TagResourceCommand({ ResourceARN: arn, Tags: { team: "a", env: "dev" } }),
    );
    assert.deepEqual(await tagsOf(kinesis, arn), { env: "dev", team: "a" });
    await kinesis.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ["team"] }));
    assert.deepEqual(await tagsOf(kinesis, arn), { env: "dev" });
    kinesis.destroy();
  });
});
