/**
 * What the control plane's RPC tests share: reading a stream's or a
 * consumer's state through the AWS SDK, and a failed call as a program reads
 * it, over RPC and over the wire API.
 */
import assert from "node:assert/strict";
import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ListTagsForResourceCommand,
} from "@aws-sdk/client-kinesis";
import { Code, ConnectError } from "@connectrpc/connect";
import { KinesisErrorDetailSchema } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";

/** A KMS key, by the alias of the key AWS manages for Kinesis. */
export const KEY = "alias/aws/kinesis";
/** A policy that lets anyone do anything with the resource. */
export const policyFor = (arn: string) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "kinesis:*", Resource: arn }],
  });

export const tagsOf = async (kinesis: KinesisClient, arn: string) =>
  Object.fromEntries(
    ((await kinesis.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags ?? []).map(
      (t) => [t.Key!, t.Value!],
    ),
  );

export const summaryOf = async (kinesis: KinesisClient, name: string) =>
  (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name })))
    .StreamDescriptionSummary!;

/** A consumer's status, or the error's name when there is none (it is gone). */
export const consumerStatusOf = (kinesis: KinesisClient, consumerArn: string) =>
  kinesis.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn })).then(
    (out) => out.ConsumerDescription!.ConsumerStatus as string,
    (err: Error) => err.name,
  );

/** How a call failed, as a program reads it: the status, its detail's AWS type, the text. */
export interface Failure {
  code: string;
  type: string | undefined;
  message: string;
}

export async function failureOf(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (err) {
    const e = ConnectError.from(err);
    // The gateway's own refusals (a stream the caller may not use) carry none.
    const [detail] = e.findDetails(KinesisErrorDetailSchema);
    if (detail !== undefined) assert.equal(detail.message, e.rawMessage, "the detail repeats it");
    return { code: Code[e.code], type: detail?.type, message: e.rawMessage };
  }
  assert.fail("the call succeeded");
}

/** The wire API's answer to the same request: its AWS type and text. */
export async function awsFailureOf(
  call: Promise<unknown>,
): Promise<{ type: string; message: string }> {
  try {
    await call;
  } catch (err) {
    return { type: (err as Error).name, message: (err as Error).message };
  }
  assert.fail("the call succeeded");
}
