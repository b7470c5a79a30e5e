import type { ServiceImpl } from "@connectrpc/connect";
import type { Backend } from "../backends/backend.ts";
import type { StreamService } from "../gen/kinesis/gateway/v1/stream_pb.ts";
import { operations } from "../operations/table.ts";
import {
  addTagsToStreamMapping,
  createStreamMapping,
  deleteResourcePolicyMapping,
  deleteStreamMapping,
  describeAccountSettingsMapping,
  describeLimitsMapping,
  describeStreamMapping,
  describeStreamSummaryMapping,
  enhancedMonitoringMapping,
  getResourcePolicyMapping,
  listShardsMapping,
  listStreamsMapping,
  listTagsForResourceMapping,
  listTagsForStreamMapping,
  mergeShardsMapping,
  putResourcePolicyMapping,
  removeTagsFromStreamMapping,
  retentionPeriodMapping,
  splitShardMapping,
  streamEncryptionMapping,
  tagResourceMapping,
  untagResourceMapping,
  updateAccountSettingsMapping,
  updateMaxRecordSizeMapping,
  updateShardCountMapping,
  updateStreamModeMapping,
  updateStreamWarmThroughputMapping,
} from "./convert.ts";
import { unary } from "./unary.ts";

export function createStreamService(backend: Backend): ServiceImpl<typeof StreamService> {
  return {
    createStream: unary(backend, operations.CreateStream, createStreamMapping),
    deleteStream: unary(backend, operations.DeleteStream, deleteStreamMapping),
    listStreams: unary(backend, operations.ListStreams, listStreamsMapping),
    describeStreamSummary: unary(
      backend,
      operations.DescribeStreamSummary,
      describeStreamSummaryMapping,
    ),
    listShards: unary(backend, operations.ListShards, listShardsMapping),
    listTagsForResource: unary(backend, operations.ListTagsForResource, listTagsForResourceMapping),
    describeStream: unary(backend, operations.DescribeStream, describeStreamMapping),
    increaseStreamRetentionPeriod: unary(
      backend,
      operations.IncreaseStreamRetentionPeriod,
      retentionPeriodMapping,
    ),
    decreaseStreamRetentionPeriod: unary(
      backend,
      operations.DecreaseStreamRetentionPeriod,
      retentionPeriodMapping,
    ),
    addTagsToStream: unary(backend, operations.AddTagsToStream, addTagsToStreamMapping),
    removeTagsFromStream: unary(
      backend,
      operations.RemoveTagsFromStream,
      removeTagsFromStreamMapping,
    ),
    listTagsForStream: unary(backend, operations.ListTagsForStream, listTagsForStreamMapping),
    tagResource: unary(backend, operations.TagResource, tagResourceMapping),
    untagResource: unary(backend, operations.UntagResource, untagResourceMapping),
    putResourcePolicy: unary(backend, operations.PutResourcePolicy, putResourcePolicyMapping),
    getResourcePolicy: unary(backend, operations.GetResourcePolicy, getResourcePolicyMapping),
    deleteResourcePolicy: unary(
      backend,
      operations.DeleteResourcePolicy,
      deleteResourcePolicyMapping,
    ),
    startStreamEncryption: unary(
      backend,
      operations.StartStreamEncryption,
      streamEncryptionMapping,
    ),
    stopStreamEncryption: unary(backend, operations.StopStreamEncryption, streamEncryptionMapping),
    enableEnhancedMonitoring: unary(
      backend,
      operations.EnableEnhancedMonitoring,
      enhancedMonitoringMapping,
    ),
    disableEnhancedMonitoring: unary(
      backend,
      operations.DisableEnhancedMonitoring,
      enhancedMonitoringMapping,
    ),
    describeLimits: unary(backend, operations.DescribeLimits, describeLimitsMapping),
    updateStreamMode: unary(backend, operations.UpdateStreamMode, updateStreamModeMapping),
    updateStreamWarmThroughput: unary(
      backend,
      operations.UpdateStreamWarmThroughput,
      updateStreamWarmThroughputMapping,
    ),
    describeAccountSettings: unary(
      backend,
      operations.DescribeAccountSettings,
      describeAccountSettingsMapping,
    ),
    updateAccountSettings: unary(
      backend,
      operations.UpdateAccountSettings,
      updateAccountSettingsMapping,
    ),
    updateMaxRecordSize: unary(backend, operations.UpdateMaxRecordSize, updateMaxRecordSizeMapping),
    splitShard: unary(backend, operations.SplitShard, splitShardMapping),
    mergeShards: unary(backend, operations.MergeShards, mergeShardsMapping),
    updateShardCount: unary(backend, operations.UpdateShardCount, updateShardCountMapping),
  };
}
