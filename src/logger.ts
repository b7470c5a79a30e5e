/**
 * Structured JSON logs (pino); human-readable when stdout is a terminal.
 * Callers never log record data, partition keys, tokens or credentials.
 */
import { trace } from "@opentelemetry/api";
import { type Logger, type LoggerOptions as PinoOptions, pino } from "pino";
import pretty from "pino-pretty";

/** What the log says once the gateway serves: tools wait for it, and read `url` and `port`. */
export const LISTENING = "kinesis-gateway listening";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface LoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Pretty output for people. Default: whether stdout is a terminal. */
  pretty?: boolean;
  /** Where JSON lines go. Default: stdout. */
  destination?: { write(line: string): void } | undefined;
}

/** `trace_id` and `span_id` of the active span, when there is one. */
function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan()?.spanContext();
  return span === undefined ? {} : { trace_id: span.traceId, span_id: span.spanId };
}

/** The longest error message or stack a log line carries: an error can quote what a client sent. */
const MAX_ERROR_TEXT_LENGTH = 2_048;

const bounded = (text: unknown) =>
  typeof text === "string" && text.length > MAX_ERROR_TEXT_LENGTH
    ? `${text.slice(0, MAX_ERROR_TEXT_LENGTH)}… (${text.length - MAX_ERROR_TEXT_LENGTH} more characters)`
    : text;

/** pino's error serializer, with the message and stack bounded. */
function boundedError(err: unknown): unknown {
  const serialized = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (serialized === null || typeof serialized !== "object") return serialized;
  return { ...serialized, message: bounded(serialized.message), stack: bounded(serialized.stack) };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  const common: PinoOptions = { level, mixin: traceFields, serializers: { err: boundedError } };
  return usePretty
    ? pino(common, pretty({ colorize: true, ignore: "pid,hostname", sync: true }))
    : pino({ ...common, base: { service: "kinesis-gateway" } }, options.destination);
}

/** A log call at a fixed level: `(fields, message)`. */
export type LogLine = (fields: Record<string, unknown>, message: string) => void;

/**
 * A log line that repeats at most `maxPerWindow` times in each
 * `windowMs` (per message): what one client's requests can make the
 * gateway log stays bounded however many it sends. The first line after a
 * quiet spell says how many were left out (`suppressed`).
 */
export function rateLimitedLog(
  line: LogLine,
  maxPerWindow = 10,
  windowMs = 10_000,
  now: () => number = Date.now,
): LogLine {
  const windows = new Map<string, { startMs: number; logged: number; suppressed: number }>();
  return (fields, message) => {
    const nowMs = now();
    let window = windows.get(message);
    if (window === undefined || nowMs - window.startMs >= windowMs) {
      const suppressed = window?.suppressed ?? 0;
      window = { startMs: nowMs, logged: 0, suppressed: 0 };
      windows.set(message, window);
      if (suppressed > 0) fields = { ...fields, suppressed };
    }
    if (window.logged >= maxPerWindow) {
      window.suppressed++;
      return;
    }
    window.logged++;
    line(fields, message);
  };
}
