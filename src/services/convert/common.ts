/**
 * What every service's proto mappings share. In proto3 an unset string is
 * empty and an unset number 0, so empty optional strings and zero counts
 * become `undefined` here.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { KinesisError } from "../../kinesis/errors.ts";
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

/** The seconds of 0001-01-01T00:00:00Z and of 9999-12-31T23:59:59Z, google.protobuf.Timestamp's range. */
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;

/**
 * An optional `google.protobuf.Timestamp` as a Date. One outside the range
 * the type allows (0001-01-01 to 9999-12-31, nanos 0 to 999,999,999) is no
 * date: it is refused with INVALID_ARGUMENT, as the wire API refuses a
 * timestamp that is not one, rather than becoming an Invalid Date that the
 * engine reads as absent and the forward backend would send upstream as
 * `NaN`, which is not JSON. The text is ours; `member` is the AWS member.
 */
export function optionalDate(timestamp: Timestamp | undefined, member: string): Date | undefined {
  if (timestamp === undefined) return undefined;
  const { seconds, nanos } = timestamp;
  if (
    seconds < MIN_TIMESTAMP_SECONDS ||
    seconds > MAX_TIMESTAMP_SECONDS ||
    nanos < 0 ||
    nanos > 999_999_999
  ) {
    throw new KinesisError(
      "SerializationException",
      `The value of '${member}' (seconds ${seconds}, nanos ${nanos}) is not a valid ` +
        "google.protobuf.Timestamp: seconds must be within 0001-01-01T00:00:00Z and " +
        "9999-12-31T23:59:59Z, nanos within 0 and 999,999,999.",
    );
  }
  return timestampDate(timestamp);
}
