/**
 * What a backend does: the Kinesis operations in domain form. The engine
 * backend serves them in process; the kinesis backend forwards them to AWS.
 * A backend throws `KinesisError` for every failure a caller should see.
 */
import type { Principal } from "../auth/tokens.ts";
import { GatewayError } from "../kinesis/errors.ts";
import type {
  AddTagsInput,
  CreateStreamInput,
  DeleteStreamInput,
  DescribeLimitsOutput,
  DescribeStreamInput,
  GetRecordsInput,
  GetRecordsOutput,
  GetShardIteratorInput,
  GetShardIteratorOutput,
  ListShardsInput,
  ListShardsOutput,
  ListStreamsInput,
  ListStreamsOutput,
  ListTagsInput,
  ListTagsOutput,
  PutRecordInput,
  PutRecordOutput,
  PutRecordsInput,
  PutRecordsOutput,
  RemoveTagsInput,
  RetentionPeriodInput,
  StreamDescription,
  StreamDescriptionSummary,
  StreamRef,
} from "../kinesis/types.ts";

/** The caller's side of one call. */
export interface CallContext {
  /** Aborted when the caller cancels or its deadline passes. */
  readonly signal: AbortSignal;
  /** The caller's deadline in `Date.now()` milliseconds; undefined without one. */
  readonly deadline?: number | undefined;
  /** Who the caller is, when authentication is on: the streams it may use. */
  readonly principal?: Principal | undefined;
}

export interface Backend {
  /** Inputs are validated by the caller (`kinesis/validation.ts`) first. */
  putRecords(input: PutRecordsInput, call: CallContext): Promise<PutRecordsOutput>;
  putRecord(input: PutRecordInput, call: CallContext): Promise<PutRecordOutput>;
  createStream(input: CreateStreamInput, call: CallContext): Promise<void>;
  deleteStream(input: DeleteStreamInput, call: CallContext): Promise<void>;
  listStreams(input: ListStreamsInput, call: CallContext): Promise<ListStreamsOutput>;
  describeStreamSummary(input: StreamRef, call: CallContext): Promise<StreamDescriptionSummary>;
  listShards(input: ListShardsInput, call: CallContext): Promise<ListShardsOutput>;
  describeStream(input: DescribeStreamInput, call: CallContext): Promise<StreamDescription>;
  getShardIterator(
    input: GetShardIteratorInput,
    call: CallContext,
  ): Promise<GetShardIteratorOutput>;
  getRecords(input: GetRecordsInput, call: CallContext): Promise<GetRecordsOutput>;
  increaseStreamRetentionPeriod(input: RetentionPeriodInput, call: CallContext): Promise<void>;
  decreaseStreamRetentionPeriod(input: RetentionPeriodInput, call: CallContext): Promise<void>;
  addTagsToStream(input: AddTagsInput, call: CallContext): Promise<void>;
  removeTagsFromStream(input: RemoveTagsInput, call: CallContext): Promise<void>;
  listTagsForStream(input: ListTagsInput, call: CallContext): Promise<ListTagsOutput>;
  describeLimits(call: CallContext): Promise<DescribeLimitsOutput>;
}

/** A call context for work nobody waits on with a deadline (start-up, probes). */
export function backgroundCall(signal: AbortSignal = new AbortController().signal): CallContext {
  return { signal };
}

/**
 * Throws when nobody waits for the call's answer any more: the caller
 * cancelled, or its deadline passed (the body may have arrived after it). A
 * caller that gave up will retry, so nothing may be written on its behalf.
 */
export function assertCallerWaiting(call: CallContext): void {
  if (call.signal.aborted) {
    throw call.signal.reason instanceof Error
      ? call.signal.reason
      : new GatewayError("timeout", "The caller's deadline passed; nothing was done.");
  }
  if (call.deadline !== undefined && Date.now() >= call.deadline) {
    throw new GatewayError("timeout", "The caller's deadline passed; nothing was done.");
  }
}
