/**
 * The data dir's lock across places: a pid written by a process in another
 * pid namespace (another container on the same volume, where both are pid 1)
 * or on another host cannot be asked whether it lives; its holder touching the
 * lock says so instead.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openDataDir } from "../../../src/engine/index.ts";

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const root = mkdtempSync(join(tmpdir(), "kg-data-dir-lock-"));
  roots.push(root);
  return root;
}

/** The lock a gateway of another container leaves: pid 1 there, which here is someone else. */
const foreignLock = `${process.pid} elsewhere/pid:[1]`;

void test("a lock of another container that its holder keeps touching: the start refuses", async () => {
  const path = tempDir();
  const lock = join(path, "lock");
  writeFileSync(lock, foreignLock);
  const toucher = spawn(
    process.execPath,
    [
      "-e",
      `const fs = require("node:fs"); setInterval(() => fs.utimesSync(${JSON.stringify(lock)}, new Date(), new Date()), 200); setTimeout(() => process.exit(), 20000);`,
    ],
    { stdio: "ignore" },
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.throws(() => openDataDir({ path, fsync: false }), /is in use by process/);
    assert.equal(readFileSync(lock, "utf8"), foreignLock, "the holder's lock stays");
  } finally {
    toucher.kill();
  }
});

void test("a lock of another container left untouched (its holder was killed): taken over", () => {
  const path = tempDir();
  const lock = join(path, "lock");
  writeFileSync(lock, foreignLock);
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  const storage = openDataDir({ path, fsync: false });
  assert.match(readFileSync(lock, "utf8"), new RegExp(`^${process.pid} `));
  storage.close();
});
