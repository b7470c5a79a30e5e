import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { KinesisError } from "../../src/kinesis/errors.ts";
import type { PutRecordsRequestEntry } from "../../src/kinesis/types.ts";
import {
  validateCreateStream,
  validateListShards,
  validatePutRecord,
  validatePutRecords,
  validateStreamRef,
} from "../../src/kinesis/validation.ts";
import {
  isSerializationCase,
  putRecordInput,
  putRecordsInput,
  validationCases,
  wireRequest,
} from "../helpers/vectors.ts";

const MiB = 1024 * 1024;
const record = (
  partitionKey = "k",
  dataBytes = 1,
  explicitHashKey?: string,
): PutRecordsRequestEntry => ({
  data: new Uint8Array(dataBytes),
  partitionKey,
  explicitHashKey,
});
const put = (records: PutRecordsRequestEntry[], streamName = "s") =>
  validatePutRecords({ streamName, records });

function rejects(fn: () => void, type: string, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KinesisError, `expected a KinesisError, got ${String(err)}`);
    assert.equal(err.type, type);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

const tooLong = (path: string, value: string, max: number) =>
  `1 validation error detected: Value '${value}' at '${path}' failed to satisfy constraint: Member must have length less than or equal to ${max}`;

void suite("validation against the shared AWS vectors", () => {
  // Serialization cases concern the JSON wire encoding, which the wire API checks.
  // Not-found cases need a stream registry: the over-the-wire tests cover them.
  const cases = validationCases().filter(
    (c) => !isSerializationCase(c) && c.expected.type !== "ResourceNotFoundException",
  );
  for (const c of cases) {
    void test(`${c.operation}: ${c.case}`, () => {
      const request = wireRequest(c);
      const run =
        c.operation === "PutRecords"
          ? () => validatePutRecords(putRecordsInput(request))
          : () => validatePutRecord(putRecordInput(request));
      if (c.expected.status === 200) {
        assert.doesNotThrow(run);
      } else {
        rejects(run, c.expected.type!, c.expected.message!);
      }
    });
  }
});

