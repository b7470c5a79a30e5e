/**
 * Structured JSON logs (pino); human-readable when stdout is a terminal.
 * Callers never log record data, partition keys, tokens or credentials.
 */
import { trace } from "@opentelemetry/api";
import { type Logger, type LoggerOptions as PinoOptions, pino } from "pino";
import pretty from "pino-pretty";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface LoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Pretty output for people. Default: whether stdout is a terminal. */
  pretty?: boolean;
}

/** `trace_id` and `span_id` of the active span, when there is one. */
function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan()?.spanContext();
  return span === undefined ? {} : { trace_id: span.traceId, span_id: span.spanId };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  const common: PinoOptions = { level, mixin: traceFields };
  return usePretty
    ? pino(common, pretty({ colorize: true, ignore: "pid,hostname", sync: true }))
    : pino({ ...common, base: { service: "kinesis-gateway" } });
}
