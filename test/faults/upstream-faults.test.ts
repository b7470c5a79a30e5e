/**
 * The gateway in front of a real emulator that stops or freezes under load:
 * callers get an answer within their deadline, the process stays up and
 * says it is not ready, it recovers by itself, and no record is reported
 * written unless the emulator returned its sequence number.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import { CreateStreamCommand } from "@aws-sdk/client-kinesis";
import { Code, ConnectError } from "@connectrpc/connect";
import type { RunningGateway } from "../../src/main.ts";
import { readFromEmulator } from "../contract/targets.ts";
import { useEmulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { clientsFor, startTestGateway, transports } from "../helpers/gateway.ts";

const DEADLINE_MS = 1_500;

interface Outcome {
  ms: number;
  written?: { shardId: string; sequenceNumber: string; data: string }[];
  code?: Code;
}

const statusOf = async (url: string) => (await fetch(url)).status;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`not ${what} after ${timeoutMs} ms`);
}

void suite("upstream faults", () => {
  const emulator = useEmulator();
  let gateway: RunningGateway;
  let batch = 0;

  before(async () => {
    gateway = await startTestGateway([
      "--backend",
      "kinesis",
      "--kinesis-endpoint",
      emulator.current.endpoint,
      "--kinesis-connect-timeout-ms",
      "500",
      "--kinesis-request-timeout-ms",
      "5000",
    ]);
    await createStream("load");
    await until("ready", async () => (await statusOf(`${gateway.url}/readyz`)) === 200);
  });
  after(async () => {
    await gateway.stop();
  });

  async function createStream(name: string) {
    const client = emulator.current.client();
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    await waitUntilStreamActive(client, name);
    client.destroy();
  }

  /** Writes batches of 20 records back to back until `stop` resolves; every call's outcome. */
  async function load(stop: Promise<void>): Promise<Outcome[]> {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
    const outcomes: Outcome[] = [];
    let stopped = false;
    void stop.then(() => {
      stopped = true;
    });
    while (!stopped) {
      const data = Array.from({ length: 20 }, (_, i) => `batch ${batch} record ${i}`);
      batch++;
      const started = performance.now();
      try {
        const res = await producer.putRecords(
          {
            streamName: "load",
            records: data.map((d, i) => ({ data: Buffer.from(d), partitionKey: `k${i}` })),
          },
          { timeoutMs: DEADLINE_MS },
        );
        outcomes.push({
          ms: performance.now() - started,
          written: res.records.flatMap((r, i) =>
            r.sequenceNumber === ""
              ? []
              : [{ shardId: r.shardId, sequenceNumber: r.sequenceNumber, data: data[i]! }],
          ),
        });
      } catch (err) {
        outcomes.push({ ms: performance.now() - started, code: ConnectError.from(err).code });
      }
    }
    return outcomes;
  }

  void test("emulator stopped mid-load: UNAVAILABLE within the deadline, not ready, then recovery", async () => {
    let endLoad!: () => void;
    const loading = load(new Promise((resolve) => (endLoad = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await emulator.current.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));

    assert.equal(await statusOf(`${gateway.url}/healthz`), 200, "alive");
    assert.equal(
      await statusOf(`${gateway.url}/readyz`),
      503,
      "not ready while the upstream is down",
    );

    await emulator.current.restart(); // empty again: kinesis-local keeps no state across a restart
    await createStream("load");
    await until("ready again", async () => (await statusOf(`${gateway.url}/readyz`)) === 200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    endLoad();
    const outcomes = await loading;

    const failures = outcomes.filter((o) => o.code !== undefined);
    assert.ok(failures.length > 0, "some calls met the outage");
    for (const o of failures) {
      assert.ok(
        o.code === Code.Unavailable || o.code === Code.DeadlineExceeded || o.code === Code.NotFound,
        `outage answered ${Code[o.code!]}`,
      );
      assert.ok(o.ms < DEADLINE_MS + 500, `answered in ${o.ms.toFixed(0)} ms`);
    }
    assert.ok(failures.some((o) => o.code === Code.Unavailable));
    assert.ok(outcomes.at(-1)?.written?.length === 20, "writes succeed again after recovery");
  });

  void test("emulator frozen mid-load: every record reported written is in the emulator", async () => {
    let endLoad!: () => void;
    const loading = load(new Promise((resolve) => (endLoad = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await emulator.current.pause();
    await new Promise((resolve) => setTimeout(resolve, DEADLINE_MS + 300));
    await emulator.current.restart(); // resumes with its state
    await new Promise((resolve) => setTimeout(resolve, 300));
    endLoad();
    const outcomes = await loading;

    const timedOut = outcomes.filter((o) => o.code !== undefined);
    assert.ok(timedOut.length > 0, "some calls met the freeze");
    for (const o of timedOut) {
      assert.equal(Code[o.code!], Code[Code.DeadlineExceeded]);
      assert.ok(o.ms < DEADLINE_MS + 500, `answered in ${o.ms.toFixed(0)} ms`);
    }

    const written = outcomes.flatMap((o) => o.written ?? []);
    assert.ok(written.length > 0);
    const client = emulator.current.client();
    const stored = new Map<string, string>();
    for (const shardId of ["shardId-000000000000", "shardId-000000000001"]) {
      for (const r of await readFromEmulator(client, "load", shardId)) {
        stored.set(r.sequenceNumber, Buffer.from(r.data).toString());
      }
    }
    client.destroy();
    for (const w of written) assert.equal(stored.get(w.sequenceNumber), w.data, w.sequenceNumber);
  });
});
