/**
 * Structured JSON logs (pino); human-readable when stdout is a terminal.
 * Callers never log record data, partition keys, tokens or credentials.
 */
import { type Logger, pino } from "pino";
import pretty from "pino-pretty";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface LoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Pretty output for people. Default: whether stdout is a terminal. */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  return usePretty
    ? pino({ level }, pretty({ colorize: true, ignore: "pid,hostname", sync: true }))
    : pino({ level, base: { service: "kinesis-gateway" } });
}
