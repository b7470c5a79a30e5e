/**
 * The Kinesis API operations in their wire shapes (PascalCase members), as
 * thin adapters over the same backend stack the gRPC services use: each
 * reads a request into the domain input, calls the backend, and writes the
 * domain output back out. Behaviour lives below, never here. Enum members
 * are passed on as the client sent them (hence the casts): the shared
 * validation refuses a value outside the enum, with AWS's text, before any
 * backend sees it.
 */
import type { Backend, CallContext } from "../backends/backend.ts";
import type * as kinesis from "../kinesis/types.ts";
import type { Members } from "./codec.ts";

export type Operation = (
  request: Members,
  backend: Backend,
  call: CallContext,
) => Promise<Record<string, unknown>>;

const streamRef = (m: Members): kinesis.StreamRef => ({
  streamName: m.string("StreamName"),
  streamArn: m.string("StreamARN"),
});

const entry = (m: Members): kinesis.PutRecordsRequestEntry => ({
  data: m.blob("Data") ?? null,
  partitionKey: m.string("PartitionKey") ?? null,
  explicitHashKey: m.string("ExplicitHashKey"),
});

const shardOut = (s: kinesis.Shard) => ({
  ShardId: s.shardId,
  ParentShardId: s.parentShardId,
  AdjacentParentShardId: s.adjacentParentShardId,
  HashKeyRange: {
    StartingHashKey: s.hashKeyRange.startingHashKey,
    EndingHashKey: s.hashKeyRange.endingHashKey,
  },
  SequenceNumberRange: {
    StartingSequenceNumber: s.sequenceNumberRange.startingSequenceNumber,
    EndingSequenceNumber: s.sequenceNumberRange.endingSequenceNumber,
  },
});

const shardFilter = (f: Members | undefined): kinesis.ShardFilter | undefined =>
  f && {
    type: (f.string("Type") ?? null) as kinesis.ShardFilterType | null,
    shardId: f.string("ShardId"),
    timestamp: f.timestamp("Timestamp"),
  };

const retention = (m: Members): kinesis.RetentionPeriodInput => ({
  ...streamRef(m),
  retentionPeriodHours: m.integer("RetentionPeriodHours") ?? null,
});

