#!/usr/bin/env node
// The command: runs the TypeScript sources directly on Node 24.
await import("../src/main.ts").then((m) => m.runMain());
