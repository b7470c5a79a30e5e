import { MIN_BILLING_COMMITMENT_MS } from "../kinesis/limits.ts";
import type {
  AccountSettingsOutput,
  BillingCommitmentStatus,
  MinimumThroughputBillingCommitment,
} from "../kinesis/types.ts";

/**
 * The account's settings (DescribeAccountSettings, UpdateAccountSettings):
 * today its minimum throughput billing commitment, which makes its on-demand
 * streams "On-demand Advantage" ones — warm throughput, 50 consumers. The
 * engine is one account, so this is one object.
 *
 * The rules are the AWS model's (`MinimumThroughputBillingCommitmentInput`):
 * a commitment lasts at least 24 hours; disabling it earlier schedules its
 * end at the earliest allowed end (ENABLED_UNTIL_EARLIEST_ALLOWED_END, still
 * in effect until then) rather than failing; enabling it again before then
 * cancels the scheduled end. Like a stream's status, the end follows from the
 * clock.
 */
export interface AccountSettings {
  describe(nowMs: number): AccountSettingsOutput;
  /** Enables or disables the commitment; its settings afterwards. */
  update(status: "ENABLED" | "DISABLED", nowMs: number): AccountSettingsOutput;
  /** Whether the commitment holds at `nowMs`: enabled, or disabled but not yet ended. */
  commitmentInEffect(nowMs: number): boolean;
  /** What a data dir keeps of them. */
  saved(): SavedAccountSettings;
}

/** The settings as a data dir keeps them (`snapshot.ts`). */
export interface SavedAccountSettings {
  readonly status: BillingCommitmentStatus;
  readonly startedAtMs?: number | undefined;
  readonly endedAtMs?: number | undefined;
  readonly earliestAllowedEndAtMs?: number | undefined;
}

export function createAccountSettings(saved?: SavedAccountSettings): AccountSettings {
  let status: BillingCommitmentStatus = saved?.status ?? "DISABLED";
  let startedAtMs = saved?.startedAtMs;
  let endedAtMs = saved?.endedAtMs;
  let earliestAllowedEndAtMs = saved?.earliestAllowedEndAtMs;

  /** Ends a scheduled end whose time has come. */
  function settle(nowMs: number): void {
    if (status === "ENABLED_UNTIL_EARLIEST_ALLOWED_END" && nowMs >= earliestAllowedEndAtMs!) {
      status = "DISABLED";
      endedAtMs = earliestAllowedEndAtMs;
    }
  }

  function describe(nowMs: number): AccountSettingsOutput {
    settle(nowMs);
    const commitment: MinimumThroughputBillingCommitment = { status };
    if (startedAtMs !== undefined) commitment.startedAt = new Date(startedAtMs);
    if (endedAtMs !== undefined) commitment.endedAt = new Date(endedAtMs);
    if (status !== "DISABLED") commitment.earliestAllowedEndAt = new Date(earliestAllowedEndAtMs!);
    return { minimumThroughputBillingCommitment: commitment };
  }

  return {
    describe,

    update(wanted, nowMs) {
      settle(nowMs);
      if (wanted === "ENABLED") {
        if (status === "DISABLED") {
          startedAtMs = nowMs;
          endedAtMs = undefined;
          earliestAllowedEndAtMs = nowMs + MIN_BILLING_COMMITMENT_MS;
        }
        // Enabled again before its scheduled end: the end is cancelled.
        status = "ENABLED";
      } else if (status === "ENABLED") {
        if (nowMs < earliestAllowedEndAtMs!) status = "ENABLED_UNTIL_EARLIEST_ALLOWED_END";
        else {
          status = "DISABLED";
          endedAtMs = nowMs;
        }
      }
      return describe(nowMs);
    },

    commitmentInEffect(nowMs) {
      settle(nowMs);
      return status !== "DISABLED";
    },

    saved: () => ({ status, startedAtMs, endedAtMs, earliestAllowedEndAtMs }),
  };
}
