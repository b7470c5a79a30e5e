/**
 * The producer in forward mode while kinesis-local is stopped and restarted,
 * or frozen and resumed, under a Produce stream and under coalesced unary
 * PutRecord callers: every record gets exactly one answer, each key's
 * written records keep their order, and what is reported written is in
 * Kinesis.
 *
 * What a restart allows to be asserted: kinesis-local comes back empty, so
 * the records written before the stop are gone with it, and the recreated
 * stream numbers its records afresh. Order is checked within each life of
 * the stream; reading back, only for what was acked after the stream was
 * recreated — and that is all the new stream holds, each record once.
 */
import assert from "node:assert/strict";
import { suite, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateStreamCommand } from "@aws-sdk/client-kinesis";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ProduceAck } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { readFromEmulator } from "../contract/targets.ts";
import { type Emulator, useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { clientsFor, forwardingTo, startTestGateway, transports } from "../helpers/gateway.ts";
import {
  assertKeyOrder,
  codeCounts,
  oneAckEach,
  produceContinuously,
  type Sent,
} from "../helpers/produce.ts";

const SHARDS = ["shardId-000000000000", "shardId-000000000001"];
const RECORD_TTL_MS = 3_000;
/** A coalesced caller's deadline. */
const CALL_TIMEOUT_MS = 4_000;
const CALLERS = 32;

/** Codes a record may end with while its stream's upstream is away (and, restarted, empty). */
const OUTAGE_CODES = new Set(["RecordExpired", "PrecedingRecordFailed"]);
/** What the restarted emulator says of a stream not yet made again, or still being made. */
const RESTART_CODES = new Set(["ResourceNotFoundException", "ResourceInUseException"]);

interface CallOutcome {
  readonly data: string;
  readonly at: number;
  readonly ms: number;
  readonly written?: { shardId: string; sequenceNumber: string };
  readonly code?: string;
}

async function createStreams(emulator: Emulator, ...names: string[]): Promise<void> {
  const client = emulator.client();
  for (const name of names) {
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: SHARDS.length }));
    await waitUntilStreamActive(client, name);
  }
  client.destroy();
}

/** The stream's records, by `shard/sequence number`: their data. */
async function stored(emulator: Emulator, stream: string): Promise<Map<string, string>> {
  const client = emulator.client();
  const out = new Map<string, string>();
  for (const shardId of SHARDS) {
    for (const r of await readFromEmulator(client, stream, shardId)) {
      out.set(`${shardId}/${r.sequenceNumber}`, Buffer.from(r.data).toString());
    }
  }
  client.destroy();
  return out;
}

/** `CALLERS` callers of coalesced PutRecord, each with its own key, back to back until `stop`. */
function callContinuously(url: string, stream: string) {
  let stopped = false;
  const outcomes: CallOutcome[] = [];
  const callers = Array.from({ length: CALLERS }, async (_, caller) => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(url));
    for (let n = 0; !stopped; n++) {
      const data = `caller ${caller} call ${n}`;
      const started = performance.now();
      try {
        const res = await producer.putRecord(
          { streamName: stream, partitionKey: `caller-${caller}`, data: Buffer.from(data) },
          { timeoutMs: CALL_TIMEOUT_MS },
        );
        const at = performance.now();
        outcomes.push({ data, at, ms: at - started, written: res });
      } catch (err) {
        const at = performance.now();
        outcomes.push({ data, at, ms: at - started, code: Code[ConnectError.from(err).code] });
        await sleep(20);
      }
    }
  });
  return {
    outcomes,
    stop: async () => {
      stopped = true;
      await Promise.all(callers);
      return outcomes;
    },
  };
}

function callCodes(outcomes: readonly CallOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o.code ?? "OK"] = (counts[o.code ?? "OK"] ?? 0) + 1;
  return counts;
}

/** Each call was answered within its deadline (and a busy machine's slack). */
function assertAnswered(outcomes: readonly CallOutcome[]): void {
  for (const o of outcomes) {
    assert.ok(o.ms < CALL_TIMEOUT_MS + 3_000, `a call answered after ${o.ms.toFixed(0)} ms`);
  }
}

