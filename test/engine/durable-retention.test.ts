/**
 * Retention and the byte cap on disk, with an injected clock: expired
 * records are not read, and a segment file goes once every record in it
 * expired; the cap deletes the oldest segments.
 */
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { suite, test } from "node:test";
import type { Engine } from "../../src/engine/engine.ts";
import { createManualClock } from "./helpers.ts";
import {
  openEngine,
  recordsNamed,
  segmentFiles,
  streamDir,
  temporaryDir,
  text,
} from "./storage-helpers.ts";

const HOUR = 3_600_000;
const SHARD = "shardId-000000000000";

async function put(engine: Engine, prefix: string, count = 2, dataBytes = 0) {
  const records = recordsNamed(prefix, count).map((r) =>
    dataBytes === 0 ? r : { ...r, data: new Uint8Array(dataBytes).fill(65) },
  );
  const output = await engine.putRecordsStored({ streamName: "s", records });
  assert.equal(output.failedRecordCount, 0);
  return output.records.map((r) => r.sequenceNumber!);
}

/** What GetRecords returns from TRIM_HORIZON, data as text. */
function readAll(engine: Engine): string[] {
  const { shardIterator } = engine.getShardIterator({
    streamName: "s",
    shardId: SHARD,
    shardIteratorType: "TRIM_HORIZON",
  });
  return engine.getRecords({ shardIterator: shardIterator! }).records.map((r) => text(r.data));
}

const named = (prefix: string, count = 2) => recordsNamed(prefix, count).map((r) => text(r.data));

suite("retention on disk", () => {
  test("expired records are not read and a segment goes once all of it expired", async () => {
    const dir = temporaryDir();
    const clock = createManualClock();
    const { engine } = openEngine(dir, { now: clock.now });
    engine.createStream({ streamName: "s", shardCount: 1 });
    // A segment takes blocks for an hour: each of these lands in its own.
    await put(engine, "a"); // t = 0
    clock.advance(2 * HOUR);
    await put(engine, "b1"); // 2 h
    clock.advance(HOUR / 2);
    await put(engine, "b2"); // 2.5 h: the same segment as b1
    clock.advance(2 * HOUR);
    await put(engine, "c"); // 4.5 h
    const stream = streamDir(dir);
    const [first, second, third] = segmentFiles(stream);
    assert.equal(segmentFiles(stream).length, 3);

    clock.advance(24 * HOUR - 4.5 * HOUR + 60_000); // 24 h 1 min: a is past retention
    assert.deepEqual(readAll(engine), [...named("b1"), ...named("b2"), ...named("c")]);
    assert.deepEqual(segmentFiles(stream), [second, third]);
    assert.ok(!segmentFiles(stream).includes(first!));

    clock.advance(2 * HOUR); // 26 h 1 min: b1 expired, b2 not; their segment stays
    assert.deepEqual(readAll(engine), [...named("b2"), ...named("c")]);
    assert.deepEqual(segmentFiles(stream), [second, third]);

    clock.advance(HOUR / 2); // 26 h 31 min: all of b expired
    assert.deepEqual(readAll(engine), named("c"));
    assert.deepEqual(segmentFiles(stream), [third]);

    // Deleted files stay deleted after a restart, and what is left is read.
    engine.close();
    const again = openEngine(dir, { now: clock.now }).engine;
    assert.deepEqual(readAll(again), named("c"));
    assert.deepEqual(segmentFiles(stream), [third]);
    again.close();
  });

  test("a longer retention keeps them longer, also after a restart", async () => {
    const dir = temporaryDir();
    const clock = createManualClock();
    const { engine } = openEngine(dir, { now: clock.now });
    engine.createStream({ streamName: "s", shardCount: 1 });
    await put(engine, "a");
    clock.advance(2 * HOUR);
    await put(engine, "b");
    engine.increaseStreamRetentionPeriod({ streamName: "s", retentionPeriodHours: 48 });
    engine.close();
    const again = openEngine(dir, { now: clock.now }).engine;
    const stream = streamDir(dir);
    clock.advance(30 * HOUR); // a is 32 h old
    assert.deepEqual(readAll(again), [...named("a"), ...named("b")]);
    assert.equal(segmentFiles(stream).length, 2);
    clock.advance(17 * HOUR); // 49 h: a expired
    assert.deepEqual(readAll(again), named("b"));
    assert.equal(segmentFiles(stream).length, 1);
    again.close();
  });

  test("when every record expired, the files go and sequence numbers still go on after a restart", async () => {
    const dir = temporaryDir();
    const clock = createManualClock();
    const { engine } = openEngine(dir, { now: clock.now });
    engine.createStream({ streamName: "s", shardCount: 1 });
    const old = await put(engine, "old");
    clock.advance(25 * HOUR);
    assert.deepEqual(readAll(engine), []);
    assert.deepEqual(segmentFiles(streamDir(dir)), []);
    engine.close();
    const again = openEngine(dir, { now: clock.now }).engine;
    const [next] = await put(again, "new", 1);
    assert.ok(BigInt(next!) > BigInt(old.at(-1)!), `${next} after ${old.at(-1)}`);
    assert.deepEqual(readAll(again), named("new", 1));
    again.close();
  });
});

suite("the byte cap on disk (maxStreamBytes, --max-stream-mib)", () => {
  test("deletes the oldest segments so the stream's files stay under it", async () => {
    const dir = temporaryDir();
    const clock = createManualClock();
    const MiB = 1024 * 1024;
    const { engine } = openEngine(dir, { now: clock.now, maxStreamBytes: 4 * MiB });
    engine.createStream({ streamName: "s", shardCount: 1 });
    const written: string[] = [];
    // 80 × 100 KiB: twice the cap.
    for (let i = 0; i < 80; i++) written.push(...(await put(engine, `call${i}`, 1, 100 * 1024)));
    const stream = streamDir(dir);
    const files = segmentFiles(stream);
    const total = files.reduce((sum, name) => sum + statSync(join(stream, name)).size, 0);
    assert.ok(total <= 4 * MiB, `${total} bytes on disk under a cap of ${4 * MiB}`);
    assert.ok(total > 2 * MiB, `${total} bytes: more than needed was deleted`);
    assert.ok(!files.includes("00000000000000000000.log"), "the oldest segment is gone");
    // What is read is the newest records written, in order, without a gap.
    const kept = engine.readRecords({ streamName: "s" }, SHARD).map((r) => r.sequenceNumber);
    assert.ok(kept.length > 0 && kept.length < written.length, `${kept.length} kept`);
    assert.deepEqual(kept, written.slice(-kept.length));
    assert.deepEqual(readdirSync(stream).toSorted(), [...files, "high-water.json"].toSorted());
    engine.close();
  });
});
