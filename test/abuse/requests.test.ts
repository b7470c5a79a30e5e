/**
 * Requests that cost more than they should: a PutRecords with a million
 * entries, and clients that go away — mid-body, mid-answer, or after a
 * streaming call — by the thousand. The answers stay small, other clients
 * are served, and a client going away is the client's affair: it is logged
 * at debug at most and counted as cancelled, not as an error nor as OK.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, suite, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as reflection from "../../src/gen/grpc/reflection/v1/reflection_pb.ts";
import {
  ConsumerService,
  GetRecordsRequestSchema,
  ShardIteratorType,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { ProducerService } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { envelope } from "../helpers/raw-grpc.ts";
import { connect, underAttack } from "./helpers.ts";

const bounds = { maxMemoryMiB: 384 };
const SIGNED = "AWS4-HMAC-SHA256 Credential=key/20260101/us-east-1/kinesis/aws4_request";

/** Sends a raw HTTP/1.1 request and resolves with the whole answer once the server closes or ends it. */
async function rawHttp1(port: number, head: string, body: Buffer): Promise<string> {
  const socket = await connect(port);
  return new Promise((resolve) => {
    let answer = "";
    socket.setEncoding("latin1").on("data", (chunk: string) => {
      answer += chunk;
      const length = Number(/content-length: (\d+)/i.exec(answer)?.[1]);
      const headEnd = answer.indexOf("\r\n\r\n");
      if (headEnd > 0 && answer.length >= headEnd + 4 + length) {
        socket.destroy();
        resolve(answer);
      }
    });
    socket.on("close", () => resolve(answer));
    socket.write(`${head}Content-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
  });
}

void suite("abuse: costly requests and clients that go away", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGatewayProcess(["--streams", "s:4,stalled:1"]);
  });
  after(() => gateway.stop());

  void test("a million-entry PutRecords gets a short answer, on the wire API and over gRPC", async () => {
    let wireAnswer = "";
    let grpcMessage = "";
    await underAttack(gateway, bounds, async () => {
      const json = Buffer.from(
        `{"StreamName":"s","Records":[${Array(1_000_000).fill("{}").join(",")}]}`,
      );
      wireAnswer = await rawHttp1(
        gateway.port,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n" +
          `X-Amz-Target: Kinesis_20131202.PutRecords\r\nAuthorization: ${SIGNED}\r\n`,
        json,
      );
      // 3,000,000 empty entries: two bytes each on the wire.
      const entries = Buffer.alloc(3_000_000 * 2);
      for (let i = 0; i < entries.length; i += 2) entries[i] = 0x1a; // field 3, length 0
      const message = Buffer.concat([Buffer.from([0x0a, 0x01, 0x73]), entries]); // stream "s"
      const session = http2.connect(gateway.url);
      grpcMessage = await new Promise<string>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/kinesis.gateway.v1.ProducerService/PutRecords",
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("trailers", (t) => resolve(decodeURIComponent(String(t["grpc-message"]))));
        stream.on("data", () => undefined);
        stream.on("error", reject);
        stream.end(envelope(message));
      });
      session.close();
    });
    assert.match(wireAnswer, /^HTTP\/1\.1 400/);
    assert.match(wireAnswer, /more entries not shown/);
    assert.ok(wireAnswer.length < 100_000, `a ${wireAnswer.length}-byte answer`);
    assert.match(grpcMessage, /length less than or equal to 500/);
  });

  void test("2,000 wire API requests whose bodies never come are no errors of the gateway's", async () => {
    await underAttack(gateway, bounds, async () => {
      for (let round = 0; round < 20; round++) {
        const sockets = await Promise.all(Array.from({ length: 100 }, () => connect(gateway.port)));
        for (const socket of sockets) {
          socket.on("error", () => undefined);
          socket.write(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n" +
              `X-Amz-Target: Kinesis_20131202.PutRecord\r\nAuthorization: ${SIGNED}\r\n` +
              "Content-Length: 1000\r\n\r\n{",
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        for (const socket of sockets) socket.destroy();
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const count = (status: string) =>
      Number(
        new RegExp(
          `rpc_server_call_duration_count\\{[^}]*rpc_method="Kinesis_20131202\\.PutRecord"[^}]*rpc_status_code="${status}"[^}]*\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    assert.ok(count("CANCELLED") >= 1_900, `${count("CANCELLED")} counted as cancelled`);
    assert.equal(count("OK"), 0, "counted as OK");
  });

  void test("clients that close a stalled GetRecords or a reflection stream are not errors", async () => {
    await underAttack(gateway, bounds, async () => {
      const transport = createGrpcTransport({ baseUrl: gateway.url });
      const producer = createClient(ProducerService, transport);
      const consumer = createClient(ConsumerService, transport);
      const data = new Uint8Array(1024 * 1024 - 10);
      for (let i = 0; i < 6; i++) {
        await producer.putRecords({
          streamName: "stalled",
          records: [{ partitionKey: `k${i}`, data }],
        });
      }
      const { shardIterator } = await consumer.getShardIterator({
        streamName: "stalled",
        shardId: "shardId-000000000000",
        shardIteratorType: ShardIteratorType.TRIM_HORIZON,
      });
      // A reader that never reads its ~6 MiB answer, then goes away.
      for (let i = 0; i < 5; i++) {
        const session = http2.connect(gateway.url, { settings: { initialWindowSize: 1024 } });
        session.on("error", () => undefined);
        const stream = session.request({
          ":method": "POST",
          ":path": "/kinesis.gateway.v1.ConsumerService/GetRecords",
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("error", () => undefined);
        stream.end(
          envelope(
            toBinary(GetRecordsRequestSchema, create(GetRecordsRequestSchema, { shardIterator })),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        session.destroy();
      }
      // Reflection clients that read an answer and cancel, their own side still open.
      const client = createClient(reflection.ServerReflection, transport);
      for (let i = 0; i < 20; i++) {
        const requests = (async function* () {
          yield create(reflection.ServerReflectionRequestSchema, {
            messageRequest: { case: "listServices", value: "*" },
          });
          await new Promise(() => undefined); // and never ends its side
        })();
        for await (const _ of client.serverReflectionInfo(requests)) break;
      }
    });
  });
});
