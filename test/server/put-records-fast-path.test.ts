/**
 * gRPC PutRecords through the fast path and through Connect's generic
 * handler: two gateways, one with the fast path turned off, get the same raw
 * HTTP/2 requests — valid, refused, malformed, compressed, oversized — and
 * must answer alike: status, headers, trailers, error details and message.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, suite, test } from "node:test";
import { gzipSync } from "node:zlib";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { pino } from "pino";
import { parseConfig } from "../../src/config.ts";
import {
  PutRecordsRequestSchema,
  PutRecordsResponseSchema,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { type RunningGateway, startGateway } from "../../src/main.ts";
import { PUT_RECORDS_PATH } from "../../src/services/put-records-fast-path.ts";
import { startTestGateway } from "../helpers/gateway.ts";
import { envelope, type RawAnswer, rawGrpcCall } from "../helpers/raw-grpc.ts";

const TOKEN = "fast-path-test-token";

/** One PutRecords call, authorised, with the headers and body given. */
const call = (url: string, headers: Record<string, string>, body: Buffer): Promise<RawAnswer> =>
  rawGrpcCall(url, {
    path: PUT_RECORDS_PATH,
    headers: { authorization: `Bearer ${TOKEN}`, ...headers },
    body,
  });

/** What a client can observe, with the parts that differ by nature (time, sequence numbers) made comparable. */
function observable(answer: RawAnswer) {
  const { date: _date, ...headers } = answer.headers;
  const details = answer.trailers["grpc-status-details-bin"];
  let body: unknown = answer.body.toString("hex");
  if (answer.body.length >= 5 && answer.trailers["grpc-status"] === "0") {
    assert.equal(answer.body.readUInt32BE(1), answer.body.length - 5, "one whole envelope");
    const res = fromBinary(PutRecordsResponseSchema, answer.body.subarray(5));
    body = {
      ...res,
      records: res.records.map((r) => ({
        ...r,
        sequenceNumber: r.sequenceNumber.replace(/^\d{56}$/, "<sequence number>"),
      })),
    };
  }
  return {
    status: answer.status,
    headers,
    trailers: { ...answer.trailers, "grpc-status-details-bin": undefined } as Record<
      string,
      unknown
    >,
    details: typeof details === "string" ? Buffer.from(details, "base64").length > 0 : undefined,
    body,
  };
}

const request = (init: MessageInitShape<typeof PutRecordsRequestSchema>) =>
  toBinary(PutRecordsRequestSchema, create(PutRecordsRequestSchema, init));
const twoRecords = request({
  streamName: "four",
  records: [
    { data: Buffer.from("blob1"), partitionKey: "partitionkey1" },
    { data: Buffer.from("blob2"), partitionKey: "partitionkey2" },
  ],
});

const cases: Record<string, { headers?: Record<string, string>; body: Buffer }> = {
  "two records": { body: envelope(twoRecords) },
  "two records, content type application/grpc+proto": {
    headers: { "content-type": "application/grpc+proto" },
    body: envelope(twoRecords),
  },
  "two records, the client accepts gzip answers": {
    headers: { "grpc-accept-encoding": "gzip, deflate" },
    body: envelope(twoRecords),
  },
  "two records with a deadline": { headers: { "grpc-timeout": "5S" }, body: envelope(twoRecords) },
  "a gzip-compressed request": {
    headers: { "grpc-encoding": "gzip" },
    body: envelope(gzipSync(twoRecords), 1),
  },
  // 8 KiB a record (data and key): a fresh shard's 1 MiB takes exactly 128,
  // and the 129th would need 8 ms of refill, far more than the call takes.
  "throttled records": {
    body: envelope(
      request({
        streamName: "one",
        records: Array.from({ length: 500 }, () => ({
          data: new Uint8Array(8192 - 3),
          partitionKey: "key",
        })),
      }),
    ),
  },
  "an empty partition key (AWS's validation text)": {
    body: envelope(request({ streamName: "four", records: [{ data: Buffer.from("x") }] })),
  },
  "501 records": {
    body: envelope(
      request({
        streamName: "four",
        records: Array.from({ length: 501 }, () => ({ data: Buffer.from("x"), partitionKey: "k" })),
      }),
    ),
  },
  "an unknown stream": {
    body: envelope(request({ streamName: "nope", records: [{ partitionKey: "k" }] })),
  },
  "no token": { headers: { authorization: "" }, body: envelope(twoRecords) },
  "a wrong token": { headers: { authorization: "Bearer nope" }, body: envelope(twoRecords) },
  "invalid UTF-8 in a partition key": {
    body: envelope(Buffer.from([0x1a, 0x04, 0x12, 0x02, 0xc3, 0x28])),
  },
  "a truncated message": { body: envelope(twoRecords.subarray(0, twoRecords.length - 3)) },
  "the compressed flag without an encoding": { body: envelope(twoRecords, 1) },
  "two messages": { body: Buffer.concat([envelope(twoRecords), envelope(twoRecords)]) },
  "a truncated envelope": { body: envelope(twoRecords).subarray(0, 20) },
  "a partial envelope header": { body: Buffer.from([0, 0, 0]) },
  "an empty body": { body: Buffer.alloc(0) },
  "a declared length over the limit": {
    body: Buffer.from([0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]),
  },
  "a malformed grpc-timeout": { headers: { "grpc-timeout": "soon" }, body: envelope(twoRecords) },
  "an unknown encoding": { headers: { "grpc-encoding": "zstd" }, body: envelope(twoRecords) },
};

