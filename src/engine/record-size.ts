/**
 * A stream's maximum record size: what its writes are checked against, and
 * UpdateMaxRecordSize, which changes it.
 */
import type { PutRecordsRequestEntry } from "../kinesis/types.ts";
import { assertRecordsFitStream } from "../kinesis/validation.ts";
import type { StreamState } from "./stream.ts";
import { assertStreamActiveForChange } from "./stream-control.ts";

/** Refuses, before anything is written, records larger than `stream` takes (see `assertRecordsFitStream`). */
export function assertRecordsFit(
  stream: StreamState,
  records: readonly PutRecordsRequestEntry[],
  single: boolean,
): void {
  assertRecordsFitStream(records, single, stream.maxRecordSizeInKiB * 1024);
}

/**
 * Applies UpdateMaxRecordSize. The stream must be ACTIVE (AWS lists
 * ResourceInUseException, "the resource must be in the ACTIVE state"), and
 * the new size holds at once, without an UPDATING phase: AWS's API reference
 * answers an empty 200 and describes no transition, and its developer guide
 * presents the size as a setting one edits and saves
 * (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateMaxRecordSize.html,
 * https://docs.aws.amazon.com/streams/latest/dev/large-records.html).
 * Records already stored stay readable whatever the new size.
 */
export function changeMaxRecordSize(stream: StreamState, kib: number, nowMs: number): void {
  assertStreamActiveForChange(stream, nowMs);
  stream.maxRecordSizeInKiB = kib;
}