/** A `PrecedingRecordFailed` ack names an earlier record of its key that was not written. */
function assertPrecedingNamed(sent: readonly Sent[], byId: Map<bigint, ProduceAck>): void {
  const keyOf = new Map(sent.map((r) => [r.id, r.key]));
  for (const [id, ack] of byId) {
    if (ack.errorCode !== "PrecedingRecordFailed") continue;
    const named = /^Not written: record (\d+) with the same partition key/.exec(ack.errorMessage);
    assert.ok(named, ack.errorMessage);
    const preceding = BigInt(named[1]!);
    assert.ok(preceding < id, `record ${id} blames a later record ${preceding}`);
    assert.equal(keyOf.get(preceding), keyOf.get(id));
    assert.notEqual(byId.get(preceding)?.errorCode, "", `record ${preceding} was written`);
  }
}

/** What a Produce stream and the coalesced callers saw while a fault came and went. */
interface UnderFault {
  readonly sent: Sent[];
  readonly byId: Map<bigint, ProduceAck>;
  readonly ackedAt: Map<bigint, number>;
  readonly codes: Record<string, number>;
  readonly calls: CallOutcome[];
}

void suite("producer under upstream faults", () => {
  const emulator = useEmulator();

  /**
   * Loads a new gateway (one Produce stream, `CALLERS` coalesced callers)
   * for a second, runs `fault`, loads for two seconds more, and checks what
   * holds whatever the fault: one ack per record, each failure an outage's
   * (or one of `alsoCodes`), and every call answered in time.
   */
  async function underFault(
    t: TestContext,
    names: { produce: string; coalesced: string },
    requestTimeoutMs: number,
    fault: () => Promise<void>,
    alsoCodes: ReadonlySet<string> = new Set(),
  ): Promise<UnderFault> {
    await createStreams(emulator.current, names.produce, names.coalesced);
    const gateway = await startTestGateway([
      ...forwardingTo(emulator)(),
      "--kinesis-connect-timeout-ms",
      "500",
      "--kinesis-request-timeout-ms",
      String(requestTimeoutMs),
      "--record-ttl-ms",
      String(RECORD_TTL_MS),
      "--coalesce",
      "coalesced-*",
      "--linger-ms",
      "10",
    ]);
    try {
      const producing = produceContinuously(gateway.url, names.produce, {
        perMessage: 40,
        intervalMs: 50,
        keys: 50,
      });
      const calling = callContinuously(gateway.url, names.coalesced);
      await sleep(1_000);
      await fault();
      await sleep(2_000);
      await producing.finish();
      const calls = await calling.stop();

      const { sent } = producing;
      assert.ok(sent.length >= 2_000, `${sent.length} records sent`);
      const byId = oneAckEach(
        sent,
        producing.acks.map((a) => a.ack),
      );
      const codes = codeCounts(byId.values());
      t.diagnostic(`${sent.length} records: ${JSON.stringify(codes)}`);
      t.diagnostic(`calls: ${JSON.stringify(callCodes(calls))}`);
      for (const code of Object.keys(codes)) {
        assert.ok(
          code === "" || OUTAGE_CODES.has(code) || alsoCodes.has(code),
          `unexpected outcome ${code}: ${JSON.stringify(codes)}`,
        );
      }
      assert.ok((codes[""] ?? 0) > 0, "records were written");
      assert.ok(sent.length > (codes[""] ?? 0), "some records met the fault");
      assertPrecedingNamed(sent, byId);
      assertAnswered(calls);
      assert.ok(
        calls.some((o) => o.code !== undefined),
        "some calls met the fault",
      );
      const ackedAt = new Map(producing.acks.map(({ ack, at }) => [ack.id, at]));
      return { sent, byId, ackedAt, codes, calls };
    } finally {
      await gateway.stop();
    }
  }

  void test("kinesis-local stopped and restarted: one ack each, order kept, what is acked after the restart is stored once", async (t) => {
    let restartedAt = 0;
    // A stopped emulator refuses connections at once: no call is left hanging (default time-out).
    const { sent, byId, ackedAt, calls } = await underFault(
      t,
      { produce: "produce-stop", coalesced: "coalesced-stop" },
      10_000,
      async () => {
        await emulator.current.stop();
        await sleep(1_500);
        await emulator.current.restart();
        // Whatever is written from now on goes to the new streams, even before they are ACTIVE.
        restartedAt = performance.now();
        await createStreams(emulator.current, "produce-stop", "coalesced-stop");
      },
      RESTART_CODES,
    );

    // Order within each life of the stream (the new one numbers from the start again).
    const before = new Map([...byId].filter(([id]) => ackedAt.get(id)! < restartedAt));
    const after = new Map([...byId].filter(([id]) => ackedAt.get(id)! >= restartedAt));
    assertKeyOrder(sent, before);
    assertKeyOrder(sent, after);

    // The new stream holds exactly what was acked written after the restart, each once.
    const writtenAfter = sent.filter((r) => after.get(r.id)?.errorCode === "");
    assert.ok(writtenAfter.length > 0, "records were written after the restart");
    const produced = await stored(emulator.current, "produce-stop");
    for (const r of writtenAfter) {
      const ack = after.get(r.id)!;
      assert.equal(produced.get(`${ack.shardId}/${ack.sequenceNumber}`), r.data, `record ${r.id}`);
    }
    assert.equal(produced.size, writtenAfter.length, "nothing stored that was not acked written");

    // Coalesced calls: each success after the restart is stored.
    for (const { code } of calls.filter((o) => o.code !== undefined)) {
      // NotFound and FailedPrecondition: the restarted emulator's stream, gone or being made.
      const expected = ["Unavailable", "DeadlineExceeded", "NotFound", "FailedPrecondition"];
      assert.ok(expected.includes(code!), `a call failed with ${code}`);
    }
    const callsAfter = calls.filter((o) => o.written !== undefined && o.at >= restartedAt);
    assert.ok(callsAfter.length > 0, "calls succeed after the restart");
    const coalesced = await stored(emulator.current, "coalesced-stop");
    for (const o of callsAfter) {
      const { shardId, sequenceNumber } = o.written!;
      assert.equal(coalesced.get(`${shardId}/${sequenceNumber}`), o.data);
    }
  });

  void test("kinesis-local frozen past the time to live: one ack each, expiries said, every record acked written is stored", async (t) => {
    // A frozen emulator accepts and never answers: calls end at this time-out.
    const { sent, byId, codes, calls } = await underFault(
      t,
      { produce: "produce-pause", coalesced: "coalesced-pause" },
      1_500,
      async () => {
        await emulator.current.pause();
        await sleep(RECORD_TTL_MS + 1_000);
        await emulator.current.restart(); // resumes with its state
      },
    );
    assert.ok((codes.RecordExpired ?? 0) > 0, `records expired: ${JSON.stringify(codes)}`);
    for (const ack of byId.values()) {
      if (ack.errorCode === "RecordExpired") {
        assert.match(
          ack.errorMessage,
          /^Not written within its time to live \(\d+ ms\); (the last attempt failed|held back by a failure): \w+/,
        );
      }
    }
    // One life of the stream: each key's order holds throughout.
    assertKeyOrder(sent, byId);

    // Every record acked written is stored where its ack says. At least once, not exactly:
    // an attempt that timed out in the freeze is written when the emulator resumes, and its
    // retry writes the record again (or it was acked RecordExpired, yet stored).
    const produced = await stored(emulator.current, "produce-pause");
    const written = sent.filter((r) => byId.get(r.id)!.errorCode === "");
    for (const r of written) {
      const ack = byId.get(r.id)!;
      assert.equal(produced.get(`${ack.shardId}/${ack.sequenceNumber}`), r.data, `record ${r.id}`);
    }
    const sentData = new Set(sent.map((r) => r.data));
    for (const data of produced.values()) assert.ok(sentData.has(data), `stored ${data}`);
    const copies = produced.size - new Set(produced.values()).size;
    t.diagnostic(`${produced.size} stored for ${written.length} acked written; ${copies} copies`);

    for (const { code } of calls.filter((o) => o.code !== undefined)) {
      const expected = ["DeadlineExceeded", "Unavailable", "ResourceExhausted"];
      assert.ok(expected.includes(code!), `a call failed with ${code}`);
    }
    const successes = calls.filter((o) => o.written !== undefined);
    assert.ok(successes.length > 0);
    const coalesced = await stored(emulator.current, "coalesced-pause");
    for (const o of successes) {
      const { shardId, sequenceNumber } = o.written!;
      assert.equal(coalesced.get(`${shardId}/${sequenceNumber}`), o.data);
    }
  });
});
