/**
 * gRPC `PutRecords` in binary Protobuf, served without the generic codec:
 * the request envelope is read whole, decoded by the specialised codec into
 * the domain shape, and the answer is written as one finished frame.
 *
 * Everything else about the call is Connect's own: its handler context
 * (deadline, cancellation; a drain lets the call finish), the same
 * interceptors in the same order (authentication, tracing, error mapping),
 * its trailer status for errors, and its Node.js response writer. Whatever
 * this path does not take — another protocol, a bad `grpc-timeout`, a
 * compressed, oversized, truncated or second message, a failed read, bytes
 * the specialised decoder leaves to the generic one — goes to Connect's own
 * handler for the method with the request body replayed, so those answers
 * are exactly Connect's.
 */
import {
  Code,
  ConnectError,
  createHandlerContext,
  type HandlerContext,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  contentTypeProto,
  grpcStatusOk,
  headerAcceptEncoding,
  headerContentType,
  headerEncoding,
  headerGrpcStatus,
  headerTimeout,
  parseTimeout,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";
import type { Backend } from "../backends/backend.ts";
import { ProducerService } from "../gen/kinesis/gateway/v1/producer_pb.ts";
import type { PutRecordsInput, PutRecordsOutput } from "../kinesis/types.ts";
import { callContextOf } from "./call-context.ts";
import { decodePutRecordsRequest, encodePutRecordsResponseEnvelope } from "./put-records-codec.ts";

const method = ProducerService.method.putRecords;
export const PUT_RECORDS_PATH = `/${ProducerService.typeName}/${method.name}`;

/** gRPC with binary Protobuf: `application/grpc` and `application/grpc+proto`. */
const GRPC_PROTO = /^application\/grpc(?:\+proto)?$/i;
const ENVELOPE_HEADER_BYTES = 5;
const CALL_FINISHED = new ConnectError("the call has finished", Code.Canceled);

export interface PutRecordsFastPathOptions {
  backend: Backend;
  /** The interceptors Connect runs, in the same order. */
  interceptors: Interceptor[];
  /** The compressions Connect negotiates (only their names matter here). */
  acceptCompression: Compression[];
  readMaxBytes: number;
  /** Connect's own handler for the method: it answers whatever this path does not take. */
  generic: UniversalHandler;
}

export function createPutRecordsFastPath(options: PutRecordsFastPathOptions): UniversalHandler {
  const { backend, generic, readMaxBytes } = options;
  const implementation = async (req: UnaryRequest, context: HandlerContext) => {
    const ctx = { ...context, signal: req.signal, values: req.contextValues };
    return backend.putRecords(req.message as unknown as PutRecordsInput, callContextOf(ctx));
  };

  async function handle(uReq: UniversalServerRequest): Promise<UniversalServerResponse> {
    const compression = compressionNegotiate(
      options.acceptCompression,
      uReq.header.get(headerEncoding),
      uReq.header.get(headerAcceptEncoding),
      headerAcceptEncoding,
    );
    const headersAtMs = performance.now();
    const timeout = parseTimeout(uReq.header.get(headerTimeout), Number.MAX_SAFE_INTEGER);
    if (
      uReq.method !== "POST" ||
      !GRPC_PROTO.test(uReq.header.get(headerContentType) ?? "") ||
      compression.request !== null ||
      compression.error !== undefined ||
      timeout.error !== undefined
    ) {
      return generic(uReq);
    }
    // The call's clock starts now, as Connect's does when the headers are in.
    const context = createHandlerContext({
      service: ProducerService,
      method,
      protocolName: "grpc",
      requestMethod: uReq.method,
      ...(timeout.timeoutMs === undefined ? {} : { timeoutMs: timeout.timeoutMs }),
      requestSignal: uReq.signal,
      requestHeader: uReq.header,
      url: uReq.url,
      responseHeader: { [headerContentType]: contentTypeProto },
      responseTrailer: { [headerGrpcStatus]: grpcStatusOk },
      ...(uReq.contextValues && { contextValues: uReq.contextValues }),
    });
    const body = await readSingleEnvelope(uReq.body as AsyncIterable<Uint8Array>, readMaxBytes);
    const input = body.message && decodePutRecordsRequest(body.message);
    if (!input) {
      context.abort(CALL_FINISHED); // unused: its deadline timer goes
      // Connect starts its clock when it gets the call: what is left of the deadline.
      const header = remainingTimeout(uReq.header, timeout.timeoutMs, headersAtMs);
      return generic({ ...uReq, header, body: body.replay() });
    }
    if (compression.response) context.responseHeader.set(headerEncoding, compression.response.name);
    const response: UniversalServerResponse = {
      status: 200,
      header: context.responseHeader,
      trailer: context.responseTrailer,
    };
    try {
      const output = await invoke(context, input, implementation, options.interceptors);
      response.body = once(encodePutRecordsResponseEnvelope(output));
      // Ends whatever still listens to the call's signal, as Connect does, but
      // with a shared reason: without one, every call would build (and
      // capture a stack for) a DOMException, 3 % of the CPU under load.
      context.abort(CALL_FINISHED);
    } catch (err) {
      context.abort(err);
      setTrailerStatus(
        context.responseTrailer,
        err instanceof ConnectError
          ? err
          : new ConnectError("internal error", Code.Internal, undefined, undefined, err),
      );
    }
    return response;
  }
  return Object.assign(handle, {
    service: ProducerService,
    method,
    requestPath: generic.requestPath,
    supportedContentType: generic.supportedContentType,
    protocolNames: generic.protocolNames,
    allowedMethods: generic.allowedMethods,
  });
}

/** The request's headers with `grpc-timeout` down to what is left of it since `startMs`. */
function remainingTimeout(
  header: Headers,
  timeoutMs: number | undefined,
  startMs: number,
): Headers {
  if (timeoutMs === undefined) return header;
  const left = Math.max(1, Math.floor(timeoutMs - (performance.now() - startMs)));
  const copy = new Headers(header);
  // gRPC allows eight digits per unit.
  copy.set(headerTimeout, left < 1e8 ? `${left}m` : `${Math.ceil(left / 1000)}S`);
  return copy;
}

/** Runs the interceptors around the implementation, as Connect does for a unary call. */
async function invoke(
  context: HandlerContext,
  input: PutRecordsInput,
  implementation: (req: UnaryRequest, context: HandlerContext) => Promise<PutRecordsOutput>,
  interceptors: Interceptor[],
): Promise<PutRecordsOutput> {
  const innermost = async (req: UnaryRequest): Promise<UnaryResponse> => ({
    stream: false,
    service: ProducerService,
    method,
    header: context.responseHeader,
    trailer: context.responseTrailer,
    // The domain output travels where Connect carries the response message;
    // the interceptors only look at headers, errors and timing.
    message: (await implementation(req, context)) as never,
  });
  type UnaryFn = (req: UnaryRequest) => Promise<UnaryResponse>;
  let next: UnaryFn = innermost;
  // Interceptors take Connect's union of unary and streaming calls; this one is unary.
  for (const interceptor of interceptors.toReversed()) {
    next = interceptor(next as Parameters<Interceptor>[0]) as UnaryFn;
  }
  const res = await next({
    stream: false,
    service: ProducerService,
    method,
    requestMethod: context.requestMethod,
    url: context.url,
    signal: context.signal,
    header: context.requestHeader,
    contextValues: context.values,
    message: input as never,
  });
  copyHeaders(res.header, context.responseHeader);
  copyHeaders(res.trailer, context.responseTrailer);
  return res.message as unknown as PutRecordsOutput;
}

function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  for (const [key, value] of from) to.set(key, value);
}

