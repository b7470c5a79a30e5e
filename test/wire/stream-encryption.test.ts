/**
 * StartStreamEncryption and StopStreamEncryption over the AWS SDK against
 * the gateway's engine, and forwarded to a real emulator.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  DescribeStreamSummaryCommand,
  type EncryptionType,
  type KinesisClient,
  PutRecordCommand,
  PutRecordsCommand,
  StartStreamEncryptionCommand,
  StopStreamEncryptionCommand,
} from "@aws-sdk/client-kinesis";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { forwardingTo, useGateway } from "../helpers/gateway.ts";
import { activeStream, rejectsWith, sdkClient, untilStreamActive } from "../helpers/kinesis-sdk.ts";

const TRANSITION_MS = 200;
const KEY = "alias/aws/kinesis";

async function statusOf(kinesis: KinesisClient, name: string) {
  return (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name })))
    .StreamDescriptionSummary!.StreamStatus;
}

/** EncryptionType and KeyId as DescribeStream and DescribeStreamSummary show them, which must agree. */
async function shownEncryption(kinesis: KinesisClient, name: string) {
  const summary = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name })))
    .StreamDescriptionSummary!;
  const described = (await kinesis.send(new DescribeStreamCommand({ StreamName: name })))
    .StreamDescription!;
  assert.equal(described.EncryptionType, summary.EncryptionType);
  assert.equal(described.KeyId, summary.KeyId);
  return { type: summary.EncryptionType, keyId: summary.KeyId };
}

/** The EncryptionType a PutRecord and a PutRecords answer carry, which must agree. */
async function writesAnswer(kinesis: KinesisClient, name: string) {
  const data = new TextEncoder().encode("x");
  const one = await kinesis.send(
    new PutRecordCommand({ StreamName: name, PartitionKey: "k", Data: data }),
  );
  const batch = await kinesis.send(
    new PutRecordsCommand({ StreamName: name, Records: [{ PartitionKey: "k", Data: data }] }),
  );
  assert.equal(batch.EncryptionType, one.EncryptionType);
  return one.EncryptionType;
}

const start = (StreamName: string, type: string, KeyId: string | null = KEY) =>
  new StartStreamEncryptionCommand({
    StreamName,
    EncryptionType: type as EncryptionType,
    // null sends none.
    KeyId: (KeyId ?? undefined) as string,
  });
const stop = (StreamName: string, type: string, KeyId: string | null = KEY) =>
  new StopStreamEncryptionCommand({
    StreamName,
    EncryptionType: type as EncryptionType,
    // null sends none.
    KeyId: (KeyId ?? undefined) as string,
  });

