/**
 * What every client's scenarios must show, whatever its language: the JSON
 * that test/interop/python/client.py and test/interop/go/main.go print (and
 * the part of it test/interop/cpp/client.cc prints), checked one scenario per
 * subtest.
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { Code } from "@connectrpc/connect";

/** A call's end as the client saw it: `code` 0 when it succeeded. */
export interface CallEnd {
  code: number;
  message?: string;
  /** The `KinesisErrorDetail` decoded from `grpc-status-details-bin`. */
  detail?: { type: string; message: string } | null;
  /** The `google.rpc.Status` itself. */
  statusProto?: { code: number; message: string } | null;
  /** `grpc-message` (percent-encoded) plus `grpc-status-details-bin` (base64), in bytes. */
  metadataBytes?: number;
  elapsedMs?: number;
}

/** A scenario that threw in the client instead of producing its result. */
interface Failed {
  exception?: string;
}

interface Arrival {
  index: number;
  sequenceNumber: string;
  intact: boolean;
}

interface Read extends Failed {
  records: Arrival[];
  error: CallEnd | null;
  recordsPerCall?: number[];
  recordsPerEvent?: number[];
}

export interface ClientResults {
  client: string;
  packages?: Failed & { health: string; reflectionServices: string[] };
  seed: Failed & {
    failedRecordCount: number;
    records: { shardId: string; sequenceNumber: string; errorCode: string }[];
  };
  errors: Failed & Record<string, CallEnd>;
  throttling?: Failed & {
    failedRecordCount: number;
    records: { shardId: string; errorCode: string; errorMessage: string }[];
    putRecord: CallEnd;
  };
  backlog?: Failed & { getRecords: Read; subscribeToShard: Read };
  subscriptionDeadline?: Failed & { deadlineMs: number; ends: CallEnd[] };
  /** The Python client's only. */
  consumerRegistration?: Failed & {
    streamArn: string;
    registered: { consumerArn: string; createdSeconds: number };
    described: {
      consumerName: string;
      consumerArn: string;
      consumerStatus: string;
      streamArn: string;
    };
  };
}

/** The budget the gateway keeps an error's status fields in: half of C-core's 8 KiB. */
const ERROR_METADATA_MAX_BYTES = 4096;
const ACCOUNT = "000000000000";
const BACKLOG_RECORDS = 12;

/** `value` as JSON, long strings and lists cut, for a failure message. */
export function shown(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      const characters = typeof v === "string" ? Array.from(v) : [];
      if (characters.length > 240) {
        const cut = `…[${characters.length - 240} characters]…`;
        return [...characters.slice(0, 120), cut, ...characters.slice(-120)].join("");
      }
      if (Array.isArray(v) && v.length > 8) return [...v.slice(0, 8), `…[${v.length} items]`];
      return v;
    },
    2,
  );
}

function codeName(code: number): string {
  return `${Code[code] ?? "?"} (${code})`;
}

function noException(result: Failed | undefined, scenario: string): void {
  assert.ok(result, `the client printed no result for ${scenario}`);
  assert.equal(result.exception, undefined, `${scenario} threw in the client: ${result.exception}`);
}

interface ExpectedError {
  code: Code;
  type: string;
  /** The whole message, when it is short enough to arrive word for word. */
  message?: string;
  /** How a shortened message begins and ends: AWS's text, with the constraint broken at the end. */
  startsWith?: string;
  endsWith?: string;
}

/**
 * Checks an error as the client got it: answered (not left to the deadline),
 * the code, AWS's text (whole, or its beginning and end), the same text in
 * `google.rpc.Status` and in the decoded `KinesisErrorDetail`, and status
 * fields within the budget every gRPC stack takes.
 */
