/**
 * Error answers within the metadata every gRPC stack takes by default (issue
 * 13): gRPC's C core and grpc-java refuse more than 8 KiB, so every error's
 * status fields — `grpc-status`, `grpc-message` and `grpc-status-details-bin`
 * — take at most 4 KiB by HTTP/2's count, measured here on the wire. The text
 * is AWS's (as the wire API answers the same request) where it fits, and
 * otherwise its beginning and end with a note of what was left out; every
 * call is answered, whatever characters the text holds or where the cut
 * falls.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { suite, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { pino } from "pino";
import { createEngineBackend } from "../../src/backends/engine-backend.ts";
import { createEngine } from "../../src/engine/engine.ts";
import { KinesisErrorDetailSchema } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import {
  PutRecordRequestSchema,
  PutRecordsRequestSchema,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { createRpcHandler } from "../../src/server/rpc-handler.ts";
import {
  ERROR_METADATA_MAX_BYTES,
  fittedConnectError,
  kinesisConnectError,
} from "../../src/services/error-budget.ts";
import { useGateway } from "../helpers/gateway.ts";
import { envelope, type RawAnswer, rawGrpcCall } from "../helpers/raw-grpc.ts";

const SIGNED =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";
const STATUS_FIELDS = ["grpc-status", "grpc-message", "grpc-status-details-bin"];
const NOTE = / … \[(\d+) characters left out to fit gRPC metadata\] … /;
const ANSWER_WITHIN_MS = 5_000;

interface Entry {
  data: string;
  partitionKey: string;
  explicitHashKey?: string;
}

interface Case {
  operation: "PutRecords" | "PutRecord";
  entries: Entry[];
}

const keys = (count: number, key: string): Entry[] =>
  Array.from({ length: count }, () => ({ data: "", partitionKey: key }));

const cases: Record<string, Case> = {
  "501 records": { operation: "PutRecords", entries: keys(501, "k") },
  "10 keys of 257 ASCII characters": {
    operation: "PutRecords",
    entries: keys(10, "a".repeat(257)),
  },
  '10 keys of 257 × "é"': { operation: "PutRecords", entries: keys(10, "é".repeat(257)) },
  "10 keys of 257 emoji": { operation: "PutRecords", entries: keys(10, "😀".repeat(257)) },
  "an explicit hash key of 3,000 emoji": {
    operation: "PutRecord",
    entries: [{ data: "", partitionKey: "k", explicitHashKey: "😀".repeat(3000) }],
  },
  "keys with NUL, CR and LF": {
    operation: "PutRecords",
    entries: keys(10, "\0\r\n".repeat(100)),
  },
};
// Emoji after 0 to 7 ASCII characters: the cut falls at every offset within a surrogate pair.
for (let pad = 0; pad < 8; pad++) {
  cases[`emoji keys after ${pad} ASCII characters`] = {
    operation: "PutRecords",
    entries: keys(10, "x".repeat(pad) + "🦀".repeat(300)),
  };
}

/** The request as gRPC sends it, in Protobuf or in JSON. */
function grpcBody(c: Case): Uint8Array {
  const records = c.entries.map((e) => ({ ...e, data: Buffer.from(e.data) }));
  return envelope(
    c.operation === "PutRecords"
      ? toBinary(
          PutRecordsRequestSchema,
          create(PutRecordsRequestSchema, { streamName: "s", records }),
        )
      : toBinary(
          PutRecordRequestSchema,
          create(PutRecordRequestSchema, { streamName: "s", ...records[0] }),
        ),
  );
}

