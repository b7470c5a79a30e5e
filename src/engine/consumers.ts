import { KinesisError } from "../kinesis/errors.ts";
import {
  MAX_CONSUMERS_PER_STREAM,
  MAX_CREATING_CONSUMERS,
  MAX_LIST_STREAM_CONSUMERS,
} from "../kinesis/limits.ts";
import type { Consumer, ConsumerStatus, ListStreamConsumersInput } from "../kinesis/types.ts";
import { decodeTimedPageToken, encodeTimedPageToken, pageSize } from "./page-token.ts";
import type { StreamState } from "./stream.ts";

/**
 * An enhanced fan-out consumer registered with a stream. Like a stream's, its
 * status follows from the clock: CREATING until `activeAtMs`, then ACTIVE,
 * and DELETING from DeregisterStreamConsumer until `deletingUntilMs`, when it
 * is gone.
 */
export interface ConsumerState {
  readonly name: string;
  /** `<stream ARN>/consumer/<name>:<creation second>`, as AWS makes it. */
  readonly arn: string;
  /** The second its ARN carries (see {@link registerConsumer}). */
  readonly arnSeconds: number;
  readonly createdAtMs: number;
  readonly activeAtMs: number;
  deletingUntilMs: number | undefined;
  readonly tags: Map<string, string>;
  /** Set by PutResourcePolicy, as given; stored, never evaluated. */
  resourcePolicy: string | undefined;
}

/** ListStreamConsumers' page size when the request sets none (AWS API reference). */
const LIST_STREAM_CONSUMERS_DEFAULT_MAX_RESULTS = 100;

export function consumerStatus(consumer: ConsumerState, nowMs: number): ConsumerStatus {
  if (consumer.deletingUntilMs !== undefined) return "DELETING";
  return nowMs < consumer.activeAtMs ? "CREATING" : "ACTIVE";
}

export function consumerOutput(consumer: ConsumerState, nowMs: number): Consumer {
  return {
    consumerName: consumer.name,
    consumerArn: consumer.arn,
    consumerStatus: consumerStatus(consumer, nowMs),
    consumerCreationTimestamp: new Date(consumer.createdAtMs),
  };
}

/** Drops the stream's consumers whose DELETING time is over. */
export function removeDeregisteredConsumers(stream: StreamState, nowMs: number): void {
  for (const [name, consumer] of stream.consumers) {
    if (consumer.deletingUntilMs !== undefined && nowMs >= consumer.deletingUntilMs) {
      stream.consumers.delete(name);
      stream.removedConsumerSeconds.set(name, consumer.arnSeconds);
    }
  }
}

/**
 * The second a new consumer's ARN carries: now's, unless a removed consumer
 * of the name carried it or a later one — then the second after, so that no
 * two consumers ever share an ARN (as for streams, `NewStream.incarnationSeconds`).
 */
function arnSecondsFor(stream: StreamState, name: string, nowMs: number): number {
  const nowSeconds = Math.floor(nowMs / 1000);
  // The clock never runs back, so what it has passed can be forgotten.
  for (const [removed, seconds] of stream.removedConsumerSeconds) {
    if (seconds < nowSeconds) stream.removedConsumerSeconds.delete(removed);
  }
  const removed = stream.removedConsumerSeconds.get(name);
  return removed === undefined ? nowSeconds : removed + 1;
}

/**
 * Registers a consumer, CREATING for `transitionDelayMs`. Its ARN carries its
 * creation second, so a consumer registered again under a name gets another
 * ARN (AWS API reference, `Consumer.ConsumerARN`); within one second, the
 * next second ({@link arnSecondsFor}). `maxConsumers` is the stream's limit,
 * which the account's billing commitment raises for on-demand streams.
 */
