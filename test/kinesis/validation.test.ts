import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { KinesisError } from "../../src/kinesis/errors.ts";
import { LARGEST_RECORD_BYTES } from "../../src/kinesis/limits.ts";
import type {
  GetShardIteratorInput,
  PutRecordsRequestEntry,
  ShardFilter,
  ShardFilterType,
  ShardIteratorType,
  StreamMode,
} from "../../src/kinesis/types.ts";
import {
  assertRecordsFitStream,
  validateAddTags,
  validateCreateStream,
  validateDescribeStream,
  validateGetRecords,
  validateGetShardIterator,
  validateListShards,
  validateListTags,
  validatePutRecord,
  validatePutRecords,
  validateRemoveTags,
  validateRetentionPeriod,
  validateStreamRef,
  validateUpdateMaxRecordSize,
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

  void test("renders at most 1,000 entries of a request with far too many, and says so", () => {
    const entries = Array.from({ length: 1_000_000 }, () => ({ data: null, partitionKey: null }));
    const err = (() => {
      try {
        put(entries);
      } catch (caught) {
        return caught as KinesisError;
      }
      assert.fail("accepted a million records");
    })();
    assert.equal(err.type, "ValidationException");
    assert.match(err.message, /^10 validation errors detected: Value '\[com\.amazonaws/);
    assert.match(
      err.message,
      /, … 999000 more entries not shown\]' at 'records' failed to satisfy/,
    );
    assert.equal(err.message.split("PutRecordsRequestEntry@").length - 1, 1000);
    // Nine of the records' own violations follow; the rest are not looked at.
    assert.match(err.message, /records\.1\.member\.partitionKey/);
    assert.ok(err.message.length < 80_000, `${err.message.length} characters`);
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

  void test("takes up to 10 MiB of data and keys per request (AWS's limit since large records)", () => {
    const full = () => Array.from({ length: 10 }, () => record("k", MiB - 1));
    assert.doesNotThrow(() => put(full()));
    rejects(
      () => put([...full(), record("k", 0)]),
      "InvalidArgumentException",
      "Records size exceeds 10 MB limit",
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
    // AWS names the member given: the AWS CLI v2, which sends StreamARN, shows this text.
    const arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    rejects(
      () => validateListShards({ nextToken: "t", streamArn: arn }),
      "InvalidArgumentException",
      "NextToken and StreamARN cannot be provided together.",
    );
    rejects(
      () => validateListShards({ nextToken: "t", streamName: "s", streamArn: arn }),
      "InvalidArgumentException",
      "NextToken and StreamName cannot be provided together.",
    );
  });
});

const one = (value: string | null, path: string, constraint: string) =>
  `1 validation error detected: Value ${value === null ? "null" : `'${value}'`} at '${path}' failed to satisfy constraint: ${constraint}`;

void suite("GetShardIterator", () => {
  const input = (more: Partial<GetShardIteratorInput> = {}): GetShardIteratorInput => ({
    streamName: "s",
    shardId: "shardId-000000000000",
    shardIteratorType: "LATEST",
    ...more,
  });

  void test("takes every iterator type, and shard ids of 1 to 128 characters of [a-zA-Z0-9_.-]", () => {
    for (const type of [
      "TRIM_HORIZON",
      "LATEST",
      "AT_SEQUENCE_NUMBER",
      "AFTER_SEQUENCE_NUMBER",
      "AT_TIMESTAMP",
    ] as const) {
      assert.doesNotThrow(() => validateGetShardIterator(input({ shardIteratorType: type })));
    }
    assert.doesNotThrow(() => validateGetShardIterator(input({ shardId: "a".repeat(128) })));
    rejects(
      () => validateGetShardIterator(input({ shardId: "a".repeat(129) })),
      "ValidationException",
      one("a".repeat(129), "shardId", "Member must have length less than or equal to 128"),
    );
    rejects(
      () => validateGetShardIterator(input({ shardId: "shard/0" })),
      "ValidationException",
      one("shard/0", "shardId", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
    );
  });

  void test("refuses an unknown iterator type with AWS's enum list, in AWS's order", () => {
    rejects(
      () => validateGetShardIterator(input({ shardIteratorType: "OLDEST" as ShardIteratorType })),
      "ValidationException",
      one(
        "OLDEST",
        "shardIteratorType",
        "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]",
      ),
    );
    // Enum values are case-sensitive, and an empty one is a value too.
    for (const type of ["latest", ""]) {
      rejects(
        () => validateGetShardIterator(input({ shardIteratorType: type as ShardIteratorType })),
        "ValidationException",
        new RegExp(`^1 validation error detected: Value '${type}' at 'shardIteratorType' .*enum`),
      );
    }
  });

  void test("reports missing members and bad values in AWS's order", () => {
    rejects(
      () => validateGetShardIterator({ streamName: "", shardId: null, shardIteratorType: null }),
      "ValidationException",
      "4 validation errors detected: " +
        "Value null at 'shardId' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'shardIteratorType' failed to satisfy constraint: Member must not be null; " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    rejects(
      () =>
        validateGetShardIterator(
          input({ shardIteratorType: "AT_SEQUENCE_NUMBER", startingSequenceNumber: "01" }),
        ),
      "ValidationException",
      one(
        "01",
        "startingSequenceNumber",
        "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})",
      ),
    );
  });

  void test("needs a stream", () => {
    rejects(
      () => validateGetShardIterator(input({ streamName: undefined })),
      "InvalidArgumentException",
      /Neither StreamName nor StreamARN/,
    );
  });
});

const STREAM_MODE_SET = "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]";
const SHARD_FILTER_SET =
  "Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]";

void suite("CreateStream's stream mode", () => {
  void test("takes both modes", () => {
    assert.doesNotThrow(() =>
      validateCreateStream({ streamName: "s", shardCount: 1, streamMode: "PROVISIONED" }),
    );
    assert.doesNotThrow(() => validateCreateStream({ streamName: "s", streamMode: "ON_DEMAND" }));
  });

  void test("refuses any other with AWS's enum list, before the service's own rules", () => {
    // Without a shard count the service would ask for one, but the enum comes first.
    rejects(
      () => validateCreateStream({ streamName: "s", streamMode: "BOGUS" as StreamMode }),
      "ValidationException",
      one("BOGUS", "streamModeDetails.streamMode", STREAM_MODE_SET),
    );
    rejects(
      () =>
        validateCreateStream({
          streamName: "s",
          shardCount: 1,
          streamMode: "on_demand" as StreamMode,
        }),
      "ValidationException",
      one("on_demand", "streamModeDetails.streamMode", STREAM_MODE_SET),
    );
  });

  void test("needs the mode when the details are given", () => {
    rejects(
      () => validateCreateStream({ streamName: "s", shardCount: 1, streamMode: null }),
      "ValidationException",
      one(null, "streamModeDetails.streamMode", "Member must not be null"),
    );
  });

  void test("is reported with the other violations, between shardCount and streamName", () => {
    rejects(
      () => validateCreateStream({ streamName: "", shardCount: 0, streamMode: "X" as StreamMode }),
      "ValidationException",
      "4 validation errors detected: " +
        "Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
        `Value 'X' at 'streamModeDetails.streamMode' failed to satisfy constraint: ${STREAM_MODE_SET}; ` +
        "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });
});

void suite("ListShards' shard filter", () => {
  const filtered = (shardFilter: ShardFilter) => () =>
    validateListShards({ streamName: "s", shardFilter });

  void test("takes every filter type, with the member it needs", () => {
    assert.doesNotThrow(filtered({ type: "AFTER_SHARD_ID", shardId: "shardId-000000000000" }));
    for (const type of ["AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST"] as const) {
      assert.doesNotThrow(filtered({ type }));
    }
    for (const type of ["AT_TIMESTAMP", "FROM_TIMESTAMP"] as const) {
      assert.doesNotThrow(filtered({ type, timestamp: new Date() }));
    }
  });

  void test("refuses any other type with AWS's enum list, and a filter without one", () => {
    rejects(
      filtered({ type: "LATEST" as ShardFilterType }),
      "ValidationException",
      one("LATEST", "shardFilter.type", SHARD_FILTER_SET),
    );
    rejects(
      filtered({ type: null }),
      "ValidationException",
      one(null, "shardFilter.type", "Member must not be null"),
    );
  });

  void test("checks the filter's shard id as a shard id, with the other violations", () => {
    rejects(
      () =>
        validateListShards({
          streamName: "bad name",
          maxResults: 0,
          shardFilter: { type: "BOGUS" as ShardFilterType, shardId: "shard/0" },
        }),
      "ValidationException",
      "4 validation errors detected: " +
        "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
        "Value 'shard/0' at 'shardFilter.shardId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
        `Value 'BOGUS' at 'shardFilter.type' failed to satisfy constraint: ${SHARD_FILTER_SET}; ` +
        "Value 'bad name' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    );
  });
});

void suite("GetRecords", () => {
  void test("needs an iterator of 1 to 512 characters, and no stream", () => {
    assert.doesNotThrow(() => validateGetRecords({ shardIterator: "x".repeat(512) }));
    rejects(
      () => validateGetRecords({ shardIterator: null }),
      "ValidationException",
      one(null, "shardIterator", "Member must not be null"),
    );
    rejects(
      () => validateGetRecords({ shardIterator: "" }),
      "ValidationException",
      one("", "shardIterator", "Member must have length greater than or equal to 1"),
    );
    rejects(
      () => validateGetRecords({ shardIterator: "x".repeat(513) }),
      "ValidationException",
      tooLong("shardIterator", "x".repeat(513), 512),
    );
  });

  void test("takes a limit of 1 to 10,000, reported before the iterator", () => {
    assert.doesNotThrow(() => validateGetRecords({ shardIterator: "i", limit: 1 }));
    assert.doesNotThrow(() => validateGetRecords({ shardIterator: "i", limit: 10_000 }));
    rejects(
      () => validateGetRecords({ shardIterator: "", limit: 0 }),
      "ValidationException",
      "2 validation errors detected: " +
        "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
        "Value '' at 'shardIterator' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    rejects(
      () => validateGetRecords({ shardIterator: "i", limit: 10_001 }),
      "ValidationException",
      one("10001", "limit", "Member must have value less than or equal to 10000"),
    );
  });

  void test("checks a StreamARN when one is given", () => {
    rejects(
      () => validateGetRecords({ shardIterator: "i", streamArn: "arn:aws:sqs:x" }),
      "ValidationException",
      /at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
  });
});

void suite("DescribeStream", () => {
  void test("takes a limit of 1 to 10,000 and a well-formed start shard id", () => {
    assert.doesNotThrow(() =>
      validateDescribeStream({
        streamName: "s",
        limit: 10_000,
        exclusiveStartShardId: "shardId-000000000000",
      }),
    );
    rejects(
      () => validateDescribeStream({ streamName: "", limit: 0, exclusiveStartShardId: "" }),
      "ValidationException",
      "5 validation errors detected: " +
        "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
        "Value '' at 'exclusiveStartShardId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
        "Value '' at 'exclusiveStartShardId' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    rejects(
      () => validateDescribeStream({ streamName: "s", limit: 10_001 }),
      "ValidationException",
      one("10001", "limit", "Member must have value less than or equal to 10000"),
    );
  });

  void test("needs a stream", () => {
    rejects(() => validateDescribeStream({}), "InvalidArgumentException", /Neither StreamName/);
  });
});

void suite("retention period changes", () => {
  void test("need the period, and leave its range to the service", () => {
    rejects(
      () => validateRetentionPeriod({ streamName: "s", retentionPeriodHours: null }),
      "ValidationException",
      one(null, "retentionPeriodHours", "Member must not be null"),
    );
    // AWS's model has no range: 23 and 8761 hours are the service's InvalidArgumentException.
    for (const hours of [-1, 23, 24, 8760, 8761]) {
      assert.doesNotThrow(() =>
        validateRetentionPeriod({ streamName: "s", retentionPeriodHours: hours }),
      );
    }
  });

  void test("need whole hours and a stream", () => {
    rejects(
      () => validateRetentionPeriod({ streamName: "s", retentionPeriodHours: 24.5 }),
      "InvalidArgumentException",
      "RetentionPeriodHours must be a whole number of hours, got 24.5.",
    );
    rejects(
      () => validateRetentionPeriod({ retentionPeriodHours: 48 }),
      "InvalidArgumentException",
      /Neither StreamName/,
    );
  });
});

void suite("tags", () => {
  const tags = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, "v"]));

  void test("AddTagsToStream takes 1 to 50 tags", () => {
    assert.doesNotThrow(() => validateAddTags({ streamName: "s", tags: tags(1) }));
    assert.doesNotThrow(() => validateAddTags({ streamName: "s", tags: tags(50) }));
    rejects(
      () => validateAddTags({ streamName: "s", tags: null }),
      "ValidationException",
      one(null, "tags", "Member must not be null"),
    );
    rejects(
      () => validateAddTags({ streamName: "s", tags: {} }),
      "ValidationException",
      one("{}", "tags", "Member must have length greater than or equal to 1"),
    );
    rejects(
      () => validateAddTags({ streamName: "s", tags: tags(51) }),
      "ValidationException",
      /^1 validation error detected: Value '\{k0=v, k1=v, .*, k50=v\}' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50$/,
    );
  });

  void test("AddTagsToStream takes keys of 1 to 128 and values of 0 to 256 characters", () => {
    assert.doesNotThrow(() =>
      validateAddTags({ streamName: "s", tags: { ["k".repeat(128)]: "v".repeat(256), k: "" } }),
    );
    rejects(
      () => validateAddTags({ streamName: "s", tags: { ["k".repeat(129)]: "v" } }),
      "ValidationException",
      one(
        `{${"k".repeat(129)}=v}`,
        "tags",
        "Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]",
      ),
    );
    rejects(
      () => validateAddTags({ streamName: "s", tags: { "": "v", a: "v".repeat(257) } }),
      "ValidationException",
      /^2 validation errors detected: .*Map keys must satisfy.*; .*Map value must satisfy constraint: \[Member must have length less than or equal to 256, Member must have length greater than or equal to 0\]$/,
    );
  });

  void test("CreateStream checks its tags the same way, but takes none", () => {
    assert.doesNotThrow(() => validateCreateStream({ streamName: "s", shardCount: 1, tags: {} }));
    rejects(
      () => validateCreateStream({ streamName: "s", shardCount: 1, tags: tags(51) }),
      "ValidationException",
      /at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50$/,
    );
  });

  void test("RemoveTagsFromStream takes 1 to 50 keys of 1 to 128 characters", () => {
    assert.doesNotThrow(() =>
      validateRemoveTags({ streamName: "s", tagKeys: Object.keys(tags(50)) }),
    );
    rejects(
      () => validateRemoveTags({ streamName: "s", tagKeys: null }),
      "ValidationException",
      one(null, "tagKeys", "Member must not be null"),
    );
    rejects(
      () => validateRemoveTags({ streamName: "s", tagKeys: [] }),
      "ValidationException",
      one("[]", "tagKeys", "Member must have length greater than or equal to 1"),
    );
    rejects(
      () => validateRemoveTags({ streamName: "s", tagKeys: Object.keys(tags(51)) }),
      "ValidationException",
      /^1 validation error detected: Value '\[k0, k1, .*, k50\]' at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 50$/,
    );
    const long = "k".repeat(129);
    rejects(
      () => validateRemoveTags({ streamName: "s", tagKeys: ["a", long, "b"] }),
      "ValidationException",
      one(
        `[a, ${long}, b]`,
        "tagKeys",
        "Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]",
      ),
    );
  });

  void test("ListTagsForStream takes a limit of 1 to 50 and a start key of 1 to 128 characters", () => {
    assert.doesNotThrow(() =>
      validateListTags({ streamName: "s", limit: 50, exclusiveStartTagKey: "k".repeat(128) }),
    );
    rejects(
      () => validateListTags({ streamName: "", exclusiveStartTagKey: "", limit: 0 }),
      "ValidationException",
      "4 validation errors detected: " +
        "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
        "Value '' at 'exclusiveStartTagKey' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
        "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    rejects(
      () => validateListTags({ streamName: "s", limit: 51 }),
      "ValidationException",
      one("51", "limit", "Member must have value less than or equal to 50"),
    );
  });

  void test("every tag operation needs a stream", () => {
    for (const run of [
      () => validateAddTags({ tags: { a: "b" } }),
      () => validateRemoveTags({ tagKeys: ["a"] }),
      () => validateListTags({}),
    ]) {
      rejects(run, "InvalidArgumentException", /Neither StreamName/);
    }
  });
});

void suite("large records: the largest any stream takes, and one stream's maximum", () => {
  const ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
  const largest = (records: PutRecordsRequestEntry[]) =>
    validatePutRecords({ streamName: "s", records }, LARGEST_RECORD_BYTES);

  void test("before the stream is known, data of up to 10 MiB passes, and data plus key up to 10 MiB", () => {
    assert.doesNotThrow(() => largest([record("k", 10 * MiB - 1)]));
    rejects(
      () => largest([record("k", 10 * MiB + 1)]),
      "ValidationException",
      tooLong(
        "records.1.member.data",
        `java.nio.HeapByteBuffer[pos=0 lim=${10 * MiB + 1} cap=${10 * MiB + 1}]`,
        10 * MiB,
      ),
    );
    rejects(
      () => largest([record("k", 10 * MiB)]),
      "InvalidArgumentException",
      /exceeds the limit of 10485760 bytes/,
    );
  });

  void test("a stream's maximum refuses data one byte over it, naming each record, and data plus key", () => {
    const max = 2 * MiB;
    assert.doesNotThrow(() => assertRecordsFitStream([record("k", max - 1)], false, max));
    rejects(
      () =>
        assertRecordsFitStream(
          [record("k", 1), record("k", max + 1), record("k", max + 2)],
          false,
          max,
        ),
      "ValidationException",
      `2 validation errors detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=${max + 1} cap=${max + 1}]' at 'records.2.member.data' failed to satisfy constraint: Member must have length less than or equal to ${max}; Value 'java.nio.HeapByteBuffer[pos=0 lim=${max + 2} cap=${max + 2}]' at 'records.3.member.data' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
    rejects(
      () => assertRecordsFitStream([record("k", max + 1)], true, max),
      "ValidationException",
      /at 'data' failed to satisfy constraint/,
    );
    rejects(
      () => assertRecordsFitStream([record("k", max)], true, max),
      "InvalidArgumentException",
      `Record size of ${max + 1} bytes (data plus partition key) exceeds the limit of ${max} bytes.`,
    );
  });

  void test("UpdateMaxRecordSize takes 1,024 to 10,240 KiB and a stream ARN", () => {
    for (const ok of [1024, 5000, 10240]) {
      assert.doesNotThrow(() =>
        validateUpdateMaxRecordSize({ streamArn: ARN, maxRecordSizeInKiB: ok }),
      );
    }
    rejects(
      () => validateUpdateMaxRecordSize({ streamArn: ARN, maxRecordSizeInKiB: 1023 }),
      "ValidationException",
      "1 validation error detected: Value '1023' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value greater than or equal to 1024",
    );
    rejects(
      () => validateUpdateMaxRecordSize({ streamArn: "nope", maxRecordSizeInKiB: null }),
      "ValidationException",
      /^2 validation errors detected: Value null at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must not be null; Value 'nope' at 'streamARN'/,
    );
    rejects(
      () => validateUpdateMaxRecordSize({ maxRecordSizeInKiB: 2048 }),
      "InvalidArgumentException",
      "StreamARN was not provided; UpdateMaxRecordSize names its stream by ARN.",
    );
  });

  void test("CreateStream's MaxRecordSizeInKiB has the same bounds", () => {
    assert.doesNotThrow(() =>
      validateCreateStream({ streamName: "s", shardCount: 1, maxRecordSizeInKiB: 10240 }),
    );
    rejects(
      () => validateCreateStream({ streamName: "s", shardCount: 1, maxRecordSizeInKiB: 10241 }),
      "ValidationException",
      "1 validation error detected: Value '10241' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value less than or equal to 10240",
    );
  });
});
