/**
 * Per-record telemetry, after the OpenTelemetry messaging conventions for
 * batch publishing:
 * - a PRODUCER `create {stream}` span per record, from before validation to
 *   its outcome: shard id and sequence number, or `error.type` (throttled,
 *   failed and refused records alike). A record that carries its caller's
 *   trace context continues that trace;
 * - a CLIENT `send {stream}` span per backend call, linked to the create
 *   spans of the records it sends (a retry is its own send span). With
 *   record spans off, the send span is the PRODUCER span and carries the batch;
 * - record counters by stream, shard and error type, and backend call durations.
 * Partition keys and payloads never appear in telemetry.
 */

import {
  type Attributes,
  type Context,
  context,
  type Link,
  type Meter,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { type Backend, backendOf } from "../backends/backend.ts";
import { isInjected } from "../faults/injected.ts";
import { GatewayError, KinesisError } from "../kinesis/errors.ts";
import type { PutRecordsRequestEntry, PutRecordsResultEntry, StreamRef } from "../kinesis/types.ts";
import { isStreamName, recordBytes, streamNameOf } from "../kinesis/validation.ts";
import { streamOf, type Writes } from "../operations/table.ts";
import { DURATION_BUCKETS_SECONDS } from "./buckets.ts";
import { createStreamLabels, OTHER_STREAMS } from "./stream-labels.ts";

export interface RecordTelemetryOptions {
  tracer: Tracer;
  meter: Meter;
  /** Whether spans are recorded at all; without, no span work is done. */
  tracing: boolean;
  /** A create span per record; off, the send span carries the batch. */
  recordSpans: boolean;
  /**
   * Whether the sampler follows the parent's decision (the `parentbased_*`
   * samplers). Then a record of an unsampled call gets no span at all,
   * rather than a non-recording one: the same outcome, for less work.
   */
  parentBasedSampling: boolean;
  /** Most distinct stream names used as metric attributes. Default: `DEFAULT_MAX_STREAM_LABELS`. */
  maxStreamLabels?: number | undefined;
}

/** Where a backend sends its calls, for the send span. */
export interface SendTarget {
  /** `engine` or `kinesis`. */
  backend: string;
  region?: string | undefined;
  /** The endpoint's host and port, when forwarding. */
  server?: { address: string; port: number } | undefined;
}

export interface RecordTelemetry {
  /** Outermost: create spans and record counters around the whole call. */
  outer(backend: Backend): Backend;
  /** Around one concrete backend: a send span and a duration per call. */
  send(backend: Backend, target: SendTarget): Backend;
  /**
   * For records a producer takes in and answers later, one by one (Produce):
   * a create span per record from now to its outcome, which the returned
   * function reports for the record at `index` (once for each); the records
   * are counted when the last one is reported.
   */
  produced(
    ref: StreamRef,
    entries: readonly PutRecordsRequestEntry[],
  ): (index: number, result: PutRecordsResultEntry) => void;
  /** A Kinesis record made of user records (aggregated): its send span links theirs. */
  carries(carrier: PutRecordsRequestEntry, carried: readonly PutRecordsRequestEntry[]): void;
}

/** Links a send span keeps at most (`OTEL_SPAN_LINK_COUNT_LIMIT` is 1000). */
const MAX_SEND_LINKS = 1000;

const MESSAGING_SYSTEM = "aws.kinesis";
const SHARD_IN_THROTTLING_MESSAGE = /^Rate exceeded for shard (\S+) in stream /;
/** The attribute that marks a span whose outcome a fault rule injected. */
const FAULT_INJECTED = "kinesis_gateway.fault.injected";
/** The attributes of a counted failure a fault rule injected. */
const INJECTED: Attributes = { injected: "true" };
const w3c = new W3CTraceContextPropagator();

/**
 * The stream as a span names it: the request's name when it is a valid one
 * (at most 128 characters), else {@link OTHER_STREAMS}. Spans leave the
 * process through a bounded queue, so a valid name that names no stream may
 * appear on them; metrics take {@link StreamLabels}' stricter rule.
 */
function spanStreamName(ref: StreamRef): string {
  const name = streamNameOf(ref);
  return name !== undefined && isStreamName(name) ? name : OTHER_STREAMS;
}

/** Whether a failure is one a backend only reports for a stream it has. */
function confirmsStream(err: unknown): boolean {
  return (
    err instanceof KinesisError &&
    // A fault rule's error comes before the backend has seen the stream.
    !isInjected(err) &&
    (err.type === "ProvisionedThroughputExceededException" ||
      err.type === "ResourceInUseException" ||
      err.type.startsWith("KMS"))
  );
}

/** Whether a record's outcome is one a backend only gives for a stream it has. */
function confirmsWrite(result: PutRecordsResultEntry): boolean {
  return (
    result.errorCode === undefined ||
    result.errorCode === "ProvisionedThroughputExceededException" ||
    result.errorCode === "InternalFailure"
  );
}

/** A low-cardinality name for why a call failed. */
export function errorTypeOf(err: unknown): string {
  if (err instanceof KinesisError) return err.type;
  if (err instanceof GatewayError) return err.kind;
  return "_OTHER";
}

/**
 * The messaging attributes of a create or send span. `aws.kinesis.stream_name`,
 * the AWS SDK conventions' attribute of a call to Kinesis, goes on the send
 * span only: every attribute of a per-record span is paid for once per record.
 */
function destination(stream: string, operation: "create" | "send"): Attributes {
  const attributes: Attributes = {
    "messaging.system": MESSAGING_SYSTEM,
    "messaging.operation.type": operation,
    "messaging.operation.name": operation,
    "messaging.destination.name": stream,
  };
  if (operation === "send") attributes["aws.kinesis.stream_name"] = stream;
  return attributes;
}

/** The record's own trace when it carries a valid one, else the call's. */
function parentOf(entry: PutRecordsRequestEntry): Context {
  const carried = entry.traceContext;
  if (carried === undefined) return context.active();
  const carrier: Record<string, string> = { traceparent: carried.traceparent };
  if (carried.tracestate !== undefined) carrier.tracestate = carried.tracestate;
  const extracted = w3c.extract(ROOT_CONTEXT, carrier, {
    keys: (c) => Object.keys(c),
    get: (c, key) => c[key],
  });
  return extracted === ROOT_CONTEXT ? context.active() : extracted;
}

export function createRecordTelemetry(options: RecordTelemetryOptions): RecordTelemetry {
  const { tracer, meter } = options;
  const recordSpans = options.tracing && options.recordSpans;
  /**
   * Each record's creation context, for the send spans' links (retries reuse
   * the entries); an aggregated record's are those of the user records it carries.
   */
  const creationContexts = new WeakMap<PutRecordsRequestEntry, SpanContext | SpanContext[]>();

  const written = meter.createCounter("kinesis_gateway.records.written", {
    description: "Records written, by stream and shard",
    unit: "{record}",
  });
  const failed = meter.createCounter("kinesis_gateway.records.failed", {
    description: "Records not written, by stream, shard (when known) and error type",
    unit: "{record}",
  });
  const bytesWritten = meter.createCounter("kinesis_gateway.records.written.size", {
    description: "Bytes of data and partition keys written, by stream",
    unit: "By",
  });
  const callDuration = meter.createHistogram("kinesis_gateway.backend.call.duration", {
    description: "Duration of calls to a backend",
    unit: "s",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS },
  });

  const streamLabels = createStreamLabels(options.maxStreamLabels);

  /** Counts a call's outcomes, one counter update per stream, shard and error type. */
  function countResults(
    ref: StreamRef,
    entries: readonly PutRecordsRequestEntry[],
    results: readonly PutRecordsResultEntry[],
  ): void {
    const writtenByShard = new Map<string, number>();
    const failedByKey = new Map<
      string,
      { shard: string | undefined; errorType: string; injected: boolean; count: number }
    >();
    let bytes = 0;
    // The backend wrote a record of the stream, or throttled one: it exists. (Produce reports
    // each record's outcome here, a stream that does not exist included: that one confirms
    // nothing, or any name a client makes up would take one of the few labels.)
    const streamName = streamNameOf(ref);
    if (streamName !== undefined && results.some(confirmsWrite)) streamLabels.confirm(streamName);
    const stream = streamLabels.label(streamName);
    results.forEach((result, i) => {
      if (result.errorCode === undefined) {
        const shard = result.shardId ?? "";
        writtenByShard.set(shard, (writtenByShard.get(shard) ?? 0) + 1);
        const entry = entries[i];
        if (entry !== undefined) bytes += recordBytes(entry);
      } else {
        const shard = SHARD_IN_THROTTLING_MESSAGE.exec(result.errorMessage ?? "")?.[1];
        const injected = isInjected(result);
        const key = `${shard} ${result.errorCode} ${injected}`;
        const counted = failedByKey.get(key) ?? {
          shard,
          errorType: result.errorCode,
          injected,
          count: 0,
        };
        counted.count++;
        failedByKey.set(key, counted);
      }
    });
    for (const [shard, count] of writtenByShard) {
      written.add(count, {
        "messaging.destination.name": stream,
        "messaging.destination.partition.id": shard,
      });
    }
    for (const { shard, errorType, injected, count } of failedByKey.values()) {
      failed.add(count, {
        "messaging.destination.name": stream,
        "error.type": errorType,
        ...(shard === undefined ? {} : { "messaging.destination.partition.id": shard }),
        ...(injected ? INJECTED : {}),
      });
    }
    if (bytes > 0) bytesWritten.add(bytes, { "messaging.destination.name": stream });
  }

  /** Whether the call's span is known to be unsampled, and so would every record's be. */
  function callUnsampled(): boolean {
    if (!options.parentBasedSampling) return false;
    const parent = trace.getSpanContext(context.active());
    return parent !== undefined && (parent.traceFlags & TraceFlags.SAMPLED) === 0;
  }

  function startCreateSpans(stream: string, entries: readonly PutRecordsRequestEntry[]): Span[] {
    if (!recordSpans) return [];
    if (callUnsampled() && entries.every((entry) => entry.traceContext === undefined)) return [];
    const attributes = destination(stream, "create");
    // One parent lookup for the batch: most records carry no context of their own.
    const callContext = context.active();
    return entries.map((entry) => {
      const span = tracer.startSpan(
        `create ${stream}`,
        { kind: SpanKind.PRODUCER, attributes },
        entry.traceContext === undefined ? callContext : parentOf(entry),
      );
      creationContexts.set(entry, span.spanContext());
      return span;
    });
  }

  function endCreateSpans(spans: readonly Span[], results: readonly PutRecordsResultEntry[]): void {
    spans.forEach((span, i) => {
      const result = results[i];
      if (result?.errorCode === undefined) {
        span.setAttribute("messaging.destination.partition.id", result?.shardId ?? "");
        span.setAttribute("messaging.message.id", result?.sequenceNumber ?? "");
      } else {
        span.setAttribute("error.type", result.errorCode);
        if (isInjected(result)) span.setAttribute(FAULT_INJECTED, true);
        span.setStatus({ code: SpanStatusCode.ERROR, message: result.errorCode });
      }
      span.end();
    });
  }

  function failCreateSpans(spans: readonly Span[], err: unknown): void {
    const errorType = errorTypeOf(err);
    const injected = isInjected(err);
    for (const span of spans) {
      span.setAttribute("error.type", errorType);
      if (injected) span.setAttribute(FAULT_INJECTED, true);
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
      span.end();
    }
  }

  function countFailure(ref: StreamRef, count: number, err: unknown): void {
    const streamName = streamNameOf(ref);
    if (streamName !== undefined && confirmsStream(err)) streamLabels.confirm(streamName);
    failed.add(count, {
      "messaging.destination.name": streamLabels.label(streamName),
      "error.type": errorTypeOf(err),
      ...(isInjected(err) ? INJECTED : {}),
    });
  }

  /** Create spans and record counts around every call that writes records. */
  const outer = (backend: Backend): Backend =>
    backendOf(async (operation, input, call) => {
      const writes = operation.writes;
      if (writes === undefined) return backend.call(operation, input, call);
      const ref = streamOf(operation.target(input));
      const entries = writes.records(input);
      const spans = startCreateSpans(spanStreamName(ref), entries);
      try {
        const out = await backend.call(operation, input, call);
        const results = writes.results(out);
        endCreateSpans(spans, results);
        countResults(ref, entries, results);
        return out;
      } catch (err) {
        failCreateSpans(spans, err);
        countFailure(ref, entries.length, err);
        throw err;
      }
    });

  const send = (backend: Backend, target: SendTarget): Backend => {
    const base: Attributes = { "kinesis_gateway.backend": target.backend };
    const clientAttributes: Attributes = {};
    if (target.region !== undefined) clientAttributes["cloud.region"] = target.region;
    if (target.server !== undefined) {
      clientAttributes["server.address"] = target.server.address;
      clientAttributes["server.port"] = target.server.port;
    }

    /** Times one call and records its outcome in the duration histogram. */
    async function timed<T>(operation: string, work: () => Promise<T>): Promise<T> {
      const started = performance.now();
      const attributes: Attributes = { ...base, "rpc.method": operation };
      try {
        return await work();
      } catch (err) {
        attributes["error.type"] = errorTypeOf(err);
        throw err;
      } finally {
        callDuration.record((performance.now() - started) / 1000, attributes);
      }
    }

    /** The send span around one write call. */
    async function sent<T>(
      ref: StreamRef,
      entries: readonly PutRecordsRequestEntry[],
      batch: boolean,
      operation: string,
      work: () => Promise<T>,
      describe: (out: T, span: Span) => void,
    ): Promise<T> {
      if (!options.tracing) return timed(operation, work);
      const links: Link[] = [];
      for (const entry of entries) {
        const linked = creationContexts.get(entry);
        if (linked === undefined) continue;
        if (!Array.isArray(linked)) {
          links.push({ context: linked });
        } else {
          for (const one of linked) {
            if (links.length < MAX_SEND_LINKS) links.push({ context: one });
          }
        }
      }
      if (links.length === 0 && callUnsampled()) return timed(operation, work);
      const stream = spanStreamName(ref);
      const attributes: Attributes = { ...destination(stream, "send"), ...clientAttributes };
      if (batch) attributes["messaging.batch.message_count"] = entries.length;
      const span = tracer.startSpan(`send ${stream}`, {
        kind: recordSpans ? SpanKind.CLIENT : SpanKind.PRODUCER,
        attributes,
        links,
      });
      try {
        const out = await timed(operation, work);
        // A forwarded write's answer carries AWS's request id.
        const requestId = (out as { requestId?: string | undefined }).requestId;
        if (requestId !== undefined) span.setAttribute("aws.request_id", requestId);
        describe(out, span);
        return out;
      } catch (err) {
        const errorType = errorTypeOf(err);
        span.setAttribute("error.type", errorType);
        if (isInjected(err)) span.setAttribute(FAULT_INJECTED, true);
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
        throw err;
      } finally {
        span.end();
      }
    }

    /** What the send span says of a write's outcome. */
    function describe(writes: Writes<unknown, unknown>, out: unknown, span: Span): void {
      const results = writes.results(out);
      if (writes.batch) {
        const failedRecordCount = results.filter((r) => r.errorCode !== undefined).length;
        if (failedRecordCount > 0) {
          span.setAttribute("aws.kinesis.failed_record_count", failedRecordCount);
        }
      } else if (!recordSpans) {
        span.setAttribute("messaging.destination.partition.id", results[0]?.shardId ?? "");
        span.setAttribute("messaging.message.id", results[0]?.sequenceNumber ?? "");
      }
    }

    return backendOf((operation, input, call) => {
      const work = () => backend.call(operation, input, call);
      const writes = operation.writes;
      if (writes === undefined) return timed(operation.name, work);
      return sent(
        streamOf(operation.target(input)),
        writes.records(input),
        writes.batch,
        operation.name,
        work,
        (out, span) => describe(writes as Writes<unknown, unknown>, out, span),
      );
    });
  };

  const produced = (ref: StreamRef, entries: readonly PutRecordsRequestEntry[]) => {
    const spans = startCreateSpans(spanStreamName(ref), entries);
    // Counted together once every record has its outcome: one counter update
    // per shard and error type rather than one per record.
    const results: PutRecordsResultEntry[] = new Array(entries.length);
    let waiting = entries.length;
    return (index: number, result: PutRecordsResultEntry) => {
      const span = spans[index];
      if (span !== undefined) endCreateSpans([span], [result]);
      results[index] = result;
      if (--waiting === 0) countResults(ref, entries, results);
    };
  };

  const carries = (carrier: PutRecordsRequestEntry, carried: readonly PutRecordsRequestEntry[]) => {
    if (!recordSpans) return;
    const contexts: SpanContext[] = [];
    for (const entry of carried) {
      const linked = creationContexts.get(entry);
      if (linked !== undefined && !Array.isArray(linked)) contexts.push(linked);
    }
    if (contexts.length > 0) creationContexts.set(carrier, contexts);
  };

  return { outer, send, produced, carries };
}
