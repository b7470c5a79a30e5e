/**
 * bin/kinesis-gateway.js runs the built JavaScript when it is up to date and
 * the TypeScript sources otherwise, so a checkout never runs stale code.
 * Checked on a copy of the command beside stand-in entry points.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite, test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const COMMAND = join(import.meta.dirname, "../../bin/kinesis-gateway.js");

/** A package with the real command, a dist/main.js and optionally src/, each saying which it is. */
function layout(withSources: boolean): { dir: string; touch(path: string, seconds: number): void } {
  const dir = mkdtempSync(join(tmpdir(), "kgw-bin-"));
  mkdirSync(join(dir, "bin"));
  copyFileSync(COMMAND, join(dir, "bin/kinesis-gateway.js"));
  writeFileSync(join(dir, "package.json"), '{"type": "module"}');
  mkdirSync(join(dir, "dist"));
  writeFileSync(join(dir, "dist/main.js"), 'export function runMain() { console.log("dist"); }\n');
  if (withSources) {
    mkdirSync(join(dir, "src/engine"), { recursive: true });
    writeFileSync(
      join(dir, "src/main.ts"),
      'export function runMain(): void { console.log("src"); }\n',
    );
    writeFileSync(join(dir, "src/engine/engine.ts"), "export {};\n");
  }
  return {
    dir,
    touch: (path, seconds) => utimesSync(join(dir, path), seconds, seconds),
  };
}

const ran = async (dir: string) =>
  (await run(process.execPath, [join(dir, "bin/kinesis-gateway.js")])).stdout.trim();

void suite("the command", () => {
  void test("runs dist/ when it is newer than every source", async () => {
    const { dir, touch } = layout(true);
    touch("src/main.ts", 1_000);
    touch("src/engine/engine.ts", 1_000);
    touch("dist/main.js", 2_000);
    assert.equal(await ran(dir), "dist");
  });

  void test("runs the sources when any of them is newer than dist/", async () => {
    const { dir, touch } = layout(true);
    touch("src/main.ts", 1_000);
    touch("src/engine/engine.ts", 3_000);
    touch("dist/main.js", 2_000);
    assert.equal(await ran(dir), "src");
  });

  void test("runs dist/ where there are no sources, as in the image", async () => {
    const { dir } = layout(false);
    assert.equal(await ran(dir), "dist");
  });
});
