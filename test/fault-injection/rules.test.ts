/**
 * The fault rules' shape: the contract's example reads as written (YAML and
 * JSON), every problem is named by its path and nothing half-read takes
 * effect, and the latency shapes give what they promise.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { createFaultInjector, latencyOf } from "../../src/faults/injector.ts";
import {
  FaultRulesError,
  MAX_RULES,
  parseFaultRules,
  parseFaultRulesText,
} from "../../src/faults/rules.ts";

/** The rule set of the contract (`../shared/DESIGN.md`), as YAML. */
const CONTRACT_EXAMPLE = `
seed: 42
rules:
  - streams: "orders*"
    operations: [PutRecords, PutRecord]
    recordFailure: {rate: 0.05, code: ProvisionedThroughputExceededException}
    callFailure: {rate: 0.01, code: ServiceUnavailable}
    latency: {p50Ms: 5, p99Ms: 50}
    outage: {seconds: 30}
`;

function problemsOf(value: unknown): readonly string[] {
  try {
    parseFaultRules(value);
  } catch (err) {
    assert.ok(err instanceof FaultRulesError);
    return err.problems;
  }
  assert.fail("the rules were accepted");
}

void suite("fault rules", () => {
  test("the contract's example reads as written, in YAML and in JSON", () => {
    const fromYaml = parseFaultRulesText(CONTRACT_EXAMPLE);
    assert.deepEqual(fromYaml, {
      seed: 42,
      rules: [
        {
          streams: "orders*",
          operations: ["PutRecords", "PutRecord"],
          recordFailure: { rate: 0.05, code: "ProvisionedThroughputExceededException" },
          callFailure: { rate: 0.01, code: "ServiceUnavailable" },
          latency: { p50Ms: 5, p99Ms: 50 },
          outage: { seconds: 30 },
        },
      ],
    });
    assert.deepEqual(parseFaultRulesText(JSON.stringify(fromYaml)), fromYaml);
  });

  test("every key but rules is optional; a missing seed is picked and kept", () => {
    assert.deepEqual(
      parseFaultRules({ rules: [{ latency: { ms: 10 } }] }, () => 7),
      { seed: 7, rules: [{ latency: { ms: 10 } }] },
    );
    assert.deepEqual(
      parseFaultRules({ rules: [] }, () => 3),
      { seed: 3, rules: [] },
    );
    assert.deepEqual(problemsOf({ seed: 1 }), ["rules: must be a list of rules"]);
  });

  test("streams may be a list or commas; codes take their defaults", () => {
    const { rules } = parseFaultRules({
      seed: 1,
      rules: [
        {
          streams: ["orders*", "audit"],
          recordFailure: { rate: 0.5 },
          callFailure: { rate: 0.5 },
          outage: { unready: true },
          subscriptionCut: { afterEvents: 2 },
        },
        { streams: "a?,b*", operations: "GetRecords", latency: { ms: 1 } },
      ],
    });
    assert.equal(rules[0]?.streams, "orders*,audit");
    assert.equal(rules[0]?.recordFailure?.code, "ProvisionedThroughputExceededException");
    assert.equal(rules[0]?.callFailure?.code, "ServiceUnavailable");
    assert.deepEqual(rules[0]?.outage, { unready: true });
    assert.deepEqual(rules[1], {
      streams: "a?,b*",
      operations: ["GetRecords"],
      latency: { ms: 1 },
    });
  });

  test("each problem is named by its path, all of them at once", () => {
    assert.deepEqual(
      problemsOf({
        seed: -1,
        rules: [
          { recordFailure: { rate: 1.5, code: "ServiceUnavailable" }, recordfailure: {} },
          { operations: ["PutRecords", "Explode"], streams: "orders/1" },
          { streams: "orders" },
          { latency: { ms: 5, p99Ms: 50 } },
          { latency: { minMs: 50, maxMs: 5 }, callFailure: { code: "InternalFailure" } },
          { outage: { seconds: "30" }, subscriptionCut: { afterEvents: 1.5 } },
          "PutRecords",
        ],
      }),
      [
        "seed: must be a number from 0 to 4294967295, not -1",
        'rules[0]: unknown key "recordfailure" (known: streams, operations, recordFailure, callFailure, latency, outage, subscriptionCut)',
        "rules[0].recordFailure.rate: must be a number from 0 to 1, not 1.5",
        'rules[0].recordFailure.code: must be one of ProvisionedThroughputExceededException, InternalFailure, not "ServiceUnavailable"',
        "rules[1]: injects nothing: give recordFailure, callFailure, latency, outage, subscriptionCut",
        'rules[1].streams: "orders/1" is no stream name pattern (1 to 256 of a-z, A-Z, 0-9, _ . - and the globs * ?)',
        'rules[1].operations: "Explode" is no Kinesis operation (PutRecords, PutRecord, GetRecords, SubscribeToShard, ListShards, ...)',
        "rules[2]: injects nothing: give recordFailure, callFailure, latency, outage, subscriptionCut",
        "rules[3].latency: give one shape: ms; minMs and maxMs; or p50Ms and p99Ms",
        "rules[4].callFailure.rate: is required",
        "rules[4].latency: maxMs must be at least minMs",
        'rules[5].outage.seconds: must be a number from 0 to 86400, not "30"',
        "rules[5].subscriptionCut.afterEvents: must be a whole number",
        "rules[6]: must be an object",
      ],
    );
  });

  test("a long bad value is shown cut between whole characters", () => {
    const [problem = ""] = problemsOf({
      rules: [{ streams: "😀".repeat(50), latency: { ms: 1 } }],
    });
    assert.ok(problem.isWellFormed(), problem);
    assert.ok(problem.includes(`"${"😀".repeat(36)}...`), problem);
  });

  test("bounds: the number of rules, the seed, a file that is not YAML", () => {
    const many = Array.from({ length: MAX_RULES + 1 }, () => ({ latency: { ms: 1 } }));
    assert.deepEqual(problemsOf({ seed: 1, rules: many }), [
      `rules: at most ${MAX_RULES} rules, not ${MAX_RULES + 1}`,
    ]);
    assert.deepEqual(problemsOf({ seed: 1.5, rules: [] }), ["seed: must be a whole number"]);
    assert.throws(() => parseFaultRulesText("seed: [1\nrules"), /not YAML or JSON/);
    assert.throws(() => parseFaultRulesText("- just a list"), /faults: must be an object/);
  });

  test("latency shapes: fixed, uniform within its bounds, log-normal with its median and 99th percentile", () => {
    assert.equal(latencyOf({ ms: 40 }, 0.3, 0.9), 40);
    assert.equal(latencyOf({ minMs: 10, maxMs: 30 }, 0, 0.5), 10);
    assert.equal(latencyOf({ minMs: 10, maxMs: 30 }, 0.5, 0.5), 20);
    // The injector's own draws over 20,000 calls: the percentiles asked for, within 10 %.
    const injector = createFaultInjector();
    injector.set({ seed: 9, rules: [{ latency: { p50Ms: 20, p99Ms: 200 } }] });
    const samples = Array.from(
      { length: 20_000 },
      () => injector.plan("PutRecords", "orders")!.latencyMs,
    ).sort((a, b) => a - b);
    const p50 = samples[10_000]!;
    const p99 = samples[19_800]!;
    assert.ok(Math.abs(p50 - 20) < 2, `p50 ${p50}`);
    assert.ok(Math.abs(p99 - 200) < 20, `p99 ${p99}`);
  });

  test("a rule matches its streams and operations only; calls that address no stream only rules without streams", () => {
    const injector = createFaultInjector();
    injector.set({
      seed: 1,
      rules: [
        { streams: "orders*", operations: ["PutRecords"], latency: { ms: 1 } },
        { operations: ["ListStreams"], latency: { ms: 2 } },
      ],
    });
    assert.equal(injector.plan("PutRecords", "orders-eu")?.latencyMs, 1);
    assert.equal(injector.plan("PutRecord", "orders-eu"), undefined);
    assert.equal(injector.plan("PutRecords", "audit"), undefined);
    assert.equal(injector.plan("PutRecords", undefined), undefined);
    assert.equal(injector.plan("ListStreams", undefined)?.latencyMs, 2);
    injector.clear();
    assert.equal(injector.plan("ListStreams", undefined), undefined);
  });

  test("decisions depend on the seed and each stream's own sequence of calls, not on other streams' calls", () => {
    const decisions = (seed: number, interleave: boolean) => {
      const injector = createFaultInjector();
      injector.set({ seed, rules: [{ recordFailure: { rate: 0.3, code: "InternalFailure" } }] });
      const seen: string[] = [];
      for (let call = 0; call < 50; call++) {
        if (interleave) injector.plan("PutRecords", "other");
        const plan = injector.plan("PutRecords", "orders")!;
        seen.push(
          Array.from({ length: 20 }, (_, i) => (plan.recordFailure(i) ? "x" : ".")).join(""),
        );
      }
      return seen.join("\n");
    };
    assert.equal(decisions(5, false), decisions(5, true));
    assert.notEqual(decisions(5, false), decisions(6, false));
  });

  test("an outage lasts its window from when the rules are set; unready only when it says so", () => {
    let now = 1_000_000;
    let changes = 0;
    const injector = createFaultInjector({ now: () => now, onReadinessChange: () => changes++ });
    injector.set({
      seed: 1,
      rules: [
        { streams: "a", outage: { seconds: 10, afterSeconds: 5, unready: true } },
        { streams: "b", outage: {} },
      ],
    });
    assert.equal(injector.plan("PutRecord", "a")?.outage, undefined);
    assert.equal(injector.plan("PutRecord", "b")?.outage, "ServiceUnavailable");
    assert.equal(injector.unready(), false);
    now += 5_000;
    assert.equal(injector.plan("PutRecord", "a")?.outage, "ServiceUnavailable");
    assert.equal(injector.unready(), true);
    now += 10_000;
    assert.equal(injector.plan("PutRecord", "a")?.outage, undefined);
    assert.equal(injector.unready(), false);
    assert.equal(injector.plan("PutRecord", "b")?.outage, "ServiceUnavailable");
    injector.close();
    assert.ok(changes >= 1);
  });
});
