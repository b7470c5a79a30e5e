/**
 * The Kinesis operations the gateway serves, one declarative entry each: its
 * domain types, its validation, what it addresses (the one answer routing,
 * stream access and telemetry all use), whether it writes records or pages
 * with tokens, and how the engine serves it. Backends and decorators are
 * generic over this table (`backends/backend.ts`), so adding an operation is
 * its entry here (with its AWS shape), its engine logic, and its proto and
 * proto mapping — nothing in between (README: "Adding an operation").
 */
import type { Engine } from "../engine/index.ts";
import { LARGEST_RECORD_BYTES } from "../kinesis/limits.ts";
import type * as k from "../kinesis/types.ts";
import * as v from "../kinesis/validation.ts";
import { empty, listOf, nothing, type Shape, shape, WHOLE } from "./aws-shape.ts";
import {
  accountSettingsOutput,
  childShard,
  consumerDescription,
  consumerRef,
  consumerShape,
  encryption,
  enhancedMonitoringInput,
  enhancedMonitoringOutput,
  kinesisRecord,
  putRecordsEntry,
  putRecordsResult,
  recordMembers,
  requestId,
  retentionPeriod,
  shardFilter,
  shardShape,
  streamDescription,
  streamDescriptionSummary,
  streamEncryptionInput,
  streamIdMember,
  streamModeDetails,
  streamRefMembers,
  streamSummary,
  tag,
  warmThroughputShape,
} from "./kinesis-shapes.ts";

/** Each operation's input and output in domain form. */
export interface OperationTypes {
  PutRecords: { input: k.PutRecordsInput; output: k.PutRecordsOutput };
  PutRecord: { input: k.PutRecordInput; output: k.PutRecordOutput };
  CreateStream: { input: k.CreateStreamInput; output: undefined };
  DeleteStream: { input: k.DeleteStreamInput; output: undefined };
  ListStreams: { input: k.ListStreamsInput; output: k.ListStreamsOutput };
  DescribeStreamSummary: { input: k.StreamRef; output: k.StreamDescriptionSummary };
  ListShards: { input: k.ListShardsInput; output: k.ListShardsOutput };
  DescribeStream: { input: k.DescribeStreamInput; output: k.StreamDescription };
  GetShardIterator: { input: k.GetShardIteratorInput; output: k.GetShardIteratorOutput };
  GetRecords: { input: k.GetRecordsInput; output: k.GetRecordsOutput };
  IncreaseStreamRetentionPeriod: { input: k.RetentionPeriodInput; output: undefined };
  DecreaseStreamRetentionPeriod: { input: k.RetentionPeriodInput; output: undefined };
  AddTagsToStream: { input: k.AddTagsInput; output: undefined };
  RemoveTagsFromStream: { input: k.RemoveTagsInput; output: undefined };
  ListTagsForStream: { input: k.ListTagsInput; output: k.ListTagsOutput };
  DescribeLimits: { input: k.DescribeLimitsInput; output: k.DescribeLimitsOutput };
  ListTagsForResource: { input: k.ListTagsForResourceInput; output: k.ListTagsForResourceOutput };
  StartStreamEncryption: { input: k.StreamEncryptionInput; output: undefined };
  StopStreamEncryption: { input: k.StreamEncryptionInput; output: undefined };
  EnableEnhancedMonitoring: {
    input: k.EnhancedMonitoringInput;
    output: k.EnhancedMonitoringOutput;
  };
  DisableEnhancedMonitoring: {
    input: k.EnhancedMonitoringInput;
    output: k.EnhancedMonitoringOutput;
  };
  TagResource: { input: k.TagResourceInput; output: undefined };
  UntagResource: { input: k.UntagResourceInput; output: undefined };
  PutResourcePolicy: { input: k.PutResourcePolicyInput; output: undefined };
  GetResourcePolicy: { input: k.ResourceRef; output: k.GetResourcePolicyOutput };
  DeleteResourcePolicy: { input: k.ResourceRef; output: undefined };
  RegisterStreamConsumer: {
    input: k.RegisterStreamConsumerInput;
    output: k.RegisterStreamConsumerOutput;
  };
  DeregisterStreamConsumer: { input: k.ConsumerRef; output: undefined };
  DescribeStreamConsumer: { input: k.ConsumerRef; output: k.DescribeStreamConsumerOutput };
  ListStreamConsumers: { input: k.ListStreamConsumersInput; output: k.ListStreamConsumersOutput };
  UpdateStreamMode: { input: k.UpdateStreamModeInput; output: undefined };
  UpdateStreamWarmThroughput: {
    input: k.UpdateStreamWarmThroughputInput;
    output: k.UpdateStreamWarmThroughputOutput;
  };
  DescribeAccountSettings: {
    input: k.DescribeAccountSettingsInput;
    output: k.AccountSettingsOutput;
  };
  UpdateAccountSettings: { input: k.UpdateAccountSettingsInput; output: k.AccountSettingsOutput };
  UpdateMaxRecordSize: { input: k.UpdateMaxRecordSizeInput; output: undefined };
  SplitShard: { input: k.SplitShardInput; output: undefined };
  MergeShards: { input: k.MergeShardsInput; output: undefined };
  UpdateShardCount: { input: k.UpdateShardCountInput; output: k.UpdateShardCountOutput };
}

