/**
 * Backpressure, not loss, on the real command (--max-memory-mib 256) in
 * front of a frozen kinesis-local: Produce streams pushing as fast as they
 * can for 30 s are held back, the gateway's resident memory stays under its
 * bound, and once the emulator resumes every record sent is written and
 * acked once. Coalesced PutRecords callers of the stream meanwhile find the
 * buffer budget full: they wait, get RESOURCE_EXHAUSTED shortly before their
 * deadline, and nothing of theirs is written.
 *
 * The bounds. Memory: `--max-memory-mib` is the promise the memory plan
 * makes for the whole process, so its peak resident memory (VmHWM) must stay
 * under 256 MiB. Records taken: the producer budget (`memory.producerBytes`,
 * a stream at most half of it) counts a record's data, key and 256 bytes of
 * overhead; besides it, only the HTTP/2 windows (1 MiB a stream, 8 MiB a
 * connection) and the sockets' buffers hold what the client sent and the
 * gateway did not take.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateStreamCommand } from "@aws-sdk/client-kinesis";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type ProduceAck,
  ProduceRequestSchema,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { planMemory } from "../../src/memory-plan.ts";
import { RECORD_OVERHEAD_BYTES } from "../../src/producer/buffer-budget.ts";
import { DEFAULT_READ_MAX_BYTES } from "../../src/server/gateway-server.ts";
import { readFromEmulator } from "../contract/targets.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { clientsFor, transports } from "../helpers/gateway.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { produceClient } from "../helpers/produce.ts";
import { peakRssMiB, rssMiB } from "./helpers.ts";

const MAX_MEMORY_MIB = 256;
const MiB = 1024 * 1024;
const SHARDS = 4;
const STALL_MS = 30_000;
const RECORD_BYTES = 8 * 1024;
const PER_MESSAGE = 64;
/** The producer budget of the process, as src/main.ts plans it (connections do not change it). */
const PRODUCER_BYTES = planMemory(MAX_MEMORY_MIB, DEFAULT_READ_MAX_BYTES, 0).producerBytes;
/** What the gateway may hold unread besides the budget: windows, socket buffers, one message. */
const UNREAD_SLACK_BYTES = 8 * MiB + 8 * MiB;
/** The deadline of coalesced calls that come to a full budget. */
const LATE_TIMEOUT_MS = 3_000;
/** Produce calls pushing at once: one more than fill a stream's share of the budget. */
const PRODUCERS = 5;