void suite("PutRecords limits, on both sides of each boundary", () => {
  void test("needs 1 to 500 records", () => {
    rejects(
      () => put([]),
      "ValidationException",
      "1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    assert.doesNotThrow(() => put([record()]));
    assert.doesNotThrow(() => put(Array.from({ length: 500 }, () => record())));
    rejects(
      () => put(Array.from({ length: 501 }, () => record())),
      "ValidationException",
      /at 'records' failed to satisfy constraint: Member must have length less than or equal to 500$/,
    );
  });

  void test("needs records at all", () => {
    rejects(
      () => validatePutRecords({ streamName: "s", records: null }),
      "ValidationException",
      "1 validation error detected: Value null at 'records' failed to satisfy constraint: Member must not be null",
    );
  });

  void test("takes partition keys of 1 to 256 characters, counted in UTF-16 units", () => {
    rejects(
      () => put([record("")]),
      "ValidationException",
      "1 validation error detected: Value '' at 'records.1.member.partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    assert.doesNotThrow(() => put([record("a")]));
    assert.doesNotThrow(() => put([record("ü".repeat(256))]));
    rejects(
      () => put([record("k".repeat(257))]),
      "ValidationException",
      tooLong("records.1.member.partitionKey", "k".repeat(257), 256),
    );
  });

  void test("takes data of up to 1 MiB", () => {
    assert.doesNotThrow(() => put([record("k", 0)]));
    assert.doesNotThrow(() => put([record("k", MiB - 1)]));
    rejects(
      () => put([record("k", MiB + 1)]),
      "ValidationException",
      tooLong(
        "records.1.member.data",
        `java.nio.HeapByteBuffer[pos=0 lim=${MiB + 1} cap=${MiB + 1}]`,
        MiB,
      ),
    );
  });

  void test("counts the partition key's UTF-8 bytes with the data against 1 MiB", () => {
    assert.doesNotThrow(() => put([record("kk", MiB - 2)]));
    rejects(
      () => put([record("kk", MiB - 1)]),
      "InvalidArgumentException",
      /exceeds the limit of 1048576 bytes/,
    );
    // "ü" is two UTF-8 bytes.
    rejects(
      () => put([record("ü", MiB - 1)]),
      "InvalidArgumentException",
      /Record size of 1048577 bytes/,
    );
  });

  void test("takes up to 5 MiB of data and keys per request", () => {
    const full = () => Array.from({ length: 5 }, () => record("k", MiB - 1));
    assert.doesNotThrow(() => put(full()));
    rejects(
      () => put([...full(), record("k", 0)]),
      "InvalidArgumentException",
      "Records size exceeds 5 MB limit",
    );
  });

  void test("takes explicit hash keys from 0 to 2^128-1, as decimals without leading zeros", () => {
    for (const ok of ["0", "1", "9".repeat(38), (2n ** 128n - 1n).toString()]) {
      assert.doesNotThrow(() => put([record("k", 1, ok)]), ok);
    }
    for (const bad of ["01", "-1", "1.5", " 1", "1".repeat(40), ""]) {
      rejects(
        () => put([record("k", 1, bad)]),
        "ValidationException",
        `1 validation error detected: Value '${bad}' at 'records.1.member.explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})`,
      );
    }
    rejects(
      () => put([record("k", 1, (2n ** 128n).toString())]),
      "InvalidArgumentException",
      `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${2n ** 128n}`,
    );
  });

  void test("takes stream names of 1 to 128 characters of [a-zA-Z0-9_.-]", () => {
    assert.doesNotThrow(() => put([record()], "a"));
    assert.doesNotThrow(() => put([record()], "A-z_0.9".padEnd(128, "x")));
    rejects(
      () => put([record()], "x".repeat(129)),
      "ValidationException",
      tooLong("streamName", "x".repeat(129), 128),
    );
    rejects(
      () => put([record()], ""),
      "ValidationException",
      "2 validation errors detected: Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });

  void test("reports violations in AWS's order and stops listing at ten", () => {
    const records = Array.from({ length: 11 }, () => record("k".repeat(300)));
    assert.throws(
      () => put(records, "bad/name"),
      (err: KinesisError) => {
        assert.match(err.message, /^10 validation errors detected: /);
        assert.equal(err.message.split("; ").length, 10);
        assert.doesNotMatch(err.message, /streamName/, "the stream name comes after the records");
        return true;
      },
    );
    rejects(
      () => put([record("k".repeat(300), 1, "x")], "bad/name"),
      "ValidationException",
      /^3 validation errors detected: .*partitionKey.*; .*explicitHashKey.*; .*streamName.*$/,
    );
  });
});

void suite("naming a stream", () => {
  const arn = "arn:aws:kinesis:us-east-1:000000000000:stream/orders";

  void test("accepts a name, an ARN, or both when they agree", () => {
    assert.doesNotThrow(() => validateStreamRef({ streamName: "orders" }));
    assert.doesNotThrow(() => validateStreamRef({ streamArn: arn }));
    assert.doesNotThrow(() => validateStreamRef({ streamName: "orders", streamArn: arn }));
  });

  void test("refuses neither, or a name and an ARN of different streams", () => {
    rejects(
      () => validateStreamRef({}),
      "InvalidArgumentException",
      /Neither StreamName nor StreamARN/,
    );
    rejects(
      () => validateStreamRef({ streamName: "other", streamArn: arn }),
      "InvalidArgumentException",
      `StreamARN ${arn} does not name stream other.`,
    );
  });

  void test("refuses an ARN that is not a Kinesis stream ARN", () => {
    rejects(
      () => validateStreamRef({ streamArn: "arn:aws:sqs:us-east-1:000000000000:queue" }),
      "ValidationException",
      "1 validation error detected: Value 'arn:aws:sqs:us-east-1:000000000000:queue' at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+",
    );
  });

  void test("refuses an ARN given as a stream name, in AWS's words", () => {
    rejects(
      () => put([record()], arn),
      "ValidationException",
      `1 validation error detected: Value '${arn}' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`,
    );
  });
});

void suite("other operations", () => {
  void test("PutRecord checks its sequence number for ordering first", () => {
    rejects(
      () =>
        validatePutRecord({
          streamName: "s",
          data: new Uint8Array(1),
          partitionKey: "",
          sequenceNumberForOrdering: "x",
        }),
      "ValidationException",
      /^2 validation errors detected: Value 'x' at 'sequenceNumberForOrdering'.*; Value '' at 'partitionKey'/,
    );
  });

  void test("CreateStream needs a shard count of at least 1 for provisioned streams", () => {
    assert.doesNotThrow(() => validateCreateStream({ streamName: "s", shardCount: 1 }));
    assert.doesNotThrow(() => validateCreateStream({ streamName: "s", streamMode: "ON_DEMAND" }));
    rejects(
      () => validateCreateStream({ streamName: "s", shardCount: 0 }),
      "ValidationException",
      "1 validation error detected: Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    rejects(
      () => validateCreateStream({ streamName: "s" }),
      "InvalidArgumentException",
      /ShardCount is required/,
    );
  });

  void test("ListShards takes a next token alone", () => {
    assert.doesNotThrow(() => validateListShards({ nextToken: "t" }));
    rejects(
      () => validateListShards({ nextToken: "t", streamName: "s" }),
      "InvalidArgumentException",
      "NextToken and StreamName cannot be provided together.",
    );
  });
});