export type OperationName = keyof OperationTypes;
export type InputOf<N extends OperationName> = OperationTypes[N]["input"];
export type OutputOf<N extends OperationName> = OperationTypes[N]["output"];

/**
 * What one call addresses. A stream by name or ARN — or the stream a page
 * token pages through, which the sealed token carries; a shard iterator,
 * which names its stream only when it is the engine's; the stream listing
 * (ListStreams: each backend lists its own, and a limited caller sees only
 * its streams); or the account as a whole — `changes` when the call changes
 * it (UpdateAccountSettings), which a caller limited to some streams may not.
 */
export type Target =
  | { readonly stream: k.StreamRef }
  | { readonly iterator: string; readonly streamArn?: string | undefined }
  | { readonly listing: k.ListStreamsInput }
  | { readonly account: true; readonly changes?: boolean };

/** The stream a target names; none for the others. */
export const streamOf = (target: Target): k.StreamRef => ("stream" in target ? target.stream : {});

/**
 * How an operation writes records: what the in-flight bound holds, what
 * retries send again, and what telemetry makes a span for.
 */
export interface Writes<I, O> {
  records(input: I): readonly k.PutRecordsRequestEntry[];
  /** One result per record, in order. */
  results(output: O): readonly k.PutRecordsResultEntry[];
  /**
   * A batch (PutRecords) answers record by record, so failed records are
   * retried on their own; a single write (PutRecord) fails or succeeds whole.
   */
  readonly batch: boolean;
}

export interface Operation<N extends OperationName = OperationName> {
  readonly name: N;
  /** Throws AWS's error for input no backend may see (`kinesis/validation.ts`). */
  validate(input: InputOf<N>): void;
  target(input: InputOf<N>): Target;
  /** Set for operations that write records. */
  readonly writes?: Writes<InputOf<N>, OutputOf<N>> | undefined;
  /**
   * Set for operations whose answers page with a `NextToken`; `sealsStream`
   * when the token stands for the stream too (AWS takes no name beside it).
   */
  readonly paging?: { readonly sealsStream: boolean } | undefined;
  /**
   * Its AWS JSON request and answer, which the wire API reads and writes and
   * the forward backend writes and reads (`aws-shape.ts`).
   */
  readonly aws: { readonly input: Shape<InputOf<N>>; readonly output: Shape<OutputOf<N>> };
  /** How the built-in engine serves it: writes answer once stored, so some are promises. */
  engine(engine: Engine, input: InputOf<N>): OutputOf<N> | Promise<OutputOf<N>>;
}

export type OperationTable = { readonly [N in OperationName]: Operation<N> };

