/**
 * How the kinesis backend reads an SDK failure of an event stream: the
 * shapes are the SDK's own, as measured against kinesis-local (client-kinesis
 * 3.1143): an exception event carries a fault and no HTTP status (its
 * stream's answer was a 200); a connection lost while the first event was
 * read carries the 200.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { translateError } from "../../src/backends/kinesis-backend.ts";
import { GatewayError, KinesisError } from "../../src/kinesis/errors.ts";

const live = new AbortController().signal;

/** An error as the SDK throws one: its name, message and metadata. */
const sdkError = (name: string, message: string, fields: object) =>
  Object.assign(new Error(message), { name, ...fields });

const exceptionEvents = [
  {
    case: "an exception event keeps its type and message though it has no status of its own",
    sdk: ["ResourceInUseException", "Another active subscription exists", "client"],
    expected: "ResourceInUseException",
  },
  {
    case: "the event stream's InternalFailureException is the InternalFailure of every other answer",
    sdk: ["InternalFailureException", "Internal service failure.", "server"],
    expected: "InternalFailure",
  },
] as const;

for (const {
  case: name,
  sdk: [type, message, fault],
  expected,
} of exceptionEvents) {
  void test(name, () => {
    const err = sdkError(type, message, { $fault: fault, $metadata: { attempts: 1 } });
    const translated = translateError(err, live);
    assert.ok(translated instanceof KinesisError, String(translated));
    assert.equal(translated.type, expected);
    assert.equal(translated.message, message);
  });
}

void test("an answer broken off after its 200 is the upstream unavailable, not an answer", () => {
  const err = sdkError("Error", "Protocol error", {
    code: "ERR_HTTP2_ERROR",
    $metadata: { httpStatusCode: 200 },
  });
  const translated = translateError(err, live);
  assert.ok(translated instanceof GatewayError, String(translated));
  assert.equal(translated.kind, "unavailable");
  assert.equal(translated.message, "Kinesis is unreachable (ERR_HTTP2_ERROR)");
});
