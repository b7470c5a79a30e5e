#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=4194304 node --max-semi-space-size=8
// The command. It runs the JavaScript `npm run build` emits into dist/ (the
// image holds only that), unless the TypeScript sources beside it are newer:
// then it runs them directly (Node 24 type stripping, ~30 MiB more resident),
// so a checkout never runs stale code. The flags above are
// src/node-flags.ts's, for when the file is run as a program.
import { existsSync, readdirSync, statSync } from "node:fs";

const src = new URL("../src/", import.meta.url);
const built = new URL("../dist/main.js", import.meta.url);

/** The newest modification time of a file under `dir`. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      latest = Math.max(latest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
    }
  }
  return latest;
}

const upToDate = existsSync(built) && (!existsSync(src) || statSync(built).mtimeMs >= newest(src));
const main = await import(upToDate ? "../dist/main.js" : "../src/main.ts");
await main.runMain();
