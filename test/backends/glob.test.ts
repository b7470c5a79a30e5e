/**
 * Stream name globs match as a RegExp of them would, and in time linear in
 * what they are given: patterns that make a RegExp backtrack for minutes
 * against a client's 128-character stream name are answered at once.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { glob, matchesAny } from "../../src/backends/glob.ts";
import { seededRandom } from "../helpers/seeded-random.ts";

/** The meaning of a glob, as a RegExp (fine for short names). */
const reference = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.-]/g, "\\$&")))
      .join("")}$`,
  );

void test("a glob matches what its RegExp matches", () => {
  const random = seededRandom(42);
  const pick = (alphabet: string, length: number) =>
    Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
  for (let i = 0; i < 20_000; i++) {
    const pattern = pick("ab.*?", 1 + Math.floor(random() * 8));
    const name = pick("ab.", Math.floor(random() * 10));
    assert.equal(glob(pattern)(name), reference(pattern).test(name), `${pattern} ~ ${name}`);
  }
  assert.equal(glob("orders")("orders"), true);
  assert.equal(glob("orders")("orders-eu"), false);
  assert.equal(glob("orders-*")("orders-"), true);
  assert.equal(matchesAny([])("x"), false);
  assert.equal(matchesAny(["a*", "b?"])("bc"), true);
});

void test("patterns that make a RegExp backtrack are matched at once, against the longest names", () => {
  // As RegExps, one of these matches took 54 s (the first) and 1.4 s (the last).
  const hostile = [
    "*******a",
    "**********************a",
    "*a*a*a*a*a*a*a*b",
    "team-*-*-*-*-*-events",
  ];
  const names = ["a".repeat(127) + "b", "team-" + "-".repeat(123), "x".repeat(128)];
  for (const pattern of hostile) {
    const matches = glob(pattern);
    for (const name of names) {
      // Only the a…b pattern matches, and only the a…b name.
      const expected = pattern.endsWith("*b") && name.endsWith("b");
      for (let i = 0; i < 1_000; i++) assert.equal(matches(name), expected, `${pattern} ~ ${name}`);
    }
  }
});
