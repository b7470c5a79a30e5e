/**
 * Large records over the wire API: UpdateMaxRecordSize and CreateStream's
 * MaxRecordSizeInKiB with the AWS SDK, a 10 MiB record written and read back
 * in JSON (about 13.4 MiB of base64) and in CBOR, the stream's maximum
 * enforced with AWS's texts, against the engine and forwarded to a real
 * emulator.
 *
 * Not with the AWS CLI: the installed v2.9 predates UpdateMaxRecordSize
 * (and CreateStream's MaxRecordSizeInKiB), so it cannot raise a stream.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, suite, test } from "node:test";
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  PutRecordCommand,
  PutRecordsCommand,
  StartStreamEncryptionCommand,
  UpdateMaxRecordSizeCommand,
} from "@aws-sdk/client-kinesis";
import { Decoder, Encoder, type Options } from "cbor-x";
import type { RunningGateway } from "../../src/main.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { startTestGateway, useGateway } from "../helpers/gateway.ts";
import { activeStream, rejectsWith, sdkClient, untilStreamActive } from "../helpers/kinesis-sdk.ts";
import { MiB, payload, TEN_MIB_DATA } from "../helpers/large-records.ts";

async function maxRecordSizeOf(kinesis: KinesisClient, name: string) {
  const summary = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name })))
    .StreamDescriptionSummary!;
  return { size: summary.MaxRecordSizeInKiB, status: summary.StreamStatus };
}

/** Every record of the stream's only shard, oldest first. */
async function readAll(kinesis: KinesisClient, name: string) {
  const { ShardIterator } = await kinesis.send(
    new GetShardIteratorCommand({
      StreamName: name,
      ShardId: "shardId-000000000000",
      ShardIteratorType: "TRIM_HORIZON",
    }),
  );
  const got = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
  return got.Records ?? [];
}

const dataTooLong = (path: string, length: number, max: number) =>
  `1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=${length} cap=${length}]' at '${path}' failed to satisfy constraint: Member must have length less than or equal to ${max}`;

const update = (StreamARN: string | undefined, MaxRecordSizeInKiB: number) =>
  new UpdateMaxRecordSizeCommand({ StreamARN, MaxRecordSizeInKiB });