interface ReadBody {
  /** The one uncompressed message the body held, or undefined for anything else. */
  message: Uint8Array | undefined;
  /** The body as it came, for the generic handler. */
  replay(): AsyncIterable<Uint8Array>;
}

/**
 * Reads a unary gRPC request body. Stops early, leaving the rest unread for
 * the generic handler, at a compressed flag, a length over `readMaxBytes` or
 * bytes past the first message; a failed read is replayed to it as it came.
 */
async function readSingleEnvelope(
  body: AsyncIterable<Uint8Array>,
  readMaxBytes: number,
): Promise<ReadBody> {
  const chunks: Uint8Array[] = [];
  const it = body[Symbol.asyncIterator]();
  let failure: { error: unknown } | undefined;
  const replay = async function* () {
    yield* chunks;
    if (failure) throw failure.error;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  };
  const leftToGeneric: ReadBody = { message: undefined, replay };
  let total = 0;
  let expected = -1; // the whole envelope's length, once its header is in
  try {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      chunks.push(r.value);
      total += r.value.byteLength;
      if (expected < 0 && total >= ENVELOPE_HEADER_BYTES) {
        const header = chunks.length === 1 ? r.value : Buffer.concat(chunks, ENVELOPE_HEADER_BYTES);
        const length = new DataView(header.buffer, header.byteOffset, 5).getUint32(1);
        if (header[0] !== 0 || length > readMaxBytes) return leftToGeneric;
        expected = ENVELOPE_HEADER_BYTES + length;
      }
      if (expected >= 0 && total > expected) return leftToGeneric; // a second message
    }
  } catch (error) {
    failure = { error };
    return leftToGeneric;
  }
  if (total !== expected) return leftToGeneric;
  return { message: joinChunks(chunks, total).subarray(ENVELOPE_HEADER_BYTES), replay };
}

/** The chunks as one buffer; the engine copies what it keeps, so a view of the first chunk will do. */
function joinChunks(chunks: Uint8Array[], total: number): Uint8Array {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

async function* once(chunk: Uint8Array): AsyncIterable<Uint8Array> {
  yield chunk;
}
