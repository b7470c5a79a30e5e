/**
 * A PutRecords with more than 10,000 entries is refused on its count, before
 * it is decoded, with the same ValidationException on every protocol and
 * encoding; a request just over the limit of 500 still gets AWS's own text.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { suite, test } from "node:test";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { KinesisErrorDetailSchema } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import {
  ProducerService,
  PutRecordsRequestSchema,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { transports, useGateway } from "../helpers/gateway.ts";
import { envelope } from "../helpers/raw-grpc.ts";

/** AWS's text, its 1,000 entries shortened to fit gRPC metadata (the wire API's tests see it whole). */
const COUNT_TEXT =
  /^1 validation error detected: Value '\[com\.amazonaws\.kinesis\.v20131202\.PutRecordsRequestEntry@.* … \[\d+ characters left out to fit gRPC metadata\] … .*records is refused on its count, its entries unread\]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500$/s;

/** 20,000 entries, every one of them invalid (no partition key). */
const tooMany = () =>
  Array.from({ length: 20_000 }, () => ({ data: new Uint8Array(0), partitionKey: "" }));

void suite("PutRecords with far too many entries", () => {
  const gateway = useGateway(["--streams", "s:1"]);

  for (const name of Object.keys(transports)) {
    void test(`is refused on its count over ${name}`, async () => {
      const producer = createClient(ProducerService, transports[name]!(gateway.current.url));
      await assert.rejects(producer.putRecords({ streamName: "s", records: tooMany() }), (err) => {
        const error = ConnectError.from(err);
        assert.equal(error.code, 3, error.message);
        assert.match(error.rawMessage, COUNT_TEXT);
        const [detail] = error.findDetails(KinesisErrorDetailSchema);
        assert.equal(detail?.type, "ValidationException");
        return true;
      });
    });
  }

  void test("is refused on its count when sent gzip-compressed, and as gRPC JSON", async () => {
    const message = toBinary(
      PutRecordsRequestSchema,
      create(PutRecordsRequestSchema, { streamName: "s", records: tooMany() }),
    );
    const json = Buffer.from(JSON.stringify({ streamName: "s", records: Array(20_000).fill({}) }));
    for (const [headers, body] of [
      [
        { "content-type": "application/grpc", "grpc-encoding": "gzip" },
        envelope(gzipSync(message), 1),
      ],
      [{ "content-type": "application/grpc+json" }, envelope(json)],
    ] as const) {
      const session = http2.connect(gateway.current.url);
      const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/kinesis.gateway.v1.ProducerService/PutRecords",
          te: "trailers",
          ...headers,
        });
        let answer: Record<string, unknown> = {};
        stream.on("response", (h) => {
          answer = { ...h };
        });
        stream.on("trailers", (t) => {
          answer = { ...answer, ...t };
        });
        stream.on("data", () => undefined);
        stream.on("close", () => resolve(answer));
        stream.on("error", reject);
        stream.end(body);
      });
      session.close();
      assert.equal(trailers["grpc-status"], "3", JSON.stringify(headers));
      assert.match(decodeURIComponent(String(trailers["grpc-message"])), COUNT_TEXT);
    }
  });

  void test("501 entries still get AWS's text, every entry checked", async () => {
    const producer = createClient(
      ProducerService,
      transports["gRPC over h2c"]!(gateway.current.url),
    );
    await assert.rejects(
      producer.putRecords({
        streamName: "s",
        records: Array.from({ length: 501 }, () => ({ data: new Uint8Array(0), partitionKey: "" })),
      }),
      (err) => {
        const message = ConnectError.from(err).rawMessage;
        assert.match(message, /^10 validation errors detected: /);
        assert.doesNotMatch(message, /refused on its count/);
        return true;
      },
    );
  });
});
