/** The README's error table is the mapping the code applies. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Code } from "@connectrpc/connect";
import { connectCodeForKinesisType } from "../src/services/errors.ts";

void test("every AWS error type in the README's table maps to the status the table gives", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Errors"), readme.indexOf("## Configuration"));
  const rows = section.split("\n").filter((line) => /^\| `[A-Z_]+` \|/.test(line));
  let checked = 0;
  for (const row of rows) {
    const [status = "", types = ""] = row
      .split("|")
      .slice(1, 3)
      .map((cell) => cell.trim());
    const code =
      Code[
        status
          .replaceAll("`", "")
          .toLowerCase()
          .replace(/_(.)/g, (_, c: string) => c.toUpperCase())
          .replace(/^./, (c) => c.toUpperCase()) as keyof typeof Code
      ];
    assert.notEqual(code, undefined, `unknown status ${status}`);
    for (const [, type] of types.matchAll(/`([A-Za-z]+)`/g)) {
      assert.equal(Code[connectCodeForKinesisType(type!)], Code[code], type);
      checked++;
    }
  }
  assert.ok(checked >= 15, `checked ${checked} types`);
});
