import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { suite, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseSequenceNumber } from "../../src/engine/index.ts";
import { KinesisErrorDetailSchema } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import { PutRecordsRequestSchema } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { fitErrorMessage } from "../../src/services/error-budget.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";
import { isSerializationCase, validationCases, wireRequest } from "../helpers/vectors.ts";

const codeByType: Record<string, Code> = {
  ValidationException: Code.InvalidArgument,
  InvalidArgumentException: Code.InvalidArgument,
  ResourceNotFoundException: Code.NotFound,
};

const bytesOf = (base64: unknown) => new Uint8Array(Buffer.from(base64 as string, "base64"));

/** A wire-form vector request as the gRPC message carrying the same values. */
function protoRequest(request: Record<string, unknown>) {
  const records = (request.Records as Record<string, unknown>[] | undefined) ?? [];
  return {
    streamName: (request.StreamName as string | undefined) ?? "",
    records: records.map((r) => ({
      data: bytesOf(r.Data ?? ""),
      partitionKey: (r.PartitionKey as string | undefined) ?? "",
      explicitHashKey: (r.ExplicitHashKey as string | undefined) ?? "",
    })),
    data: bytesOf(request.Data ?? ""),
    partitionKey: (request.PartitionKey as string | undefined) ?? "",
    explicitHashKey: (request.ExplicitHashKey as string | undefined) ?? "",
    sequenceNumberForOrdering: (request.SequenceNumberForOrdering as string | undefined) ?? "",
  };
}

/** Proto3 cannot send a null field: a missing key or data arrives empty. */
const sendsNull = (request: Record<string, unknown>) =>
  Array.isArray(request.Records) &&
  (request.Records as Record<string, unknown>[]).some(
    (r) => !("Data" in r) || !("PartitionKey" in r),
  );

void suite("malformed requests get AWS's answer over gRPC", () => {
  const gateway = useGateway(["--streams", "samplestream:1", "--throttle", "off"]);

  for (const c of validationCases().filter((c) => !isSerializationCase(c))) {
    const request = wireRequest(c);
    if (sendsNull(request)) continue;
    void test(`${c.operation}: ${c.case}`, async () => {
      const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
      const message = protoRequest(request);
      const call =
        c.operation === "PutRecords" ? producer.putRecords(message) : producer.putRecord(message);
      if (c.expected.status === 200) {
        await call;
        return;
      }
      await assert.rejects(call, (err: unknown) => {
        const error = ConnectError.from(err);
        // AWS's text, shortened in the middle only where it would not fit gRPC's metadata.
        const expected = fitErrorMessage(
          c.expected.message!,
          codeByType[c.expected.type!]!,
          c.expected.type,
        );
        assert.equal(error.code, codeByType[c.expected.type!]);
        assert.equal(error.rawMessage, expected);
        const [detail] = error.findDetails(KinesisErrorDetailSchema);
        assert.equal(detail?.type, c.expected.type);
        assert.equal(detail?.message, expected);
        return true;
      });
    });
  }

  void test("a record with empty data is valid, as on AWS", async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const res = await producer.putRecords({
      streamName: "samplestream",
      records: [{ partitionKey: "k" }],
    });
    assert.equal(res.failedRecordCount, 0);
  });

  void test("a rejected request writes nothing", async () => {
    const { producer, streams } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    await streams.createStream({ streamName: "untouched", shardCount: 1 });
    await assert.rejects(
      producer.putRecords({
        streamName: "untouched",
        records: [
          { partitionKey: "good" },
          { partitionKey: "bad", explicitHashKey: (2n ** 128n).toString() },
        ],
      }),
    );
    // Had the good record been written, this would be the shard's second record.
    const first = await producer.putRecord({ streamName: "untouched", partitionKey: "good" });
    assert.equal(parseSequenceNumber(first.sequenceNumber)?.counter, 1n);
  });
});

/** Sends raw bytes and returns whatever comes back before the server closes or 2 s pass. */
function rawExchange(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.setTimeout(2000, () => socket.destroy());
    socket.end(bytes);
  });
}

function grpcFrame(message: Uint8Array, declaredLength = message.length): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([header, message]);
}

