/**
 * What a backend does: the Kinesis operations in domain form. The engine
 * backend serves them in process; the kinesis backend forwards them to AWS.
 * A backend throws `KinesisError` for every failure a caller should see.
 */
import type {
  CreateStreamInput,
  DeleteStreamInput,
  ListShardsInput,
  ListShardsOutput,
  ListStreamsInput,
  ListStreamsOutput,
  PutRecordInput,
  PutRecordOutput,
  PutRecordsInput,
  PutRecordsOutput,
  StreamDescriptionSummary,
  StreamRef,
} from "../kinesis/types.ts";

export interface Backend {
  /** `engine` or `kinesis`: shown in logs and used by routes. */
  readonly kind: string;
  /** Inputs are validated by the caller (`kinesis/validation.ts`) first. */
  putRecords(input: PutRecordsInput, signal: AbortSignal): Promise<PutRecordsOutput>;
  putRecord(input: PutRecordInput, signal: AbortSignal): Promise<PutRecordOutput>;
  createStream(input: CreateStreamInput, signal: AbortSignal): Promise<void>;
  deleteStream(input: DeleteStreamInput, signal: AbortSignal): Promise<void>;
  listStreams(input: ListStreamsInput, signal: AbortSignal): Promise<ListStreamsOutput>;
  describeStreamSummary(input: StreamRef, signal: AbortSignal): Promise<StreamDescriptionSummary>;
  listShards(input: ListShardsInput, signal: AbortSignal): Promise<ListShardsOutput>;
}
