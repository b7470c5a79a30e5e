/**
 * Enum members over the wire API, in JSON and CBOR: a value outside the
 * enum is answered 400 ValidationException with AWS's text, and nothing is
 * created or read.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { Decoder, Encoder, type Options } from "cbor-x";
import { useGateway } from "../helpers/gateway.ts";

const SIGNED =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";

const encoder = new Encoder({ mapsAsObjects: true, useRecords: false, tagUint8Array: false });
const decoderOptions: Options & { int64AsNumber: boolean } = {
  mapsAsObjects: true,
  useRecords: false,
  int64AsNumber: true, // AWS's millisecond timestamps are 64-bit (a runtime option its types omit)
};
const decoder = new Decoder(decoderOptions);

/** Each wire format: how a body is written and an answer read. */
const formats = {
  JSON: {
    contentType: "application/x-amz-json-1.1",
    encode: (body: unknown): Uint8Array => Buffer.from(JSON.stringify(body)),
    decode: (bytes: Uint8Array): unknown => JSON.parse(Buffer.from(bytes).toString()),
  },
  CBOR: {
    contentType: "application/x-amz-cbor-1.1",
    encode: (body: unknown): Uint8Array => encoder.encode(body),
    decode: (bytes: Uint8Array): unknown => decoder.decode(bytes),
  },
};

const STREAM_MODE_SET = "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]";
const ITERATOR_TYPE_SET =
  "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]";
const SHARD_FILTER_SET =
  "Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]";

void suite("enum members over the wire API", () => {
  const gateway = useGateway(["--streams", "samplestream:1"]);

  for (const [name, format] of Object.entries(formats)) {
    const call = async (operation: string, body: unknown) => {
      const res = await fetch(`${gateway.current.url}/`, {
        method: "POST",
        headers: {
          "content-type": format.contentType,
          "x-amz-target": `Kinesis_20131202.${operation}`,
          authorization: SIGNED,
        },
        body: format.encode(body),
      });
      return { status: res.status, body: format.decode(new Uint8Array(await res.arrayBuffer())) };
    };
    const refused = async (operation: string, body: unknown, message: string) => {
      assert.deepEqual(await call(operation, body), {
        status: 400,
        body: { __type: "ValidationException", message },
      });
    };

    void suite(name, () => {
      void test("CreateStream with an unknown stream mode is refused and creates nothing", async () => {
        const streamName = `bogus-mode-${name}`;
        await refused(
          "CreateStream",
          { StreamName: streamName, ShardCount: 1, StreamModeDetails: { StreamMode: "BOGUS" } },
          `1 validation error detected: Value 'BOGUS' at 'streamModeDetails.streamMode' failed to satisfy constraint: ${STREAM_MODE_SET}`,
        );
        assert.deepEqual(await call("DescribeStreamSummary", { StreamName: streamName }), {
          status: 400,
          body: {
            __type: "ResourceNotFoundException",
            message: `Stream ${streamName} under account 000000000000 not found.`,
          },
        });
      });

      void test("CreateStream with StreamModeDetails but no StreamMode is refused", async () => {
        await refused(
          "CreateStream",
          { StreamName: `no-mode-${name}`, ShardCount: 1, StreamModeDetails: {} },
          "1 validation error detected: Value null at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must not be null",
        );
      });

      void test("CreateStream reports a bad mode among its other violations", async () => {
        await refused(
          "CreateStream",
          { StreamName: "bad name", ShardCount: 0, StreamModeDetails: { StreamMode: "on_demand" } },
          "3 validation errors detected: " +
            "Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
            `Value 'on_demand' at 'streamModeDetails.streamMode' failed to satisfy constraint: ${STREAM_MODE_SET}; ` +
            "Value 'bad name' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        );
      });

      void test("CreateStream still takes both modes", async () => {
        const streamName = `on-demand-${name}`;
        const created = await call("CreateStream", {
          StreamName: streamName,
          StreamModeDetails: { StreamMode: "ON_DEMAND" },
        });
        assert.equal(created.status, 200);
        const summary = await call("DescribeStreamSummary", { StreamName: streamName });
        const description = (summary.body as Record<string, Record<string, unknown>>)
          .StreamDescriptionSummary!;
        assert.deepEqual(description.StreamModeDetails, { StreamMode: "ON_DEMAND" });
      });

      void test("GetShardIterator with an unknown iterator type is refused", async () => {
        await refused(
          "GetShardIterator",
          {
            StreamName: "samplestream",
            ShardId: "shardId-000000000000",
            ShardIteratorType: "OLDEST",
          },
          `1 validation error detected: Value 'OLDEST' at 'shardIteratorType' failed to satisfy constraint: ${ITERATOR_TYPE_SET}`,
        );
      });

      void test("ListShards with an unknown shard filter type, or none, is refused", async () => {
        await refused(
          "ListShards",
          { StreamName: "samplestream", ShardFilter: { Type: "LATEST" } },
          `1 validation error detected: Value 'LATEST' at 'shardFilter.type' failed to satisfy constraint: ${SHARD_FILTER_SET}`,
        );
        await refused(
          "ListShards",
          { StreamName: "samplestream", ShardFilter: { ShardId: "shardId-000000000000" } },
          "1 validation error detected: Value null at 'shardFilter.type' failed to satisfy constraint: Member must not be null",
        );
        const listed = await call("ListShards", {
          StreamName: "samplestream",
          ShardFilter: { Type: "AT_LATEST" },
        });
        assert.equal(listed.status, 200);
      });
    });
  }
});
