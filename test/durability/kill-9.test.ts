/**
 * kill -9 under load, on the real command with a data dir: producers on
 * gRPC and the wire API write concurrently, the process is SIGKILLed at a
 * random moment and started again on the same dir, round after round. After
 * each restart every record acknowledged before the kill is read back (the
 * wire API, with iterators taken before the kill) byte for byte at its
 * sequence number and shard; a record read back that was never acknowledged
 * must be one whose call the kill cut off; sequence numbers only increase.
 *
 * KILL_9_ROUNDS sets the rounds (default 20); KILL_9_SEED replays a run's
 * kill moments, batches and record sizes (each run prints its seed).
 */
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type GetShardIteratorInput,
  type KinesisClient,
} from "@aws-sdk/client-kinesis";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { sdkClient } from "../helpers/kinesis-sdk.ts";
import {
  createLedger,
  derivedSeed,
  type Found,
  type Ledger,
  type ReadBackRecord,
  seededRandom,
} from "./ledger.ts";
import { startLoad } from "./producers.ts";

const STREAM = "kill9";
const SHARD_IDS = [0, 1, 2, 3].map((i) => `shardId-${String(i).padStart(12, "0")}`);
const ROUNDS = Number(process.env.KILL_9_ROUNDS ?? 20);
const SEED = Number(process.env.KILL_9_SEED ?? randomInt(2 ** 31));
/** When in a round the kill comes, after the producers start. */
const KILL_AFTER_MS = { min: 30, max: 1_200 };
/** How long the producers' calls may take to fail once the process is gone. */
const SETTLE_MS = 10_000;

/** Reads a shard from `iterator` on until a read returns nothing. */
async function readShard(kinesis: KinesisClient, iterator: string): Promise<ReadBackRecord[]> {
  const records: ReadBackRecord[] = [];
  let next: string | undefined = iterator;
  while (next !== undefined) {
    const page: GetRecordsCommandOutput = await kinesis.send(
      new GetRecordsCommand({ ShardIterator: next, Limit: 10_000 }),
    );
    const got = page.Records ?? [];
    if (got.length === 0) break;
    for (const r of got) {
      records.push({
        data: r.Data ?? new Uint8Array(0),
        partitionKey: r.PartitionKey ?? "",
        sequenceNumber: r.SequenceNumber ?? "",
      });
    }
    next = page.NextShardIterator;
  }
  return records;
}

async function shardIterator(
  kinesis: KinesisClient,
  shardId: string,
  position: Pick<GetShardIteratorInput, "ShardIteratorType" | "StartingSequenceNumber">,
): Promise<string> {
  const out = await kinesis.send(
    new GetShardIteratorCommand({ StreamName: STREAM, ShardId: shardId, ...position }),
  );
  return out.ShardIterator!;
}

/** Where each shard's unchecked records start: after the last one checked, or at the start. */
const uncheckedFrom = (lastChecked: string | undefined) =>
  lastChecked === undefined
    ? ({ ShardIteratorType: "TRIM_HORIZON" } as const)
    : ({
        ShardIteratorType: "AFTER_SEQUENCE_NUMBER",
        StartingSequenceNumber: lastChecked,
      } as const);

const damageReports = (gateway: GatewayProcess) =>
  gateway
    .stdout()
    .split("\n")
    .filter((line) => line.includes("data dir: damage found"))
    .map((line) => JSON.parse(line) as { message: string; bytes: number });

/** Fails with the run's seed and the first problems found. */
function assertNoProblems(problems: readonly string[], when: string, seed: number): void {
  assert.deepEqual(
    problems.slice(0, 20),
    [],
    `${when} (KILL_9_SEED=${seed}): ${problems.length} problems`,
  );
}

/**
 * After a restart: checks an acknowledged record of each given round at its
 * sequence number with GetShardIterator AT_SEQUENCE_NUMBER.
 */
async function checkAtSequenceNumber(
  kinesis: KinesisClient,
  ledger: Ledger,
  random: () => number,
  rounds: readonly number[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const round of rounds) {
    const acknowledged = ledger.records.filter(
      (r) => r.round === round && r.outcome.kind === "acknowledged",
    );
    const record = acknowledged[Math.floor(random() * acknowledged.length)];
    if (record?.outcome.kind !== "acknowledged") continue;
    const { shardId, sequenceNumber } = record.outcome;
    const iterator = await shardIterator(kinesis, shardId, {
      ShardIteratorType: "AT_SEQUENCE_NUMBER",
      StartingSequenceNumber: sequenceNumber,
    });
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1 }));
    const got = page.Records?.[0]?.SequenceNumber;
    if (got !== sequenceNumber) {
      problems.push(`AT_SEQUENCE_NUMBER ${sequenceNumber} (${record.id}) read ${got ?? "nothing"}`);
    }
  }
  return problems;
}

/**
 * Runs `rounds` rounds of load, kill -9 and restart on a new data dir, then
 * reads every shard back from its start and stops the process.
 */
