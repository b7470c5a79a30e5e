/**
 * Load against a server's ProducerService over gRPC (h2c): closed-loop
 * callers, each sending its next call when the last one answers.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ProducerService } from "../src/gen/kinesis/gateway/v1/producer_pb.ts";

export interface ThroughputOptions {
  url: string;
  streamName: string;
  /** Records per call. */
  batch: number;
  /** Bytes of data per record. */
  recordBytes: number;
  /** Calls in flight at once. */
  inFlight: number;
  warmupMs: number;
  durationMs: number;
}

export interface Throughput {
  recordsPerSecond: number;
  /** Records the server reported as failed (should be 0: throttling is off). */
  failedRecords: number;
}

/** Distinct partition keys over all shards, and one shared payload. */
function requestOf(
  options: Pick<ThroughputOptions, "streamName" | "batch" | "recordBytes">,
  offset: number,
) {
  const data = new Uint8Array(options.recordBytes).fill(120);
  return {
    streamName: options.streamName,
    records: Array.from({ length: options.batch }, (_, i) => ({
      data,
      partitionKey: `key-${offset + i}`,
    })),
  };
}

/** Runs `inFlight` callers back to back, each sending its next call when the last one answers, until `done()`. */
async function runCallers(
  inFlight: number,
  call: (caller: number) => Promise<{ written: number; failed: number }>,
  tally: (answer: { written: number; failed: number }) => void,
  done: () => boolean,
): Promise<void> {
  await Promise.all(
    Array.from({ length: inFlight }, async (_, caller) => {
      while (!done()) tally(await call(caller));
    }),
  );
}

/**
 * Runs `inFlight` callers back to back: a warm-up, then `durationMs` during
 * which each call's written and failed record counts are summed.
 */
async function closedLoop(
  options: { inFlight: number; warmupMs: number; durationMs: number },
  call: (caller: number) => Promise<{ written: number; failed: number }>,
): Promise<Throughput> {
  const tally = newTally();
  const callers = runCallers(
    options.inFlight,
    call,
    (res) => {
      if (tally.counting) {
        tally.written += res.written;
        tally.failed += res.failed;
      }
    },
    () => tally.stopped,
  );
  return countingWindow(options, tally, callers);
}

/** What a load counts while `counting`, and stops on when `stopped`. */
interface Tally {
  counting: boolean;
  stopped: boolean;
  written: number;
  failed: number;
}

const newTally = (): Tally => ({ counting: false, stopped: false, written: 0, failed: 0 });

/**
 * Waits out the warm-up, counts for the duration, then stops the load and
 * waits for it to end: records written per second counted.
 */
async function countingWindow(
  options: { warmupMs: number; durationMs: number },
  tally: Tally,
  load: Promise<unknown>,
): Promise<Throughput> {
  await sleep(options.warmupMs);
  tally.counting = true;
  const started = performance.now();
  await sleep(options.durationMs);
  tally.counting = false;
  const seconds = (performance.now() - started) / 1000;
  tally.stopped = true;
  await load;
  return { recordsPerSecond: tally.written / seconds, failedRecords: tally.failed };
}

/** gRPC PutRecords of `options.batch` records, one prepared request per caller. */
function putRecordsCaller(options: Omit<ThroughputOptions, "warmupMs" | "durationMs">) {
  const client = createClient(ProducerService, createGrpcTransport({ baseUrl: options.url }));
  const requests = Array.from({ length: options.inFlight }, (_, i) =>
    requestOf(options, i * options.batch),
  );
  return async (caller: number) => {
    const request = requests[caller]!;
    const res = await client.putRecords(request);
    return {
      written: request.records.length - res.failedRecordCount,
      failed: res.failedRecordCount,
    };
  };
}

export async function measureThroughput(options: ThroughputOptions): Promise<Throughput> {
  return closedLoop(options, putRecordsCaller(options));
}

export interface VolumeOptions extends Omit<ThroughputOptions, "warmupMs" | "durationMs"> {
  /** Bytes of record data to write in all. */
  totalBytes: number;
}

/** Writes `totalBytes` of record data as fast as the server takes it, with no warm-up. */
export async function writeVolume(options: VolumeOptions): Promise<Throughput> {
  let written = 0;
  let failedRecords = 0;
  const started = performance.now();
  await runCallers(
    options.inFlight,
    putRecordsCaller(options),
    (res) => {
      written += res.written;
      failedRecords += res.failed;
    },
    () => written * options.recordBytes >= options.totalBytes,
  );
  return { recordsPerSecond: written / ((performance.now() - started) / 1000), failedRecords };
}

export interface LatencyOptions {
  url: string;
  streamName: string;
  recordBytes: number;
  calls: number;
}

