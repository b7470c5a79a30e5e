/**
 * The transport reference: a plain connect-node server on HTTP/2 with the
 * gateway's proto, whose PutRecords handler does no work at all. It still
 * decodes each request and encodes a canned 500-entry response, which is
 * what any Connect server pays. Prints `{"port": N}` when listening.
 */
import http2 from "node:http2";
import type net from "node:net";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  ProducerService,
  PutRecordsResponseSchema,
} from "../src/gen/kinesis/gateway/v1/producer_pb.ts";

const canned = create(PutRecordsResponseSchema, {
  failedRecordCount: 0,
  records: Array.from({ length: 500 }, (_, i) => ({
    shardId: `shardId-00000000000${i % 4}`,
    sequenceNumber: "49680568268213097344330377401304855224747970548136411154",
  })),
});

const handler = connectNodeAdapter({
  routes: (router) =>
    router.service(ProducerService, {
      putRecords: (req) =>
        req.records.length === 500
          ? canned
          : create(PutRecordsResponseSchema, {
              records: canned.records.slice(0, req.records.length),
            }),
      putRecord: () => ({
        shardId: "shardId-000000000000",
        sequenceNumber: canned.records[0]!.sequenceNumber,
      }),
    }),
  readMaxBytes: 8 * 1024 * 1024,
});

const server = http2.createServer(handler);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