export const operations: Readonly<Record<string, Operation>> = {
  async PutRecords(m, backend, call) {
    const out = await backend.putRecords(
      { ...streamRef(m), records: m.structures("Records", entry) ?? null },
      call,
    );
    return {
      FailedRecordCount: out.failedRecordCount,
      Records: out.records.map((r) => ({
        SequenceNumber: r.sequenceNumber,
        ShardId: r.shardId,
        ErrorCode: r.errorCode,
        ErrorMessage: r.errorMessage,
      })),
      EncryptionType: out.encryptionType,
    };
  },

  async PutRecord(m, backend, call) {
    const out = await backend.putRecord(
      {
        ...streamRef(m),
        ...entry(m),
        sequenceNumberForOrdering: m.string("SequenceNumberForOrdering"),
      },
      call,
    );
    return {
      ShardId: out.shardId,
      SequenceNumber: out.sequenceNumber,
      EncryptionType: out.encryptionType,
    };
  },

  async CreateStream(m, backend, call) {
    const details = m.structure("StreamModeDetails");
    // The details without their required mode are null, for validation to name.
    const mode = details === undefined ? undefined : (details.string("StreamMode") ?? null);
    await backend.createStream(
      {
        streamName: m.string("StreamName") ?? "",
        shardCount: m.integer("ShardCount"),
        streamMode: mode as kinesis.StreamMode | null | undefined,
        tags: m.stringMap("Tags"),
      },
      call,
    );
    return {};
  },

  async DeleteStream(m, backend, call) {
    await backend.deleteStream(
      { ...streamRef(m), enforceConsumerDeletion: m.boolean("EnforceConsumerDeletion") },
      call,
    );
    return {};
  },

  async ListStreams(m, backend, call) {
    const out = await backend.listStreams(
      {
        limit: m.integer("Limit"),
        exclusiveStartStreamName: m.string("ExclusiveStartStreamName"),
        nextToken: m.string("NextToken"),
      },
      call,
    );
    return {
      StreamNames: out.streamNames,
      HasMoreStreams: out.hasMoreStreams,
      NextToken: out.nextToken,
      StreamSummaries: out.streamSummaries.map((s) => ({
        StreamName: s.streamName,
        StreamARN: s.streamArn,
        StreamStatus: s.streamStatus,
        StreamModeDetails: { StreamMode: s.streamMode },
        StreamCreationTimestamp: s.streamCreationTimestamp,
      })),
    };
  },

  async DescribeStreamSummary(m, backend, call) {
    const s = await backend.describeStreamSummary(streamRef(m), call);
    return {
      StreamDescriptionSummary: {
        StreamName: s.streamName,
        StreamARN: s.streamArn,
        StreamStatus: s.streamStatus,
        StreamModeDetails: { StreamMode: s.streamMode },
        RetentionPeriodHours: s.retentionPeriodHours,
        StreamCreationTimestamp: s.streamCreationTimestamp,
        EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
        EncryptionType: s.encryptionType,
        KeyId: s.keyId,
        OpenShardCount: s.openShardCount,
        ConsumerCount: s.consumerCount,
      },
    };
  },

  async DescribeStream(m, backend, call) {
    const d = await backend.describeStream(
      {
        ...streamRef(m),
        limit: m.integer("Limit"),
        exclusiveStartShardId: m.string("ExclusiveStartShardId"),
      },
      call,
    );
    return {
      StreamDescription: {
        StreamName: d.streamName,
        StreamARN: d.streamArn,
        StreamStatus: d.streamStatus,
        StreamModeDetails: { StreamMode: d.streamMode },
        Shards: d.shards.map(shardOut),
        HasMoreShards: d.hasMoreShards,
        RetentionPeriodHours: d.retentionPeriodHours,
        StreamCreationTimestamp: d.streamCreationTimestamp,
        EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
        EncryptionType: d.encryptionType,
        KeyId: d.keyId,
      },
    };
  },

  async ListShards(m, backend, call) {
    const out = await backend.listShards(
      {
        ...streamRef(m),
        nextToken: m.string("NextToken"),
        exclusiveStartShardId: m.string("ExclusiveStartShardId"),
        maxResults: m.integer("MaxResults"),
        shardFilter: shardFilter(m.structure("ShardFilter")),
      },
      call,
    );
    return { Shards: out.shards.map(shardOut), NextToken: out.nextToken };
  },

  async GetShardIterator(m, backend, call) {
    const out = await backend.getShardIterator(
      {
        ...streamRef(m),
        shardId: m.string("ShardId") ?? null,
        shardIteratorType: (m.string("ShardIteratorType") ??
          null) as kinesis.ShardIteratorType | null,
        startingSequenceNumber: m.string("StartingSequenceNumber"),
        timestamp: m.timestamp("Timestamp"),
      },
      call,
    );
    return { ShardIterator: out.shardIterator };
  },

  async GetRecords(m, backend, call) {
    const out = await backend.getRecords(
      {
        shardIterator: m.string("ShardIterator") ?? null,
        limit: m.integer("Limit"),
        streamArn: m.string("StreamARN"),
      },
      call,
    );
    return {
      Records: out.records.map((r) => ({
        SequenceNumber: r.sequenceNumber,
        ApproximateArrivalTimestamp: r.approximateArrivalTimestamp,
        Data: r.data,
        PartitionKey: r.partitionKey,
        EncryptionType: r.encryptionType,
      })),
      NextShardIterator: out.nextShardIterator,
      MillisBehindLatest: out.millisBehindLatest,
    };
  },

  async IncreaseStreamRetentionPeriod(m, backend, call) {
    await backend.increaseStreamRetentionPeriod(retention(m), call);
    return {};
  },

  async DecreaseStreamRetentionPeriod(m, backend, call) {
    await backend.decreaseStreamRetentionPeriod(retention(m), call);
    return {};
  },

  async AddTagsToStream(m, backend, call) {
    await backend.addTagsToStream({ ...streamRef(m), tags: m.stringMap("Tags") ?? null }, call);
    return {};
  },

  async RemoveTagsFromStream(m, backend, call) {
    await backend.removeTagsFromStream(
      { ...streamRef(m), tagKeys: m.strings("TagKeys") ?? null },
      call,
    );
    return {};
  },

  async ListTagsForStream(m, backend, call) {
    const out = await backend.listTagsForStream(
      {
        ...streamRef(m),
        exclusiveStartTagKey: m.string("ExclusiveStartTagKey"),
        limit: m.integer("Limit"),
      },
      call,
    );
    return {
      Tags: out.tags.map((t) => ({ Key: t.key, Value: t.value })),
      HasMoreTags: out.hasMoreTags,
    };
  },

  async DescribeLimits(_m, backend, call) {
    const out = await backend.describeLimits(call);
    return {
      ShardLimit: out.shardLimit,
      OpenShardCount: out.openShardCount,
      OnDemandStreamCount: out.onDemandStreamCount,
      OnDemandStreamCountLimit: out.onDemandStreamCountLimit,
    };
  },
};
