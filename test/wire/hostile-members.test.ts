/**
 * Members an AWS SDK never sends, over the wire API: numbers that are no
 * number (CBOR's NaN and infinities, JSON's 1e400), timestamps past a Date's
 * range, a tag named `__proto__`, resource ARNs that name no stream. Each is
 * answered 400 with nothing created, or kept as the key it is; none is a 500.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Decoder, Encoder, type Options } from "cbor-x";
import { StreamService } from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import { transports, useGateway } from "../helpers/gateway.ts";

const SIGNED =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";

const encoder = new Encoder({ mapsAsObjects: true, useRecords: false, tagUint8Array: false });
const decoder = new Decoder({
  mapsAsObjects: true,
  useRecords: false,
  int64AsNumber: true,
} as Options);

interface Answer {
  status: number;
  body: { __type?: string; message?: string; [member: string]: unknown };
}

async function call(
  url: string,
  operation: string,
  body: unknown,
  format: "json" | "cbor" = "json",
  raw?: string,
): Promise<Answer> {
  const res = await fetch(`${url}/`, {
    method: "POST",
    headers: {
      "content-type":
        format === "json" ? "application/x-amz-json-1.1" : "application/x-amz-cbor-1.1",
      "x-amz-target": `Kinesis_20131202.${operation}`,
      authorization: SIGNED,
    },
    body: raw ?? (format === "json" ? JSON.stringify(body) : encoder.encode(body)),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return {
    status: res.status,
    body: (format === "json"
      ? JSON.parse(Buffer.from(bytes).toString())
      : decoder.decode(bytes)) as Answer["body"],
  };
}

void suite("members no AWS SDK sends, over the wire API", () => {
  const gateway = useGateway(["--streams", "s:2"]);
  const streams = async () =>
    (await call(gateway.current.url, "ListStreams", {})).body.StreamNames as string[];

  for (const [name, shardCount] of [
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
  ] as const) {
    void test(`CBOR CreateStream with ShardCount ${name} is refused, and nothing is created`, async () => {
      const answer = await call(
        gateway.current.url,
        "CreateStream",
        { StreamName: `cbor-${name}`, ShardCount: shardCount },
        "cbor",
      );
      assert.equal(answer.status, 400);
      assert.equal(answer.body.__type, "SerializationException");
      assert.ok(!(await streams()).includes(`cbor-${name}`));
    });
  }

  void test("JSON CreateStream with ShardCount 1e400 is refused, and nothing is created", async () => {
    const answer = await call(
      gateway.current.url,
      "CreateStream",
      undefined,
      "json",
      '{"StreamName": "json-big", "ShardCount": 1e400}',
    );
    assert.equal(answer.status, 400);
    assert.equal(answer.body.__type, "SerializationException");
    assert.ok(!(await streams()).includes("json-big"));
  });

  for (const [name, timestamp] of [
    ["NaN", Number.NaN],
    ["9e15 seconds", 9e15],
  ] as const) {
    void test(`a ListShards AT_TIMESTAMP filter at ${name} is refused as no timestamp`, async () => {
      const answer = await call(
        gateway.current.url,
        "ListShards",
        { StreamName: "s", ShardFilter: { Type: "AT_TIMESTAMP", Timestamp: timestamp } },
        "cbor",
      );
      assert.equal(answer.status, 400);
      assert.equal(answer.body.__type, "SerializationException");
    });
  }

  void test("a tag named __proto__ is kept as the key it is", async () => {
    const added = await call(
      gateway.current.url,
      "AddTagsToStream",
      undefined,
      "json",
      '{"StreamName": "s", "Tags": {"__proto__": "x", "constructor": "y"}}',
    );
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const listed = await call(gateway.current.url, "ListTagsForStream", { StreamName: "s" });
    assert.deepEqual(listed.body.Tags, [
      { Key: "__proto__", Value: "x" },
      { Key: "constructor", Value: "y" },
    ]);
  });

  for (const resource of ["stream/", "stream", "x", "/", "stream/s/consumer/c"]) {
    const arn = `arn:aws:kinesis:us-east-1:000000000000:${resource}`;
    void test(`ListTagsForResource of ${arn} is InvalidArgumentException, not a failure`, async () => {
      const answer = await call(gateway.current.url, "ListTagsForResource", { ResourceARN: arn });
      assert.equal(answer.status, 400);
      assert.equal(answer.body.__type, "InvalidArgumentException");
      assert.equal(
        answer.body.message,
        `Resource ARN ${arn} is not a recognized Kinesis stream or consumer ARN.`,
      );
      const grpc = createClient(StreamService, transports["gRPC over h2c"]!(gateway.current.url));
      await assert.rejects(grpc.listTagsForResource({ resourceArn: arn }), (err) => {
        assert.equal(ConnectError.from(err).code, Code.InvalidArgument);
        return true;
      });
    });
  }

  void test("ListTagsForResource of a consumer ARN that names no consumer is ResourceNotFoundException", async () => {
    const arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1796100724";
    const answer = await call(gateway.current.url, "ListTagsForResource", { ResourceARN: arn });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.__type, "ResourceNotFoundException");
    assert.equal(
      answer.body.message,
      `Consumer ${arn} under stream s under account 000000000000 not found.`,
    );
  });
});