void suite("large records on the wire API, against the engine", () => {
  const gateway = useGateway(["--stream-transition-ms", "200"]);
  let kinesis: KinesisClient;
  before(() => {
    kinesis = sdkClient(gateway.current.url);
  });
  after(() => kinesis.destroy());

  void test("a stream raised to 10,240 KiB takes a 10 MiB record at once, and gives it back whole", async () => {
    const arn = await activeStream(kinesis, "raised");
    assert.deepEqual(await maxRecordSizeOf(kinesis, "raised"), { size: 1024, status: "ACTIVE" });
    await kinesis.send(update(arn, 10240));
    // No UPDATING phase: the new size holds for the very next write.
    assert.deepEqual(await maxRecordSizeOf(kinesis, "raised"), { size: 10240, status: "ACTIVE" });

    const data = payload(TEN_MIB_DATA);
    const put = await kinesis.send(
      new PutRecordsCommand({ StreamName: "raised", Records: [{ PartitionKey: "k", Data: data }] }),
    );
    assert.equal(put.FailedRecordCount, 0);
    const records = await readAll(kinesis, "raised");
    assert.equal(records.length, 1);
    assert.equal(records[0]!.SequenceNumber, put.Records![0]!.SequenceNumber);
    assert.ok(Buffer.from(records[0]!.Data!).equals(data), "the record came back changed");
  });

  void test("a 10 MiB record drains an idle shard, which refuses writes until it has recovered", async () => {
    const arn = await activeStream(kinesis, "drained");
    await kinesis.send(update(arn, 10240));
    await kinesis.send(
      new PutRecordCommand({
        StreamName: "drained",
        PartitionKey: "k",
        Data: payload(TEN_MIB_DATA),
      }),
    );
    // Nine seconds of debt at 1 MiB/s: even one byte is refused now.
    await rejectsWith(
      kinesis.send(
        new PutRecordCommand({ StreamName: "drained", PartitionKey: "k", Data: new Uint8Array(1) }),
      ),
      "ProvisionedThroughputExceededException",
      "Rate exceeded for shard shardId-000000000000 in stream drained under account 000000000000.",
    );
  });

  void test("the stream's maximum is data plus key, refused one byte over with AWS's texts, writing nothing", async () => {
    const arn = await activeStream(kinesis, "two-mib");
    await kinesis.send(update(arn, 2048));
    const max = 2 * MiB;
    await rejectsWith(
      kinesis.send(
        new PutRecordsCommand({
          StreamName: "two-mib",
          Records: [
            { PartitionKey: "k", Data: new Uint8Array(1) },
            { PartitionKey: "k", Data: new Uint8Array(max + 1) },
          ],
        }),
      ),
      "ValidationException",
      dataTooLong("records.2.member.data", max + 1, max),
    );
    await rejectsWith(
      kinesis.send(
        new PutRecordCommand({
          StreamName: "two-mib",
          PartitionKey: "k",
          Data: new Uint8Array(max + 1),
        }),
      ),
      "ValidationException",
      dataTooLong("data", max + 1, max),
    );
    // Data within the maximum, but not with its key.
    await rejectsWith(
      kinesis.send(
        new PutRecordCommand({
          StreamName: "two-mib",
          PartitionKey: "kk",
          Data: new Uint8Array(max - 1),
        }),
      ),
      "InvalidArgumentException",
      `Record size of ${max + 1} bytes (data plus partition key) exceeds the limit of ${max} bytes.`,
    );
    assert.equal((await readAll(kinesis, "two-mib")).length, 0);
    await kinesis.send(
      new PutRecordCommand({
        StreamName: "two-mib",
        PartitionKey: "k",
        Data: new Uint8Array(max - 1),
      }),
    );
    assert.equal((await readAll(kinesis, "two-mib")).length, 1);
  });

  void test("a stream never raised still refuses 1 MiB + 1, as before large records", async () => {
    await activeStream(kinesis, "default-size");
    await rejectsWith(
      kinesis.send(
        new PutRecordsCommand({
          StreamName: "default-size",
          Records: [{ PartitionKey: "k", Data: new Uint8Array(MiB + 1) }],
        }),
      ),
      "ValidationException",
      dataTooLong("records.1.member.data", MiB + 1, MiB),
    );
    await rejectsWith(
      kinesis.send(
        new PutRecordCommand({
          StreamName: "default-size",
          PartitionKey: "k",
          Data: new Uint8Array(MiB),
        }),
      ),
      "InvalidArgumentException",
      `Record size of ${MiB + 1} bytes (data plus partition key) exceeds the limit of ${MiB} bytes.`,
    );
    assert.equal((await readAll(kinesis, "default-size")).length, 0);
  });

  void test("no stream takes data over 10 MiB, and no request over 10 MiB in all", async () => {
    const arn = await activeStream(kinesis, "ceiling");
    await kinesis.send(update(arn, 10240));
    await rejectsWith(
      kinesis.send(
        new PutRecordCommand({
          StreamName: "ceiling",
          PartitionKey: "k",
          Data: new Uint8Array(10 * MiB + 1),
        }),
      ),
      "ValidationException",
      dataTooLong("data", 10 * MiB + 1, 10 * MiB),
    );
    await rejectsWith(
      kinesis.send(
        new PutRecordsCommand({
          StreamName: "ceiling",
          Records: [
            { PartitionKey: "k", Data: new Uint8Array(6 * MiB) },
            { PartitionKey: "k", Data: new Uint8Array(4 * MiB) },
          ],
        }),
      ),
      "InvalidArgumentException",
      "Records size exceeds 10 MB limit",
    );
  });

  void test("UpdateMaxRecordSize takes 1,024 to 10,240 KiB, by ARN, with AWS's texts", async () => {
    const arn = await activeStream(kinesis, "bounds");
    await rejectsWith(
      kinesis.send(update(arn, 1023)),
      "ValidationException",
      "1 validation error detected: Value '1023' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value greater than or equal to 1024",
    );
    await rejectsWith(
      kinesis.send(update(arn, 10241)),
      "ValidationException",
      "1 validation error detected: Value '10241' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value less than or equal to 10240",
    );
    await rejectsWith(
      kinesis.send(update(undefined, 2048)),
      "InvalidArgumentException",
      "StreamARN was not provided; UpdateMaxRecordSize names its stream by ARN.",
    );
    await rejectsWith(
      kinesis.send(update(arn.replace(/bounds$/, "nope"), 2048)),
      "ResourceNotFoundException",
      "Stream nope under account 000000000000 not found.",
    );
    assert.equal((await maxRecordSizeOf(kinesis, "bounds")).size, 1024);
    await kinesis.send(update(arn, 1024));
    await kinesis.send(update(arn, 10240));
    assert.equal((await maxRecordSizeOf(kinesis, "bounds")).size, 10240);
  });

  void test("CreateStream takes MaxRecordSizeInKiB in the same bounds", async () => {
    await kinesis.send(
      new CreateStreamCommand({
        StreamName: "created-large",
        ShardCount: 1,
        MaxRecordSizeInKiB: 4096,
      }),
    );
    await untilStreamActive(kinesis, "created-large");
    assert.equal((await maxRecordSizeOf(kinesis, "created-large")).size, 4096);
    await rejectsWith(
      kinesis.send(
        new CreateStreamCommand({
          StreamName: "too-large",
          ShardCount: 1,
          MaxRecordSizeInKiB: 10241,
        }),
      ),
      "ValidationException",
      "1 validation error detected: Value '10241' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value less than or equal to 10240",
    );
  });

  void test("a stream that is not ACTIVE keeps its size: ResourceInUseException", async () => {
    await kinesis.send(new CreateStreamCommand({ StreamName: "busy", ShardCount: 1 }));
    const creating = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: "busy" })))
      .StreamDescriptionSummary!;
    assert.equal(creating.StreamStatus, "CREATING");
    const inUse = "Stream busy under account 000000000000 is not currently ACTIVE.";
    await rejectsWith(
      kinesis.send(update(creating.StreamARN, 2048)),
      "ResourceInUseException",
      inUse,
    );
    await untilStreamActive(kinesis, "busy");
    await kinesis.send(
      new StartStreamEncryptionCommand({
        StreamName: "busy",
        EncryptionType: "KMS",
        KeyId: "alias/aws/kinesis",
      }),
    );
    assert.equal((await maxRecordSizeOf(kinesis, "busy")).status, "UPDATING");
    await rejectsWith(
      kinesis.send(update(creating.StreamARN, 2048)),
      "ResourceInUseException",
      inUse,
    );
    assert.equal((await maxRecordSizeOf(kinesis, "busy")).size, 1024);
  });

  void test("CBOR carries a 10 MiB record as raw bytes, both ways", async () => {
    const arn = await activeStream(kinesis, "cbor-large");
    await kinesis.send(update(arn, 10240));
    const encoder = new Encoder({ mapsAsObjects: true, useRecords: false, tagUint8Array: false });
    const decoderOptions: Options & { int64AsNumber: boolean } = {
      mapsAsObjects: true,
      useRecords: false,
      int64AsNumber: true, // the timestamps' 64-bit milliseconds (a runtime option its types omit)
    };
    const decoder = new Decoder(decoderOptions);
    const cbor = async (operation: string, body: unknown) => {
      const res = await fetch(`${gateway.current.url}/`, {
        method: "POST",
        headers: {
          "content-type": "application/x-amz-cbor-1.1",
          "x-amz-target": `Kinesis_20131202.${operation}`,
          authorization:
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0",
        },
        body: encoder.encode(body),
      });
      assert.equal(res.status, 200, operation);
      return decoder.decode(new Uint8Array(await res.arrayBuffer())) as Record<string, unknown>;
    };
    const data = payload(TEN_MIB_DATA);
    const put = await cbor("PutRecord", {
      StreamName: "cbor-large",
      PartitionKey: "k",
      Data: data,
    });
    const { ShardIterator } = await cbor("GetShardIterator", {
      StreamName: "cbor-large",
      ShardId: put.ShardId,
      ShardIteratorType: "TRIM_HORIZON",
    });
    const got = (await cbor("GetRecords", { ShardIterator })) as {
      Records: { Data: Uint8Array; SequenceNumber: string }[];
    };
    assert.equal(got.Records.length, 1);
    assert.equal(got.Records[0]!.SequenceNumber, put.SequenceNumber);
    assert.ok(Buffer.from(got.Records[0]!.Data).equals(data), "the record came back changed");
  });
});

