/**
 * gRPC server reflection on the gateway: both versions through a Connect
 * client, and `buf curl` (a Go client) listing the services and calling
 * PutRecords with nothing but what reflection tells it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { suite, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, createFileRegistry, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as v1 from "../../src/gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../../src/gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { useGateway } from "../helpers/gateway.ts";

const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
const run = promisify(execFile);

type Request = MessageInitShape<typeof v1.ServerReflectionRequestSchema>;

const SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "kinesis.gateway.v1.ConsumerService",
  "kinesis.gateway.v1.FaultService",
  "kinesis.gateway.v1.ProducerService",
  "kinesis.gateway.v1.StreamService",
];

/** What a bidirectional call sends: the messages, one after the other. */
async function* stream<T>(messages: T[]): AsyncIterable<T> {
  yield* messages;
}

void suite("gRPC server reflection", () => {
  const gateway = useGateway(["--streams", "orders:1"]);

  /** Sends the requests on one stream; resolves with a response for each. */
  async function ask(...requests: Request[]): Promise<v1.ServerReflectionResponse[]> {
    const client = createClient(
      v1.ServerReflection,
      createGrpcTransport({ baseUrl: gateway.current.url }),
    );
    const responses: v1.ServerReflectionResponse[] = [];
    for await (const response of client.serverReflectionInfo(
      stream(requests.map((r) => create(v1.ServerReflectionRequestSchema, r))),
    )) {
      responses.push(response);
    }
    return responses;
  }

  async function askOne(request: Request): Promise<v1.ServerReflectionResponse["messageResponse"]> {
    const [response] = await ask(request);
    return response!.messageResponse;
  }

  /** The file names in a file descriptor response, the file asked for first. */
  function fileNames(response: v1.ServerReflectionResponse["messageResponse"]): string[] {
    assert.equal(response.case, "fileDescriptorResponse");
    return response.value.fileDescriptorProto.map(
      (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
    );
  }

  function assertNotFound(response: v1.ServerReflectionResponse["messageResponse"]): void {
    assert.equal(response.case, "errorResponse");
    assert.equal(response.value.errorCode, Code.NotFound);
  }

  void test("lists the gateway's services, health and reflection", async () => {
    const response = await askOne({ messageRequest: { case: "listServices", value: "*" } });
    assert.equal(response.case, "listServicesResponse");
    assert.deepEqual(response.value.service.map((s) => s.name).sort(), SERVICES);
  });

  void test("file_containing_symbol gives a message's file and its imports, enough to use it", async () => {
    const response = await askOne({
      messageRequest: {
        case: "fileContainingSymbol",
        value: "kinesis.gateway.v1.PutRecordsRequest",
      },
    });
    assert.equal(response.case, "fileDescriptorResponse");
    const [file, ...imports] = response.value.fileDescriptorProto.map((b) =>
      fromBinary(FileDescriptorProtoSchema, b),
    );
    assert.equal(file?.name, "kinesis/gateway/v1/producer.proto");
    // Builds the file as a client does, finding each import among what was sent.
    const registry = createFileRegistry(file, (name) => imports.find((f) => f.name === name));
    const request = registry.getMessage("kinesis.gateway.v1.PutRecordsRequest");
    assert.deepEqual(
      request?.fields.map((f) => f.name),
      ["stream_name", "stream_arn", "records"],
    );
    assert.equal(
      request.field.records?.message?.typeName,
      "kinesis.gateway.v1.PutRecordsRequestEntry",
    );
    assert.equal(request.field.records.message.field.partitionKey?.name, "partition_key");
    assert.ok(registry.getService("kinesis.gateway.v1.ProducerService"));
  });

  void test("file_containing_symbol resolves services, methods, fields and enums", async () => {
    const [service, method, field, enumeration, unknown] = await ask(
      ...[
        "kinesis.gateway.v1.StreamService",
        "kinesis.gateway.v1.ProducerService.PutRecords",
        "kinesis.gateway.v1.PutRecordsRequest.records",
        "kinesis.gateway.v1.EncryptionType",
        "kinesis.gateway.v1.NoSuchThing",
      ].map((value): Request => ({ messageRequest: { case: "fileContainingSymbol", value } })),
    );
    assert.deepEqual(fileNames(service!.messageResponse).sort(), [
      "google/protobuf/timestamp.proto",
      "kinesis/gateway/v1/common.proto",
      "kinesis/gateway/v1/stream.proto",
    ]);
    assert.equal(fileNames(method!.messageResponse)[0], "kinesis/gateway/v1/producer.proto");
    assert.equal(fileNames(field!.messageResponse)[0], "kinesis/gateway/v1/producer.proto");
    assert.deepEqual(fileNames(enumeration!.messageResponse), ["kinesis/gateway/v1/common.proto"]);
    assertNotFound(unknown!.messageResponse);
  });

  void test("file_by_filename gives the file, the well-known types included", async () => {
    const [timestamp, consumer, unknown] = await ask(
      ...[
        "google/protobuf/timestamp.proto",
        "kinesis/gateway/v1/consumer.proto",
        "kinesis/gateway/v1/nothing.proto",
      ].map((value): Request => ({ messageRequest: { case: "fileByFilename", value } })),
    );
    assert.deepEqual(fileNames(timestamp!.messageResponse), ["google/protobuf/timestamp.proto"]);
    assert.equal(fileNames(consumer!.messageResponse)[0], "kinesis/gateway/v1/consumer.proto");
    assertNotFound(unknown!.messageResponse);
  });

  void test("extensions: none are defined, so numbers are empty and lookups not found", async () => {
    const numbers = await askOne({
      messageRequest: {
        case: "allExtensionNumbersOfType",
        value: "kinesis.gateway.v1.PutRecordsRequest",
      },
    });
    assert.equal(numbers.case, "allExtensionNumbersResponse");
    assert.equal(numbers.value.baseTypeName, "kinesis.gateway.v1.PutRecordsRequest");
    assert.deepEqual(numbers.value.extensionNumber, []);
    assertNotFound(
      await askOne({ messageRequest: { case: "allExtensionNumbersOfType", value: "no.Such" } }),
    );
    assertNotFound(
      await askOne({
        messageRequest: {
          case: "fileContainingExtension",
          value: { containingType: "kinesis.gateway.v1.PutRecordsRequest", extensionNumber: 100 },
        },
      }),
    );
  });

  void test("echoes the host and the request", async () => {
    const [response] = await ask({
      host: "gateway.example",
      messageRequest: { case: "listServices", value: "" },
    });
    assert.equal(response?.validHost, "gateway.example");
    assert.equal(response?.originalRequest?.host, "gateway.example");
    assert.equal(response?.originalRequest?.messageRequest.case, "listServices");
  });

  void test("a request that asks nothing ends the stream with INVALID_ARGUMENT", async () => {
    await assert.rejects(ask({}), (err) => {
      assert.equal(ConnectError.from(err).code, Code.InvalidArgument);
      return true;
    });
  });

  void test("v1alpha answers as v1 does", async () => {
    const client = createClient(
      v1alpha.ServerReflection,
      createGrpcTransport({ baseUrl: gateway.current.url }),
    );
    const messageRequest = {
      case: "fileContainingSymbol",
      value: "kinesis.gateway.v1.ProducerService",
    } as const;
    const responses = [];
    const requests = stream([create(v1alpha.ServerReflectionRequestSchema, { messageRequest })]);
    for await (const response of client.serverReflectionInfo(requests)) {
      responses.push(response);
    }
    const alpha = responses[0]?.messageResponse;
    assert.equal(alpha?.case, "fileDescriptorResponse");
    const same = await askOne({ messageRequest });
    assert.equal(same.case, "fileDescriptorResponse");
    assert.deepEqual(alpha.value.fileDescriptorProto, same.value.fileDescriptorProto);
    assert.equal(
      responses[0]?.originalRequest?.$typeName,
      v1alpha.ServerReflectionRequestSchema.typeName,
    );
  });

  void test("buf curl lists the services without the .proto files", async () => {
    const { stdout } = await run(buf, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-services",
      gateway.current.url,
    ]);
    assert.deepEqual(stdout.trim().split("\n").sort(), SERVICES);
  });

  void test("buf curl calls PutRecords with the schema from reflection", async () => {
    const { stdout } = await run(buf, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "-d",
      JSON.stringify({
        stream_name: "orders",
        records: [{ data: Buffer.from("blob1").toString("base64"), partition_key: "pk1" }],
      }),
      `${gateway.current.url}/kinesis.gateway.v1.ProducerService/PutRecords`,
    ]);
    const response = JSON.parse(stdout) as {
      records: { shardId: string; sequenceNumber: string }[];
      encryptionType: string;
    };
    assert.equal(response.records.length, 1);
    assert.equal(response.records[0]?.shardId, "shardId-000000000000");
    assert.match(response.records[0]?.sequenceNumber ?? "", /^\d{56}$/);
    assert.equal(response.encryptionType, "ENCRYPTION_TYPE_NONE");
  });
});
