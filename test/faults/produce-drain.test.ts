/**
 * SIGTERM to the real command while a Produce stream has records buffered:
 * the producer sends what it holds at once, every record received gets its
 * one ack (written, or `ShuttingDown` when it could not be written within the
 * drain time-out), and the process exits 0 within the drain time-out. The
 * call ends OK when the client had half-closed; otherwise UNAVAILABLE, since
 * what it sent after the records acked was not read.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import {
  type ProduceAck,
  ProduceRequestSchema,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { startGatewayProcess } from "../helpers/gateway-process.ts";
import {
  assertKeyOrder,
  codeCounts,
  oneAckEach,
  produceClient,
  records,
} from "../helpers/produce.ts";

const DRAIN_SECONDS = 3;
const NOT_READ =
  "ConnectError: [unavailable] The gateway is stopping: records sent after the last one acked were not read; send them again.";

/**
 * Starts the command with `flags`, sends `count` records on one Produce
 * stream left open, sends SIGTERM once they are taken, and returns the acks,
 * how the call ended and the exit code.
 */
async function drainUnderProduce(flags: string[], count: number, halfClose = false) {
  const gateway = await startGatewayProcess([
    ...flags,
    "--drain-timeout-seconds",
    String(DRAIN_SECONDS),
  ]);
  const sent = records(count, 20);
  let callEnded!: () => void;
  const ended = new Promise<void>((resolve) => {
    callEnded = resolve;
  });
  async function* requests() {
    for (let i = 0; i < sent.length; i += 100) {
      yield create(ProduceRequestSchema, {
        streamName: "s",
        records: sent.slice(i, i + 100).map((r) => ({
          id: r.id,
          partitionKey: r.key,
          data: new TextEncoder().encode(r.data),
        })),
      });
    }
    if (!halfClose) await ended; // never half-closed: the gateway ends the call
  }
  const acks: ProduceAck[] = [];
  const call = (async () => {
    try {
      for await (const response of produceClient(gateway.url).produce(requests())) {
        acks.push(...response.acks);
      }
      return "OK";
    } catch (err) {
      return String(err);
    } finally {
      callEnded();
    }
  })();
  // Taken by then: the buffer budget holds far more than these records.
  await sleep(1_000);
  const acksBefore = acks.length;
  const signalled = performance.now();
  const exitCode = await gateway.stop();
  const exitedMs = performance.now() - signalled;
  const outcome = await call;
  return { sent, acks, acksBefore, outcome, exitCode, exitedMs, stdout: gateway.stdout() };
}

void suite("Produce on SIGTERM", () => {
  for (const halfClose of [true, false]) {
    void test(`records lingering are sent at once: every one written, exit 0, the call ends ${halfClose ? "OK (half-closed)" : "UNAVAILABLE (left open)"}`, async (t) => {
      const { sent, acks, acksBefore, outcome, exitCode, exitedMs } = await drainUnderProduce(
        ["--streams", "s:2", "--linger-ms", "60000"],
        // Fewer than a full batch (500), which would go at once.
        400,
        halfClose,
      );
      t.diagnostic(`${acksBefore} acked before SIGTERM; exit after ${exitedMs.toFixed(0)} ms`);
      assert.equal(acksBefore, 0, "nothing is sent before the linger ends");
      assert.equal(outcome, halfClose ? "OK" : NOT_READ);
      assert.equal(exitCode, 0);
      const byId = oneAckEach(sent, acks);
      for (const ack of byId.values()) assert.equal(ack.errorCode, "", ack.errorMessage);
      assertKeyOrder(sent, byId);
    });
  }

  void test("a throttled stream: what cannot be written within the drain time-out is acked ShuttingDown, exit 0", async (t) => {
    const { sent, acks, acksBefore, outcome, exitCode, exitedMs, stdout } = await drainUnderProduce(
      [
        "--streams",
        "s:1",
        "--shard-records-per-second",
        "100",
        "--throttle-burst-seconds",
        "1",
        "--record-ttl-ms",
        "600000",
      ],
      3_000,
    );
    const byId = oneAckEach(sent, acks);
    const codes = codeCounts(byId.values());
    t.diagnostic(
      `${acksBefore} acked before SIGTERM; ${JSON.stringify(codes)}; exit after ${exitedMs.toFixed(0)} ms`,
    );
    assert.equal(outcome, NOT_READ, stdout);
    assert.equal(exitCode, 0);
    assert.ok(
      exitedMs < (DRAIN_SECONDS + 3) * 1000,
      `exited ${exitedMs.toFixed(0)} ms after SIGTERM`,
    );
    assert.deepEqual(Object.keys(codes).sort(), ["", "ShuttingDown"]);
    for (const ack of byId.values()) {
      if (ack.errorCode === "ShuttingDown") {
        assert.equal(ack.errorMessage, "The gateway stopped before the record could be written.");
      }
    }
    assertKeyOrder(sent, byId);
    // Per key, nothing is written after a record that was not.
    for (let k = 0; k < 20; k++) {
      const mine = sent.filter((r) => r.key === `key-${k}`).map((r) => byId.get(r.id)!);
      const firstFailure = mine.findIndex((ack) => ack.errorCode !== "");
      if (firstFailure < 0) continue;
      for (const later of mine.slice(firstFailure)) assert.equal(later.errorCode, "ShuttingDown");
    }
  });
});