/** One raw gRPC call over h2c; resolves with the grpc-status and message. */
function rawGrpc(
  url: string,
  body: Buffer,
  endStream = true,
): Promise<{ status: string; message: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": "/kinesis.gateway.v1.ProducerService/PutRecords",
      "content-type": "application/grpc",
      te: "trailers",
    });
    let status = "";
    let message = "";
    const take = (headers: http2.IncomingHttpHeaders) => {
      status ||= String(headers["grpc-status"] ?? "");
      message ||= decodeURIComponent(String(headers["grpc-message"] ?? ""));
    };
    stream.on("response", take);
    stream.on("trailers", (headers) => {
      take(headers);
      stream.close(); // the answer is complete even if the request body is not
    });
    stream.on("data", () => undefined);
    stream.on("close", () => {
      session.close();
      resolve({ status, message });
    });
    stream.on("error", () => undefined);
    if (endStream) stream.end(body);
    else stream.write(body);
  });
}

void suite("hostile bytes never take the server down", () => {
  const gateway = useGateway(["--streams", "s:1"]);
  const healthy = async () => {
    const res = await fetch(`${gateway.current.url}/healthz`);
    assert.equal(res.status, 200);
  };

  void test("random bytes on a connection are refused", async () => {
    for (let i = 0; i < 20; i++) {
      const bytes = Buffer.alloc(1 + i * 97);
      for (let j = 0; j < bytes.length; j++) bytes[j] = (j * 131 + i * 71) & 0xff;
      const answer = await rawExchange(gateway.current.port, bytes);
      assert.ok(answer === "" || answer.startsWith("HTTP/1.1 400"), answer.slice(0, 40));
    }
    await rawExchange(
      gateway.current.port,
      Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\xff\xff\xff"),
    );
    await healthy();
  });

  void test("a truncated gRPC frame is an invalid request", async () => {
    const message = toBinary(
      PutRecordsRequestSchema,
      create(PutRecordsRequestSchema, {
        streamName: "s",
        records: [{ partitionKey: "k", data: new Uint8Array(100) }],
      }),
    );
    const { status } = await rawGrpc(
      gateway.current.url,
      grpcFrame(message.subarray(0, 20), message.length),
    );
    assert.equal(status, String(Code.InvalidArgument));
    await healthy();
  });

  // connect-es answers bytes that do not decode as the request message with
  // INTERNAL "parse binary: …", as grpc-go and grpc-java do; it happens before
  // any handler or interceptor runs.
  void test("protobuf garbage is refused as undecodable", async () => {
    const { status, message } = await rawGrpc(
      gateway.current.url,
      grpcFrame(Buffer.from([0x1a, 0xff, 0xff, 0xff, 0x0f, 1])),
    );
    assert.equal(status, String(Code.Internal));
    assert.match(message, /^parse binary: /);
    await healthy();
  });

  void test("a message declared larger than any valid request is refused before its body arrives", async () => {
    const header = grpcFrame(new Uint8Array(0), 100 * 1024 * 1024);
    const { status, message } = await rawGrpc(gateway.current.url, header, false);
    assert.equal(status, String(Code.ResourceExhausted));
    assert.match(
      message,
      /^The request message is 104857600 bytes; kinesis\.gateway\.v1\.ProducerService\/PutRecords takes messages of up to \d+ bytes\./,
    );
    await healthy();
  });

  void test("an HTTP/1.1 body declared larger than any valid request is refused before it arrives", async () => {
    const answer = await rawExchange(
      gateway.current.port,
      Buffer.from(
        "POST /kinesis.gateway.v1.ProducerService/PutRecords HTTP/1.1\r\nHost: x\r\n" +
          "Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{",
      ),
    );
    assert.match(answer, /^HTTP\/1\.1 429/);
    assert.match(answer, /resource_exhausted/);
    await healthy();
  });

  void test("a thousand mutated requests are each decoded and answered, or refused as undecodable", async () => {
    const valid = toBinary(
      PutRecordsRequestSchema,
      create(PutRecordsRequestSchema, {
        streamName: "s",
        records: [
          { partitionKey: "key-1", data: new Uint8Array([1, 2, 3]), explicitHashKey: "12345" },
          { partitionKey: "ü", data: new Uint8Array(10) },
        ],
      }),
    );
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const statuses = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const mutated = Buffer.from(valid);
      for (let flips = 1 + (random() % 4); flips > 0; flips--) {
        mutated[random() % mutated.length] = random() & 0xff;
      }
      const cut = random() % 5 === 0 ? mutated.subarray(0, random() % mutated.length) : mutated;
      const { status, message } = await rawGrpc(gateway.current.url, grpcFrame(cut));
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const undecodable = status === String(Code.Internal) && message.startsWith("parse binary: ");
      assert.ok(
        undecodable || [String(Code.InvalidArgument), String(Code.NotFound), "0"].includes(status),
        `mutation ${i} answered status ${status} ${message}`,
      );
    }
    assert.ok((statuses.get(String(Code.InvalidArgument)) ?? 0) > 0, JSON.stringify([...statuses]));
    await healthy();
  });
});
