/**
 * How requests name their stream, against the AWS model itself (the SDK's
 * schemas): every operation takes `StreamName`, `StreamARN` and the reserved
 * `StreamId` wherever the current model has them, and checks a `StreamId`
 * with AWS's texts.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import * as sdk from "@aws-sdk/client-kinesis";
import { KinesisError } from "../../src/kinesis/errors.ts";
import { read } from "../../src/operations/aws-shape.ts";
import { allOperations, type Operation } from "../../src/operations/table.ts";
import { Members } from "../../src/wire/codec.ts";

const ADDRESSING_MEMBERS = ["StreamName", "StreamARN", "StreamId"];

/** The member names of the operation's input in the SDK's model. */
function modelMembers(operation: Operation): string[] {
  const Command = (sdk as unknown as Record<string, new (input: object) => { schema: unknown[] }>)[
    `${operation.name}Command`
  ]!;
  const inputSchema = (new Command({}).schema[4] as () => unknown[])();
  return inputSchema[4] as string[];
}

void suite("addressing", () => {
  void test("every operation takes StreamName, StreamARN and StreamId where the AWS model has them", () => {
    let withStreamId = 0;
    for (const operation of allOperations) {
      const ours = operation.aws.input.members.map((m) => m.aws);
      for (const member of modelMembers(operation)) {
        if (!ADDRESSING_MEMBERS.includes(member)) continue;
        assert.ok(ours.includes(member), `${operation.name} lacks ${member}`);
        if (member === "StreamId") withStreamId++;
      }
    }
    assert.ok(withStreamId >= 29, `only ${withStreamId} operations take a StreamId`);
  });

  void test("a malformed StreamId is AWS's ValidationException on every operation that takes one", () => {
    for (const operation of allOperations) {
      if (!modelMembers(operation).includes("StreamId")) continue;
      const input = read(operation.aws.input, new Members({ StreamId: "Not-An-Id" }, "json"));
      assert.throws(
        () => operation.validate(input as never),
        (err: unknown) => {
          assert.ok(err instanceof KinesisError, `${operation.name}: ${String(err)}`);
          assert.equal(err.type, "ValidationException", operation.name);
          assert.ok(
            err.message.includes(
              "Value 'Not-An-Id' at 'streamId' failed to satisfy constraint: " +
                "Member must satisfy regular expression pattern: [a-z0-9]{20}-[a-z0-9]{3}",
            ),
            `${operation.name}: ${err.message}`,
          );
          return true;
        },
      );
    }
  });
});