void suite("large records forwarded to a real emulator", () => {
  const emulator = useEmulator();
  let gateway: RunningGateway;
  let kinesis: KinesisClient;
  before(async () => {
    gateway = await startTestGateway([
      "--backend",
      "kinesis",
      "--kinesis-endpoint",
      emulator.current.endpoint,
      // kinesis-mock's Node build takes about ten seconds over a 10 MiB request.
      "--kinesis-request-timeout-ms",
      "60000",
    ]);
    kinesis = sdkClient(gateway.url);
  });
  after(async () => {
    kinesis.destroy();
    await gateway.stop();
  });

  void test("UpdateMaxRecordSize through the gateway; a 10 MiB record written, which kinesis-mock cannot give back", async () => {
    const name = "forwarded-large";
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    await waitUntilStreamActive(emulator.current.client(), name);
    // kinesis-mock deviates: it leaves MaxRecordSizeInKiB out until the size is changed.
    assert.equal((await maxRecordSizeOf(kinesis, name)).size, undefined);
    const arn = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name })))
      .StreamDescriptionSummary!.StreamARN!;
    // The gateway validates before forwarding, so AWS's text, not kinesis-mock's
    // InvalidArgumentException "MaxRecordSizeInKiB must be between 1024 and 10240".
    await rejectsWith(
      kinesis.send(update(arn, 1023)),
      "ValidationException",
      /Value '1023' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value greater than or equal to 1024$/,
    );
    await kinesis.send(update(arn, 10240));
    assert.equal((await maxRecordSizeOf(kinesis, name)).size, 10240);

    const data = payload(TEN_MIB_DATA);
    const put = await kinesis.send(
      new PutRecordsCommand({ StreamName: name, Records: [{ PartitionKey: "k", Data: data }] }),
    );
    assert.equal(put.FailedRecordCount, 0);
    // kinesis-mock deviates: it stores the 10 MiB record but cannot return it
    // (GetRecords answers HTTP 500, "NoSuchElementException: last on empty
    // queue"), so the gateway can only pass that on. The engine returns it (above).
    await rejectsWith(readAll(kinesis, name), "InternalFailure");
  });

  void test("a record of several MiB written and read back through the gateway", async () => {
    const name = "forwarded-8mib";
    await kinesis.send(
      new CreateStreamCommand({ StreamName: name, ShardCount: 1, MaxRecordSizeInKiB: 8192 }),
    );
    await waitUntilStreamActive(emulator.current.client(), name);
    assert.equal((await maxRecordSizeOf(kinesis, name)).size, 8192);
    const data = payload(8 * MiB - 1);
    const put = await kinesis.send(
      new PutRecordCommand({ StreamName: name, PartitionKey: "k", Data: data }),
    );
    const records = await readAll(kinesis, name);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.SequenceNumber, put.SequenceNumber);
    assert.ok(Buffer.from(records[0]!.Data!).equals(data), "the record came back changed");
  });

  void test("a record over the stream's maximum: kinesis-mock's answer passes through", async () => {
    const name = "forwarded-default";
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    await waitUntilStreamActive(emulator.current.client(), name);
    // kinesis-mock deviates: per record, InvalidArgumentException with its own
    // text, counting data only; AWS (and the engine, above) refuses the whole
    // request with a ValidationException. The gateway forwards as it is told.
    const put = await kinesis.send(
      new PutRecordsCommand({
        StreamName: name,
        Records: [
          { PartitionKey: "k", Data: new Uint8Array(MiB + 1) },
          { PartitionKey: "k", Data: new Uint8Array(1) },
        ],
      }),
    );
    assert.equal(put.FailedRecordCount, 1);
    assert.equal(put.Records![0]!.ErrorCode, "InvalidArgumentException");
    assert.equal(
      put.Records![0]!.ErrorMessage,
      `Record data size ${MiB + 1} exceeds the stream's max record size of ${MiB} bytes`,
    );
    assert.match(put.Records![1]!.SequenceNumber ?? "", /^\d+$/);
  });
});

