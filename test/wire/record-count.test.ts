/**
 * Counting PutRecords entries from the bytes, without decoding them: the
 * counters agree with the real decoders on every shape a client can send,
 * and give up (undefined) on what they do not understand.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Encoder } from "cbor-x";
import {
  ProduceRequestSchema,
  PutRecordsRequestSchema,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import {
  countPutRecordsEntries,
  countPutRecordsEntriesIn,
} from "../../src/services/put-records-codec.ts";
import {
  countCborArrayMember,
  countJsonArrayMember,
  countWireRecords,
} from "../../src/wire/record-count.ts";
import { seededRandom } from "../helpers/seeded-random.ts";

const json = (text: string) => Buffer.from(text, "utf8");
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true });

void suite("counting PutRecords entries", () => {
  void test("JSON: as many as JSON.parse finds, whatever the entries hold", () => {
    const bodies = [
      '{"StreamName":"s","Records":[]}',
      '{"Records":[{"Data":"eA==","PartitionKey":"k"},{"Data":"","PartitionKey":"[{\\"]}"}]}',
      ' { "Other" : [1, {"Records": [9]}, "x"] , "Records" : [ {} , {"a":[[],{}]} , null , 3 ] } ',
      '{"StreamName":"a\\"b","Records":["}",",","]"]}',
      '{"Rec\\u006frds":[{},{}]}',
    ];
    for (const body of bodies) {
      const parsed = JSON.parse(body) as { Records: unknown[] };
      assert.equal(countJsonArrayMember(json(body), "Records"), parsed.Records.length, body);
    }
  });

  void test("JSON: undefined for what is not an object with that array", () => {
    for (const body of [
      '{"Records":{}}',
      '{"StreamName":"s"}',
      "[]",
      '{"Records":[1,',
      "nope",
      "{}",
    ]) {
      assert.equal(countJsonArrayMember(json(body), "Records"), undefined, body);
    }
  });

  void test("JSON on the wire API: a body with few braces is not walked", () => {
    const body = json(`{"Records":[${Array(20).fill("{}").join(",")}]}`);
    assert.equal(countWireRecords("json", body, 100), undefined);
    assert.equal(countWireRecords("json", body, 10), 20);
  });

  void test("CBOR: as many as the decoder finds, definite and indefinite, keys in chunks", () => {
    const entry = { Data: new Uint8Array([1, 2, 3]), PartitionKey: "k" };
    for (const records of [[], [entry], Array(30).fill(entry)]) {
      const body = cbor.encode({ StreamName: "s", Other: [[1], { x: 2 }], Records: records });
      assert.equal(countCborArrayMember(body, "Records"), records.length);
    }
    // {_ "Rec" "ords" : [_ {}, {}, {} ]} in indefinite forms (RFC 8949 §3.2).
    const indefinite = Buffer.from([
      0xbf,
      0x7f,
      0x63,
      ...Buffer.from("Rec"),
      0x64,
      ...Buffer.from("ords"),
      0xff,
      0x9f,
      0xa0,
      0xa0,
      0xa0,
      0xff,
      0xff,
    ]);
    assert.equal(countCborArrayMember(indefinite, "Records"), 3);
    assert.equal(countCborArrayMember(Buffer.from([0x81, 0x01]), "Records"), undefined);
    assert.equal(countCborArrayMember(Buffer.from([0xa1, 0x67]), "Records"), undefined);
  });

  void test("CBOR nested deeper than anyone sends is left to the decoder", () => {
    const deep = Buffer.concat([
      Buffer.from([0xa2, 0x61, 0x61]),
      Buffer.alloc(100_000, 0x81),
      Buffer.from([0x00, 0x67, ...Buffer.from("Records"), 0x80]),
    ]);
    assert.equal(countCborArrayMember(deep, "Records"), undefined);
  });

  void test("Protobuf: as many as protobuf-es encoded, with the other fields around them", () => {
    for (const count of [0, 1, 500, 1234]) {
      const message = toBinary(
        PutRecordsRequestSchema,
        create(PutRecordsRequestSchema, {
          streamName: "s",
          streamArn: "arn",
          records: Array.from({ length: count }, (_, i) => ({
            partitionKey: `k${i}`,
            data: new Uint8Array(i % 7),
          })),
        }),
      );
      assert.equal(countPutRecordsEntries(message), count);
    }
    assert.equal(countPutRecordsEntries(Buffer.from([0x1a, 0x05, 0x00])), undefined, "truncated");
  });

  void test("Protobuf in pieces (a request stream's frames): the same count as joined, however cut", () => {
    const random = seededRandom(18);
    const messages = [
      toBinary(
        ProduceRequestSchema,
        create(ProduceRequestSchema, {
          streamName: "s",
          records: Array.from({ length: 300 }, (_, i) => ({
            id: BigInt(i) * 1_000_000_007n,
            partitionKey: `k${i}`,
            data: new Uint8Array(i % 200),
            explicitHashKey: i % 3 === 0 ? String(i) : "",
          })),
        }),
      ),
      Buffer.from([0x1a, 0x05, 0x00]),
      Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      Buffer.from([0x0b, 0x1a, 0x00]),
    ];
    for (const whole of messages) {
      const expected = countPutRecordsEntries(whole);
      for (let round = 0; round < 50; round++) {
        // Some bytes before the message and after it, as the stream's other messages.
        const framed = Buffer.concat([Buffer.from([9, 9, 9]), whole, Buffer.from([7, 7])]);
        const chunks: Uint8Array[] = [];
        for (let at = 0; at < framed.length; ) {
          const size = 1 + Math.floor(random() * (round % 2 === 0 ? 7 : 4000));
          chunks.push(framed.subarray(at, at + size));
          at += size;
        }
        assert.equal(countPutRecordsEntriesIn(chunks, 3, 3 + whole.length), expected);
      }
    }
  });
});
