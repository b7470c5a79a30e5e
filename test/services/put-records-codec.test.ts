/**
 * The specialised PutRecords codec against the generic one (protobuf-es):
 * the same domain input from every request the generic decoder accepts and
 * the specialised one takes, never an answer where the generic decoder
 * fails, and the same bytes for every answer.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  PutRecordsRequestSchema,
  PutRecordsResponseSchema,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import type { PutRecordsInput, PutRecordsOutput } from "../../src/kinesis/types.ts";
import { putRecordsInputFromProto, putRecordsResponseToProto } from "../../src/services/convert.ts";
import {
  decodePutRecordsRequest,
  encodePutRecordsResponseEnvelope,
} from "../../src/services/put-records-codec.ts";

/** What the generic path hands the backends, or the error it answers with. */
function generic(bytes: Uint8Array): PutRecordsInput | Error {
  try {
    return putRecordsInputFromProto(fromBinary(PutRecordsRequestSchema, bytes));
  } catch (err) {
    return err as Error;
  }
}

/** Plain values, so that Buffer and Uint8Array views of the same bytes compare equal. */
function plain(input: PutRecordsInput): unknown {
  return {
    ...input,
    records: input.records?.map((r) => ({
      ...r,
      data: r.data === null ? null : [...r.data],
      explicitHashKey: r.explicitHashKey,
      traceContext: r.traceContext && {
        traceparent: r.traceContext.traceparent,
        tracestate: r.traceContext.tracestate,
      },
    })),
  };
}

/** The specialised decoder agrees with the generic one, or leaves the bytes to it. */
function assertAgrees(bytes: Uint8Array, mustTake = true): void {
  const expected = generic(bytes);
  const actual = decodePutRecordsRequest(bytes);
  if (expected instanceof Error) {
    assert.equal(
      actual,
      undefined,
      `decoded what the generic decoder refuses: ${expected.message}`,
    );
    return;
  }
  if (actual === undefined) {
    assert.ok(!mustTake, "left a well-formed request to the generic decoder");
    return;
  }
  assert.deepEqual(plain(actual), plain(expected));
}

const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

const requests: Record<string, MessageInitShape<typeof PutRecordsRequestSchema>> = {
  empty: {},
  "name only": { streamName: "orders" },
  "ARN and no records": { streamArn: "arn:aws:kinesis:us-east-1:000000000000:stream/orders" },
  "the AWS CLI example": {
    streamName: "orders",
    records: [
      { data: Buffer.from("blob1"), partitionKey: "partitionkey1" },
      { data: Buffer.from("blob2"), partitionKey: "partitionkey2" },
    ],
  },
  "empty data and keys": { streamName: "s", records: [{}, { data: new Uint8Array(0) }] },
  "explicit hash keys and trace contexts": {
    streamName: "s",
    records: [
      { data: Buffer.from("a"), partitionKey: "k", explicitHashKey: "0" },
      {
        data: Buffer.from("b"),
        partitionKey: "k",
        traceContext: { traceparent, tracestate: "vendor=1" },
      },
      { data: Buffer.from("c"), partitionKey: "k", traceContext: { traceparent } },
      { data: Buffer.from("d"), partitionKey: "k", traceContext: { tracestate: "only=state" } },
      { data: Buffer.from("e"), partitionKey: "k", traceContext: {} },
    ],
  },
  "non-ASCII text": {
    streamName: "s",
    records: [
      { data: Buffer.from([0, 255, 128]), partitionKey: "clé-ключ-鍵-🔑" },
      { data: Buffer.from("x"), partitionKey: "\uFEFFbom" },
      { data: Buffer.from("y"), partitionKey: "é".repeat(200) },
    ],
  },
  "long keys and data": {
    streamName: "a".repeat(128),
    records: [
      { data: new Uint8Array(1024 * 1024).fill(7), partitionKey: "k".repeat(256) },
      { data: new Uint8Array(300).fill(1), partitionKey: "p".repeat(65) },
    ],
  },
  "500 records": {
    streamName: "s",
    records: Array.from({ length: 500 }, (_, i) => ({
      data: new Uint8Array(i % 7).fill(i),
      partitionKey: `key-${i}`,
    })),
  },
};

