/**
 * A request message larger than its method takes is refused in the
 * gateway's words on every RPC protocol (issue 13): RESOURCE_EXHAUSTED, the
 * size, the limit and the method, and a `KinesisErrorDetail` of type
 * `RequestEntityTooLarge` — not a library's setting name.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { KinesisErrorDetailSchema } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import { PutRecordsRequestSchema } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { DEFAULT_READ_MAX_BYTES } from "../../src/server/gateway-server.ts";
import { REQUEST_MAX_BYTES } from "../../src/services/routes.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";
import { envelope, rawGrpcCall } from "../helpers/raw-grpc.ts";

function assertTooLarge(err: unknown, method: string, limit: number): true {
  const error = ConnectError.from(err);
  assert.equal(error.code, Code.ResourceExhausted, error.message);
  const expected = `bytes; kinesis.gateway.v1.${method} takes messages of up to ${limit} bytes.`;
  // Its size when the client declared it, else what was read of it.
  const [, moreThan, size] =
    /^The request message is (more than )?(\d+) bytes; /.exec(error.rawMessage) ?? [];
  assert.ok(moreThan ? Number(size) === limit : Number(size) > limit, error.rawMessage);
  assert.ok(error.rawMessage.includes(expected), error.rawMessage);
  assert.doesNotMatch(error.rawMessage, /readMaxBytes/);
  const [detail] = error.findDetails(KinesisErrorDetailSchema);
  assert.equal(detail?.type, "RequestEntityTooLarge");
  assert.equal(detail?.message, error.rawMessage);
  return true;
}

void suite("request messages larger than their method takes", () => {
  const gateway = useGateway(["--streams", "s:1"]);
  const nameBytes = REQUEST_MAX_BYTES.stream + 1;

  for (const [protocol, transport] of Object.entries(transports)) {
    void test(`StreamService over ${protocol}`, async () => {
      const { streams } = clientsFor(transport(gateway.current.url));
      await assert.rejects(streams.createStream({ streamName: "n".repeat(nameBytes) }), (err) =>
        assertTooLarge(err, "StreamService/CreateStream", REQUEST_MAX_BYTES.stream),
      );
    });
  }

  void test("PutRecords over gRPC, declared larger than any valid request", async () => {
    const size = DEFAULT_READ_MAX_BYTES + 1;
    const header = envelope(new Uint8Array(0)).subarray(0, 5);
    header.writeUInt32BE(size, 1);
    const answer = await rawGrpcCall(gateway.current.url, {
      path: "/kinesis.gateway.v1.ProducerService/PutRecords",
      body: header,
    });
    const status = Number(answer.trailers["grpc-status"] ?? answer.headers["grpc-status"]);
    const message = decodeURIComponent(
      String(answer.trailers["grpc-message"] ?? answer.headers["grpc-message"]),
    );
    assert.equal(status, Code.ResourceExhausted);
    assert.ok(
      message.startsWith(
        `The request message is ${size} bytes; kinesis.gateway.v1.ProducerService/PutRecords takes messages of up to ${DEFAULT_READ_MAX_BYTES} bytes.`,
      ),
      message,
    );
  });

  void test("PutRecords over gRPC, compressed small and larger once decompressed", async () => {
    const message = toBinary(
      PutRecordsRequestSchema,
      create(PutRecordsRequestSchema, {
        streamName: "s",
        records: Array.from({ length: 9 }, () => ({
          partitionKey: "k",
          data: new Uint8Array(1024 * 1024),
        })),
      }),
    );
    const answer = await rawGrpcCall(gateway.current.url, {
      path: "/kinesis.gateway.v1.ProducerService/PutRecords",
      headers: { "grpc-encoding": "gzip" },
      body: envelope(gzipSync(message), 1),
    });
    const status = Number(answer.trailers["grpc-status"] ?? answer.headers["grpc-status"]);
    const text = decodeURIComponent(String(answer.trailers["grpc-message"]));
    assert.equal(status, Code.ResourceExhausted, text);
    assert.ok(
      text.startsWith(
        `The request message is more than ${DEFAULT_READ_MAX_BYTES} bytes; kinesis.gateway.v1.ProducerService/PutRecords`,
      ),
      text,
    );
  });
});
