import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger, rateLimitedLog } from "../src/logger.ts";

void test("a repeated log line is written at most so often, and the next says how many were left out", () => {
  let nowMs = 0;
  const lines: [Record<string, unknown>, string][] = [];
  const log = rateLimitedLog(
    (fields, message) => lines.push([fields, message]),
    3,
    1_000,
    () => nowMs,
  );
  for (let i = 0; i < 10; i++) log({ i }, "failed");
  log({}, "another message");
  assert.deepEqual(
    lines.map(([fields, message]) => `${message} ${JSON.stringify(fields)}`),
    ['failed {"i":0}', 'failed {"i":1}', 'failed {"i":2}', "another message {}"],
  );
  nowMs = 1_000;
  log({ i: 10 }, "failed");
  assert.deepEqual(lines.at(-1), [{ i: 10, suppressed: 7 }, "failed"]);
});

void test("an error's message and stack are bounded in the log", () => {
  const lines: string[] = [];
  const logger = createLogger({
    pretty: false,
    destination: { write: (line) => void lines.push(line) },
  });
  logger.error({ err: new Error(`bad ${"x".repeat(100_000)}`) }, "failed");
  const line = lines.join("");
  assert.ok(line.length < 10_000, `a ${line.length}-character line`);
  assert.match(line, /more characters/);
});
