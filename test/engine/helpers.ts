/** Helpers of the engine tests; the shared AWS vectors come from `../helpers/vectors.ts`. */
import assert from "node:assert/strict";
import { KinesisError } from "../../src/kinesis/errors.ts";

/** A clock that moves only when told to. */
export function createManualClock(startMs = Date.UTC(2026, 0, 1)) {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance(ms: number) {
      nowMs += ms;
    },
  };
}

export function bytes(size: number): Uint8Array {
  return new Uint8Array(size);
}

/** An `assert.throws` matcher for the KinesisError of this type with exactly this message. */
export function kinesisError(type: string, message: string) {
  return (error: unknown) => {
    assert.ok(error instanceof KinesisError, `expected a KinesisError, got ${String(error)}`);
    assert.equal(error.type, type);
    assert.equal(error.message, message);
    return true;
  };
}
