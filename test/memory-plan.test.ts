/**
 * The memory plan's budgets leave room for the largest request Kinesis
 * allows: 10 MiB of records in one PutRecords (a single record too, on a
 * stream raised to 10,240 KiB), about 14.3 MiB as JSON.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LARGEST_RECORD_BYTES, MAX_PUT_RECORDS_BYTES } from "../src/kinesis/limits.ts";
import { DEFAULT_MEMORY_MIB, MIN_MEMORY_MIB, planMemory } from "../src/memory-plan.ts";
import { heapLimitFlag, heapLimitGiven } from "../src/node-flags.ts";
import { DEFAULT_ADMISSION, DEFAULT_READ_MAX_BYTES } from "../src/server/gateway-server.ts";

for (const maxMemoryMiB of [MIN_MEMORY_MIB, DEFAULT_MEMORY_MIB]) {
  test(`a ${maxMemoryMiB} MiB plan holds a 10 MiB PutRecords in each budget`, () => {
    const plan = planMemory(maxMemoryMiB, DEFAULT_READ_MAX_BYTES, DEFAULT_ADMISSION.maxConnections);
    assert.ok(plan.requestBodyBytesPerConnection > DEFAULT_READ_MAX_BYTES);
    assert.ok(plan.requestBodyBytes >= plan.requestBodyBytesPerConnection);
    assert.ok(plan.inFlightBytes >= MAX_PUT_RECORDS_BYTES, `in flight: ${plan.inFlightBytes}`);
    assert.ok(plan.engineRecordBytes >= MAX_PUT_RECORDS_BYTES, `engine: ${plan.engineRecordBytes}`);
    // A 10 MiB record is read back alone, in an answer of its own.
    assert.ok(plan.answersInMakingBytes >= 2 * LARGEST_RECORD_BYTES);
  });
}

void test("V8's old generation follows the bound, unless node was given a limit", () => {
  assert.equal(heapLimitFlag(192), "--max-old-space-size=192");
  assert.equal(heapLimitGiven(["--max-semi-space-size=8"], undefined), false);
  assert.equal(heapLimitGiven(["--max-semi-space-size=8"], "--enable-source-maps"), false);
  assert.equal(heapLimitGiven(["--max-old-space-size=512"], undefined), true);
  assert.equal(heapLimitGiven(["--max_old_space_size=512"], undefined), true);
  assert.equal(heapLimitGiven([], "--enable-source-maps --max-old-space-size=512"), true);
  assert.equal(heapLimitGiven(["--max-old-space-size-percentage=50"], undefined), true);
  assert.equal(heapLimitGiven(["--max-old-space"], undefined), false);
});
