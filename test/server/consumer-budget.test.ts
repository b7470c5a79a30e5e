/**
 * The byte budget of a read: each record's size counted as protobuf encodes
 * it, and as many records as fit in the caller's `max_message_bytes`.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { EncryptionType } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import { GetRecordsResponseSchema } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import type { KinesisRecord } from "../../src/kinesis/types.ts";
import { fitRecords } from "../../src/services/answer-records.ts";
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  entryBytes,
  kinesisFieldsBytes,
  MAX_ANSWER_BYTES,
  messageBudget,
  recordEntryBytes,
} from "../../src/services/read-budget.ts";

const sequenceNumber = "49590338271490256608559692538361571095921575989136588898";

function record(overrides: Partial<KinesisRecord> = {}): KinesisRecord {
  return {
    sequenceNumber,
    approximateArrivalTimestamp: new Date("2025-01-02T03:04:05.678Z"),
    data: new Uint8Array(100),
    partitionKey: "key",
    ...overrides,
  };
}

const recordsThatFit = (records: KinesisRecord[], budget: number, from = 0) =>
  fitRecords(records, budget, { from, keepAggregated: false }).count;

/** The answer as the gateway sends it, encoded. */
function encodedAnswer(records: KinesisRecord[], nextShardIterator = ""): number {
  const answer = create(GetRecordsResponseSchema, {
    records: records.map((r) => ({
      sequenceNumber: r.sequenceNumber,
      approximateArrivalTimestamp: timestampFromDate(r.approximateArrivalTimestamp),
      data: r.data,
      partitionKey: r.partitionKey,
      encryptionType: EncryptionType[r.encryptionType ?? "NONE"],
    })),
    nextShardIterator,
    millisBehindLatest: 86_400_000n,
  });
  return toBinary(GetRecordsResponseSchema, answer).length;
}

void suite("read budget", () => {
  void test("counts each record exactly as protobuf encodes it", () => {
    const cases: Record<string, KinesisRecord> = {
      "small record": record(),
      "empty data": record({ data: new Uint8Array(0) }),
      "1 MiB of data": record({ data: new Uint8Array(1024 * 1024 - 3) }),
      "127 and 128 bytes (length varint boundary)": record({ data: new Uint8Array(128) }),
      "multi-byte partition key": record({ partitionKey: "ключ-🔑".repeat(20) }),
      "KMS encrypted": record({ encryptionType: "KMS" }),
      "whole second": record({ approximateArrivalTimestamp: new Date(1_700_000_000_000) }),
      "the epoch": record({ approximateArrivalTimestamp: new Date(0) }),
      "before the epoch": record({ approximateArrivalTimestamp: new Date(-1_500) }),
    };
    for (const [name, r] of Object.entries(cases)) {
      const alone = encodedAnswer([r]) - encodedAnswer([]);
      assert.equal(recordEntryBytes(r), alone, name);
    }
  });

  void test("counts a user record's entry exactly, with its sub-sequence number, hash key and flag", () => {
    const r = record();
    const encoded = (fields: object) =>
      toBinary(
        GetRecordsResponseSchema,
        create(GetRecordsResponseSchema, {
          records: [
            {
              sequenceNumber: r.sequenceNumber,
              approximateArrivalTimestamp: timestampFromDate(r.approximateArrivalTimestamp),
              encryptionType: EncryptionType.NONE,
              ...fields,
            },
          ],
        }),
      ).length;
    const user = { partitionKey: "ключ", data: new Uint8Array(130), explicitHashKey: "1234" };
    for (const subSequenceNumber of [0, 1, 127, 128, 20_000]) {
      for (const aggregated of [false, true]) {
        assert.equal(
          entryBytes(kinesisFieldsBytes(r), user, subSequenceNumber, aggregated),
          encoded({ ...user, subSequenceNumber: BigInt(subSequenceNumber), aggregated }),
          `${subSequenceNumber} ${aggregated}`,
        );
      }
    }
  });

  void test("0 means gRPC's 4 MiB default; any other value is taken as it is, up to the largest answer", () => {
    assert.equal(messageBudget(0), 4_194_304);
    assert.equal(DEFAULT_MAX_MESSAGE_BYTES, 4_194_304);
    assert.equal(messageBudget(10 * 1024 * 1024), 10 * 1024 * 1024);
    assert.equal(messageBudget(100), 100);
    assert.equal(messageBudget(2 ** 32 - 1), MAX_ANSWER_BYTES);
  });

  void test("keeps records while the answer, with the longest iterator, fits", () => {
    const records = Array.from({ length: 12 }, () => record({ data: new Uint8Array(1024 * 1024) }));
    const longestIterator = "x".repeat(512);
    for (const budget of [DEFAULT_MAX_MESSAGE_BYTES, 10 * 1024 * 1024, 3 * 1024 * 1024 + 1000]) {
      const count = recordsThatFit(records, budget);
      assert.ok(encodedAnswer(records.slice(0, count), longestIterator) <= budget, `${budget}`);
      assert.ok(
        encodedAnswer(records.slice(0, count + 1), "") > budget,
        `${budget}: one more fits`,
      );
    }
    assert.equal(recordsThatFit(records, DEFAULT_MAX_MESSAGE_BYTES), 3);
    assert.equal(recordsThatFit(records, 10 * 1024 * 1024), 9);
  });

  void test("a record larger than the budget comes alone; none is none", () => {
    const records = [record({ data: new Uint8Array(5000) }), record()];
    assert.equal(recordsThatFit(records, 1000), 1);
    assert.equal(recordsThatFit(records, 1000, 1), 1);
    assert.equal(recordsThatFit([], 1000), 0);
    assert.equal(recordsThatFit(records, 1000, 2), 0);
  });
});
