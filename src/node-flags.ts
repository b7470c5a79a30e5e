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

// --max-old-space-size follows --max-memory-mib below the default bound (384).
// V8 sizes its old generation from the machine's memory (about 4 GiB here) and, with that much room,
// lets the heap grow to four times what was live before it collects (its
// growing factor is 1.3 for a limit up to 256 MB, rising to 4 at 2 GB).
// Under load the garbage, and the pages V8 keeps pooled after collecting it,
// were most of the resident memory: at --max-memory-mib 192 (201 MB), 7,000
// pipelined grpcio DescribeStreamSummary futures on one channel took the
// gateway to 234–248 MB (its heap to 146 MB with 32 MB live), 10,000
// sequential calls to 196 MB. With the old generation limited to the bound:
// 150–170 MB and 135–140 MB; at 384, 7,000 futures 160–170 MB instead of
// 240–310 MB, for 10–20 % more CPU under that load. Measured with Node 24.21:
// `bin/kinesis-gateway.js --max-memory-mib 192 --streams s:1`, then a Python
// grpcio client (`/usr/bin/python3`, stubs from proto/ with protoc and
// grpc_python_plugin) sending `stub.DescribeStreamSummary.future(req)` 7,000
// times on one default channel, VmHWM read from /proc. The bound is known
// only once the configuration is read (flags, environment or file), so the
// command then re-executes itself with the flag (`process.execve`: same
// process id, same arguments; ~0.35 s more to start), once. A
// --max-old-space-size (or its percentage form) given to `node` or in
// NODE_OPTIONS is kept as it is.
// At the default bound and above the limit is not set: V8's faster-growing
// heap stays under the bound there (240–314 MB at 384 under the load above),
// and the limit cost a third of the throughput: `BENCH_ONLY=grpc-engine-500x1KiB
// npm run bench` measured the gateway at ×0.81 and ×0.88 of its reference
// with the limit (1.17 server cores) against ×1.25 and ×1.43 without (0.80
// cores; peak RSS 213 MiB against 284 MiB), in alternating runs.

/** The V8 flag that keeps the heap within `maxMemoryMiB`. */
export function heapLimitFlag(maxMemoryMiB: number): string {
  return `--max-old-space-size=${maxMemoryMiB}`;
}

/** Whether `node` was given its old generation's size (as a size or a percentage, on its command line or in NODE_OPTIONS). */
export function heapLimitGiven(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): boolean {
  const given = (arg: string) => /^--max[-_]old[-_]space[-_]size([-_]percentage)?(=|$)/.test(arg);
  return execArgv.some(given) || (nodeOptions ?? "").split(/\s+/).some(given);
}
