/**
 * The wire protocol itself, byte for byte: every malformed request of the
 * shared vectors gets AWS's status, type and text; the protocol errors
 * (no signature, unknown operation, unreadable bodies, oversized bodies);
 * and CBOR bodies as the Java SDK sends them.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { suite, test } from "node:test";
import { Decoder, Encoder, type Options, Tag } from "cbor-x";
import { DEFAULT_READ_MAX_BYTES } from "../../src/server/gateway-server.ts";
import { useGateway } from "../helpers/gateway.ts";
import { validationCases, wireRequest } from "../helpers/vectors.ts";

const SIGNED =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";

async function call(
  url: string,
  operation: string,
  body: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  const res = await fetch(`${url}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `Kinesis_20131202.${operation}`,
      authorization: SIGNED,
      ...headers,
    },
    body,
  });
  return {
    status: res.status,
    headers: res.headers,
    body: new Uint8Array(await res.arrayBuffer()),
  };
}

const json = (body: Uint8Array) =>
  JSON.parse(Buffer.from(body).toString()) as Record<string, unknown>;

void suite("the wire protocol", () => {
  const gateway = useGateway(["--streams", "samplestream:1"]);

  void suite("the shared vectors, as JSON", () => {
    for (const c of validationCases()) {
      void test(`${c.operation}: ${c.case}`, async () => {
        const res = await call(gateway.current.url, c.operation, JSON.stringify(wireRequest(c)));
        assert.equal(res.status, c.expected.status);
        const body = json(res.body);
        if (c.expected.status === 200) {
          if (c.operation === "PutRecords")
            assert.equal(body.FailedRecordCount, c.expected.failedRecordCount ?? 0);
          return;
        }
        assert.equal(body.__type, c.expected.type);
        assert.equal(body.message, c.expected.message);
        assert.match(res.headers.get("x-amzn-requestid") ?? "", /^[0-9a-f-]{36}$/);
      });
    }
  });

  void test("a request without Authorization gets MissingAuthenticationTokenException", async () => {
    const res = await call(gateway.current.url, "ListStreams", "{}", { authorization: "" });
    assert.equal(res.status, 400);
    assert.deepEqual(json(res.body), {
      __type: "MissingAuthenticationTokenException",
      message: "Missing Authentication Token",
    });
  });

  void test("an unknown target gets UnknownOperationException", async () => {
    const res = await call(gateway.current.url, "MakeCoffee", "{}");
    assert.equal(res.status, 400);
    assert.equal(json(res.body).__type, "UnknownOperationException");
  });

  void test("malformed JSON gets SerializationException", async () => {
    const res = await call(gateway.current.url, "PutRecord", '{"StreamName": ');
    assert.equal(res.status, 400);
    assert.equal(json(res.body).__type, "SerializationException");
  });

  void test("a member of the wrong type gets AWS's SerializationException text", async () => {
    const res = await call(gateway.current.url, "PutRecord", JSON.stringify({ StreamName: 7 }));
    assert.equal(res.status, 400);
    assert.deepEqual(json(res.body), {
      __type: "SerializationException",
      message:
        "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String",
    });
  });

  void test("a body larger than any valid request is refused with 413 before it is read", async () => {
    const res = await fetch(`${gateway.current.url}/`, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "Kinesis_20131202.PutRecords",
        authorization: SIGNED,
      },
      // A valid one holds at most 10 MiB of records, about 13.4 MiB in JSON.
      body: new Uint8Array(DEFAULT_READ_MAX_BYTES + 1),
    });
    assert.equal(res.status, 413);
  });

  void test("plain application/json is not an AWS protocol: 404 UnknownOperationException, as AWS answers", async () => {
    const res = await call(gateway.current.url, "ListStreams", "{}", {
      "content-type": "application/json",
    });
    assert.equal(res.status, 404);
    assert.deepEqual(json(res.body), {
      Output: { __type: "com.amazon.coral.service#UnknownOperationException" },
      Version: "1.0",
    });
  });

  void test("CBOR, as the Java SDK sends it: raw blobs, millisecond timestamps under tag 1", async () => {
    const encoder = new Encoder({ mapsAsObjects: true, useRecords: false, tagUint8Array: false });
    const decoder = new Decoder({ mapsAsObjects: true, useRecords: false });
    const cbor = (operation: string, body: unknown) =>
      call(gateway.current.url, operation, encoder.encode(body), {
        "content-type": "application/x-amz-cbor-1.1",
      });

    const before = Date.now();
    const put = await cbor("PutRecords", {
      StreamName: "samplestream",
      Records: [{ Data: new Uint8Array([0, 1, 2, 255]), PartitionKey: "cbor" }],
    });
    assert.equal(put.status, 200);
    assert.equal(put.headers.get("content-type"), "application/x-amz-cbor-1.1");
    const putBody = decoder.decode(put.body) as {
      FailedRecordCount: number;
      Records: { SequenceNumber: string }[];
    };
    assert.equal(putBody.FailedRecordCount, 0);

    const iterator = await cbor("GetShardIterator", {
      StreamName: "samplestream",
      ShardId: "shardId-000000000000",
      ShardIteratorType: "AT_TIMESTAMP",
      Timestamp: new Tag(BigInt(before - 1), 1),
    });
    assert.equal(iterator.status, 200);
    const { ShardIterator } = decoder.decode(iterator.body) as { ShardIterator: string };

    const got = await cbor("GetRecords", { ShardIterator });
    assert.equal(got.status, 200);
    // Read the raw tag: AWS puts epoch milliseconds under tag 1.
    const rawOptions: Options & { int64AsNumber: boolean } = {
      mapsAsObjects: true,
      useRecords: false,
      int64AsNumber: true, // 64-bit integers as numbers (a runtime option its types omit)
    };
    const raw = new Decoder(rawOptions);
    const records = (raw.decode(got.body) as { Records: Record<string, unknown>[] }).Records;
    const mine = records.find((r) => r.SequenceNumber === putBody.Records[0]!.SequenceNumber);
    assert.ok(mine);
    assert.deepEqual([...(mine.Data as Uint8Array)], [0, 1, 2, 255]);
    // cbor-x reads tag 1 as seconds, so milliseconds come back 1000 times too late.
    const arrivalMs = (mine.ApproximateArrivalTimestamp as Date).getTime() / 1000;
    assert.ok(arrivalMs >= before - 5 && arrivalMs <= Date.now() + 5, String(arrivalMs));

    const error = await cbor("PutRecord", {
      StreamName: "nope",
      PartitionKey: "k",
      Data: new Uint8Array(1),
    });
    assert.equal(error.status, 400);
    assert.deepEqual(decoder.decode(error.body), {
      __type: "ResourceNotFoundException",
      message: "Stream nope under account 000000000000 not found.",
    });
  });

  void suite("bodies in many chunks", () => {
    const unthrottled = useGateway(["--streams", "samplestream:1", "--throttle", "off"]);
    void test("JSON bodies sent in many small chunks, multi-byte characters split between them, are read whole", async () => {
      /** Writes the body 1,000 bytes at a time (Node sends each write as its own chunk). */
      const post = (body: Buffer) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const req = http.request(
            `${unthrottled.current.url}/`,
            {
              method: "POST",
              headers: {
                "content-type": "application/x-amz-json-1.1",
                "x-amz-target": "Kinesis_20131202.PutRecords",
                authorization: SIGNED,
              },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (c: Buffer) => chunks.push(c));
              res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
            },
          );
          req.on("error", reject);
          for (let i = 0; i < body.length; i += 1000) req.write(body.subarray(i, i + 1000));
          req.end();
        });
      // One body under the size joined in the reused buffer (twice, in turn) and one over it.
      for (const [size, tag] of [
        [300, "a"],
        [300, "b"],
        [700, "c"],
      ] as const) {
        const records = Array.from({ length: 500 }, (_, i) => ({
          Data: Buffer.alloc(size * 3, `${tag}${i}`).toString("base64"),
          PartitionKey: `clé-鍵-${tag}-${i}`,
        }));
        const body = Buffer.from(JSON.stringify({ StreamName: "samplestream", Records: records }));
        const answer = await post(body);
        assert.equal(answer.FailedRecordCount, 0);
        const { ShardIterator } = json(
          (
            await call(
              unthrottled.current.url,
              "GetShardIterator",
              JSON.stringify({
                StreamName: "samplestream",
                ShardId: "shardId-000000000000",
                ShardIteratorType: "AT_SEQUENCE_NUMBER",
                StartingSequenceNumber: (answer.Records as { SequenceNumber: string }[])[0]!
                  .SequenceNumber,
              }),
            )
          ).body,
        ) as { ShardIterator: string };
        const read = json(
          (
            await call(
              unthrottled.current.url,
              "GetRecords",
              JSON.stringify({ ShardIterator, Limit: 500 }),
            )
          ).body,
        ) as { Records: { Data: string; PartitionKey: string }[] };
        assert.deepEqual(
          read.Records.map((r) => [r.Data, r.PartitionKey]),
          records.map((r) => [r.Data, r.PartitionKey]),
        );
      }
    });
  });
});
