/**
 * A request message larger than its method takes is refused in the
 * gateway's words on every RPC protocol (issue 13): RESOURCE_EXHAUSTED, the
 * size, the limit and the method, and a `KinesisErrorDetail` of type
 * `RequestEntityTooLarge` — not a library's setting name.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { suite, test } from "node:test";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { KinesisErrorDetailSchema } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import { SubscribeToShardRequestSchema } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { PutRecordsRequestSchema } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { DEFAULT_READ_MAX_BYTES } from "../../src/server/gateway-server.ts";
import { REQUEST_MAX_BYTES } from "../../src/services/routes.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";
import { envelope, rawGrpcCall } from "../helpers/raw-grpc.ts";

function assertTooLarge(
  err: unknown,
  method: string,
  limit: number,
  { detail: withDetail = true } = {},
): true {
  const error = ConnectError.from(err);
  assert.equal(error.code, Code.ResourceExhausted, error.message);
  const expected = `bytes; kinesis.gateway.v1.${method} takes messages of up to ${limit} bytes.`;
  // Its size when the client declared it, else what was read of it.
  const [, moreThan, size] =
    /^The request message is (more than )?(\d+) bytes; /.exec(error.rawMessage) ?? [];
  assert.ok(moreThan ? Number(size) === limit : Number(size) > limit, error.rawMessage);
  assert.ok(error.rawMessage.includes(expected), error.rawMessage);
  assert.doesNotMatch(error.rawMessage, /readMaxBytes/);
  if (!withDetail) return true; // read from a JSON answer by hand here
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
        records: Array.from({ length: 15 }, () => ({
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

/** A Connect call over HTTP/1.1 with node:http: declared length or chunked; the answer's status and JSON. */
function connectOverHttp1(
  url: string,
  path: string,
  body: Buffer,
  headers: Record<string, string>,
  chunked: boolean,
): Promise<{ status: number | undefined; json: { code?: string; message?: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${path}`,
      {
        method: "POST",
        headers: chunked ? headers : { ...headers, "content-length": String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on("error", reject);
    // In pieces, as a client streams a large body.
    for (let at = 0; at < body.length; at += 64 * 1024)
      req.write(body.subarray(at, at + 64 * 1024));
    req.end();
  });
}

void suite("request messages at and just past the limit", () => {
  const gateway = useGateway(["--streams", "s:1"]);
  const putRecords = "/kinesis.gateway.v1.ProducerService/PutRecords";
  /** A PutRecords message of exactly `bytes` bytes: one record whose data fills it. */
  const messageOf = (bytes: number) => {
    const probe = (n: number) =>
      toBinary(
        PutRecordsRequestSchema,
        create(PutRecordsRequestSchema, {
          streamName: "s",
          records: [{ partitionKey: "k", data: new Uint8Array(n) }],
        }),
      );
    let n = bytes - 32;
    while (probe(n).length < bytes) n++;
    const message = probe(n);
    assert.equal(message.length, bytes);
    return message;
  };

  for (const [size, tooLarge] of [
    [DEFAULT_READ_MAX_BYTES, false],
    [DEFAULT_READ_MAX_BYTES + 1, true],
    [DEFAULT_READ_MAX_BYTES + 200_000, true],
  ] as const) {
    void test(`gRPC: a message of ${size} bytes is ${tooLarge ? "too large" : "read"}, never over budget`, async () => {
      const answer = await rawGrpcCall(gateway.current.url, {
        path: putRecords,
        body: envelope(messageOf(size)),
      });
      const fields = new Headers();
      for (const name of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) {
        const value = answer.trailers[name] ?? answer.headers[name];
        if (typeof value === "string") fields.set(name, value);
      }
      const err = findTrailerError(fields);
      if (tooLarge) {
        assertTooLarge(err, "ProducerService/PutRecords", DEFAULT_READ_MAX_BYTES);
      } else {
        // Read and decoded: Kinesis's own 1 MiB record limit answers it.
        assert.equal(err?.code, Code.InvalidArgument, err?.message);
      }
    });
  }

  for (const chunked of [false, true]) {
    const how = chunked ? "chunked" : "with its length declared";
    void test(`Connect over HTTP/1.1, ${how}: too large in the gateway's words, and answered`, async () => {
      for (const [path, method, limit, body] of [
        [
          putRecords,
          "ProducerService/PutRecords",
          DEFAULT_READ_MAX_BYTES,
          Buffer.from(messageOf(DEFAULT_READ_MAX_BYTES + 500_000)),
        ],
        [
          "/kinesis.gateway.v1.StreamService/CreateStream",
          "StreamService/CreateStream",
          REQUEST_MAX_BYTES.stream,
          Buffer.from(JSON.stringify({ streamName: "n".repeat(REQUEST_MAX_BYTES.stream) })),
        ],
      ] as const) {
        const contentType = path === putRecords ? "application/proto" : "application/json";
        const { status, json } = await connectOverHttp1(
          gateway.current.url,
          path,
          body,
          { "content-type": contentType },
          chunked,
        );
        assert.equal(status, 429);
        assert.equal(json.code, "resource_exhausted");
        assertTooLarge(
          new ConnectError(json.message ?? "", Code.ResourceExhausted),
          method,
          limit,
          {
            detail: false,
          },
        );
      }
    });
  }

  void test("a Connect streaming request compressed with connect-content-encoding is measured decompressed", async () => {
    const request = toBinary(
      SubscribeToShardRequestSchema,
      create(SubscribeToShardRequestSchema, {
        streamName: "s".repeat(REQUEST_MAX_BYTES.consumer),
        shardId: "shardId-000000000000",
      }),
    );
    const res = await fetch(
      `${gateway.current.url}/kinesis.gateway.v1.ConsumerService/SubscribeToShard`,
      {
        method: "POST",
        headers: {
          "content-type": "application/connect+proto",
          "connect-content-encoding": "gzip",
        },
        body: envelope(gzipSync(request), 1),
      },
    );
    const frames = Buffer.from(await res.arrayBuffer());
    // The end-of-stream frame (flag 2) carries the error as JSON.
    assert.equal(frames[0], 2);
    const end = JSON.parse(frames.subarray(5).toString()) as { error: { message: string } };
    assertTooLarge(
      new ConnectError(end.error.message, Code.ResourceExhausted),
      "ConsumerService/SubscribeToShard",
      REQUEST_MAX_BYTES.consumer,
      { detail: false },
    );
  });
});
