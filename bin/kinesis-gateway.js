#!/usr/bin/env -S node --max-semi-space-size=8
// The command: runs the TypeScript sources directly on Node 24. The flags
// above are src/node-flags.ts's, for when the file is run as a program.
await import("../src/main.ts").then((m) => m.runMain());