void suite("the specialised PutRecords decoder", () => {
  for (const [name, init] of Object.entries(requests)) {
    void test(`decodes ${name} as the generic decoder does`, () => {
      assertAgrees(toBinary(PutRecordsRequestSchema, create(PutRecordsRequestSchema, init)));
    });
  }

  void test("slices record data from the request without copying", () => {
    const bytes = toBinary(
      PutRecordsRequestSchema,
      create(PutRecordsRequestSchema, requests["the AWS CLI example"]),
    );
    const data = decodePutRecordsRequest(bytes)!.records![0]!.data!;
    assert.equal(data.buffer, bytes.buffer);
  });

  /** Hand-written encodings no protobuf-es `toBinary` produces, but other encoders may. */
  const entry = (build: (w: BinaryWriter) => void) => {
    const w = new BinaryWriter();
    build(w);
    return w.finish();
  };
  const handWritten: Record<string, () => Uint8Array> = {
    "a repeated stream name (the last wins)": () =>
      new BinaryWriter()
        .tag(1, WireType.LengthDelimited)
        .string("first")
        .tag(1, WireType.LengthDelimited)
        .string("second")
        .finish(),
    "fields out of order and repeated scalars in an entry": () =>
      new BinaryWriter()
        .tag(3, WireType.LengthDelimited)
        .bytes(
          entry((w) =>
            w
              .tag(2, WireType.LengthDelimited)
              .string("k1")
              .tag(1, WireType.LengthDelimited)
              .bytes(Buffer.from("d1"))
              .tag(2, WireType.LengthDelimited)
              .string("k2"),
          ),
        )
        .tag(1, WireType.LengthDelimited)
        .string("late-name")
        .finish(),
    "a trace context split over two occurrences (merged)": () =>
      new BinaryWriter()
        .tag(3, WireType.LengthDelimited)
        .bytes(
          entry((w) =>
            w
              .tag(4, WireType.LengthDelimited)
              .bytes(entry((t) => t.tag(1, WireType.LengthDelimited).string(traceparent)))
              .tag(4, WireType.LengthDelimited)
              .bytes(entry((t) => t.tag(2, WireType.LengthDelimited).string("k=v"))),
          ),
        )
        .finish(),
    "unknown fields of every wire type": () =>
      new BinaryWriter()
        .tag(9, WireType.Varint)
        .uint64(2n ** 60n)
        .tag(10, WireType.Bit64)
        .fixed64(1n)
        .tag(11, WireType.LengthDelimited)
        .string("ignored")
        .tag(12, WireType.Bit32)
        .fixed32(5)
        .tag(3, WireType.LengthDelimited)
        .bytes(
          entry((w) =>
            w
              .tag(7, WireType.Varint)
              .int32(-1)
              .tag(1, WireType.LengthDelimited)
              .bytes(Buffer.from("d"))
              .tag(4, WireType.LengthDelimited)
              .bytes(entry((t) => t.tag(3, WireType.Bit32).fixed32(0))),
          ),
        )
        .finish(),
    "a non-minimal length varint": () =>
      Uint8Array.from([0x0a, 0x83, 0x80, 0x00, 0x61, 0x62, 0x63]), // stream_name "abc"
  };
  for (const [name, build] of Object.entries(handWritten)) {
    void test(`decodes ${name} as the generic decoder does`, () => assertAgrees(build()));
  }

  const malformed: Record<string, Uint8Array> = {
    "invalid UTF-8 in a partition key": new BinaryWriter()
      .tag(3, WireType.LengthDelimited)
      .bytes(Uint8Array.from([0x12, 2, 0xc3, 0x28]))
      .finish(),
    "a lone surrogate's bytes in a stream name": Uint8Array.from([0x0a, 3, 0xed, 0xa0, 0x80]),
    "field number 0": Uint8Array.from([0x02, 0x00]),
    "a group": Uint8Array.from([0x0b, 0x0c]),
    "wire type 6": Uint8Array.from([0x0e]),
    "a string field sent as a varint": Uint8Array.from([0x08, 0x01]),
    "a records field sent as fixed32": Uint8Array.from([0x1d, 1, 2, 3, 4]),
    "data sent as a varint": new BinaryWriter()
      .tag(3, WireType.LengthDelimited)
      .bytes(Uint8Array.from([0x08, 0x05]))
      .finish(),
    "a length past the end": Uint8Array.from([0x0a, 0x05, 0x61]),
    // Tags the generic decoder refuses as overflowing 32 bits, before a valid stream name and record.
    "a 5-byte tag with a fifth byte over 0x0f": Uint8Array.from([
      0x8a, 0x80, 0x80, 0x80, 0x10, 0x04, 0x66, 0x6f, 0x75, 0x72, 0x1a, 0x03, 0x12, 0x01, 0x6b,
    ]),
    "a 6-byte padded tag": Uint8Array.from([
      0x8a, 0x80, 0x80, 0x80, 0x80, 0x00, 0x04, 0x66, 0x6f, 0x75, 0x72, 0x1a, 0x03, 0x12, 0x01,
      0x6b,
    ]),
    "an 8-byte tag past 2^53": Uint8Array.from([
      0x0a, 0x04, 0x66, 0x6f, 0x75, 0x72, 0xa5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x01,
      0x0a, 0x01, 0x41, 0x1a, 0x03, 0x12, 0x01, 0x6b,
    ]),
    "a 6-byte length": Uint8Array.from([0x0a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x61]),
    "an unterminated varint": Uint8Array.from([0x0a, 0xff, 0xff]),
    "an entry whose length exceeds the message": Uint8Array.from([0x1a, 0x7f, 0x0a, 0x00]),
    "a 10-byte varint tag": Uint8Array.from([
      0x88, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0,
    ]),
  };
  for (const [name, bytes] of Object.entries(malformed)) {
    void test(`never decodes what the generic decoder refuses: ${name}`, () =>
      assertAgrees(bytes, false));
  }

  void test("every truncation of a valid request is refused or decoded as the generic decoder does", () => {
    const bytes = toBinary(
      PutRecordsRequestSchema,
      create(PutRecordsRequestSchema, requests["explicit hash keys and trace contexts"]),
    );
    for (let end = 0; end < bytes.length; end++) assertAgrees(bytes.subarray(0, end), false);
  });

  void test("every single-byte corruption of a valid request is refused or decoded as the generic decoder does", () => {
    const bytes = toBinary(
      PutRecordsRequestSchema,
      create(PutRecordsRequestSchema, requests["explicit hash keys and trace contexts"]),
    );
    for (let i = 0; i < bytes.length; i++) {
      for (const value of [0x00, 0x7f, 0x80, 0xff, bytes[i]! ^ 0x07]) {
        const corrupt = Uint8Array.from(bytes);
        corrupt[i] = value;
        assertAgrees(corrupt, false);
      }
    }
  });
});