void suite("abuse: a producer pushing into a frozen upstream (--max-memory-mib 256)", () => {
  const emulator = useEmulator();
  let gateway: GatewayProcess;

  before(async () => {
    const kinesis = emulator.current.client();
    await kinesis.send(new CreateStreamCommand({ StreamName: "pushed", ShardCount: SHARDS }));
    await waitUntilStreamActive(kinesis, "pushed");
    kinesis.destroy();
    gateway = await startGatewayProcess(
      [
        "--backend",
        "kinesis",
        "--kinesis-endpoint",
        emulator.current.endpoint,
        "--max-memory-mib",
        String(MAX_MEMORY_MIB),
        // Records outlive the stall: after it, every one can still be written.
        "--record-ttl-ms",
        "120000",
        "--coalesce",
        "pushed",
        "--drain-timeout-seconds",
        "5",
        // Forwarded calls wait on the frozen emulator past the stall, not retried meanwhile:
        // what the emulator has to work through once it resumes stays small.
        "--kinesis-connect-timeout-ms",
        "60000",
        "--kinesis-request-timeout-ms",
        "60000",
      ],
      { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" },
    );
  });
  after(async () => {
    await gateway?.stop();
  });

  void test("30 s against a frozen upstream: memory bounded, the producer held back, every record written and acked once after", async (t) => {
    const data = new Uint8Array(RECORD_BYTES).fill(0x61);
    let handed = 0;
    let stopped = false;
    const acks: ProduceAck[] = [];
    /**
     * One Produce call sending a message as soon as the transport asks for the
     * next one, until told to stop; its ids start at `first`.
     */
    const producing = async (first: number) => {
      async function* requests() {
        for (let message = 0; !stopped; message++) {
          yield create(ProduceRequestSchema, {
            streamName: "pushed",
            records: Array.from({ length: PER_MESSAGE }, (_, i) => {
              const id = first + message * PER_MESSAGE + i;
              return { id: BigInt(id), partitionKey: `key-${id % 1_000}`, data };
            }),
          });
          handed += PER_MESSAGE;
        }
      }
      for await (const response of produceClient(gateway.url).produce(requests())) {
        acks.push(...response.acks);
      }
    };
    // A call may hold a quarter of the stream's share: together they take all of it.
    const call = Promise.all(
      Array.from({ length: PRODUCERS }, (_, n) => producing(n * 1_000_000_000)),
    );
    call.catch(() => {});

    // Written first: the shard map is cached, the stream known to work.
    const warmUntil = performance.now() + 15_000;
    while (acks.length === 0 && performance.now() < warmUntil) await sleep(100);
    assert.ok(acks.length > 0, "records are written before the stall");
    await emulator.current.pause();
    const pausedAt = performance.now();

    // Coalesced callers of the same stream meanwhile: the Produce calls hold the stream's share
    // of the budget, so they wait.
    await sleep(2_000);
    const late = await coalescedCalls(gateway.url, 20);

    const samples: number[] = [];
    let handedAt10s = 0;
    while (performance.now() - pausedAt < STALL_MS) {
      samples.push(rssMiB(gateway.pid));
      if (handedAt10s === 0 && performance.now() - pausedAt >= 10_000) handedAt10s = handed;
      await sleep(250);
    }
    const handedInStall = handed;
    const peak = peakRssMiB(gateway.pid);
    t.diagnostic(
      `handed ${handed} records (${((handed * RECORD_BYTES) / MiB).toFixed(1)} MiB), ` +
        `${acks.length} acked before the stall ended; budget ${(PRODUCER_BYTES / MiB).toFixed(1)} MiB; ` +
        `RSS ${Math.min(...samples).toFixed(0)}–${Math.max(...samples).toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB`,
    );

    assert.ok(peak < MAX_MEMORY_MIB, `peak RSS ${peak.toFixed(0)} MiB over ${MAX_MEMORY_MIB}`);
    // Held back: what the client could hand over is the gateway's budget and windows, no more.
    const acceptedBytes = (handed - acks.length) * (RECORD_BYTES + RECORD_OVERHEAD_BYTES);
    assert.ok(
      acceptedBytes <= PRODUCER_BYTES / 2 + UNREAD_SLACK_BYTES,
      `${(acceptedBytes / MiB).toFixed(1)} MiB handed over unwritten`,
    );
    assert.equal(handedInStall, handedAt10s, "no record handed over in the last 20 s of the stall");

    // Past the budget: RESOURCE_EXHAUSTED shortly before the deadline (some may be heard late,
    // as the client's own DEADLINE_EXCEEDED, on a busy machine), nothing written.
    const exhausted = late.filter((o) => o.code === Code.ResourceExhausted);
    t.diagnostic(`late calls: ${JSON.stringify(late.map((o) => [o.code, Math.round(o.ms)]))}`);
    assert.ok(exhausted.length > 0, "coalesced calls past the budget get RESOURCE_EXHAUSTED");
    for (const o of late) {
      assert.ok(
        o.code === Code.ResourceExhausted || o.code === Code.DeadlineExceeded,
        `a call past the budget ended ${Code[o.code ?? 0]}: ${o.message}`,
      );
      assert.ok(o.ms >= LATE_TIMEOUT_MS - 1_000, `answered after ${o.ms.toFixed(0)} ms: it waited`);
    }
    for (const o of exhausted) assert.match(o.message, /holds as many records as it may/);
    // The upstream comes back: every record sent gets its one ack, written.
    stopped = true;
    const resumeStarted = performance.now();
    await emulator.current.restart();
    const resumed = performance.now();
    await call;
    t.diagnostic(
      `resumed in ${Math.round(resumed - resumeStarted)} ms; all acked ${Math.round(performance.now() - resumed)} ms later`,
    );
    const byId = new Map<bigint, ProduceAck>();
    for (const ack of acks) {
      assert.ok(!byId.has(ack.id), `a second ack for record ${ack.id}`);
      byId.set(ack.id, ack);
    }
    assert.equal(byId.size, handed, "one ack per record handed over");
    for (const ack of byId.values()) assert.equal(ack.errorCode, "", ack.errorMessage);

    // Nothing of an exhausted call is written.
    const kinesis = emulator.current.client();
    const stored = new Set<string>();
    for (let shard = 0; shard < SHARDS; shard++) {
      const shardId = `shardId-${String(shard).padStart(12, "0")}`;
      for (const r of await readFromEmulator(kinesis, "pushed", shardId)) {
        if (r.data.byteLength < RECORD_BYTES) stored.add(Buffer.from(r.data).toString());
      }
    }
    kinesis.destroy();
    for (const o of exhausted) {
      assert.ok(
        !stored.has(o.tag),
        `a record of ${o.tag}, answered RESOURCE_EXHAUSTED, was written`,
      );
    }
  });
});

/** `count` coalesced PutRecords calls at once, each of 500 records holding its tag, `call-<n>`. */
async function coalescedCalls(url: string, count: number) {
  const producers = Array.from(
    { length: 4 },
    () => clientsFor(transports["gRPC over h2c"]!(url)).producer,
  );
  return Promise.all(
    Array.from({ length: count }, async (_, n) => {
      const tag = `call-${n}`;
      const data = Buffer.from(tag);
      const started = performance.now();
      try {
        await producers[n % producers.length]!.putRecords(
          {
            streamName: "pushed",
            records: Array.from({ length: 500 }, (_, i) => ({ data, partitionKey: `k${i}` })),
          },
          { timeoutMs: LATE_TIMEOUT_MS },
        );
        return { tag, ms: performance.now() - started, code: undefined, message: "" };
      } catch (err) {
        const error = ConnectError.from(err);
        return {
          tag,
          ms: performance.now() - started,
          code: error.code,
          message: error.rawMessage,
        };
      }
    }),
  );
}
