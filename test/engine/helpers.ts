/** Helpers of the engine tests; the shared AWS vectors come from `../helpers/vectors.ts`. */

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
