/**
 * A change the data dir cannot save is undone: also what it pushed into the
 * stream's store (its retention), so the store does not delete what the
 * restored state keeps.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { KinesisError } from "../../../src/kinesis/errors.ts";
import { createManualClock } from "../helpers.ts";
import { openEngine, recordsNamed, temporaryDir, text } from "../storage-helpers.ts";

void test("a retention decrease that cannot be saved leaves the records the kept retention keeps", async () => {
  const dir = temporaryDir();
  const clock = createManualClock(Date.UTC(2026, 0, 1));
  const { engine } = openEngine(dir, { now: clock.now });
  engine.createStream({ streamName: "s", shardCount: 1 });
  engine.increaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 48 });
  await engine.putRecordsStored({ streamName: "s", records: recordsNamed("old", 2) });
  clock.advance(30 * 3_600_000);
  // state.json cannot be replaced: a directory stands where its temporary file goes.
  mkdirSync(join(dir, "state.json.tmp"));
  assert.throws(
    () => engine.decreaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 24 }),
    (error: unknown) => error instanceof KinesisError && error.type === "InternalFailure",
  );
  rmSync(join(dir, "state.json.tmp"), { recursive: true });
  assert.equal(engine.describeStreamSummary({ streamName: "s" }).retentionPeriodHours, 48);
  assert.deepEqual(
    engine.readRecords({ streamName: "s" }, "shardId-000000000000").map((r) => text(r.data)),
    recordsNamed("old", 2).map((r) => text(r.data)),
    "30-hour-old records kept under 48 hours",
  );
  engine.close();
});
