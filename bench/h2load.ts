/**
 * Server CPU per record, without a Node client in the way: h2load (nghttp2's
 * load generator, in C) sends the same pre-encoded request over and over —
 * gRPC `PutRecords` (500 × 1 KiB) to the gateway and to the transport
 * reference, and the wire API's JSON `PutRecords` to the gateway — and the
 * server's CPU time is read from /proc before and after. Needs `h2load`
 * (Debian's nghttp2-client).
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import os from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  PutRecordsRequestSchema,
  PutRecordsResponseSchema,
} from "../src/gen/kinesis/gateway/v1/producer_pb.ts";
import type { ServerProcess } from "./processes.ts";

const run = promisify(execFile);

export interface H2loadOptions {
  streamName: string;
  /** Records a request, and their size. */
  batch: number;
  recordBytes: number;
  /** Connections, and streams in flight on each. */
  connections: number;
  streamsPerConnection: number;
  warmupSeconds: number;
  seconds: number;
}

export interface ServerCost {
  recordsPerSecond: number;
  /** The server's CPU time (user + system) per record, in microseconds. */
  serverMicrosPerRecord: number;
  /** Answers other than HTTP 200 (h2load's own count). */
  failedRequests: number;
  /** How busy the machine's cores were meanwhile, 0 to 1: the server, h2load, any upstream. */
  machineBusy: number;
}

/** The machine's CPU time so far, busy and in all, in clock ticks (/proc/stat). */
function machineTicks(): { busy: number; total: number } {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  const ticks = fields.map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  // idle and iowait are fields 4 and 5 of the "cpu" line.
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/** Why h2load cannot run here, or undefined when it can. */
export function h2loadMissing(): string | undefined {
  const found = spawnSync("h2load", ["--version"], { encoding: "utf8" });
  return found.status === 0
    ? undefined
    : `no h2load (${found.error?.message ?? found.stderr.trim()}): apt-get install nghttp2-client`;
}

/** Records with data of `bytes` bytes each, and partition keys spread over the shards. */
function records(options: H2loadOptions) {
  return Array.from({ length: options.batch }, (_, i) => ({
    data: new Uint8Array(options.recordBytes).fill(97 + (i % 26)),
    partitionKey: `partition-key-${i}`,
  }));
}

/** A gRPC message: the request in its 5-byte frame (not compressed, then its length). */
export function grpcPutRecordsBody(options: H2loadOptions): Buffer {
  const message = toBinary(
    PutRecordsRequestSchema,
    create(PutRecordsRequestSchema, { streamName: options.streamName, records: records(options) }),
  );
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** The Kinesis API's JSON PutRecords, as the AWS SDKs send it. */
export function wirePutRecordsBody(options: H2loadOptions): Buffer {
  return Buffer.from(
    JSON.stringify({
      StreamName: options.streamName,
      Records: records(options).map((r) => ({
        Data: Buffer.from(r.data).toString("base64"),
        PartitionKey: r.partitionKey,
      })),
    }),
  );
}

export const GRPC_HEADERS = ["content-type: application/grpc", "te: trailers"];
export const WIRE_HEADERS = [
  "content-type: application/x-amz-json-1.1",
  "x-amz-target: Kinesis_20131202.PutRecords",
  // Any signature: the gateway does not check them.
  "authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=0",
  "x-amz-date: 20260101T000000Z",
];

/**
 * One request with `body` over HTTP/2, as h2load sends it; throws unless the
 * server wrote every record (gRPC status 0 and no failed record, or for the
 * wire API a 200 with FailedRecordCount 0). h2load counts only HTTP statuses,
 * and a gRPC error is an HTTP 200.
 */
async function checkOnce(
  server: ServerProcess,
  path: string,
  headers: readonly string[],
  body: Buffer,
): Promise<void> {
  const session = http2.connect(server.url);
  try {
    const request = session.request({
      ":method": "POST",
      ":path": path,
      ...Object.fromEntries(headers.map((h) => h.split(": ", 2) as [string, string])),
    });
    request.end(body);
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    const [status, trailers] = await Promise.all([
      new Promise<number>((resolve) =>
        request.once("response", (h) => resolve(Number(h[":status"]))),
      ),
      new Promise<http2.IncomingHttpHeaders>((resolve) => {
        let got: http2.IncomingHttpHeaders = {};
        request.once("trailers", (t) => {
          got = t;
        });
        request.once("close", () => resolve(got));
      }),
    ]);
    const answer = Buffer.concat(chunks);
    const grpc = headers.includes(GRPC_HEADERS[0]!);
    const ok = grpc
      ? trailers["grpc-status"] === "0" &&
        fromBinary(PutRecordsResponseSchema, answer.subarray(5)).failedRecordCount === 0
      : status === 200 &&
        (JSON.parse(answer.toString()) as { FailedRecordCount?: number }).FailedRecordCount === 0;
    if (!ok) {
      throw new Error(
        `${path} did not write every record: HTTP ${status}, ${JSON.stringify(trailers)}, ${answer.subarray(0, 300).toString()}`,
      );
    }
  } finally {
    session.close();
  }
}

/**
 * h2load posting `body` to `path` on `server` for `seconds` after a warm-up;
 * records per second and the server's CPU per record over the measured part
 * (CPU read when the warm-up ends and when h2load exits).
 */
export async function measureServerCost(
  server: ServerProcess,
  path: string,
  headers: readonly string[],
  body: Buffer,
  options: H2loadOptions,
): Promise<ServerCost> {
  await checkOnce(server, path, headers, body);
  const dir = mkdtempSync(join(os.tmpdir(), "kinesis-gateway-h2load-"));
  try {
    const file = join(dir, "body");
    writeFileSync(file, body);
    let cpuAtWarm = server.cpuSeconds();
    let machineAtWarm = machineTicks();
    const warm = setTimeout(() => {
      cpuAtWarm = server.cpuSeconds();
      machineAtWarm = machineTicks();
    }, options.warmupSeconds * 1000);
    const { stdout } = await run(
      "h2load",
      [
        "-c",
        String(options.connections),
        "-m",
        String(options.streamsPerConnection),
        "-D",
        String(options.seconds),
        "--warm-up-time",
        String(options.warmupSeconds),
        "-d",
        file,
        ...headers.flatMap((header) => ["-H", header]),
        `${server.url}${path}`,
      ],
      {
        maxBuffer: 16 * 1024 * 1024,
        timeout: (options.seconds + options.warmupSeconds + 60) * 1000,
      },
    );
    clearTimeout(warm);
    const cpuSeconds = server.cpuSeconds() - cpuAtWarm;
    const machine = machineTicks();
    const counts =
      /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(
        stdout,
      );
    if (counts === null) throw new Error(`h2load printed no counts:\n${stdout}`);
    const recordsMeasured = Number(counts[3]) * options.batch;
    return {
      recordsPerSecond: recordsMeasured / options.seconds,
      serverMicrosPerRecord: (cpuSeconds / recordsMeasured) * 1e6,
      failedRequests: Number(counts[4]) + Number(counts[5]),
      machineBusy: (machine.busy - machineAtWarm.busy) / (machine.total - machineAtWarm.total),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
