import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { createTokenBucket } from "../../src/engine/token-bucket.ts";
import { createWriteLimiter } from "../../src/engine/write-limiter.ts";
import { createManualClock } from "./helpers.ts";

suite("createTokenBucket", () => {
  test("starts full with one second of rate and refuses beyond it", () => {
    const clock = createManualClock();
    const bucket = createTokenBucket({ ratePerSecond: 10, now: clock.now });
    assert.equal(bucket.tryTake(10), true);
    assert.equal(bucket.tryTake(1), false);
  });

  test("takes nothing when it refuses", () => {
    const clock = createManualClock();
    const bucket = createTokenBucket({ ratePerSecond: 10, now: clock.now });
    assert.equal(bucket.tryTake(11), false);
    assert.equal(bucket.available(), 10);
  });

  test("refills with time, up to its capacity", () => {
    const clock = createManualClock();
    const bucket = createTokenBucket({ ratePerSecond: 1000, capacity: 2000, now: clock.now });
    assert.equal(bucket.tryTake(2000), true);
    clock.advance(500);
    assert.equal(bucket.available(), 500);
    clock.advance(60_000);
    assert.equal(bucket.available(), 2000);
  });

  test("charge takes more than is there, and the debt is paid off before tokens return", () => {
    const clock = createManualClock();
    const bucket = createTokenBucket({ ratePerSecond: 10, now: clock.now });
    bucket.charge(30);
    assert.equal(bucket.available(), -20);
    assert.equal(bucket.tryTake(1), false);
    clock.advance(2000);
    assert.equal(bucket.available(), 0);
    clock.advance(100);
    assert.equal(bucket.tryTake(1), true);
  });

  test("adds nothing when the clock steps back", () => {
    const clock = createManualClock();
    const bucket = createTokenBucket({ ratePerSecond: 10, now: clock.now });
    bucket.tryTake(10);
    clock.advance(-5000);
    assert.equal(bucket.available(), 0);
    clock.advance(5100);
    assert.equal(bucket.available(), 1);
  });
});

suite("createWriteLimiter", () => {
  test("admits a record only when both records and bytes have room, charging neither otherwise", () => {
    const clock = createManualClock();
    const limiter = createWriteLimiter({
      recordsPerSecond: 2,
      bytesPerSecond: 100,
      now: clock.now,
    });
    assert.equal(limiter.tryAdmit(60), true);
    assert.equal(limiter.tryAdmit(60), false); // bytes refuse; the record token stays
    assert.equal(limiter.tryAdmit(40), true);
    assert.equal(limiter.tryAdmit(0), false); // records refuse
  });
});
