// The V8 flags every launcher of the gateway passes to `node`: the shebang of
// bin/kinesis-gateway.js, `npm start`, the Dockerfile, the benchmark and the tests
// that run the command (test/deploy checks that they agree).
//
// --max-semi-space-size=8: V8 sizes the young generation from the machine's
// memory (32 MiB semi-spaces and more on large hosts). The engine keeps up to
// --max-stream-mib of records per stream, and each kept record is copied by
// every young collection it lives through; with 8 MiB semi-spaces it reaches
// the old generation sooner. Measured under 500 × 1 KiB PutRecords at 8 in
// flight: peak RSS 330–340 → 290–295 MiB, CPU per record the same or lower.
export const NODE_FLAGS: readonly string[] = ["--max-semi-space-size=8"];

// The environment the same launchers give `node`, read by the C library as the
// process starts.
//
// MALLOC_MMAP_THRESHOLD_=4194304: glibc serves large allocations from mmap and
// gives them back to the system when freed, but after the first large free it
// raises that threshold (up to 32 MiB) and serves them from its heap, which
// it rarely returns. Read answers of 4–11 MiB then leave their pages resident:
// 16 clients dropping 10 MiB answers took the gateway to 400–446 MiB against
// its 384 MiB bound, and to 293–306 MiB with the threshold fixed at 4 MiB.
// Smaller buffers (a 500 × 1 KiB request is ~700 KB) still come from the heap.
export const NODE_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: "4194304",
};

/** `NODE_ENV` as shell assignments, for the shebang and `npm start`. */
export const NODE_ENV_ASSIGNMENTS = Object.entries(NODE_ENV)
  .map(([name, value]) => `${name}=${value}`)
  .join(" ");
