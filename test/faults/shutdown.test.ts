/**
 * SIGTERM during load, on the real command forwarding to a real emulator:
 * the calls that had started get their answers, every acknowledged record is
 * in Kinesis, a subscription ends with UNAVAILABLE, and the exit status is 0
 * within the drain time-out.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { CreateStreamCommand } from "@aws-sdk/client-kinesis";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  ConsumerService,
  ShardIteratorType,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { readFromEmulator } from "../contract/targets.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { clientsFor, transports } from "../helpers/gateway.ts";
import { startGatewayProcess } from "../helpers/gateway-process.ts";

void suite("graceful shutdown", () => {
  const emulator = useEmulator();

  void test("SIGTERM under load loses nothing acknowledged and exits 0", async () => {
    const kinesis = emulator.current.client();
    await kinesis.send(new CreateStreamCommand({ StreamName: "drain", ShardCount: 1 }));
    await waitUntilStreamActive(kinesis, "drain");
    const gateway = await startGatewayProcess(
      [
        "--backend",
        "kinesis",
        "--kinesis-endpoint",
        emulator.current.endpoint,
        "--drain-timeout-seconds",
        "5",
      ],
      { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" },
    );

    const subscription = (async () => {
      const consumer = createClient(ConsumerService, transports["gRPC over h2c"]!(gateway.url));
      try {
        for await (const _event of consumer.subscribeToShard({
          streamName: "drain",
          shardId: "shardId-000000000000",
          startingPosition: { type: ShardIteratorType.LATEST },
        })) {
          // keep reading until the gateway ends the stream
        }
        return "ended without an error";
      } catch (err) {
        return Code[ConnectError.from(err).code];
      }
    })();

    // Eight callers writing batches back to back, each on its own connection.
    const acknowledged: { sequenceNumber: string; data: string }[] = [];
    const failures: string[] = [];
    let signalled = false;
    let startedAfterSignal = 0;
    const callers = Array.from({ length: 8 }, async (_, caller) => {
      const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
      for (let batch = 0; ; batch++) {
        if (signalled) startedAfterSignal++;
        const data = Array.from({ length: 50 }, (_, i) => `${caller}/${batch}/${i}`);
        try {
          const res = await producer.putRecords({
            streamName: "drain",
            records: data.map((d) => ({ data: Buffer.from(d), partitionKey: d })),
          });
          res.records.forEach((r, i) => {
            if (r.sequenceNumber !== "")
              acknowledged.push({ sequenceNumber: r.sequenceNumber, data: data[i]! });
          });
        } catch (err) {
          const error = ConnectError.from(err);
          // A stream refused by the GOAWAY was never processed; connect-node
          // reports it as INTERNAL, where gRPC's own mapping says UNAVAILABLE.
          const refused = error.rawMessage.includes("NGHTTP2_REFUSED_STREAM");
          failures.push(refused ? "Unavailable" : Code[error.code]);
          return;
        }
        if (signalled && batch > 0) return;
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    signalled = true;
    const started = performance.now();
    const exitCode = await gateway.stop();
    const stopMs = performance.now() - started;
    await Promise.all(callers);

    assert.equal(exitCode, 0, gateway.stderr());
    assert.ok(stopMs < 5_000 + 1_000, `stopped in ${stopMs.toFixed(0)} ms`);
    assert.equal(await subscription, "Unavailable");
    // A call the gateway had taken got its answer; one that came after the
    // GOAWAY was refused before it started (UNAVAILABLE), never cut off.
    for (const failure of failures) assert.equal(failure, "Unavailable");
    assert.ok(
      failures.length <= startedAfterSignal,
      `${failures.length} failed, ${startedAfterSignal} started late`,
    );
    assert.ok(acknowledged.length > 0);

    const stored = new Map(
      (await readFromEmulator(kinesis, "drain", "shardId-000000000000")).map((r) => [
        r.sequenceNumber,
        Buffer.from(r.data).toString(),
      ]),
    );
    for (const record of acknowledged) assert.equal(stored.get(record.sequenceNumber), record.data);
    kinesis.destroy();
  });
});