void suite("the specialised PutRecords encoder", () => {
  const sequenceNumber = "49546986683135544286507457936321625675700192471156785154";
  const outputs: Record<string, PutRecordsOutput> = {
    "no records": { failedRecordCount: 0, records: [], encryptionType: "NONE" },
    "the AWS CLI example": {
      failedRecordCount: 0,
      encryptionType: "NONE",
      records: [
        { sequenceNumber, shardId: "shardId-000000000001" },
        { sequenceNumber, shardId: "shardId-000000000003" },
      ],
    },
    "throttled and failed entries, KMS": {
      failedRecordCount: 2,
      encryptionType: "KMS",
      records: [
        {
          errorCode: "ProvisionedThroughputExceededException",
          errorMessage:
            "Rate exceeded for shard shardId-000000000000 in stream hot under account 000000000000.",
        },
        { sequenceNumber, shardId: "shardId-000000000000" },
        {
          errorCode: "InternalFailure",
          errorMessage: `Internal service failure: ${"é".repeat(90)}`,
        },
      ],
    },
    "500 entries, 300 failed (multi-byte varints)": {
      failedRecordCount: 300,
      encryptionType: "NONE",
      records: Array.from({ length: 500 }, (_, i) =>
        i < 300
          ? { errorCode: "ProvisionedThroughputExceededException", errorMessage: "x".repeat(i) }
          : { sequenceNumber, shardId: `shardId-${String(i).padStart(12, "0")}` },
      ),
    },
  };
  for (const [name, out] of Object.entries(outputs)) {
    void test(`writes ${name} byte for byte as protobuf-es does, in one gRPC envelope`, () => {
      const expected = toBinary(PutRecordsResponseSchema, putRecordsResponseToProto(out));
      const envelope = encodePutRecordsResponseEnvelope(out);
      assert.equal(envelope[0], 0, "not compressed");
      assert.equal(envelope.readUInt32BE(1), expected.length);
      assert.deepEqual([...envelope.subarray(5)], [...expected]);
    });
  }
});