void suite("a 10 MiB answer read slowly over HTTP/1.1", () => {
  const gateway = useGateway();

  // An outside tester's client reading at 3 MB/s got 9 of the answer's 14 MB,
  // then the connection closed: Node counts a write as waiting until all of it
  // is out, so the answer looked stalled and was cut. 2 MB/s: about 7 s.
  void test("arrives whole: a client that keeps reading is never cut", async () => {
    const kinesis = sdkClient(gateway.current.url);
    try {
      const arn = await activeStream(kinesis, "slow-reader");
      await kinesis.send(update(arn, 10240));
      await kinesis.send(
        new PutRecordCommand({
          StreamName: "slow-reader",
          PartitionKey: "k",
          Data: payload(TEN_MIB_DATA),
        }),
      );
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: "slow-reader",
          ShardId: "shardId-000000000000",
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      const body = JSON.stringify({ ShardIterator });
      const { port } = new URL(gateway.current.url);
      const socket = net.connect(Number(port), "127.0.0.1");
      socket.setNoDelay(true);
      socket.write(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1\r\n" +
          "X-Amz-Target: Kinesis_20131202.GetRecords\r\n" +
          "Authorization: AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0\r\n" +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      const bytesPerSecond = 2_000_000;
      const received = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let total = 0;
        let expected = Number.POSITIVE_INFINITY;
        const startedMs = Date.now();
        socket.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          total += chunk.length;
          if (expected === Number.POSITIVE_INFINITY) {
            const head = Buffer.concat(chunks).toString("latin1");
            const end = head.indexOf("\r\n\r\n");
            const length = /content-length: (\d+)/i.exec(head)?.[1];
            if (end >= 0 && length !== undefined) expected = end + 4 + Number(length);
          }
          if (total >= expected) {
            socket.destroy();
            resolve(Buffer.concat(chunks));
            return;
          }
          // Pace the reads: wait until the rate is back to bytesPerSecond.
          const aheadMs = (total / bytesPerSecond) * 1000 - (Date.now() - startedMs);
          if (aheadMs > 0) {
            socket.pause();
            setTimeout(() => socket.resume(), aheadMs);
          }
        });
        socket.on("close", () => reject(new Error(`closed after ${total} of ${expected} bytes`)));
        socket.on("error", reject);
      });
      const text = received.toString("latin1");
      const answer = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)) as {
        Records: { Data: string }[];
      };
      assert.equal(Buffer.from(answer.Records[0]!.Data, "base64").length, TEN_MIB_DATA);
    } finally {
      kinesis.destroy();
    }
  });
});
