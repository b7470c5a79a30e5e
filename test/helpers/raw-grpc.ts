/**
 * gRPC calls made by hand over h2c, for what a generated client would not
 * send: odd headers, broken envelopes, a body sent late.
 */
import http2 from "node:http2";

export interface RawAnswer {
  status: number | undefined;
  headers: Record<string, unknown>;
  trailers: Record<string, unknown>;
  body: Buffer;
}

export interface RawCall {
  path: string;
  /** Added to (or replacing) `:method`, `:path`, `content-type` and `te`. */
  headers?: Record<string, string> | undefined;
  body: Uint8Array;
  /** Sends the body this long after the headers. Default: with them. */
  delayMs?: number | undefined;
}

/** A gRPC message in its envelope: flags, length, bytes. */
export function envelope(message: Uint8Array, flags = 0): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flags;
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** One call on a fresh HTTP/2 connection; the body is written as given. */
export function rawGrpcCall(url: string, call: RawCall): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    // The client's session must hold what it queues: Node's default is 10 MB,
    // less than the largest PutRecords message (10 MiB of records, base64 in JSON).
    const session = http2.connect(url, { maxSessionMemory: 64 });
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": call.path,
      "content-type": "application/grpc",
      te: "trailers",
      ...call.headers,
    });
    const answer: RawAnswer = {
      status: undefined,
      headers: {},
      trailers: {},
      body: Buffer.alloc(0),
    };
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      answer.status = h[":status"];
      answer.headers = h;
    });
    stream.on("trailers", (t) => {
      answer.trailers = t;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("close", () => {
      answer.body = Buffer.concat(chunks);
      session.close();
      resolve(answer);
    });
    if (call.delayMs === undefined) stream.end(call.body);
    else setTimeout(() => stream.end(call.body), call.delayMs);
  });
}

/** The call's gRPC status, from the trailers or, for a trailers-only answer, the headers. */
export function grpcStatusOf(answer: RawAnswer): string | undefined {
  const status = answer.trailers["grpc-status"] ?? answer.headers["grpc-status"];
  return status === undefined ? undefined : String(status);
}
