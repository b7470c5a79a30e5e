/**
 * A caller whose deadline passed before its request arrived whole has given
 * up (and will retry): the gateway writes nothing for it and answers
 * DEADLINE_EXCEEDED — on the fast path, Connect's generic handlers and
 * Connect's own protocol alike.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  PutRecordRequestSchema,
  PutRecordsRequestSchema,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { useGateway } from "../helpers/gateway.ts";
import { envelope, grpcStatusOf, rawGrpcCall } from "../helpers/raw-grpc.ts";

function binary<S extends DescMessage>(schema: S, init: MessageInitShape<S>): Uint8Array {
  return toBinary(schema, create(schema, init));
}

/** A gRPC call whose body is sent `delayMs` after its headers; resolves with its status. */
async function lateGrpcCall(
  url: string,
  path: string,
  timeout: string,
  body: Uint8Array,
  delayMs: number,
): Promise<string | undefined> {
  const answer = await rawGrpcCall(url, {
    path,
    headers: { "grpc-timeout": timeout },
    body: envelope(body),
    delayMs,
  });
  return grpcStatusOf(answer);
}

void suite("writes after the caller's deadline", () => {
  const gateway = useGateway(["--streams", "late:1"]);
  const stored = () =>
    gateway.current.engine!.readRecords({ streamName: "late" }, "shardId-000000000000").length;

  void test("gRPC PutRecords (the fast path): DEADLINE_EXCEEDED and nothing written", async () => {
    const before = stored();
    const status = await lateGrpcCall(
      gateway.current.url,
      "/kinesis.gateway.v1.ProducerService/PutRecords",
      "20m",
      binary(PutRecordsRequestSchema, {
        streamName: "late",
        records: [{ partitionKey: "k", data: Buffer.from("too late") }],
      }),
      200,
    );
    assert.equal(status, "4");
    assert.equal(stored(), before);
  });

  void test("gRPC PutRecords the fast path hands to Connect keeps what was left of its deadline", async () => {
    const before = stored();
    const message = binary(PutRecordsRequestSchema, {
      streamName: "late",
      records: [{ partitionKey: "k", data: Buffer.from("too late") }],
    });
    // An empty group (field 15): valid Protobuf the fast path leaves to Connect.
    const withGroup = Buffer.concat([message, Buffer.from([0x7b, 0x7c])]);
    const status = await lateGrpcCall(
      gateway.current.url,
      "/kinesis.gateway.v1.ProducerService/PutRecords",
      "20m",
      withGroup,
      200,
    );
    assert.equal(status, "4");
    assert.equal(stored(), before);
  });

  void test("gRPC PutRecord (Connect's handler): DEADLINE_EXCEEDED and nothing written", async () => {
    const before = stored();
    const status = await lateGrpcCall(
      gateway.current.url,
      "/kinesis.gateway.v1.ProducerService/PutRecord",
      "20m",
      binary(PutRecordRequestSchema, {
        streamName: "late",
        partitionKey: "k",
        data: Buffer.from("too late"),
      }),
      200,
    );
    assert.equal(status, "4");
    assert.equal(stored(), before);
  });

  void test("Connect JSON with connect-timeout-ms: deadline_exceeded and nothing written", async () => {
    const before = stored();
    const answer = await new Promise<{ status: number | undefined; body: string }>(
      (resolve, reject) => {
        const req = http.request(
          `${gateway.current.url}/kinesis.gateway.v1.ProducerService/PutRecord`,
          {
            method: "POST",
            headers: { "content-type": "application/json", "connect-timeout-ms": "20" },
          },
          (res) => {
            let body = "";
            res.setEncoding("utf8").on("data", (c: string) => {
              body += c;
            });
            res.on("end", () => resolve({ status: res.statusCode, body }));
          },
        );
        req.on("error", reject);
        req.flushHeaders();
        void sleep(200).then(() =>
          req.end(JSON.stringify({ streamName: "late", partitionKey: "k", data: "eA==" })),
        );
      },
    );
    assert.match(answer.body, /deadline_exceeded/);
    assert.equal(stored(), before);
  });

  void test("a call within its deadline is written", async () => {
    const before = stored();
    const status = await lateGrpcCall(
      gateway.current.url,
      "/kinesis.gateway.v1.ProducerService/PutRecords",
      "5S",
      binary(PutRecordsRequestSchema, {
        streamName: "late",
        records: [{ partitionKey: "k", data: Buffer.from("in time") }],
      }),
      50,
    );
    assert.equal(status, "0");
    assert.equal(stored(), before + 1);
  });
});