export function assertKinesisError(actual: CallEnd | undefined, expected: ExpectedError): void {
  assert.ok(actual, "the client printed no result for this call");
  const problems: string[] = [];
  if (actual.code === Code.DeadlineExceeded) {
    problems.push("never answered: the client's deadline ended the call");
  } else if (actual.code !== expected.code) {
    problems.push(`code ${codeName(actual.code)}, expected ${codeName(expected.code)}`);
  }
  const message = actual.message ?? "";
  if (expected.message !== undefined && message !== expected.message) {
    problems.push(`message is not ${JSON.stringify(expected.message)}`);
  }
  if (expected.startsWith !== undefined && !message.startsWith(expected.startsWith)) {
    problems.push(`message does not start with ${JSON.stringify(expected.startsWith)}`);
  }
  if (expected.endsWith !== undefined && !message.endsWith(expected.endsWith)) {
    problems.push(`message does not end with ${JSON.stringify(expected.endsWith)}`);
  }
  if (!message.isWellFormed() || message.includes("\uFFFD")) {
    problems.push("message has a broken character (U+FFFD or a lone surrogate)");
  }
  if (actual.detail?.type !== expected.type) {
    problems.push(`KinesisErrorDetail.type is ${actual.detail?.type}, expected ${expected.type}`);
  }
  if (actual.detail?.message !== message) {
    problems.push("KinesisErrorDetail.message differs from the status message");
  }
  if (actual.statusProto?.code !== actual.code || actual.statusProto?.message !== message) {
    problems.push("google.rpc.Status (grpc-status-details-bin) differs from the status");
  }
  if ((actual.metadataBytes ?? 0) > ERROR_METADATA_MAX_BYTES) {
    problems.push(
      `status fields take ${actual.metadataBytes} bytes, over the ${ERROR_METADATA_MAX_BYTES}-byte budget`,
    );
  }
  if (problems.length > 0) {
    assert.fail(`${problems.join("; ")}\nthe client got: ${shown(actual)}`);
  }
}

/** The seed example: the AWS CLI's two `put-records` records on a 4-shard stream. */
export function assertSeed(seed: ClientResults["seed"]): void {
  noException(seed, "the seed example");
  assert.equal(seed.failedRecordCount, 0, shown(seed));
  assert.deepEqual(
    seed.records.map((r) => [r.shardId, r.errorCode]),
    [
      ["shardId-000000000001", ""],
      ["shardId-000000000003", ""],
    ],
    shown(seed),
  );
  for (const record of seed.records) assert.match(record.sequenceNumber, /^\d{56}$/);
}

export function assertUnknownStream(actual: CallEnd | undefined): void {
  const message = `Stream nostream under account ${ACCOUNT} not found.`;
  assertKinesisError(actual, { code: Code.NotFound, type: "ResourceNotFoundException", message });
}

/** A shortened text keeps AWS's beginning and its end: the constraint that was broken. */
const longKeyEnd =
  "failed to satisfy constraint: Member must have length less than or equal to 256";

function assertRecords(read: Read, how: string): void {
  noException(read, how);
  assert.equal(read.error, null, `${how} ended with an error: ${shown(read)}`);
  assert.deepEqual(
    read.records.map((r) => r.index),
    Array.from({ length: BACKLOG_RECORDS }, (_, i) => i),
    `every record once, in order: ${shown(read)}`,
  );
  assert.ok(
    read.records.every((r) => r.intact),
    `records arrived with other bytes than written: ${shown(read)}`,
  );
  const sequenceNumbers = read.records.map((r) => BigInt(r.sequenceNumber));
  assert.ok(
    sequenceNumbers.every((n, i) => i === 0 || n > sequenceNumbers[i - 1]!),
    `sequence numbers increase: ${shown(read)}`,
  );
}