void suite("gRPC PutRecords: the fast path answers as Connect's generic handler does", () => {
  let fast: RunningGateway;
  let generic: RunningGateway;
  before(async () => {
    const tokens = join(mkdtempSync(join(tmpdir(), "kgw-fast-")), "tokens");
    writeFileSync(tokens, `${TOKEN}\n`);
    const flags = ["--streams", "four:4,one:1", "--auth-tokens-file", tokens];
    fast = await startTestGateway(flags);
    generic = await startTestGateway(flags, { fastPath: false });
  });
  after(async () => {
    await fast.stop();
    await generic.stop();
  });

  for (const [name, { headers = {}, body }] of Object.entries(cases)) {
    void test(name, async () => {
      const expected = observable(await call(generic.url, headers, body));
      const actual = observable(await call(fast.url, headers, body));
      assert.deepEqual(actual, expected);
    });
  }

  void test("the answers compared are the ones each case is about", async () => {
    const ok = observable(await call(fast.url, {}, envelope(twoRecords)));
    assert.equal(ok.trailers["grpc-status"], "0");
    assert.equal((ok.body as { records: unknown[] }).records.length, 2);
    const refused = await call(
      fast.url,
      {},
      cases["an empty partition key (AWS's validation text)"]!.body,
    );
    assert.equal(refused.trailers["grpc-status"], "3");
    const details = Buffer.from(String(refused.trailers["grpc-status-details-bin"]), "base64");
    assert.ok(details.length > 0);
    assert.match(String(refused.trailers["grpc-message"]), /partitionKey/);
  });

  void test("the throttled case throttles on a fresh shard", async () => {
    const gateway = await startTestGateway(["--streams", "one:1"]);
    try {
      const throttled = observable(await call(gateway.url, {}, cases["throttled records"]!.body));
      assert.equal((throttled.body as { failedRecordCount: number }).failedRecordCount, 500 - 128);
    } finally {
      await gateway.stop();
    }
  });

  void test("stops reading at bytes past the first message, answering before the client has sent them all", {
    timeout: 30_000,
  }, async () => {
    const session = http2.connect(fast.url);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": PUT_RECORDS_PATH,
        "content-type": "application/grpc",
        authorization: `Bearer ${TOKEN}`,
      });
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) =>
        stream.once("trailers", resolve),
      );
      stream.on("data", () => undefined);
      stream.on("error", () => undefined); // the server may reset the rest
      // One message, then 64 MiB more, written only as fast as the server reads.
      let sent = envelope(twoRecords).length;
      stream.write(envelope(twoRecords));
      const filler = Buffer.alloc(1024 * 1024);
      let answered = false;
      void trailers.then(() => {
        answered = true;
      });
      while (!answered && sent < 64 * 1024 * 1024 && !stream.destroyed) {
        if (!stream.write(filler)) await new Promise((resolve) => setTimeout(resolve, 5));
        sent += filler.length;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (!answered) stream.end(); // a server reading it all answers only now
      const t = await trailers;
      assert.notEqual(t["grpc-status"], "0", "refused");
      assert.ok(sent < 64 * 1024 * 1024, `answered after ${sent} bytes`);
      stream.close();
    } finally {
      session.destroy();
    }
  });

  void test("a gRPC client over HTTP/1.1 that hangs up mid-body is no error of the gateway's", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    const result = parseConfig(["--port", "0", "--host", "127.0.0.1", "--streams", "four:4"], {});
    if (result.kind !== "config") throw new Error("bad flags");
    const gateway = await startGateway(result.config, logger);
    try {
      await new Promise<void>((resolve) => {
        const req = http.request(`${gateway.url}${PUT_RECORDS_PATH}`, {
          method: "POST",
          headers: { "content-type": "application/grpc" },
        });
        req.on("error", () => resolve());
        req.on("close", () => resolve());
        const header = Buffer.from([0, 0, 0x10, 0, 0]); // a 1 MiB message
        req.write(Buffer.concat([header, Buffer.alloc(100 * 1024)]), () => {
          setTimeout(() => req.destroy(), 50);
        });
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(lines, []);
    } finally {
      await gateway.stop();
    }
  });
});