async function killUnderLoad(
  t: TestContext,
  options: { fsync: "on" | "off"; rounds: number; seed: number },
): Promise<void> {
  const { fsync, rounds, seed } = options;
  t.diagnostic(`seed ${seed}: KILL_9_SEED=${seed} replays it`);
  const dir = mkdtempSync(join(tmpdir(), "kinesis-gateway-kill-9-"));
  const flags = [
    ...["--data-dir", join(dir, "data"), "--fsync", fsync, "--throttle", "off"],
    ...["--streams", `${STREAM}:${SHARD_IDS.length}`],
  ];
  // Node's cache of compiled code: the process starts in about half the time, 21 times.
  const start = () =>
    startGatewayProcess(flags, { NODE_COMPILE_CACHE: join(dir, "compile-cache") });
  const ledger = createLedger();
  /** Every record read back so far, by id. */
  const seen = new Map<string, Found>();
  const lastChecked = new Map<string, string>();
  let gateway = await start();
  try {
    for (let round = 0; round < rounds; round++) {
      const random = seededRandom(derivedSeed(seed, round, "kill"));
      const before = sdkClient(gateway.url);
      // Taken before the kill, used after the restart: iterators must outlive the process.
      const iterators = await Promise.all(
        SHARD_IDS.map((id) => shardIterator(before, id, uncheckedFrom(lastChecked.get(id)))),
      );
      before.destroy();

      const load = startLoad({ gateway, streamName: STREAM, ledger, round, seed });
      const killAfterMs = KILL_AFTER_MS.min + random() * (KILL_AFTER_MS.max - KILL_AFTER_MS.min);
      await sleep(killAfterMs);
      load.stop();
      await gateway.kill();
      let timer: NodeJS.Timeout | undefined;
      const unexpected = await Promise.race([
        load.done,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`producers still waiting ${SETTLE_MS} ms after the kill`)),
            SETTLE_MS,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      assertNoProblems(unexpected, `round ${round}: calls failed before the kill`, seed);

      gateway = await start();
      const kinesis = sdkClient(gateway.url);
      const problems = ledger.numberedBackwards(round, lastChecked);
      const seenBefore = seen.size;
      for (const [i, shardId] of SHARD_IDS.entries()) {
        const records = await readShard(kinesis, iterators[i]!);
        problems.push(...ledger.check(shardId, records, seen, lastChecked.get(shardId)));
        const last = records.at(-1)?.sequenceNumber;
        if (last !== undefined) lastChecked.set(shardId, last);
      }
      problems.push(...ledger.missing(seen, round));
      problems.push(...(await checkAtSequenceNumber(kinesis, ledger, random, [0, round])));
      kinesis.destroy();
      assertNoProblems(problems, `round ${round}: after the restart`, seed);

      const sent = ledger.records.filter((r) => r.round === round);
      const acknowledged = sent.filter((r) => r.outcome.kind === "acknowledged");
      const cutOff = sent.filter((r) => r.outcome.kind === "cut off");
      const cutOffStored = cutOff.filter((r) => seen.has(r.id)).length;
      const megabytes = acknowledged.reduce((sum, r) => sum + r.size, 0) / 1e6;
      const damage = damageReports(gateway).map((d) => `${d.message} (${d.bytes} bytes)`);
      t.diagnostic(
        `round ${round}: killed after ${killAfterMs.toFixed(0)} ms; ` +
          `${acknowledged.length} records acknowledged (${megabytes.toFixed(1)} MB), ` +
          `${cutOff.length} cut off, ${cutOffStored} of them stored; ` +
          `${seen.size - seenBefore} read back; damage: ${damage.join("; ") || "none"}`,
      );
    }

    // Everything again from the start of each shard, as a new reader would see it.
    const kinesis = sdkClient(gateway.url);
    const again = new Map<string, Found>();
    const problems: string[] = [];
    for (const shardId of SHARD_IDS) {
      const iterator = await shardIterator(kinesis, shardId, { ShardIteratorType: "TRIM_HORIZON" });
      problems.push(...ledger.check(shardId, await readShard(kinesis, iterator), again));
    }
    kinesis.destroy();
    problems.push(...ledger.missing(again, rounds));
    for (const [id, found] of seen) {
      const now = again.get(id);
      if (now?.sequenceNumber !== found.sequenceNumber || now.shardId !== found.shardId) {
        problems.push(`${id}, read at ${found.shardId} ${found.sequenceNumber}, is gone`);
      }
    }
    if (again.size !== seen.size) problems.push(`${again.size} records now, ${seen.size} before`);
    assertNoProblems(problems, "reading every shard from its start", seed);
    const acknowledged = ledger.records.filter((r) => r.outcome.kind === "acknowledged").length;
    t.diagnostic(`${acknowledged} records acknowledged in ${rounds} rounds, ${again.size} stored`);
    assert.ok(acknowledged > 0, "nothing was acknowledged");
    assert.equal(await gateway.stop(), 0, gateway.stderr());
  } finally {
    await gateway.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

void suite("kill -9 under load", () => {
  // 20 rounds: 70-110 s on 2 cores shared with benchmarks (load average 6-10), about 50 s of CPU.
  void test(
    `loses nothing acknowledged over ${ROUNDS} kills with --fsync on`,
    { timeout: 240_000 },
    (t) => killUnderLoad(t, { fsync: "on", rounds: ROUNDS, seed: SEED }),
  );

  void test("loses nothing acknowledged with --fsync off: the OS has what was written", (t) =>
    killUnderLoad(t, { fsync: "off", rounds: 2, seed: SEED }));
});