export function registerConsumer(
  stream: StreamState,
  name: string,
  tags: Readonly<Record<string, string>>,
  nowMs: number,
  transitionDelayMs: number,
  maxConsumers: number = MAX_CONSUMERS_PER_STREAM,
): ConsumerState {
  removeDeregisteredConsumers(stream, nowMs);
  // A DELETING consumer still holds its name. AWS's texts for this and the
  // limit are not documented; these name the consumer, stream and account as
  // AWS's other texts do.
  if (stream.consumers.has(name)) {
    throw new KinesisError(
      "ResourceInUseException",
      `Consumer ${name} under stream ${stream.name} under account ${stream.accountId} already exists.`,
    );
  }
  if (stream.consumers.size >= maxConsumers) {
    throw new KinesisError(
      "LimitExceededException",
      `Stream ${stream.name} under account ${stream.accountId} already has ` +
        `${stream.consumers.size} registered consumers, the most a stream may have ` +
        `(${maxConsumers}).`,
    );
  }
  // AWS counts them per account or per stream, it does not say which;
  // kinesis-mock counts per stream, and so does this, with its text.
  let creating = 0;
  for (const other of stream.consumers.values()) {
    if (consumerStatus(other, nowMs) === "CREATING") creating++;
  }
  if (creating >= MAX_CREATING_CONSUMERS) {
    throw new KinesisError(
      "LimitExceededException",
      `Only ${MAX_CREATING_CONSUMERS} consumers can be created at the same time`,
    );
  }
  const arnSeconds = arnSecondsFor(stream, name, nowMs);
  const consumer: ConsumerState = {
    name,
    arn: `${stream.arn}/consumer/${name}:${arnSeconds}`,
    arnSeconds,
    createdAtMs: nowMs,
    activeAtMs: nowMs + transitionDelayMs,
    deletingUntilMs: undefined,
    tags: new Map(Object.entries(tags)),
    resourcePolicy: undefined,
  };
  stream.consumers.set(name, consumer);
  return consumer;
}

/** What a consumer reference resolves to once validation checked it agrees with itself. */
export interface ConsumerNamed {
  readonly name: string;
  /** Set when the reference was the consumer's ARN: it must be this consumer's, not a predecessor's. */
  readonly arn?: string | undefined;
}

/** The stream's consumer a reference names, in whatever status, or ResourceNotFoundException. */
export function findConsumer(
  stream: StreamState,
  named: ConsumerNamed,
  nowMs: number,
): ConsumerState {
  removeDeregisteredConsumers(stream, nowMs);
  const consumer = stream.consumers.get(named.name);
  if (consumer === undefined || (named.arn !== undefined && named.arn !== consumer.arn)) {
    throw consumerNotFound(named.arn ?? named.name, stream);
  }
  return consumer;
}

/**
 * AWS's text is not documented; this one is in the words of its stream
 * not-found text, naming the consumer as the request did (ARN or name).
 */
export function consumerNotFound(consumer: string, stream: { name: string; accountId: string }) {
  return new KinesisError(
    "ResourceNotFoundException",
    `Consumer ${consumer} under stream ${stream.name} under account ${stream.accountId} not found.`,
  );
}

/** A page of the stream's consumers in name order, after the page its token ends. */
export function listConsumers(
  stream: StreamState,
  input: ListStreamConsumersInput,
  nowMs: number,
): { consumers: Consumer[]; nextToken?: string } {
  removeDeregisteredConsumers(stream, nowMs);
  let after: string | undefined;
  if (input.nextToken) {
    const [tokenStream, lastName] = decodeTimedPageToken(input.nextToken, 2, nowMs) as [
      string,
      string,
    ];
    // A token pages the stream it was issued for, not another one named beside it.
    if (tokenStream !== stream.arn) {
      throw new KinesisError("InvalidArgumentException", "Invalid NextToken.");
    }
    after = lastName;
  }
  const names = [...stream.consumers.keys()]
    .filter((name) => after === undefined || name > after)
    .sort();
  const limit = pageSize(
    input.maxResults,
    LIST_STREAM_CONSUMERS_DEFAULT_MAX_RESULTS,
    MAX_LIST_STREAM_CONSUMERS,
  );
  const page = names.slice(0, limit);
  const output: { consumers: Consumer[]; nextToken?: string } = {
    consumers: page.map((name) => consumerOutput(stream.consumers.get(name)!, nowMs)),
  };
  if (names.length > limit) {
    output.nextToken = encodeTimedPageToken([stream.arn, page.at(-1)!], nowMs);
  }
  return output;
}
