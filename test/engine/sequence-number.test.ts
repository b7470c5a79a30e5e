import assert from "node:assert/strict";
import { suite, test } from "node:test";
import {
  compareSequenceNumbers,
  createShardSequencer,
  formatSequenceNumber,
  parseSequenceNumber,
} from "../../src/engine/sequence-number.ts";

/** A StartingSequenceNumber from the AWS CLI describe-stream example. */
const AWS_STARTING_SEQUENCE_NUMBER = "49600871682957036442365024926191073437251060580128653314";

suite("sequence numbers", () => {
  test("decode a real AWS starting sequence number and render it back unchanged", () => {
    const fields = parseSequenceNumber(AWS_STARTING_SEQUENCE_NUMBER);
    const created = Date.UTC(2019, 9, 28, 21, 12, 45) / 1000;
    assert.deepEqual(fields, {
      shardCreatedSeconds: created,
      shardIndex: 0,
      counter: 0n,
      recordSeconds: created,
    });
    assert.equal(formatSequenceNumber(fields!), AWS_STARTING_SEQUENCE_NUMBER);
  });

  test("are 56 digits at the extremes of every field", () => {
    const smallest = { shardCreatedSeconds: 0, shardIndex: 0, counter: 0n, recordSeconds: 0 };
    const largest = {
      shardCreatedSeconds: 16 ** 9 - 1,
      shardIndex: 2 ** 32 - 1,
      counter: 2n ** 63n - 1n,
      recordSeconds: 16 ** 9 - 1,
    };
    for (const fields of [smallest, largest]) {
      const sequenceNumber = formatSequenceNumber(fields);
      assert.match(sequenceNumber, /^\d{56}$/);
      assert.deepEqual(parseSequenceNumber(sequenceNumber), fields);
    }
  });

  test("carry the shard index and arrival time through a round trip", () => {
    const fields = {
      shardCreatedSeconds: 1_767_225_600,
      shardIndex: 123,
      counter: 987_654_321n,
      recordSeconds: 1_767_229_999,
    };
    assert.deepEqual(parseSequenceNumber(formatSequenceNumber(fields)), fields);
  });

  test("refuse fields out of range", () => {
    const fields = { shardCreatedSeconds: 1, shardIndex: 1, counter: 1n, recordSeconds: 1 };
    assert.throws(() => formatSequenceNumber({ ...fields, counter: 2n ** 63n }), RangeError);
    assert.throws(() => formatSequenceNumber({ ...fields, shardIndex: 2 ** 32 }), RangeError);
    assert.throws(() => formatSequenceNumber({ ...fields, recordSeconds: -1 }), RangeError);
  });

  test("parse to undefined when not version 2", () => {
    // The 2014 AWS docs example ends in nibble e: an older layout.
    assert.equal(
      parseSequenceNumber("49543463076548007577105092703039560359975228518395012686"),
      undefined,
    );
    assert.equal(parseSequenceNumber("12345"), undefined);
    assert.equal(parseSequenceNumber("x".repeat(56)), undefined);
    // A counter nibble of 8 or more is out of the layout.
    const valid = BigInt(AWS_STARTING_SEQUENCE_NUMBER);
    assert.equal(parseSequenceNumber((valid | (8n << 140n)).toString()), undefined);
  });

  test("compare numerically, shorter numbers first", () => {
    assert.equal(compareSequenceNumbers("9", "10"), -1);
    assert.equal(compareSequenceNumbers("20", "19"), 1);
    assert.equal(compareSequenceNumbers("42", "42"), 0);
  });
});

suite("createShardSequencer", () => {
  test("starts at counter 0 with the creation time as record time", () => {
    const sequencer = createShardSequencer(1_767_225_600, 3);
    assert.deepEqual(parseSequenceNumber(sequencer.startingSequenceNumber), {
      shardCreatedSeconds: 1_767_225_600,
      shardIndex: 3,
      counter: 0n,
      recordSeconds: 1_767_225_600,
    });
  });

  test("knows the last number it handed out, the starting number before any", () => {
    const sequencer = createShardSequencer(1_767_225_600, 0);
    assert.equal(sequencer.lastSequenceNumber, sequencer.startingSequenceNumber);
    sequencer.next(1_767_225_601);
    const second = sequencer.next(1_767_225_602);
    assert.equal(sequencer.lastSequenceNumber, second);
  });

  test("numbers records from 1, strictly increasing even when the clock steps back", () => {
    const sequencer = createShardSequencer(1_767_225_600, 7);
    let previous = sequencer.startingSequenceNumber;
    const seconds = [1_767_225_600, 1_767_225_601, 1_767_225_601, 1_767_225_500, 1_767_225_700];
    seconds.forEach((recordSeconds, i) => {
      const next = sequencer.next(recordSeconds);
      assert.equal(compareSequenceNumbers(next, previous), 1);
      assert.deepEqual(parseSequenceNumber(next), {
        shardCreatedSeconds: 1_767_225_600,
        shardIndex: 7,
        counter: BigInt(i + 1),
        recordSeconds,
      });
      previous = next;
    });
  });

  test("hands out exactly the numbers formatSequenceNumber renders, over every digit carry", () => {
    for (const [created, shardIndex] of [
      [0, 0],
      [1_767_225_600, 5],
      [16 ** 9 - 1, 2 ** 32 - 1],
    ] as const) {
      const sequencer = createShardSequencer(created, shardIndex);
      let recordSeconds = created;
      for (let counter = 1n; counter <= 60_000n; counter++) {
        // The record time moves now and then, sometimes backwards.
        if (counter % 9_973n === 0n) recordSeconds = Math.max(0, recordSeconds - 7);
        else if (counter % 1_009n === 0n) recordSeconds = Math.min(16 ** 9 - 1, recordSeconds + 1);
        const expected = formatSequenceNumber({
          shardCreatedSeconds: created,
          shardIndex,
          counter,
          recordSeconds,
        });
        assert.equal(sequencer.next(recordSeconds), expected);
      }
    }
  });
});
