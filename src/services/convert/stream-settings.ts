/**
 * StreamService's proto mappings for a stream's settings: its retention
 * period, its encryption, its shard-level metrics and its maximum record
 * size. Increase and Decrease, Start and Stop, Enable and Disable each take
 * the same members, so each pair shares one mapping.
 */
import { EncryptionType } from "../../gen/kinesis/gateway/v1/common_pb.ts";
import {
  MetricsName,
  type UpdateMaxRecordSizeRequest,
} from "../../gen/kinesis/gateway/v1/stream_pb.ts";
import type * as kinesis from "../../kinesis/types.ts";
import type { ProtoMapping } from "../unary.ts";
import {
  enumFromProto,
  noAnswer,
  optional,
  required,
  type StreamRefMessage,
  streamRefFromProto,
} from "./common.ts";

/** Each shard-level metric's proto value, in the AWS model's order. */
const metricValues: Readonly<Record<kinesis.MetricsName, MetricsName>> = {
  IncomingBytes: MetricsName.INCOMING_BYTES,
  IncomingRecords: MetricsName.INCOMING_RECORDS,
  OutgoingBytes: MetricsName.OUTGOING_BYTES,
  OutgoingRecords: MetricsName.OUTGOING_RECORDS,
  WriteProvisionedThroughputExceeded: MetricsName.WRITE_PROVISIONED_THROUGHPUT_EXCEEDED,
  ReadProvisionedThroughputExceeded: MetricsName.READ_PROVISIONED_THROUGHPUT_EXCEEDED,
  IteratorAgeMilliseconds: MetricsName.ITERATOR_AGE_MILLISECONDS,
  ALL: MetricsName.ALL,
};

const metricNames: Readonly<Record<number, kinesis.MetricsName>> = Object.fromEntries(
  Object.entries(metricValues).map(([name, value]) => [value, name as kinesis.MetricsName]),
);

/**
 * A value the enum does not name, UNSPECIFIED included, passes as its
 * decimal text (as `enumFromProto` has it): validation then refuses the list
 * with AWS's text.
 */
const metricsFromProto = (values: readonly number[]): string[] =>
  values.map((value) => metricNames[value] ?? String(value));

/** A metric an upstream names that this enum does not (a newer one) is UNSPECIFIED. */
export const metricsToProto = (names: readonly string[]): MetricsName[] =>
  names.map((name) => metricValues[name as kinesis.MetricsName] ?? MetricsName.UNSPECIFIED);

/** `EnhancedMetrics` as describes answer them. */
export const enhancedMonitoringToProto = (metrics: readonly kinesis.EnhancedMetrics[]) =>
  metrics.map((m) => ({ shardLevelMetrics: metricsToProto(m.shardLevelMetrics) }));

export const retentionPeriodMapping: ProtoMapping<
  "IncreaseStreamRetentionPeriod" | "DecreaseStreamRetentionPeriod",
  StreamRefMessage & { retentionPeriodHours: number },
  object
> = {
  // 0 passes as 0: the engine's (and AWS's) answer then names the period sent.
  fromProto: (req) => ({
    ...streamRefFromProto(req),
    retentionPeriodHours: req.retentionPeriodHours,
  }),
  toProto: noAnswer,
};

const encryptionTypes: Readonly<Record<number, kinesis.EncryptionType>> = {
  [EncryptionType.NONE]: "NONE",
  [EncryptionType.KMS]: "KMS",
};

export const streamEncryptionMapping: ProtoMapping<
  "StartStreamEncryption" | "StopStreamEncryption",
  StreamRefMessage & { encryptionType: EncryptionType; keyId: string },
  object
> = {
  fromProto: (req) => ({
    ...streamRefFromProto(req),
    encryptionType: enumFromProto(req.encryptionType, encryptionTypes) ?? null,
    keyId: required(req.keyId),
  }),
  toProto: noAnswer,
};

export const enhancedMonitoringMapping: ProtoMapping<
  "EnableEnhancedMonitoring" | "DisableEnhancedMonitoring",
  StreamRefMessage & { shardLevelMetrics: MetricsName[] },
  {
    streamName: string;
    streamArn: string;
    currentShardLevelMetrics: MetricsName[];
    desiredShardLevelMetrics: MetricsName[];
  }
> = {
  fromProto: (req) => ({
    ...streamRefFromProto(req),
    shardLevelMetrics: metricsFromProto(req.shardLevelMetrics),
  }),
  toProto: (out) => ({
    streamName: out.streamName,
    streamArn: out.streamArn,
    currentShardLevelMetrics: metricsToProto(out.currentShardLevelMetrics),
    desiredShardLevelMetrics: metricsToProto(out.desiredShardLevelMetrics),
  }),
};

export const updateMaxRecordSizeMapping: ProtoMapping<
  "UpdateMaxRecordSize",
  UpdateMaxRecordSizeRequest,
  object
> = {
  // An unset size is null, as from a wire client that sent none: validation names it.
  fromProto: (req) => ({
    streamArn: optional(req.streamArn),
    maxRecordSizeInKiB: req.maxRecordSizeInKib === 0 ? null : req.maxRecordSizeInKib,
  }),
  toProto: noAnswer,
};