const byRef = (input: k.StreamRef): Target => ({ stream: input });
/** A stream's or a consumer's ARN; a consumer's addresses its stream, for routing and stream access. */
const byResourceArn = (input: { resourceArn: string | null }): Target => ({
  stream: {
    streamArn:
      input.resourceArn === null
        ? undefined
        : (v.parseConsumerArn(input.resourceArn)?.streamArn ?? input.resourceArn),
  },
});
const account = (): Target => ({ account: true });
const accountChange = (): Target => ({ account: true, changes: true });
/** A stream's or a consumer's ARN alone (and the reserved `StreamId`). */
const resourceRef = shape<k.ResourceRef>({
  ResourceARN: ["resourceArn", "string", null],
  ...streamIdMember,
});
const nothingToCheck = () => {};

export const operations: OperationTable = {
  PutRecords: {
    name: "PutRecords",
    // Any stream's largest record here; the stream's own is checked where the stream is.
    validate: (input) => v.validatePutRecords(input, LARGEST_RECORD_BYTES),
    target: byRef,
    writes: {
      records: (input) => input.records ?? [],
      results: (output) => output.records,
      batch: true,
    },
    aws: {
      input: shape<k.PutRecordsInput>({
        ...streamRefMembers,
        Records: ["records", listOf(putRecordsEntry), null],
      }),
      output: shape<k.PutRecordsOutput>({
        FailedRecordCount: ["failedRecordCount", "integer", 0],
        Records: ["records", listOf(putRecordsResult), []],
        EncryptionType: ["encryptionType", encryption, "NONE"],
        $metadata: ["requestId", requestId],
      }),
    },
    engine: (engine, input) => engine.putRecordsStored(input),
  },
  PutRecord: {
    name: "PutRecord",
    validate: (input) => v.validatePutRecord(input, LARGEST_RECORD_BYTES),
    target: byRef,
    writes: {
      records: (input) => [input],
      results: (output) => [{ shardId: output.shardId, sequenceNumber: output.sequenceNumber }],
      batch: false,
    },
    aws: {
      input: shape<k.PutRecordInput>({
        ...streamRefMembers,
        ...recordMembers,
        SequenceNumberForOrdering: ["sequenceNumberForOrdering", "string"],
      }),
      output: shape<k.PutRecordOutput>({
        ShardId: ["shardId", "string", ""],
        SequenceNumber: ["sequenceNumber", "string", ""],
        EncryptionType: ["encryptionType", encryption, "NONE"],
        $metadata: ["requestId", requestId],
      }),
    },
    engine: (engine, input) => engine.putRecordStored(input),
  },
  CreateStream: {
    name: "CreateStream",
    validate: v.validateCreateStream,
    target: (input) => ({ stream: { streamName: input.streamName } }),
    aws: {
      input: shape<k.CreateStreamInput>({
        StreamName: ["streamName", "string", ""],
        ShardCount: ["shardCount", "integer"],
        StreamModeDetails: ["streamMode", streamModeDetails],
        Tags: ["tags", "stringMap"],
        WarmThroughputMiBps: ["warmThroughputMiBps", "integer"],
        MaxRecordSizeInKiB: ["maxRecordSizeInKiB", "integer"],
      }),
      output: nothing,
    },
    engine: (engine, input) => void engine.createStream(input),
  },
  DeleteStream: {
    name: "DeleteStream",
    validate: v.validateStreamRef,
    target: byRef,
    aws: {
      input: shape<k.DeleteStreamInput>({
        ...streamRefMembers,
        EnforceConsumerDeletion: ["enforceConsumerDeletion", "boolean"],
      }),
      output: nothing,
    },
    engine: (engine, input) => void engine.deleteStream(input),
  },
  ListStreams: {
    name: "ListStreams",
    validate: v.validateListStreams,
    target: (input) => ({ listing: input }),
    paging: { sealsStream: false },
    aws: {
      input: shape<k.ListStreamsInput>({
        Limit: ["limit", "integer"],
        ExclusiveStartStreamName: ["exclusiveStartStreamName", "string"],
        NextToken: ["nextToken", "string"],
      }),
      output: shape<k.ListStreamsOutput>({
        StreamNames: ["streamNames", "strings", []],
        HasMoreStreams: ["hasMoreStreams", "boolean", false],
        NextToken: ["nextToken", "string"],
        StreamSummaries: ["streamSummaries", listOf(streamSummary), []],
      }),
    },
    engine: (engine, input) => engine.listStreams(input),
  },
  DescribeStreamSummary: {
    name: "DescribeStreamSummary",
    validate: v.validateStreamRef,
    target: byRef,
    aws: {
      input: shape<k.StreamRef>(streamRefMembers),
      output: shape<k.StreamDescriptionSummary>({
        StreamDescriptionSummary: [WHOLE, streamDescriptionSummary],
      }),
    },
    engine: (engine, input) => engine.describeStreamSummary(input),
  },
  ListShards: {
    name: "ListShards",
    validate: v.validateListShards,
    // Validation lets a token come only without a name, so at most one is set.
    target: (input) => ({ stream: input.tokenStream ?? input }),
    paging: { sealsStream: true },
    aws: {
      input: shape<k.ListShardsInput>({
        ...streamRefMembers,
        NextToken: ["nextToken", "string"],
        ExclusiveStartShardId: ["exclusiveStartShardId", "string"],
        MaxResults: ["maxResults", "integer"],
        ShardFilter: ["shardFilter", shardFilter],
      }),
      output: shape<k.ListShardsOutput>({
        Shards: ["shards", listOf(shardShape), []],
        NextToken: ["nextToken", "string"],
      }),
    },
    engine: (engine, input) => engine.listShards(input),
  },
  DescribeStream: {
    name: "DescribeStream",
    validate: v.validateDescribeStream,
    target: byRef,
    aws: {
      input: shape<k.DescribeStreamInput>({
        ...streamRefMembers,
        Limit: ["limit", "integer"],
        ExclusiveStartShardId: ["exclusiveStartShardId", "string"],
      }),
      output: shape<k.StreamDescription>({ StreamDescription: [WHOLE, streamDescription] }),
    },
    engine: (engine, input) => engine.describeStream(input),
  },
  GetShardIterator: {
    name: "GetShardIterator",
    validate: v.validateGetShardIterator,
    target: byRef,
    aws: {
      input: shape<k.GetShardIteratorInput>({
        ...streamRefMembers,
        ShardId: ["shardId", "string", null],
        ShardIteratorType: ["shardIteratorType", "string", null],
        StartingSequenceNumber: ["startingSequenceNumber", "string"],
        Timestamp: ["timestamp", "timestamp"],
      }),
      output: shape<k.GetShardIteratorOutput>({
        ShardIterator: ["shardIterator", "string", ""],
      }),
    },
    engine: (engine, input) => engine.getShardIterator(input),
  },
  GetRecords: {
    name: "GetRecords",
    validate: v.validateGetRecords,
    target: (input) => ({ iterator: input.shardIterator ?? "", streamArn: input.streamArn }),
    aws: {
      input: shape<k.GetRecordsInput>({
        ShardIterator: ["shardIterator", "string", null],
        Limit: ["limit", "integer"],
        StreamARN: ["streamArn", "string"],
        ...streamIdMember,
      }),
      output: shape<k.GetRecordsOutput>({
        Records: ["records", listOf(kinesisRecord), []],
        NextShardIterator: ["nextShardIterator", "string"],
        MillisBehindLatest: ["millisBehindLatest", "integer", 0],
        ChildShards: ["childShards", listOf(childShard)],
      }),
    },
    engine: (engine, input) => engine.getRecords(input),
  },
  IncreaseStreamRetentionPeriod: {
    name: "IncreaseStreamRetentionPeriod",
    validate: v.validateRetentionPeriod,
    target: byRef,
    aws: { input: retentionPeriod, output: nothing },
    engine: (engine, input) => void engine.increaseStreamRetentionPeriod(input),
  },
  DecreaseStreamRetentionPeriod: {
    name: "DecreaseStreamRetentionPeriod",
    validate: v.validateRetentionPeriod,
    target: byRef,
    aws: { input: retentionPeriod, output: nothing },
    engine: (engine, input) => void engine.decreaseStreamRetentionPeriod(input),
  },
  AddTagsToStream: {
    name: "AddTagsToStream",
    validate: v.validateAddTags,
    target: byRef,
    aws: {
      input: shape<k.AddTagsInput>({ ...streamRefMembers, Tags: ["tags", "stringMap", null] }),
      output: nothing,
    },
    engine: (engine, input) => void engine.addTagsToStream(input),
  },
  RemoveTagsFromStream: {
    name: "RemoveTagsFromStream",
    validate: v.validateRemoveTags,
    target: byRef,
    aws: {
      input: shape<k.RemoveTagsInput>({
        ...streamRefMembers,
        TagKeys: ["tagKeys", "strings", null],
      }),
      output: nothing,
    },
    engine: (engine, input) => void engine.removeTagsFromStream(input),
  },
  ListTagsForStream: {
    name: "ListTagsForStream",
    validate: v.validateListTags,
    target: byRef,
    aws: {
      input: shape<k.ListTagsInput>({
        ...streamRefMembers,
        ExclusiveStartTagKey: ["exclusiveStartTagKey", "string"],
        Limit: ["limit", "integer"],
      }),
      output: shape<k.ListTagsOutput>({
        Tags: ["tags", listOf(tag), []],
        HasMoreTags: ["hasMoreTags", "boolean", false],
      }),
    },
    engine: (engine, input) => engine.listTagsForStream(input),
  },
  DescribeLimits: {
    name: "DescribeLimits",
    validate: nothingToCheck,
    target: account,
    aws: {
      input: empty,
      output: shape<k.DescribeLimitsOutput>({
        ShardLimit: ["shardLimit", "integer", 0],
        OpenShardCount: ["openShardCount", "integer", 0],
        OnDemandStreamCount: ["onDemandStreamCount", "integer", 0],
        OnDemandStreamCountLimit: ["onDemandStreamCountLimit", "integer", 0],
      }),
    },
    engine: (engine) => engine.describeLimits(),
  },
  ListTagsForResource: {
    name: "ListTagsForResource",
    validate: v.validateListTagsForResource,
    target: byResourceArn,
    aws: {
      input: shape<k.ListTagsForResourceInput>({
        ResourceARN: ["resourceArn", "string", null],
        ...streamIdMember,
      }),
      output: shape<k.ListTagsForResourceOutput>({ Tags: ["tags", listOf(tag), []] }),
    },
    engine: (engine, input) => engine.listTagsForResource(input),
  },
  StartStreamEncryption: {
    name: "StartStreamEncryption",
    validate: v.validateStartStreamEncryption,
    target: byRef,
    aws: { input: streamEncryptionInput, output: nothing },
    engine: (engine, input) => void engine.startStreamEncryption(input),
  },
  StopStreamEncryption: {
    name: "StopStreamEncryption",
    validate: v.validateStreamEncryption,
    target: byRef,
    aws: { input: streamEncryptionInput, output: nothing },
    engine: (engine, input) => void engine.stopStreamEncryption(input),
  },
  EnableEnhancedMonitoring: {
    name: "EnableEnhancedMonitoring",
    validate: v.validateEnhancedMonitoring,
    target: byRef,
    aws: { input: enhancedMonitoringInput, output: enhancedMonitoringOutput },
    engine: (engine, input) => engine.enableEnhancedMonitoring(input),
  },
  DisableEnhancedMonitoring: {
    name: "DisableEnhancedMonitoring",
    validate: v.validateEnhancedMonitoring,
    target: byRef,
    aws: { input: enhancedMonitoringInput, output: enhancedMonitoringOutput },
    engine: (engine, input) => engine.disableEnhancedMonitoring(input),
  },
  TagResource: {
    name: "TagResource",
    validate: v.validateTagResource,
    target: byResourceArn,
    aws: {
      input: shape<k.TagResourceInput>({
        ResourceARN: ["resourceArn", "string", null],
        Tags: ["tags", "stringMap", null],
        ...streamIdMember,
      }),
      output: nothing,
    },
    engine: (engine, input) => void engine.tagResource(input),
  },
  UntagResource: {
    name: "UntagResource",
    validate: v.validateUntagResource,
    target: byResourceArn,
    aws: {
      input: shape<k.UntagResourceInput>({
        ResourceARN: ["resourceArn", "string", null],
        TagKeys: ["tagKeys", "strings", null],
        ...streamIdMember,
      }),
      output: nothing,
    },
    engine: (engine, input) => void engine.untagResource(input),
  },
  PutResourcePolicy: {
    name: "PutResourcePolicy",
    validate: v.validatePutResourcePolicy,
    target: byResourceArn,
    aws: {
      input: shape<k.PutResourcePolicyInput>({
        ResourceARN: ["resourceArn", "string", null],
        Policy: ["policy", "string", null],
        ...streamIdMember,
      }),
      output: nothing,
    },
    engine: (engine, input) => void engine.putResourcePolicy(input),
  },
  GetResourcePolicy: {
    name: "GetResourcePolicy",
    validate: v.validateResourceRef,
    target: byResourceArn,
    aws: {
      input: resourceRef,
      output: shape<k.GetResourcePolicyOutput>({ Policy: ["policy", "string"] }),
    },
    engine: (engine, input) => engine.getResourcePolicy(input),
  },
  DeleteResourcePolicy: {
    name: "DeleteResourcePolicy",
    validate: v.validateResourceRef,
    target: byResourceArn,
    aws: {
      input: resourceRef,
      output: nothing,
    },
    engine: (engine, input) => void engine.deleteResourcePolicy(input),
  },
  RegisterStreamConsumer: {
    name: "RegisterStreamConsumer",
    validate: v.validateRegisterStreamConsumer,
    target: (input) => ({ stream: { streamArn: input.streamArn ?? undefined } }),
    aws: {
      input: shape<k.RegisterStreamConsumerInput>({
        StreamARN: ["streamArn", "string", null],
        ConsumerName: ["consumerName", "string", null],
        Tags: ["tags", "stringMap"],
        ...streamIdMember,
      }),
      output: shape<k.RegisterStreamConsumerOutput>({ Consumer: ["consumer", consumerShape] }),
    },
    engine: (engine, input) => engine.registerStreamConsumer(input),
  },
  DeregisterStreamConsumer: {
    name: "DeregisterStreamConsumer",
    validate: v.validateConsumerRef,
    target: (input) => ({ stream: v.streamOfConsumerRef(input) }),
    aws: { input: consumerRef, output: nothing },
    engine: (engine, input) => void engine.deregisterStreamConsumer(input),
  },
  DescribeStreamConsumer: {
    name: "DescribeStreamConsumer",
    validate: v.validateConsumerRef,
    target: (input) => ({ stream: v.streamOfConsumerRef(input) }),
    aws: {
      input: consumerRef,
      output: shape<k.DescribeStreamConsumerOutput>({
        ConsumerDescription: ["consumerDescription", consumerDescription],
      }),
    },
    engine: (engine, input) => engine.describeStreamConsumer(input),
  },
  ListStreamConsumers: {
    name: "ListStreamConsumers",
    validate: v.validateListStreamConsumers,
    target: (input) => ({ stream: { streamArn: input.streamArn ?? undefined } }),
    // AWS takes the stream's ARN beside a token, so the token need not stand for it.
    paging: { sealsStream: false },
    aws: {
      input: shape<k.ListStreamConsumersInput>({
        StreamARN: ["streamArn", "string", null],
        NextToken: ["nextToken", "string"],
        MaxResults: ["maxResults", "integer"],
        StreamCreationTimestamp: ["streamCreationTimestamp", "timestamp"],
        ...streamIdMember,
      }),
      output: shape<k.ListStreamConsumersOutput>({
        Consumers: ["consumers", listOf(consumerShape), []],
        NextToken: ["nextToken", "string"],
      }),
    },
    engine: (engine, input) => engine.listStreamConsumers(input),
  },
  UpdateStreamMode: {
    name: "UpdateStreamMode",
    validate: v.validateUpdateStreamMode,
    target: (input) => ({ stream: { streamArn: input.streamArn ?? undefined } }),
    aws: {
      input: shape<k.UpdateStreamModeInput>({
        StreamARN: ["streamArn", "string", null],
        ...streamIdMember,
        StreamModeDetails: ["streamMode", streamModeDetails],
        WarmThroughputMiBps: ["warmThroughputMiBps", "integer"],
      }),
      output: nothing,
    },
    engine: (engine, input) => void engine.updateStreamMode(input),
  },
  UpdateStreamWarmThroughput: {
    name: "UpdateStreamWarmThroughput",
    validate: v.validateUpdateStreamWarmThroughput,
    target: byRef,
    aws: {
      input: shape<k.UpdateStreamWarmThroughputInput>({
        ...streamRefMembers,
        WarmThroughputMiBps: ["warmThroughputMiBps", "integer", null],
      }),
      output: shape<k.UpdateStreamWarmThroughputOutput>({
        StreamARN: ["streamArn", "string"],
        StreamName: ["streamName", "string"],
        WarmThroughput: ["warmThroughput", warmThroughputShape],
      }),
    },
    engine: (engine, input) => engine.updateStreamWarmThroughput(input),
  },
  DescribeAccountSettings: {
    name: "DescribeAccountSettings",
    validate: nothingToCheck,
    target: account,
    aws: { input: empty, output: accountSettingsOutput },
    engine: (engine) => engine.describeAccountSettings(),
  },
  UpdateAccountSettings: {
    name: "UpdateAccountSettings",
    validate: v.validateUpdateAccountSettings,
    target: accountChange,
    aws: {
      input: shape<k.UpdateAccountSettingsInput>({
        MinimumThroughputBillingCommitment: [
          "minimumThroughputBillingCommitment",
          shape<{ status: string | null }>({ Status: ["status", "string", null] }),
          null,
        ],
      }),
      output: accountSettingsOutput,
    },
    engine: (engine, input) => engine.updateAccountSettings(input),
  },
  UpdateMaxRecordSize: {
    name: "UpdateMaxRecordSize",
    validate: v.validateUpdateMaxRecordSize,
    target: (input) => ({ stream: { streamArn: input.streamArn } }),
    aws: {
      input: shape<k.UpdateMaxRecordSizeInput>({
        StreamARN: ["streamArn", "string"],
        ...streamIdMember,
        MaxRecordSizeInKiB: ["maxRecordSizeInKiB", "integer", null],
      }),
      output: nothing,
    },
    engine: (engine, input) => void engine.updateMaxRecordSize(input),
  },
  SplitShard: {
    name: "SplitShard",
    validate: v.validateSplitShard,
    target: byRef,
    aws: {
      input: shape<k.SplitShardInput>({
        ...streamRefMembers,
        ShardToSplit: ["shardToSplit", "string", null],
        NewStartingHashKey: ["newStartingHashKey", "string", null],
      }),
      output: nothing,
    },
    engine: (engine, input) => void engine.splitShard(input),
  },
  MergeShards: {
    name: "MergeShards",
    validate: v.validateMergeShards,
    target: byRef,
    aws: {
      input: shape<k.MergeShardsInput>({
        ...streamRefMembers,
        ShardToMerge: ["shardToMerge", "string", null],
        AdjacentShardToMerge: ["adjacentShardToMerge", "string", null],
      }),
      output: nothing,
    },
    engine: (engine, input) => void engine.mergeShards(input),
  },
  UpdateShardCount: {
    name: "UpdateShardCount",
    validate: v.validateUpdateShardCount,
    target: byRef,
    aws: {
      input: shape<k.UpdateShardCountInput>({
        ...streamRefMembers,
        TargetShardCount: ["targetShardCount", "integer", null],
        ScalingType: ["scalingType", "string", null],
      }),
      output: shape<k.UpdateShardCountOutput>({
        StreamName: ["streamName", "string", ""],
        StreamARN: ["streamArn", "string", ""],
        CurrentShardCount: ["currentShardCount", "integer", 0],
        TargetShardCount: ["targetShardCount", "integer", 0],
      }),
    },
    engine: (engine, input) => engine.updateShardCount(input),
  },
};

/** Every entry, for code that serves them all (the wire API, the facade). */
export const allOperations: readonly Operation[] = Object.values(operations) as Operation[];
