/**
 * Log lines written while a span is active carry its `trace_id` and
 * `span_id`. `createLogger` writes to stdout and takes no destination, so the
 * logger runs in a child process — which is also where the tracer provider
 * and context manager are registered, leaving this process's globals alone —
 * and the test reads its JSON lines.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** Logs outside any span, in a span, and in a nested span after an await, via a child logger. */
const script = `
import { context, trace } from ${JSON.stringify(import.meta.resolve("@opentelemetry/api"))};
import { AsyncLocalStorageContextManager } from ${JSON.stringify(import.meta.resolve("@opentelemetry/context-async-hooks"))};
import { TracerProvider } from ${JSON.stringify(import.meta.resolve("@opentelemetry/sdk-trace"))};
import { createLogger } from ${JSON.stringify(import.meta.resolve("../../src/logger.ts"))};

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new TracerProvider());
const tracer = trace.getTracer("log-correlation-test");
const logger = createLogger({ pretty: false });
const expected = (span) => ({
  expected_trace_id: span.spanContext().traceId,
  expected_span_id: span.spanContext().spanId,
});

logger.info("outside");
await tracer.startActiveSpan("outer", async (outer) => {
  logger.info(expected(outer), "in outer");
  await tracer.startActiveSpan("inner", async (inner) => {
    await new Promise((resolve) => setImmediate(resolve));
    logger.child({ component: "child" }).info(expected(inner), "in inner");
    inner.end();
  });
  outer.end();
});
`;

interface LogLine {
  msg: string;
  trace_id?: string;
  span_id?: string;
  expected_trace_id?: string;
  expected_span_id?: string;
}

void test("log lines carry the trace_id and span_id of the active span, and none outside a span", async () => {
  const { stdout } = await exec(process.execPath, ["--input-type=module", "--eval", script]);
  const lines = stdout
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as LogLine);
  assert.deepEqual(
    lines.map((l) => l.msg),
    ["outside", "in outer", "in inner"],
  );
  const [outside, outer, inner] = lines;

  assert.equal(outside?.trace_id, undefined);
  assert.equal(outside?.span_id, undefined);
  for (const line of [outer, inner]) {
    assert.match(line?.trace_id ?? "", /^[0-9a-f]{32}$/);
    assert.equal(line?.trace_id, line?.expected_trace_id);
    assert.equal(line?.span_id, line?.expected_span_id);
  }
  assert.equal(inner?.trace_id, outer?.trace_id, "one trace");
  assert.notEqual(inner?.span_id, outer?.span_id, "the inner span, not the outer");
});