/** AWS's text for the request, from the wire API, which keeps it whole. */
async function awsText(url: string, c: Case): Promise<string> {
  const entry = (e: Entry) => ({
    Data: Buffer.from(e.data).toString("base64"),
    PartitionKey: e.partitionKey,
    ...(e.explicitHashKey === undefined ? {} : { ExplicitHashKey: e.explicitHashKey }),
  });
  const body =
    c.operation === "PutRecords"
      ? { StreamName: "s", Records: c.entries.map(entry) }
      : { StreamName: "s", ...entry(c.entries[0]!) };
  const res = await fetch(`${url}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `Kinesis_20131202.${c.operation}`,
      authorization: SIGNED,
    },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { __type: string; message: string };
  assert.equal(answer.__type, "ValidationException");
  return answer.message;
}

async function answered(url: string, c: Case): Promise<RawAnswer> {
  let timer: NodeJS.Timeout | undefined;
  const unanswered = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the call got no answer")), ANSWER_WITHIN_MS);
  });
  try {
    return await Promise.race([
      rawGrpcCall(url, {
        path: `/kinesis.gateway.v1.ProducerService/${c.operation}`,
        body: grpcBody(c),
      }),
      unanswered,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The status fields, from the trailers or, for a trailers-only answer, the headers. */
function statusFields(answer: RawAnswer): Headers {
  const source = "grpc-status" in answer.trailers ? answer.trailers : answer.headers;
  const fields = new Headers();
  for (const name of STATUS_FIELDS) {
    const value = source[name];
    if (typeof value === "string") fields.set(name, value);
  }
  return fields;
}

const codePoints = (text: string) => Array.from(text).length;

void suite("error answers fit the metadata every gRPC stack takes", () => {
  const gateway = useGateway(["--streams", "s:1"]);

  for (const [name, c] of Object.entries(cases)) {
    void test(name, async () => {
      const fields = statusFields(await answered(gateway.current.url, c));
      let bytes = 0;
      for (const [field, value] of fields) bytes += field.length + value.length + 32;
      assert.ok(bytes <= ERROR_METADATA_MAX_BYTES, `${bytes} bytes of status fields`);

      const err = findTrailerError(fields);
      assert.ok(err, "an error status");
      assert.equal(err.code, Code.InvalidArgument);
      const [detail] = err.findDetails(KinesisErrorDetailSchema);
      assert.equal(detail?.type, "ValidationException");
      assert.equal(detail?.message, err.rawMessage, "the detail says what the status says");
      assert.equal(decodeURIComponent(fields.get("grpc-message")!), err.rawMessage);

      const aws = (await awsText(gateway.current.url, c)).toWellFormed();
      const note = NOTE.exec(err.rawMessage);
      if (note === null) {
        assert.equal(err.rawMessage, aws);
        return;
      }
      // Shortened: AWS's beginning and end, and the count of what is between.
      const head = err.rawMessage.slice(0, note.index);
      const tail = err.rawMessage.slice(note.index + note[0].length);
      assert.ok(aws.startsWith(head) && aws.endsWith(tail), "AWS's beginning and end");
      // The end first (AWS's texts end with the constraint broken), then what fits of the beginning.
      assert.ok(codePoints(tail) === 160 || (head === "" && tail.length > 0), tail);
      assert.equal(Number(note[1]), codePoints(aws) - codePoints(head) - codePoints(tail));
      // And no shorter than it had to be: a few more characters would not have fitted.
      assert.ok(bytes > ERROR_METADATA_MAX_BYTES - 200, `only ${bytes} bytes used`);
    });
  }

  void test("a text that fits is AWS's, word for word", async () => {
    const c: Case = { operation: "PutRecords", entries: keys(1, "a".repeat(257)) };
    const err = findTrailerError(statusFields(await answered(gateway.current.url, c)));
    assert.equal(err?.rawMessage, await awsText(gateway.current.url, c));
  });
});

/** Texts with every kind of Unicode edge, at lengths that fit and that must be cut. */
function unicodeEdges(): string[] {
  const texts: string[] = [];
  for (const length of [1, 100, 161, 700, 2_000, 5_000, 20_000]) {
    for (const unit of ["\ud83d", "\ude00", "😀", "\0", "\r\n", "é", "鍵"]) {
      for (let pad = 0; pad < 4; pad++) texts.push("x".repeat(pad) + unit.repeat(length));
    }
    texts.push("😀\ud83d\r\n\0".repeat(length));
  }
  return texts;
}

function fieldBytes(fields: Headers): number {
  let bytes = 0;
  for (const [field, value] of fields) {
    if (STATUS_FIELDS.includes(field)) bytes += field.length + value.length + 32;
  }
  return bytes;
}

void suite("the answer path takes any text", () => {
  void test("every error made from it writes, fits and reads back as sent", () => {
    for (const text of unicodeEdges()) {
      for (const err of [
        kinesisConnectError(Code.InvalidArgument, "ValidationException", text),
        fittedConnectError(new ConnectError(text, Code.NotFound)),
      ]) {
        const fields = setTrailerStatus(new Headers(), err);
        assert.ok(fieldBytes(fields) <= ERROR_METADATA_MAX_BYTES, `${text.length} units`);
        assert.ok(err.rawMessage.isWellFormed());
        assert.equal(findTrailerError(fields)?.rawMessage, err.rawMessage);
        if (text.isWellFormed() && !NOTE.test(err.rawMessage)) assert.equal(err.rawMessage, text);
      }
    }
  });

  // A status the gateway's own mapping never saw (here an interceptor's, outside it).
  for (const [name, text, expected] of [
    ["a lone surrogate", "\ud83d", "internal error"],
    ["16 KiB of text", "é".repeat(16_384), undefined],
  ] as const) {
    void test(`an error outside the mapping, with ${name}, is answered and fits`, async (t) => {
      const server = http2.createServer(
        createRpcHandler({
          backend: createEngineBackend(createEngine()),
          logger: pino({ level: "silent" }),
          interceptors: [
            () => () => {
              throw new ConnectError(text, Code.FailedPrecondition);
            },
          ],
          readMaxBytes: 1 << 20,
          fallback: (_req, res) => {
            (res as http2.Http2ServerResponse).writeHead(404).end();
          },
          prepare: (req) => ({ body: req, contextValues: createContextValues() }),
          logFailure: () => {},
        }),
      );
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      t.after(() => server.close());
      const { port } = server.address() as AddressInfo;
      const fields = statusFields(
        await answered(`http://127.0.0.1:${port}`, {
          operation: "PutRecords",
          entries: keys(1, "k"),
        }),
      );
      assert.ok(fieldBytes(fields) <= ERROR_METADATA_MAX_BYTES);
      const err = findTrailerError(fields);
      if (expected === undefined) {
        assert.equal(err?.code, Code.FailedPrecondition);
        assert.match(err?.rawMessage ?? "", NOTE);
      } else {
        assert.equal(err?.code, Code.Internal);
        assert.equal(err?.rawMessage, expected);
      }
    });
  }
});
