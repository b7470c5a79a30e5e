/**
 * The gateway's own producer meets injected faults as it meets Kinesis's:
 * `Produce` retries injected throttling and keeps each key's order, acks a
 * record it cannot write as expired, with the last failure's text; and
 * coalesced unary writes answer each caller with its own injected outcome.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { FaultService } from "../../src/gen/kinesis/gateway/v1/faults_pb.ts";
import { ProducerService } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { metricValue, startTestGateway, useGatewayWithMetrics } from "../helpers/gateway.ts";
import { assertKeyOrder, codeCounts, oneAckEach, produce, records } from "../helpers/produce.ts";

void suite("the producer under injected faults", () => {
  const gateway = useGatewayWithMetrics([
    "--streams",
    "retried:2,merged:1",
    "--throttle",
    "off",
    "--fault-control",
    "on",
    "--coalesce",
    "merged",
    "--linger-ms",
    "20",
  ]);
  const transport = () => createGrpcTransport({ baseUrl: gateway.current.url });

  test("Produce retries injected throttling until every record is written, each key in order", async () => {
    await createClient(FaultService, transport()).setFaults({
      seed: 11,
      rules: [
        {
          streams: "retried",
          recordFailure: { rate: 0.2, code: "ProvisionedThroughputExceededException" },
        },
        { streams: "merged", recordFailure: { rate: 0.5, code: "InternalFailure" } },
      ],
    });
    const sent = records(1_000, 100);
    const byId = oneAckEach(sent, await produce(gateway.current.url, "retried", sent));
    assert.deepEqual(codeCounts(byId.values()), { "": 1_000 });
    assertKeyOrder(sent, byId);
    const retries = await metricValue(
      gateway.current.url,
      "kinesis_gateway_producer_retries_total",
    );
    assert.ok(retries !== undefined && retries > 0, `retries ${retries}`);
  });

  test("a record every attempt fails is acked as expired, saying why", async () => {
    // A gateway of its own, whose records expire soon: every attempt of theirs fails.
    const rules = {
      seed: 1,
      rules: [{ streams: "lost", recordFailure: { rate: 1, code: "InternalFailure" } }],
    };
    const own = await startTestGateway([
      "--streams",
      "lost:1",
      "--faults",
      JSON.stringify(rules),
      "--record-ttl-ms",
      "600",
    ]);
    try {
      const sent = records(20, 4);
      const byId = oneAckEach(sent, await produce(own.url, "lost", sent));
      for (const ack of byId.values()) {
        assert.equal(ack.sequenceNumber, "");
        assert.ok(
          ["RecordExpired", "PrecedingRecordFailed"].includes(ack.errorCode),
          `${ack.errorCode}: ${ack.errorMessage}`,
        );
      }
      const expired = [...byId.values()].find((ack) => ack.errorCode === "RecordExpired");
      assert.match(expired?.errorMessage ?? "", /InternalFailure/);
    } finally {
      await own.stop();
    }
  });

  /** Calls of PutRecords the backend served, every series summed. */
  async function backendPutRecordsCalls(): Promise<number> {
    const text = await (await fetch(`${gateway.current.url}/metrics`)).text();
    return text
      .split("\n")
      .filter((line) =>
        /^kinesis_gateway_backend_call_duration_count\{.*rpc_method="PutRecords"/.test(line),
      )
      .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
  }

  test("coalesced callers each get their own record's injected outcome", async () => {
    const producer = createClient(ProducerService, transport());
    await sleep(1_100); // /metrics renders at most once a second
    const callsBefore = await backendPutRecordsCalls();
    const outcomes = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        producer
          .putRecord({ streamName: "merged", data: new Uint8Array([i]), partitionKey: `k${i}` })
          .then(
            (out) => ({ written: out.shardId === "shardId-000000000000" }),
            (err: unknown) => ({
              code: ConnectError.from(err).code,
              text: ConnectError.from(err).rawMessage,
            }),
          ),
      ),
    );
    const failed = outcomes.filter((o) => "code" in o);
    const written = outcomes.filter((o) => "written" in o && o.written);
    assert.equal(failed.length + written.length, 64);
    // Half of 64, within five standard deviations.
    assert.ok(failed.length >= 12 && failed.length <= 52, `failed ${failed.length}`);
    for (const f of failed) {
      assert.deepEqual(f, { code: Code.Unavailable, text: "Internal service failure." });
    }
    // Merged: fewer calls reached the engine than there were callers.
    await sleep(1_100);
    const calls = (await backendPutRecordsCalls()) - callsBefore;
    assert.ok(calls >= 1 && calls < 32, `calls ${calls}`);
  });
});