/** Checks every scenario of a full client (Python, Go), each in a subtest of its own. */
export async function checkScenarios(t: TestContext, results: ClientResults): Promise<void> {
  t.diagnostic(`client: ${results.client}`);

  await t.test("its language's own gRPC health and reflection packages work next to it", () => {
    noException(results.packages, "health and reflection");
    assert.equal(results.packages?.health, "SERVING");
    for (const service of ["ProducerService", "StreamService", "ConsumerService"]) {
      assert.ok(
        results.packages?.reflectionServices.includes(`kinesis.gateway.v1.${service}`),
        shown(results.packages),
      );
    }
  });

  await t.test("the seed example lands on shards 1 and 3", () => assertSeed(results.seed));

  const errors = results.errors;
  await t.test("an unknown stream: NOT_FOUND with ResourceNotFoundException", () => {
    noException(errors, "the error calls");
    assertUnknownStream(errors.unknownStream);
  });

  await t.test("501 records: INVALID_ARGUMENT with AWS's (shortened) text", () => {
    noException(errors, "the error calls");
    assertKinesisError(errors.tooManyRecords, {
      code: Code.InvalidArgument,
      type: "ValidationException",
      startsWith: "1 validation error detected: Value '",
      endsWith: "failed to satisfy constraint: Member must have length less than or equal to 500",
    });
  });

  for (const [name, key, character] of [
    ["longPartitionKeysAscii", "ASCII", "p"],
    ["longPartitionKeysAccented", "é", "é"],
    ["longPartitionKeysEmoji", "😀", "😀"],
  ] as const) {
    await t.test(`10 partition keys of 257 × ${key}: answered, shortened, whole characters`, () => {
      noException(errors, "the error calls");
      assertKinesisError(errors[name], {
        code: Code.InvalidArgument,
        type: "ValidationException",
        startsWith: `10 validation errors detected: Value '${character.repeat(10)}`,
        endsWith: longKeyEnd,
      });
    });
  }

  await t.test("PutRecord with an explicit hash key of 3,000 × 😀: INVALID_ARGUMENT", () => {
    noException(errors, "the error calls");
    assertKinesisError(errors.emojiExplicitHashKey, {
      code: Code.InvalidArgument,
      type: "ValidationException",
      startsWith: "1 validation error detected: Value '😀",
      endsWith:
        "failed to satisfy constraint: " +
        "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})",
    });
  });

  await t.test("a 1-shard stream throttles record by record, and PutRecord whole", () => {
    const throttling = results.throttling;
    noException(throttling, "throttling");
    assert.ok(throttling);
    const rateExceeded = `Rate exceeded for shard shardId-000000000000 in stream throttled under account ${ACCOUNT}.`;
    const failed = throttling.records.filter((r) => r.errorCode !== "");
    assert.equal(throttling.records.length, 500);
    assert.ok(failed.length > 0 && failed.length < 500, shown(throttling));
    assert.equal(throttling.failedRecordCount, failed.length);
    assert.equal(throttling.records[0]?.errorCode, "", "the first record fits the burst");
    for (const record of throttling.records) {
      if (record.errorCode === "") {
        assert.equal(record.shardId, "shardId-000000000000");
      } else {
        assert.deepEqual(record, {
          shardId: "",
          errorCode: "ProvisionedThroughputExceededException",
          errorMessage: rateExceeded,
        });
      }
    }
    assertKinesisError(throttling.putRecord, {
      code: Code.ResourceExhausted,
      type: "ProvisionedThroughputExceededException",
      message: rateExceeded,
    });
  });

  await t.test("a 10.5 MiB backlog comes back whole through GetRecords (4 MiB limit)", () => {
    noException(results.backlog, "writing the backlog");
    assertRecords(results.backlog!.getRecords, "GetRecords");
  });

  await t.test("a 10.5 MiB backlog comes back whole through SubscribeToShard (4 MiB limit)", () => {
    noException(results.backlog, "writing the backlog");
    assertRecords(results.backlog!.subscribeToShard, "SubscribeToShard");
  });

  await t.test("SubscribeToShard with a 200 ms deadline ends DEADLINE_EXCEEDED, 20 times", () => {
    const deadline = results.subscriptionDeadline;
    noException(deadline, "the subscription deadlines");
    assert.equal(deadline?.ends.length, 20);
    const wrong = deadline!.ends.filter((end) => end.code !== Code.DeadlineExceeded);
    if (wrong.length > 0) {
      const codes = wrong.map((end) => codeName(end.code)).join(", ");
      assert.fail(`${wrong.length} of 20 ended otherwise: ${codes}\n${shown(wrong)}`);
    }
  });
}

/** A consumer registered through ConsumerService, then described by its ARN. */
export function assertConsumerRegistration(
  registration: ClientResults["consumerRegistration"],
): void {
  noException(registration, "the consumer registration");
  const { streamArn, registered, described } = registration!;
  assert.equal(streamArn, `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/orders`);
  assert.equal(
    registered.consumerArn,
    `${streamArn}/consumer/python-reader:${registered.createdSeconds}`,
  );
  assert.deepEqual(described, {
    consumerName: "python-reader",
    consumerArn: registered.consumerArn,
    consumerStatus: "CONSUMER_STATUS_ACTIVE",
    streamArn,
  });
}
