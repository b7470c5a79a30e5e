/**
 * Injected faults come at the rates asked for, over 100,000 records and
 * thousands of calls, and a seed replays: the same rules and the same calls
 * give byte-identical answers (sequence numbers aside: they carry the time),
 * a different seed different ones. Records an injected failure names are not
 * written.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type FaultRuleSchema, FaultService } from "../../src/gen/kinesis/gateway/v1/faults_pb.ts";
import {
  ProducerService,
  PutRecordsResponseSchema,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { readFromEmulator } from "../contract/targets.ts";
import { metricValue, useGatewayWithMetrics } from "../helpers/gateway.ts";
import { sdkClient } from "../helpers/kinesis-sdk.ts";

const CALLS = 200;
const RECORDS_PER_CALL = 500;
const UNARY_CALLS = 2_000;

/** Whether `count` of `n` trials is within five standard deviations of rate `p`. */
function withinBounds(count: number, n: number, p: number): boolean {
  const sd = Math.sqrt(n * p * (1 - p));
  return Math.abs(count - n * p) <= 5 * sd;
}

const records = (call: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    data: new Uint8Array([i & 0xff]),
    partitionKey: `key-${call}-${i}`,
  }));

/** Runs `work` for 0…n-1, `width` at a time. */
async function inParallel(n: number, width: number, work: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

void suite("fault rates and replay", () => {
  const gateway = useGatewayWithMetrics([
    "--streams",
    "rates:2,calls:1,replay:2",
    "--throttle",
    "off",
    "--fault-control",
    "on",
  ]);
  const transport = () => createGrpcTransport({ baseUrl: gateway.current.url });
  const producer = () => createClient(ProducerService, transport());
  const faults = () => createClient(FaultService, transport());

  test("over 100,000 records and 2,000 calls, each rate is what was asked", async () => {
    await faults().setFaults({
      seed: 2026,
      rules: [
        {
          streams: "rates",
          recordFailure: { rate: 0.05, code: "ProvisionedThroughputExceededException" },
        },
        { streams: "rates", recordFailure: { rate: 0.02, code: "InternalFailure" } },
        {
          streams: "calls",
          callFailure: { rate: 0.1, code: "ServiceUnavailable" },
          latency: { rate: 0.25, ms: 1 },
        },
      ],
    });
    const client = producer();
    const counts = new Map<string, number>();
    let failedRecordCount = 0;
    await inParallel(CALLS, 8, async (call) => {
      const out = await client.putRecords({
        streamName: "rates",
        records: records(call, RECORDS_PER_CALL),
      });
      failedRecordCount += out.failedRecordCount;
      for (const result of out.records) {
        const key = result.errorCode || "written";
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    });
    const n = CALLS * RECORDS_PER_CALL;
    const throttled = counts.get("ProvisionedThroughputExceededException") ?? 0;
    const failed = counts.get("InternalFailure") ?? 0;
    const written = counts.get("written") ?? 0;
    assert.equal(throttled + failed + written, n);
    assert.equal(failedRecordCount, throttled + failed);
    assert.ok(withinBounds(throttled, n, 0.05), `throttled ${throttled} of ${n}`);
    // The first rule that fails a record names its error: the second fails 2 % of the rest.
    assert.ok(withinBounds(failed, n, 0.02 * 0.95), `failed ${failed} of ${n}`);

    // Only what was reported written is in the stream.
    const kinesis = sdkClient(gateway.current.url);
    const stored = (await readFromEmulator(kinesis, "rates", "shardId-000000000000")).length;
    const stored1 = (await readFromEmulator(kinesis, "rates", "shardId-000000000001")).length;
    kinesis.destroy();
    assert.equal(stored + stored1, written);

    let callsFailed = 0;
    await inParallel(UNARY_CALLS, 16, async (call) => {
      try {
        await client.putRecord({
          streamName: "calls",
          data: new Uint8Array([1]),
          partitionKey: `${call}`,
        });
      } catch (err) {
        assert.ok(err instanceof ConnectError && err.code === Code.Unavailable, String(err));
        callsFailed++;
      }
    });
    assert.ok(withinBounds(callsFailed, UNARY_CALLS, 0.1), `calls failed ${callsFailed}`);
    const delayed = await metricValue(
      gateway.current.url,
      "kinesis_gateway_faults_injected_total",
      'kinesis_gateway_fault="latency"',
    );
    assert.ok(
      delayed !== undefined && withinBounds(delayed, UNARY_CALLS, 0.25),
      `delayed ${delayed}`,
    );
  });

  /** The answers to a fixed sequence of calls, as bytes, after setting `rules`. */
  async function answersTo(
    rules: MessageInitShape<typeof FaultRuleSchema>[],
    seed: number,
  ): Promise<Buffer> {
    await faults().setFaults({ seed, rules });
    const client = producer();
    const answers: Buffer[] = [];
    for (let call = 0; call < 40; call++) {
      try {
        const out = await client.putRecords({ streamName: "replay", records: records(call, 100) });
        for (const result of out.records) result.sequenceNumber = "";
        answers.push(Buffer.from(toBinary(PutRecordsResponseSchema, out)));
      } catch (err) {
        const e = ConnectError.from(err);
        answers.push(Buffer.from(`${e.code} ${e.rawMessage}`));
      }
    }
    // And through the wire API, raw bytes as AWS clients read them.
    for (let call = 0; call < 10; call++) {
      const response = await fetch(gateway.current.url, {
        method: "POST",
        headers: {
          "content-type": "application/x-amz-json-1.1",
          "x-amz-target": "Kinesis_20131202.PutRecords",
        },
        body: JSON.stringify({
          StreamName: "replay",
          Records: records(call, 50).map((r) => ({
            Data: Buffer.from(r.data).toString("base64"),
            PartitionKey: r.partitionKey,
          })),
        }),
      });
      const body = (await response.text()).replace(
        /"SequenceNumber":"\d+"/g,
        '"SequenceNumber":""',
      );
      answers.push(Buffer.from(`${response.status} ${body}`));
    }
    return Buffer.concat(answers);
  }

  test("the same seed and calls give byte-identical answers; another seed does not", async () => {
    const rules: MessageInitShape<typeof FaultRuleSchema>[] = [
      {
        streams: "replay",
        recordFailure: { rate: 0.1, code: "ProvisionedThroughputExceededException" },
        callFailure: { rate: 0.1, code: "InternalFailure" },
      },
      { streams: "replay", recordFailure: { rate: 0.05, code: "InternalFailure" } },
    ];
    const first = await answersTo(rules, 7);
    const again = await answersTo(rules, 7);
    const other = await answersTo(rules, 8);
    // Something was injected, and something written, in each.
    for (const text of ["InternalFailure", "ProvisionedThroughputExceededException", "shardId-"]) {
      assert.ok(first.includes(text), text);
    }
    assert.ok(first.equals(again), "the same seed answered differently");
    assert.ok(!first.equals(other), "another seed answered the same");
    await faults().clearFaults({});
  });
});
