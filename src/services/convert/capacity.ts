/**
 * StreamService's proto mappings for capacity: a stream's mode and warm
 * throughput, and the account's settings (its billing commitment).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type MinimumThroughputBillingCommitmentSchema,
  MinimumThroughputBillingCommitmentStatus,
  type UpdateAccountSettingsRequest,
  type UpdateStreamModeRequest,
  type UpdateStreamWarmThroughputRequest,
  type UpdateStreamWarmThroughputResponseSchema,
} from "../../gen/kinesis/gateway/v1/stream_pb.ts";
import type * as kinesis from "../../kinesis/types.ts";
import type { ProtoMapping } from "../unary.ts";
import { enumFromProto, noAnswer, required, streamRefFromProto } from "./common.ts";
import { streamModes, warmThroughputToProto } from "./stream.ts";

export const updateStreamModeMapping: ProtoMapping<
  "UpdateStreamMode",
  UpdateStreamModeRequest,
  object
> = {
  fromProto: (req) => ({
    streamArn: required(req.streamArn),
    // No details: undefined; details without their mode: null. Validation names either.
    streamMode:
      req.streamModeDetails === undefined
        ? undefined
        : (enumFromProto(req.streamModeDetails.streamMode, streamModes) ?? null),
    warmThroughputMiBps: req.warmThroughputMibps,
  }),
  toProto: noAnswer,
};

export const updateStreamWarmThroughputMapping: ProtoMapping<
  "UpdateStreamWarmThroughput",
  UpdateStreamWarmThroughputRequest,
  MessageInitShape<typeof UpdateStreamWarmThroughputResponseSchema>
> = {
  fromProto: (req) => ({
    ...streamRefFromProto(req),
    warmThroughputMiBps: req.warmThroughputMibps,
  }),
  toProto: (out) => ({
    streamArn: out.streamArn ?? "",
    streamName: out.streamName ?? "",
    warmThroughput: warmThroughputToProto(out.warmThroughput),
  }),
};

const commitmentStatuses: Readonly<Record<number, kinesis.BillingCommitmentStatus>> = {
  [MinimumThroughputBillingCommitmentStatus.ENABLED]: "ENABLED",
  [MinimumThroughputBillingCommitmentStatus.DISABLED]: "DISABLED",
  [MinimumThroughputBillingCommitmentStatus.ENABLED_UNTIL_EARLIEST_ALLOWED_END]:
    "ENABLED_UNTIL_EARLIEST_ALLOWED_END",
};

const optionalTimestamp = (date: Date | undefined) =>
  date === undefined ? undefined : timestampFromDate(date);

/** Describe- and UpdateAccountSettingsResponse, which have the same member. */
interface AccountSettingsResponse {
  minimumThroughputBillingCommitment?: MessageInitShape<
    typeof MinimumThroughputBillingCommitmentSchema
  >;
}

function accountSettingsToProto(out: kinesis.AccountSettingsOutput): AccountSettingsResponse {
  const commitment = out.minimumThroughputBillingCommitment;
  if (commitment === undefined) return {};
  return {
    minimumThroughputBillingCommitment: {
      status: MinimumThroughputBillingCommitmentStatus[commitment.status],
      startedAt: optionalTimestamp(commitment.startedAt),
      endedAt: optionalTimestamp(commitment.endedAt),
      earliestAllowedEndAt: optionalTimestamp(commitment.earliestAllowedEndAt),
    },
  };
}

export const describeAccountSettingsMapping: ProtoMapping<
  "DescribeAccountSettings",
  object,
  AccountSettingsResponse
> = { fromProto: () => ({}), toProto: accountSettingsToProto };

export const updateAccountSettingsMapping: ProtoMapping<
  "UpdateAccountSettings",
  UpdateAccountSettingsRequest,
  AccountSettingsResponse
> = {
  fromProto: (req) => {
    const commitment = req.minimumThroughputBillingCommitment;
    return {
      // Unset is null, as from a wire client that sent none: validation names it.
      minimumThroughputBillingCommitment:
        commitment === undefined
          ? null
          : { status: enumFromProto(commitment.status, commitmentStatuses) ?? null },
    };
  },
  toProto: accountSettingsToProto,
};
