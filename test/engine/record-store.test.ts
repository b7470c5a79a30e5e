import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { createMemoryRecordStore, type StoredRecord } from "../../src/engine/record-store.ts";
import { createShardSequencer } from "../../src/engine/sequence-number.ts";
import { RECORD_OVERHEAD_BYTES, SHARD_LOG_OVERHEAD_BYTES } from "../../src/engine/shard-log.ts";
import { createManualClock } from "./helpers.ts";

const HOUR = 3_600_000;

function recordAt(sequenceNumber: string, arrivalMs: number, sizeBytes = 10): StoredRecord {
  return {
    sequenceNumber,
    data: new Uint8Array(sizeBytes - 1),
    partitionKey: "k",
    explicitHashKey: undefined,
    approximateArrivalTimestamp: arrivalMs,
    sizeBytes,
  };
}

suite("createMemoryRecordStore", () => {
  test("reads a shard's records in order from every kind of start", () => {
    const clock = createManualClock();
    const store = createMemoryRecordStore({ now: clock.now });
    const sequencer = createShardSequencer(Math.floor(clock.now() / 1000), 0);
    const written: StoredRecord[] = [];
    for (let i = 0; i < 10; i++) {
      const record = recordAt(sequencer.next(Math.floor(clock.now() / 1000)), clock.now());
      written.push(record);
      store.append(0, record);
      clock.advance(1000);
    }
    const at = (i: number) => written[i]!;
    assert.deepEqual(store.read(0), written);
    assert.deepEqual(store.read(0, { limit: 3 }), written.slice(0, 3));
    assert.deepEqual(
      store.read(0, { from: { type: "AT_SEQUENCE_NUMBER", sequenceNumber: at(4).sequenceNumber } }),
      written.slice(4),
    );
    assert.deepEqual(
      store.read(0, {
        from: { type: "AFTER_SEQUENCE_NUMBER", sequenceNumber: at(4).sequenceNumber },
      }),
      written.slice(5),
    );
    assert.deepEqual(
      store.read(0, {
        from: { type: "AT_TIMESTAMP", timestampMs: at(7).approximateArrivalTimestamp - 500 },
      }),
      written.slice(7),
    );
    assert.deepEqual(store.read(1), []);
  });

  test("drops records older than the retention period", () => {
    const clock = createManualClock();
    const store = createMemoryRecordStore({ retentionHours: 24, now: clock.now });
    store.append(0, recordAt("1", clock.now()));
    clock.advance(HOUR);
    store.append(1, recordAt("2", clock.now()));
    clock.advance(23 * HOUR);
    assert.equal(store.read(0).length, 1, "exactly 24 h old is still kept");
    clock.advance(1);
    assert.deepEqual(store.read(0), []);
    assert.equal(store.read(1).length, 1);
    assert.equal(store.recordCount, 1);
  });

  test("follows a changed retention period: longer keeps records longer, shorter drops them", () => {
    const clock = createManualClock();
    const store = createMemoryRecordStore({ retentionHours: 24, now: clock.now });
    store.append(0, recordAt("1", clock.now()));
    store.setRetentionHours(48);
    clock.advance(30 * HOUR);
    assert.equal(store.read(0).length, 1);
    store.setRetentionHours(24);
    assert.deepEqual(store.read(0), []);
  });

  test("drops the oldest records of the stream when what it holds exceeds its byte cap", () => {
    const clock = createManualClock();
    // Room for three records of 300 KiB with their bookkeeping, not four.
    const maxBytes = 1024 * 1024;
    const size = 300 * 1024;
    const store = createMemoryRecordStore({ maxBytes, now: clock.now });
    store.append(0, recordAt("1", clock.now(), size));
    store.append(1, recordAt("2", clock.now(), size));
    store.append(0, recordAt("3", clock.now(), size));
    assert.equal(store.recordCount, 3);
    assert.equal(
      store.heldBytes,
      3 * (size - 1 + 1 + RECORD_OVERHEAD_BYTES) + 2 * SHARD_LOG_OVERHEAD_BYTES,
    );
    store.append(1, recordAt("4", clock.now(), size));
    assert.deepEqual(
      store.read(0).map((r) => r.sequenceNumber),
      ["3"],
    );
    assert.deepEqual(
      store.read(1).map((r) => r.sequenceNumber),
      ["2", "4"],
    );
    assert.ok(store.heldBytes <= maxBytes);
  });

  test("shrinkTo drops the oldest records until the store holds at most that much", () => {
    const clock = createManualClock();
    const store = createMemoryRecordStore({ now: clock.now });
    for (let i = 1; i <= 1000; i++) store.append(i % 2, recordAt(String(i), clock.now(), 1025));
    const half = store.heldBytes / 2;
    store.shrinkTo(half);
    assert.ok(store.heldBytes <= half);
    const kept = [0, 1].flatMap((shard) => store.read(shard).map((r) => Number(r.sequenceNumber)));
    assert.ok(kept.length > 0 && kept.length < 1000, `${kept.length} kept`);
    assert.equal(Math.min(...kept), 1001 - kept.length, "the newest are kept");
    store.shrinkTo(0);
    assert.equal(store.recordCount, 0);
  });

  test("keeps order and counts across many trims (compaction)", () => {
    const clock = createManualClock();
    const store = createMemoryRecordStore({ maxBytes: 200 * 1024, now: clock.now });
    for (let i = 1; i <= 10_000; i++) store.append(i % 3, recordAt(String(i), clock.now()));
    const count = store.recordCount;
    assert.ok(count > 500 && count < 2_000, `${count} kept`);
    const kept = [0, 1, 2].flatMap((shard) =>
      store.read(shard).map((r) => Number(r.sequenceNumber)),
    );
    assert.deepEqual(
      kept.sort((a, b) => a - b),
      Array.from({ length: count }, (_, i) => 10_001 - count + i),
    );
  });

  test("keeps each record's bytes, key and hash key across many thousands of appends and trims", () => {
    const clock = createManualClock();
    const store = createMemoryRecordStore({ now: clock.now });
    // One request buffer per 500 records, as the gRPC path hands them over.
    const written: StoredRecord[] = [];
    for (let call = 0; call < 30; call++) {
      const request = new Uint8Array(500 * 9).map((_, i) => (call * 7 + i) & 0xff);
      for (let i = 0; i < 500; i++) {
        const n = call * 500 + i;
        const record: StoredRecord = {
          sequenceNumber: String(10_000_000 + n),
          data: request.subarray(i * 9, i * 9 + 9),
          partitionKey: `key-${n}`,
          explicitHashKey: n % 10 === 0 ? String(n) : undefined,
          approximateArrivalTimestamp: clock.now(),
          sizeBytes: 10,
        };
        written.push(record);
        store.append(0, record);
      }
    }
    assert.equal(store.recordCount, 15_000);
    const kept = written;
    assert.deepEqual(store.read(0, { limit: 20_000 }), kept);
    // Starts that fall in every chunk of the shard, and the page after each.
    for (const start of [0, 1, 4095, 4096, 4097, 14_999]) {
      const from = {
        type: "AT_SEQUENCE_NUMBER",
        sequenceNumber: kept[start]!.sequenceNumber,
      } as const;
      assert.deepEqual(store.read(0, { from, limit: 3 }), kept.slice(start, start + 3));
    }
  });

  test("clear drops everything", () => {
    const store = createMemoryRecordStore();
    store.append(0, recordAt("1", Date.now()));
    store.clear();
    assert.equal(store.recordCount, 0);
    assert.equal(store.heldBytes, 0);
    assert.deepEqual(store.read(0), []);
  });
});
