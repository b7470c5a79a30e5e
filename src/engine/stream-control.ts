import { KinesisError } from "../kinesis/errors.ts";
import {
  MAX_LIST_TAGS_LIMIT,
  MAX_RETENTION_HOURS,
  MAX_TAGS_PER_STREAM,
  MIN_RETENTION_HOURS,
} from "../kinesis/limits.ts";
import type { ListTagsInput, ListTagsOutput, StreamStatus } from "../kinesis/types.ts";
import { pageSize } from "./page-token.ts";
import type { StreamEncryption, StreamState } from "./stream.ts";

/** A stream's status at `nowMs`; see {@link StreamState} for how it follows from the clock. */
export function streamStatus(stream: StreamState, nowMs: number): StreamStatus {
  if (stream.deletingUntilMs !== undefined) return "DELETING";
  if (nowMs < stream.activeAtMs) return "CREATING";
  return isUpdating(stream, nowMs) ? "UPDATING" : "ACTIVE";
}

function isUpdating(stream: StreamState, nowMs: number): boolean {
  return stream.updatingUntilMs !== undefined && nowMs < stream.updatingUntilMs;
}

/**
 * The encryption in effect at `nowMs`: the one before a change while the
 * stream is UPDATING, the new one after. Writes answer and records carry it.
 */
export function encryptionOf(stream: StreamState, nowMs: number): StreamEncryption {
  return isUpdating(stream, nowMs) ? stream.encryptionBefore : stream.encryption;
}

/** Applies Start/StopStreamEncryption: see {@link beginUpdate}. */
export function changeEncryption(
  stream: StreamState,
  encryption: StreamEncryption,
  nowMs: number,
  transitionDelayMs: number,
): void {
  beginUpdate(stream, nowMs, transitionDelayMs);
  stream.encryption = encryption;
}

/**
 * Starts a change that keeps the stream UPDATING for `transitionDelayMs`
 * (an encryption, capacity mode or warm throughput change): the stream must
 * be ACTIVE (AWS lists ResourceInUseException; its text is not documented,
 * so this one is ours in the engine's wording). The encryption in effect
 * stays so while UPDATING.
 */
export function beginUpdate(stream: StreamState, nowMs: number, transitionDelayMs: number): void {
  assertStreamActiveForChange(stream, nowMs);
  stream.encryptionBefore = stream.encryption;
  stream.updatingUntilMs = nowMs + transitionDelayMs;
}

/**
 * Throws ResourceInUseException unless the stream is ACTIVE, as a change of
 * its settings needs it, whether or not the change makes it UPDATING.
 */
export function assertStreamActiveForChange(stream: StreamState, nowMs: number): void {
  if (streamStatus(stream, nowMs) !== "ACTIVE") {
    throw new KinesisError(
      "ResourceInUseException",
      `Stream ${stream.name} under account ${stream.accountId} is not currently ACTIVE.`,
    );
  }
}

/**
 * Throws ResourceInUseException unless the stream takes reads, writes and
 * changes: ACTIVE or UPDATING. The wording is kinesis-mock's check with
 * AWS's way of naming a stream; AWS's own text is not documented.
 */
export function assertStreamActive(stream: StreamState, nowMs: number): void {
  const status = streamStatus(stream, nowMs);
  if (status !== "ACTIVE" && status !== "UPDATING") {
    throw new KinesisError(
      "ResourceInUseException",
      `Stream ${stream.name} under account ${stream.accountId} is not currently ACTIVE or UPDATING.`,
    );
  }
}

/**
 * Applies Increase/DecreaseStreamRetentionPeriod, with the texts kinesalite
 * took from AWS (its 168 h maximum raised to today's 8,760 h).
 */
export function changeRetention(
  stream: StreamState,
  hours: number,
  direction: "increase" | "decrease",
): void {
  if (hours < MIN_RETENTION_HOURS) {
    throw invalidArgument(
      `Minimum allowed retention period is ${MIN_RETENTION_HOURS} hours. ` +
        `Requested retention period (${hours} hours) is too short.`,
    );
  }
  if (hours > MAX_RETENTION_HOURS) {
    throw invalidArgument(
      `Maximum allowed retention period is ${MAX_RETENTION_HOURS} hours. ` +
        `Requested retention period (${hours} hours) is too long.`,
    );
  }
  const current = stream.retentionHours;
  if (direction === "increase" && hours < current) {
    throw invalidArgument(
      `Requested retention period (${hours} hours) for stream ${stream.name} can not be shorter ` +
        `than existing retention period (${current} hours). Use DecreaseRetentionPeriod API.`,
    );
  }
  if (direction === "decrease" && hours > current) {
    throw invalidArgument(
      `Requested retention period (${hours} hours) for stream ${stream.name} can not be longer ` +
        `than existing retention period (${current} hours). Use IncreaseRetentionPeriod API.`,
    );
  }
  stream.retentionHours = hours;
  stream.store.setRetentionHours(hours);
}

/**
 * What holds tags: a stream, or a consumer (its account is its stream's).
 * A consumer holds as many as a stream: TagResource shares AddTagsToStream's limits.
 */
export interface TagOwner {
  readonly kind: "stream" | "consumer";
  readonly name: string;
  readonly accountId: string;
  readonly tags: Map<string, string>;
}

/**
 * Adds or overwrites tags, all or none. The limit's text is kinesalite's
 * (from AWS when the limit was 10) with today's limit of 50; AWS's model
 * lists LimitExceededException for it.
 */
export function addTags(owner: TagOwner, tags: Readonly<Record<string, string>>): void {
  const entries = Object.entries(tags);
  const added = entries.filter(([key]) => !owner.tags.has(key)).length;
  if (owner.tags.size + added > MAX_TAGS_PER_STREAM) {
    throw new KinesisError(
      "LimitExceededException",
      `Failed to add tags to ${owner.kind} ${owner.name} under account ${owner.accountId} because ` +
        `a given ${owner.kind} cannot have more than ${MAX_TAGS_PER_STREAM} tags associated with it.`,
    );
  }
  for (const [key, value] of entries) owner.tags.set(key, value);
}

/** Removes tags by key; keys the resource does not have are ignored, as on AWS. */
export function removeTags(owner: TagOwner, keys: readonly string[]): void {
  for (const key of keys) owner.tags.delete(key);
}

/** A page of a stream's tags in key order, after `exclusiveStartTagKey`. */
export function listTags(stream: StreamState, input: ListTagsInput): ListTagsOutput {
  const after = input.exclusiveStartTagKey || undefined;
  const keys = [...stream.tags.keys()].filter((key) => after === undefined || key > after).sort();
  const limit = pageSize(input.limit, MAX_LIST_TAGS_LIMIT, MAX_LIST_TAGS_LIMIT);
  return {
    tags: keys.slice(0, limit).map((key) => ({ key, value: stream.tags.get(key)! })),
    hasMoreTags: keys.length > limit,
  };
}

function invalidArgument(message: string): KinesisError {
  return new KinesisError("InvalidArgumentException", message);
}