void suite("StartStreamEncryption and StopStreamEncryption against the engine", () => {
  const gateway = useGateway(["--stream-transition-ms", String(TRANSITION_MS)]);
  let kinesis: KinesisClient;
  before(() => {
    kinesis = sdkClient(gateway.current.url);
  });
  after(() => kinesis.destroy());

  void test("encrypting: UPDATING for the transition, then writes answer KMS and describes show the key", async () => {
    await activeStream(kinesis, "encrypted");
    assert.deepEqual(await shownEncryption(kinesis, "encrypted"), {
      type: "NONE",
      keyId: undefined,
    });
    assert.equal(await writesAnswer(kinesis, "encrypted"), "NONE");

    await kinesis.send(start("encrypted", "KMS"));
    assert.equal(await statusOf(kinesis, "encrypted"), "UPDATING");
    // Writes go on while UPDATING, still unencrypted.
    assert.equal(await writesAnswer(kinesis, "encrypted"), "NONE");
    await untilStreamActive(kinesis, "encrypted");
    assert.deepEqual(await shownEncryption(kinesis, "encrypted"), { type: "KMS", keyId: KEY });
    assert.equal(await writesAnswer(kinesis, "encrypted"), "KMS");

    await kinesis.send(stop("encrypted", "KMS"));
    assert.equal(await statusOf(kinesis, "encrypted"), "UPDATING");
    await untilStreamActive(kinesis, "encrypted");
    assert.deepEqual(await shownEncryption(kinesis, "encrypted"), {
      type: "NONE",
      keyId: undefined,
    });
    assert.equal(await writesAnswer(kinesis, "encrypted"), "NONE");
  });

  void test("a stream not ACTIVE (CREATING, or UPDATING from a change) is ResourceInUseException and keeps its encryption", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "encrypt-creating", ShardCount: 1 }));
    await rejectsWith(
      kinesis.send(start("encrypt-creating", "KMS")),
      "ResourceInUseException",
      "Stream encrypt-creating under account 000000000000 is not currently ACTIVE.",
    );
    await untilStreamActive(kinesis, "encrypt-creating");
    assert.equal((await shownEncryption(kinesis, "encrypt-creating")).type, "NONE");

    await kinesis.send(start("encrypt-creating", "KMS", "key-1"));
    await rejectsWith(
      kinesis.send(start("encrypt-creating", "KMS", "key-2")),
      "ResourceInUseException",
    );
    await rejectsWith(kinesis.send(stop("encrypt-creating", "KMS")), "ResourceInUseException");
    await untilStreamActive(kinesis, "encrypt-creating");
    assert.deepEqual(await shownEncryption(kinesis, "encrypt-creating"), {
      type: "KMS",
      keyId: "key-1",
    });
    await rejectsWith(kinesis.send(start("encrypt-absent", "KMS")), "ResourceNotFoundException");
  });

  void test("bad EncryptionType or KeyId is refused with AWS's texts and changes nothing", async () => {
    await activeStream(kinesis, "encrypt-checks");
    for (const command of [start, stop]) {
      await rejectsWith(
        kinesis.send(command("encrypt-checks", "AES")),
        "ValidationException",
        "1 validation error detected: Value 'AES' at 'encryptionType' failed to satisfy " +
          "constraint: Member must satisfy enum value set: [KMS, NONE]",
      );
      await rejectsWith(
        kinesis.send(command("encrypt-checks", "KMS", "")),
        "ValidationException",
        "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: " +
          "Member must have length greater than or equal to 1",
      );
      await rejectsWith(
        kinesis.send(command("encrypt-checks", "KMS", "k".repeat(2049))),
        "ValidationException",
        /'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048/,
      );
      await rejectsWith(
        kinesis.send(command("encrypt-checks", "KMS", null)),
        "ValidationException",
        /Value null at 'keyId' failed to satisfy constraint: Member must not be null/,
      );
    }
    await rejectsWith(
      kinesis.send(start("encrypt-checks", "NONE")),
      "InvalidArgumentException",
      "StartStreamEncryption takes EncryptionType KMS, not NONE.",
    );
    // A key of 2,048 characters is accepted.
    assert.equal(await statusOf(kinesis, "encrypt-checks"), "ACTIVE");
    assert.deepEqual(await shownEncryption(kinesis, "encrypt-checks"), {
      type: "NONE",
      keyId: undefined,
    });
    await kinesis.send(start("encrypt-checks", "KMS", "k".repeat(2048)));
    await untilStreamActive(kinesis, "encrypt-checks");
    assert.equal((await shownEncryption(kinesis, "encrypt-checks")).keyId, "k".repeat(2048));
  });
});

void suite("StartStreamEncryption and StopStreamEncryption forwarded to a real emulator", () => {
  const emulator = useEmulator();
  const gateway = useGateway(forwardingTo(emulator));

  void test("encryption started and stopped through the gateway", async () => {
    const kinesis = sdkClient(gateway.current.url);
    const name = "forwarded-encryption";
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    await waitUntilStreamActive(emulator.current.client(), name);
    await kinesis.send(start(name, "KMS"));
    await waitUntilStreamActive(emulator.current.client(), name);
    assert.deepEqual(await shownEncryption(kinesis, name), { type: "KMS", keyId: KEY });
    assert.equal(await writesAnswer(kinesis, name), "KMS");
    await kinesis.send(stop(name, "KMS"));
    await waitUntilStreamActive(emulator.current.client(), name);
    assert.deepEqual(await shownEncryption(kinesis, name), { type: "NONE", keyId: undefined });
    kinesis.destroy();
  });
});
