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
import { drainUnderLoad } from "../helpers/drain-load.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { transports } from "../helpers/gateway.ts";
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

    const load = await drainUnderLoad(gateway, "drain");
    const { acknowledged, failures, exitCode, stopMs } = load;

    assert.equal(exitCode, 0, gateway.stderr());
    assert.ok(stopMs < 5_000 + 1_000, `stopped in ${stopMs.toFixed(0)} ms`);
    assert.equal(await subscription, "Unavailable");
    // A call the gateway had taken got its answer; one that came after the
    // GOAWAY was refused before it started (UNAVAILABLE), never cut off.
    for (const failure of failures) assert.equal(failure, "Unavailable");
    assert.ok(
      failures.length <= load.startedAfterSignal,
      `${failures.length} failed, ${load.startedAfterSignal} started late`,
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