/** PutRecord one record at a time, one call in flight: latency percentiles in ms. */
export async function measureLatency(
  options: LatencyOptions,
): Promise<{ p50: number; p99: number }> {
  const client = createClient(ProducerService, createGrpcTransport({ baseUrl: options.url }));
  const data = new Uint8Array(options.recordBytes).fill(120);
  const samples: number[] = [];
  for (let i = 0; i < options.calls + 100; i++) {
    const started = performance.now();
    await client.putRecord({ streamName: options.streamName, partitionKey: `key-${i}`, data });
    if (i >= 100) samples.push(performance.now() - started); // the first 100 warm up
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SdkThroughputOptions {
  endpoint: string;
  streamName: string;
  batch: number;
  recordBytes: number;
  inFlight: number;
  warmupMs: number;
  durationMs: number;
}

/**
 * PutRecords through the AWS SDK for JavaScript over HTTP/1.1 keep-alive
 * (what every Kinesis emulator speaks), after creating a 4-shard stream.
 */
export async function measureSdkThroughput(options: SdkThroughputOptions): Promise<Throughput> {
  const { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, PutRecordsCommand } =
    await import("@aws-sdk/client-kinesis");
  const { NodeHttpHandler } = await import("@smithy/node-http-handler");
  const http = await import("node:http");
  const client = new KinesisClient({
    endpoint: options.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: options.inFlight }),
    }),
  });
  await client
    .send(new CreateStreamCommand({ StreamName: options.streamName, ShardCount: 4 }))
    .catch(() => undefined);
  for (let i = 0; i < 100; i++) {
    const summary = await client.send(
      new DescribeStreamSummaryCommand({ StreamName: options.streamName }),
    );
    if (summary.StreamDescriptionSummary?.StreamStatus === "ACTIVE") break;
    await sleep(50);
  }
  const data = new Uint8Array(options.recordBytes).fill(120);
  const requests = Array.from({ length: options.inFlight }, (_, c) =>
    Array.from({ length: options.batch }, (_, i) => ({
      Data: data,
      PartitionKey: `key-${c}-${i}`,
    })),
  );
  const result = await closedLoop(options, async (caller) => {
    const Records = requests[caller]!;
    const res = await client.send(
      new PutRecordsCommand({ StreamName: options.streamName, Records }),
    );
    const failed = res.FailedRecordCount ?? 0;
    return { written: Records.length - failed, failed };
  });
  client.destroy();
  return result;
}

export interface UnaryThroughputOptions {
  url: string;
  streamName: string;
  /**
   * Shards of the stream made first (through the server: forwarded when it
   * forwards); 0 makes none (a server without StreamService).
   */
  shards: number;
  recordBytes: number;
  /** Callers, each with one PutRecord in flight. */
  inFlight: number;
  warmupMs: number;
  durationMs: number;
}

/**
 * gRPC PutRecord of one record per call from `inFlight` callers at once, after
 * creating the stream through the server: what a service that writes each
 * event as it comes does. Throttled records count as failed, not written.
 */
export async function measureUnaryThroughput(options: UnaryThroughputOptions): Promise<Throughput> {
  const { StreamService, StreamStatus } = await import(
    "../src/gen/kinesis/gateway/v1/stream_pb.ts"
  );
  const transport = createGrpcTransport({ baseUrl: options.url });
  const streams = createClient(StreamService, transport);
  const producer = createClient(ProducerService, transport);
  if (options.shards > 0) {
    await streams
      .createStream({ streamName: options.streamName, shardCount: options.shards })
      .catch(() => undefined);
  }
  for (let i = 0; options.shards > 0 && i < 200; i++) {
    const { streamDescriptionSummary } = await streams.describeStreamSummary({
      streamName: options.streamName,
    });
    if (streamDescriptionSummary?.streamStatus === StreamStatus.ACTIVE) break;
    await sleep(50);
  }
  const data = new Uint8Array(options.recordBytes).fill(120);
  let sent = 0;
  return closedLoop(options, async () => {
    try {
      await producer.putRecord({
        streamName: options.streamName,
        data,
        partitionKey: `k${sent++}`,
      });
      return { written: 1, failed: 0 };
    } catch {
      return { written: 0, failed: 1 };
    }
  });
}

/**
 * `ProducerService.Produce`: `streams` bidirectional streams, each sending
 * messages of `batch` records while fewer than `inFlight × batch /
 * streams` of its records are unacked (the same records outstanding as
 * `inFlight` PutRecords calls of `batch`). Keys are distinct over 16
 * prepared messages, so no key waits for its previous record.
 */
export async function measureProduceThroughput(
  options: ThroughputOptions & { streams: number },
): Promise<Throughput> {
  const client = createClient(ProducerService, createGrpcTransport({ baseUrl: options.url }));
  const data = new Uint8Array(options.recordBytes).fill(120);
  const pool = Array.from({ length: 16 }, (_, m) => ({
    streamName: options.streamName,
    records: Array.from({ length: options.batch }, (_, i) => ({
      id: BigInt(i),
      data,
      partitionKey: `key-${m * options.batch + i}`,
    })),
  }));
  const window = (options.inFlight * options.batch) / options.streams;
  const tally = newTally();
  async function one(first: number): Promise<void> {
    let outstanding = 0;
    let wake: (() => void) | undefined;
    async function* requests() {
      for (let m = first; !tally.stopped; m++) {
        while (outstanding + options.batch > window && !tally.stopped) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        if (tally.stopped) return;
        outstanding += options.batch;
        yield pool[m % pool.length]!;
      }
    }
    for await (const response of client.produce(requests())) {
      outstanding -= response.acks.length;
      if (tally.counting) {
        for (const ack of response.acks) {
          if (ack.errorCode === "") tally.written++;
          else tally.failed++;
        }
      }
      wake?.();
    }
  }
  const running = Promise.all(Array.from({ length: options.streams }, (_, s) => one(s * 4)));
  return countingWindow(options, tally, running);
}
