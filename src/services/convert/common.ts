/**
 * What every service's proto mappings share. In proto3 an unset string is
 * empty and an unset number 0, so empty optional strings and zero counts
 * become `undefined` here.
 */
import type * as kinesis from "../../kinesis/types.ts";

export const optional = (value: string): string | undefined => (value === "" ? undefined : value);
export const optionalCount = (value: number): number | undefined =>
  value === 0 ? undefined : value;

/** A required string: unset is null, as from a wire client that sent none, which validation names. */
export const required = (value: string): string | null => (value === "" ? null : value);

/** The answer of an operation that answers nothing. */
export const noAnswer = (): object => ({});

/** A request's stream: by name, by ARN, or both. */
export interface StreamRefMessage {
  streamName: string;
  streamArn: string;
}

export function streamRefFromProto(req: StreamRefMessage): kinesis.StreamRef {
  return { streamName: optional(req.streamName), streamArn: optional(req.streamArn) };
}

/**
 * A proto enum value as the domain's string, undefined when unset (0). A
 * number the enum does not name (proto3 enums are open, so a client may send
 * any) passes as its decimal text, which no enum value set holds: validation
 * then refuses it with AWS's text, naming the number as the value sent.
 */
export function enumFromProto<T extends string>(
  value: number,
  names: Readonly<Record<number, T>>,
): T | undefined {
  if (value === 0) return undefined;
  return names[value] ?? (String(value) as T);
}
