/**
 * The operation table and its AWS shapes, on their own: what the wire API
 * and the forward backend rely on when they serve an operation from its entry.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import * as sdk from "@aws-sdk/client-kinesis";
import { PlainMembers, read, write } from "../../src/operations/aws-shape.ts";
import { allOperations, operations } from "../../src/operations/table.ts";
import { Members } from "../../src/wire/codec.ts";

void suite("the operation table", () => {
  void test("every operation has the AWS SDK command the forward backend sends", () => {
    for (const { name } of allOperations) {
      const command = (sdk as unknown as Record<string, unknown>)[`${name}Command`];
      assert.equal(typeof command, "function", `${name}Command`);
    }
  });

  void test("a request read from the wire has null for each required member it lacks", () => {
    const input = read(
      operations.PutRecords.aws.input,
      new Members({ StreamName: "s", Records: [{ PartitionKey: "k" }] }, "json"),
    );
    assert.deepEqual(input, { streamName: "s", records: [{ data: null, partitionKey: "k" }] });
    assert.deepEqual(read(operations.GetRecords.aws.input, new Members({}, "json")), {
      shardIterator: null,
    });
  });

  void test("stream mode details without their mode read as null, for validation to name", () => {
    const shape = operations.CreateStream.aws.input;
    const members = (body: Record<string, unknown>) => new Members(body, "json");
    assert.equal(read(shape, members({ StreamName: "s" })).streamMode, undefined);
    assert.equal(read(shape, members({ StreamName: "s", StreamModeDetails: {} })).streamMode, null);
    assert.equal(
      read(shape, members({ StreamName: "s", StreamModeDetails: { StreamMode: "ON_DEMAND" } }))
        .streamMode,
      "ON_DEMAND",
    );
  });

  void test("an answer is written in AWS's nesting, members without a value left out", () => {
    const created = new Date(1_700_000_000_000);
    const answer = write(operations.DescribeStreamSummary.aws.output, {
      streamName: "s",
      streamArn: "arn:aws:kinesis:us-east-1:000000000000:stream/s",
      streamStatus: "ACTIVE",
      streamMode: "PROVISIONED",
      retentionPeriodHours: 24,
      streamCreationTimestamp: created,
      encryptionType: "NONE",
      enhancedMonitoring: [{ shardLevelMetrics: [] }],
      openShardCount: 2,
      consumerCount: 0,
    });
    assert.deepEqual(answer, {
      StreamDescriptionSummary: {
        StreamName: "s",
        StreamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s",
        StreamStatus: "ACTIVE",
        StreamModeDetails: { StreamMode: "PROVISIONED" },
        RetentionPeriodHours: 24,
        StreamCreationTimestamp: created,
        EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
        EncryptionType: "NONE",
        OpenShardCount: 2,
        ConsumerCount: 0,
      },
    });
  });

  void test("an SDK answer reads back into the domain, with AWS's defaults for what it lacks", () => {
    const out = read(
      operations.PutRecords.aws.output,
      new PlainMembers({
        FailedRecordCount: 1,
        Records: [
          { SequenceNumber: "1", ShardId: "shardId-000000000000" },
          { ErrorCode: "InternalFailure", ErrorMessage: "Internal service failure." },
        ],
        $metadata: { requestId: "r-1" },
      }),
    );
    assert.deepEqual(out, {
      failedRecordCount: 1,
      records: [
        { sequenceNumber: "1", shardId: "shardId-000000000000" },
        { errorCode: "InternalFailure", errorMessage: "Internal service failure." },
      ],
      encryptionType: "NONE",
      requestId: "r-1",
    });
    assert.equal(read(operations.CreateStream.aws.output, new PlainMembers({})), undefined);
  });

  void test("a request written for the SDK carries the AWS members and nothing of the gateway's", () => {
    const request = write(operations.PutRecords.aws.input, {
      streamName: "s",
      records: [
        {
          data: new Uint8Array([1]),
          partitionKey: "k",
          traceContext: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
        },
      ],
    });
    assert.deepEqual(request, {
      StreamName: "s",
      Records: [{ Data: new Uint8Array([1]), PartitionKey: "k" }],
    });
  });
});
