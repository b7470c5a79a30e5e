/**
 * The budget for read answers being made: first come first served, a caller
 * that gives up leaves the queue (and lets those behind it in), one answer
 * larger than the whole budget is still made, alone, and a release counts
 * once however often it is called.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { createAnswerBudget } from "../../src/server/answer-budget.ts";

const open = new AbortController().signal;

/** Whether `promise` has settled by the next turn of the event loop. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await turn();
  return done;
}

test("waiting reads are let in in order, as bytes come back", async () => {
  const budget = createAnswerBudget(10);
  const first = await budget.admit(6, open);
  const order: string[] = [];
  const admitted = (bytes: number, name: string) =>
    budget.admit(bytes, open).then((release) => {
      order.push(name);
      return release;
    });
  const second = admitted(6, "second");
  const third = admitted(4, "third");
  assert.equal(await settled(second), false);
  // Four bytes are free, but the third waits behind the second.
  assert.equal(await settled(third), false);
  first();
  (await second)();
  (await third)();
  assert.deepEqual(order, ["second", "third"]);
});

test("a caller that gives up leaves the queue, and those behind it go in", async () => {
  const budget = createAnswerBudget(10);
  const held = await budget.admit(8, open);
  const leaving = new AbortController();
  const large = budget.admit(10, leaving.signal);
  const small = budget.admit(2, open);
  assert.equal(await settled(small), false, "behind the large one");
  leaving.abort(new Error("gone"));
  await assert.rejects(large, /gone/);
  assert.equal(await settled(small), true);
  held();
});

test("an answer larger than the whole budget is made alone", async () => {
  const budget = createAnswerBudget(10);
  const huge = await budget.admit(1_000, open);
  const next = budget.admit(1, open);
  assert.equal(await settled(next), false);
  huge();
  (await next)();
  assert.equal(await settled(budget.admit(10, open)), true);
});

test("a release counts once", async () => {
  const budget = createAnswerBudget(10);
  const release = await budget.admit(10, open);
  release();
  release();
  await budget.admit(10, open);
  assert.equal(await settled(budget.admit(1, open)), false, "the second release gave nothing back");
});

test("a caller already gone is refused at once", async () => {
  const budget = createAnswerBudget(10);
  const gone = new AbortController();
  gone.abort(new Error("gone"));
  await assert.rejects(budget.admit(1, gone.signal), /gone/);
});
