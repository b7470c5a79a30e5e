/**
 * Forwards every operation to AWS Kinesis, or any endpoint that speaks its
 * API, through `@aws-sdk/client-kinesis`. Results pass through unchanged;
 * AWS errors keep their type and message; failures on the way there become
 * `GatewayError`s. Credentials come only from the SDK's default chain.
 */
import http from "node:http";
import https from "node:https";
import {
  AddTagsToStreamCommand,
  type PutRecordsResultEntry as AwsPutRecordsResultEntry,
  type Shard as AwsShard,
  CreateStreamCommand,
  DecreaseStreamRetentionPeriodCommand,
  DeleteStreamCommand,
  DescribeLimitsCommand,
  DescribeStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  IncreaseStreamRetentionPeriodCommand,
  KinesisClient,
  ListShardsCommand,
  ListStreamsCommand,
  ListTagsForStreamCommand,
  PutRecordCommand,
  PutRecordsCommand,
  RemoveTagsFromStreamCommand,
} from "@aws-sdk/client-kinesis";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import type { Logger } from "pino";
import { GatewayError, KinesisError } from "../kinesis/errors.ts";
import type * as kinesis from "../kinesis/types.ts";
import type { Backend, CallContext } from "./backend.ts";

export interface KinesisBackendOptions {
  /** AWS region; also picks the endpoint when `endpoint` is not set. */
  region: string;
  /** Any Kinesis-compatible endpoint (LocalStack, kinesis-mock); default: AWS's. */
  endpoint?: string | undefined;
  logger: Logger;
  /** Most sockets open to the endpoint at once. Default 64. */
  maxSockets?: number;
  /** How long connecting may take. Default 3 s. */
  connectTimeoutMs?: number;
  /** How long one AWS call may take in all. Default 10 s. */
  requestTimeoutMs?: number;
  /** Told when a call could not reach the endpoint (for readiness). */
  onUnreachable?: () => void;
}

export interface KinesisBackend extends Backend {
  /**
   * Whether the endpoint answers at all: any response from Kinesis, even an
   * error such as AccessDenied, means it is reachable.
   */
  reachable(signal: AbortSignal): Promise<boolean>;
  close(): void;
}

/**
 * The SDK's default credential chain (environment, shared config and SSO,
 * web identity, ECS and EKS Pod Identity, instance metadata). When it finds
 * nothing and a custom endpoint is set, signs with placeholder credentials,
 * which only emulators accept, and says so once.
 */
function credentialsFor(options: KinesisBackendOptions): AwsCredentialIdentityProvider {
  const chain = defaultProvider();
  let warned = false;
  return async (): Promise<AwsCredentialIdentity> => {
    try {
      return await chain();
    } catch (err) {
      if (options.endpoint === undefined) throw err;
      if (!warned) {
        warned = true;
        options.logger.warn(
          { endpoint: options.endpoint },
          "no AWS credentials found; signing with placeholder credentials, which only an emulator accepts",
        );
      }
      return { accessKeyId: "kinesis-gateway", secretAccessKey: "placeholder" };
    }
  };
}

export function createKinesisBackend(options: KinesisBackendOptions): KinesisBackend {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
  // One handler instance keeps connections alive across calls; the SDK's
  // default for Kinesis would open an HTTP/2 session per request.
  const requestHandler = new NodeHttpHandler({
    httpAgent: new http.Agent(agentOptions),
    httpsAgent: new https.Agent(agentOptions),
    connectionTimeout: options.connectTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    throwOnRequestTimeout: true,
  });
  const client = new KinesisClient({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    credentials: credentialsFor(options),
    requestHandler,
    // A retried PutRecords can write its records twice: the caller (or the
    // gateway's opt-in retry of failed records) decides.
    maxAttempts: 1,
  });

  /** Runs one SDK call under the caller's signal, translating its failure. */
  async function send<Output>(
    call: CallContext,
    request: (options: { abortSignal: AbortSignal }) => Promise<Output>,
  ): Promise<Output> {
    try {
      return await request({ abortSignal: call.signal });
    } catch (err) {
      const translated = translateError(err, call.signal);
      if (translated instanceof GatewayError && translated.kind === "unavailable") {
        options.onUnreachable?.();
      }
      throw translated;
    }
  }

  return {
    async putRecords(input, call) {
      const out = await send(call, (o) =>
        client.send(
          new PutRecordsCommand({
            StreamName: input.streamName,
            StreamARN: input.streamArn,
            Records: (input.records ?? []).map((r) => ({
              Data: r.data ?? new Uint8Array(0),
              PartitionKey: r.partitionKey ?? "",
              ExplicitHashKey: r.explicitHashKey,
            })),
          }),
          o,
        ),
      );
      return {
        failedRecordCount: out.FailedRecordCount ?? 0,
        records: (out.Records ?? []).map(resultEntry),
        encryptionType: out.EncryptionType === "KMS" ? "KMS" : "NONE",
        requestId: out.$metadata.requestId,
      };
    },

    async putRecord(input, call) {
      const out = await send(call, (o) =>
        client.send(
          new PutRecordCommand({
            StreamName: input.streamName,
            StreamARN: input.streamArn,
            Data: input.data ?? new Uint8Array(0),
            PartitionKey: input.partitionKey ?? "",
            ExplicitHashKey: input.explicitHashKey,
            SequenceNumberForOrdering: input.sequenceNumberForOrdering,
          }),
          o,
        ),
      );
      return {
        shardId: out.ShardId ?? "",
        sequenceNumber: out.SequenceNumber ?? "",
        encryptionType: out.EncryptionType === "KMS" ? "KMS" : "NONE",
        requestId: out.$metadata.requestId,
      };
    },

    async createStream(input, call) {
      await send(call, (o) =>
        client.send(
          new CreateStreamCommand({
            StreamName: input.streamName,
            ShardCount: input.shardCount,
            StreamModeDetails:
              input.streamMode == null ? undefined : { StreamMode: input.streamMode },
            Tags: input.tags,
          }),
          o,
        ),
      );
    },

    async deleteStream(input, call) {
      await send(call, (o) =>
        client.send(
          new DeleteStreamCommand({
            StreamName: input.streamName,
            StreamARN: input.streamArn,
            EnforceConsumerDeletion: input.enforceConsumerDeletion,
          }),
          o,
        ),
      );
    },

    async listStreams(input, call) {
      const out = await send(call, (o) =>
        client.send(
          new ListStreamsCommand({
            Limit: input.limit,
            ExclusiveStartStreamName: input.exclusiveStartStreamName,
            NextToken: input.nextToken,
          }),
          o,
        ),
      );
      return {
        streamNames: out.StreamNames ?? [],
        hasMoreStreams: out.HasMoreStreams ?? false,
        ...(out.NextToken === undefined ? {} : { nextToken: out.NextToken }),
        streamSummaries: (out.StreamSummaries ?? []).map((s) => ({
          streamName: s.StreamName ?? "",
          streamArn: s.StreamARN ?? "",
          streamStatus: s.StreamStatus ?? "ACTIVE",
          streamMode: s.StreamModeDetails?.StreamMode ?? "PROVISIONED",
          streamCreationTimestamp: s.StreamCreationTimestamp ?? new Date(0),
        })),
      };
    },

    async describeStreamSummary(input, call) {
      const out = await send(call, (o) =>
        client.send(
          new DescribeStreamSummaryCommand({
            StreamName: input.streamName,
            StreamARN: input.streamArn,
          }),
          o,
        ),
      );
      const s = out.StreamDescriptionSummary;
      return {
        streamName: s?.StreamName ?? "",
        streamArn: s?.StreamARN ?? "",
        streamStatus: s?.StreamStatus ?? "ACTIVE",
        streamMode: s?.StreamModeDetails?.StreamMode ?? "PROVISIONED",
        retentionPeriodHours: s?.RetentionPeriodHours ?? 24,
        streamCreationTimestamp: s?.StreamCreationTimestamp ?? new Date(0),
        encryptionType: s?.EncryptionType === "KMS" ? "KMS" : "NONE",
        ...(s?.KeyId === undefined ? {} : { keyId: s.KeyId }),
        openShardCount: s?.OpenShardCount ?? 0,
        consumerCount: s?.ConsumerCount ?? 0,
      };
    },

    async listShards(input, call) {
      const out = await send(call, (o) =>
        client.send(
          new ListShardsCommand({
            // AWS refuses a stream name together with a next token.
            StreamName: input.nextToken === undefined ? input.streamName : undefined,
            StreamARN: input.nextToken === undefined ? input.streamArn : undefined,
            NextToken: input.nextToken,
            ExclusiveStartShardId: input.exclusiveStartShardId,
            MaxResults: input.maxResults,
          }),
          o,
        ),
      );
      return {
        shards: (out.Shards ?? []).map(shardOf),
        ...(out.NextToken === undefined ? {} : { nextToken: out.NextToken }),
      };
    },

    async describeStream(input, call) {
      const out = await send(call, (o) =>
        client.send(
          new DescribeStreamCommand({
            StreamName: input.streamName,
            StreamARN: input.streamArn,
            Limit: input.limit,
            ExclusiveStartShardId: input.exclusiveStartShardId,
          }),
          o,
        ),
      );
      const d = out.StreamDescription;
      return {
        streamName: d?.StreamName ?? "",
        streamArn: d?.StreamARN ?? "",
        streamStatus: d?.StreamStatus ?? "ACTIVE",
        streamMode: d?.StreamModeDetails?.StreamMode ?? "PROVISIONED",
        shards: (d?.Shards ?? []).map(shardOf),
        hasMoreShards: d?.HasMoreShards ?? false,
        retentionPeriodHours: d?.RetentionPeriodHours ?? 24,
        streamCreationTimestamp: d?.StreamCreationTimestamp ?? new Date(0),
        encryptionType: d?.EncryptionType === "KMS" ? "KMS" : "NONE",
        ...(d?.KeyId === undefined ? {} : { keyId: d.KeyId }),
      };
    },

    async getShardIterator(input, call) {
      const out = await send(call, (o) =>
        client.send(
          new GetShardIteratorCommand({
            StreamName: input.streamName,
            StreamARN: input.streamArn,
            ShardId: input.shardId ?? "",
            ShardIteratorType: input.shardIteratorType ?? "LATEST",
            StartingSequenceNumber: input.startingSequenceNumber,
            Timestamp: input.timestamp,
          }),
          o,
        ),
      );
      return { shardIterator: out.ShardIterator ?? "" };
    },

    async getRecords(input, call) {
      const out = await send(call, (o) =>
        client.send(
          new GetRecordsCommand({
            ShardIterator: input.shardIterator ?? "",
            Limit: input.limit,
            StreamARN: input.streamArn,
          }),
          o,
        ),
      );
      return {
        records: (out.Records ?? []).map((r) => ({
          sequenceNumber: r.SequenceNumber ?? "",
          approximateArrivalTimestamp: r.ApproximateArrivalTimestamp ?? new Date(0),
          data: r.Data ?? new Uint8Array(0),
          partitionKey: r.PartitionKey ?? "",
          ...(r.EncryptionType === undefined
            ? {}
            : { encryptionType: r.EncryptionType === "KMS" ? "KMS" : "NONE" }),
        })),
        ...(out.NextShardIterator === undefined
          ? {}
          : { nextShardIterator: out.NextShardIterator }),
        millisBehindLatest: out.MillisBehindLatest ?? 0,
      };
    },

    async increaseStreamRetentionPeriod(input, call) {
      await send(call, (o) =>
        client.send(
          new IncreaseStreamRetentionPeriodCommand({
            StreamName: input.streamName,
            StreamARN: input.streamArn,
            RetentionPeriodHours: input.retentionPeriodHours ?? 0,
          }),
          o,
        ),
      );
    },

    async decreaseStreamRetentionPeriod(input, call) {
      await send(call, (o) =>
        client.send(
          new DecreaseStreamRetentionPeriodCommand({
            StreamName: input.streamName,
            StreamARN: input.streamArn,
            RetentionPeriodHours: input.retentionPeriodHours ?? 0,
          }),
          o,
        ),
      );
    },

    async addTagsToStream(input, call) {
      await send(call, (o) =>
        client.send(
          new AddTagsToStreamCommand({
            StreamName: input.streamName,
            StreamARN: input.streamArn,
            Tags: input.tags ?? {},
          }),
          o,
        ),
      );
    },

    async removeTagsFromStream(input, call) {
      await send(call, (o) =>
        client.send(
          new RemoveTagsFromStreamCommand({
            StreamName: input.streamName,
            StreamARN: input.streamArn,
            TagKeys: input.tagKeys ?? [],
          }),
          o,
        ),
      );
    },

    async listTagsForStream(input, call) {
      const out = await send(call, (o) =>
        client.send(
          new ListTagsForStreamCommand({
            StreamName: input.streamName,
            StreamARN: input.streamArn,
            ExclusiveStartTagKey: input.exclusiveStartTagKey,
            Limit: input.limit,
          }),
          o,
        ),
      );
      return {
        tags: (out.Tags ?? []).map((t) => ({ key: t.Key ?? "", value: t.Value ?? "" })),
        hasMoreTags: out.HasMoreTags ?? false,
      };
    },

    async describeLimits(call) {
      const out = await send(call, (o) => client.send(new DescribeLimitsCommand({}), o));
      return {
        shardLimit: out.ShardLimit ?? 0,
        openShardCount: out.OpenShardCount ?? 0,
        onDemandStreamCount: out.OnDemandStreamCount ?? 0,
        onDemandStreamCountLimit: out.OnDemandStreamCountLimit ?? 0,
      };
    },

    async reachable(signal) {
      try {
        await send({ signal }, (o) => client.send(new ListStreamsCommand({ Limit: 1 }), o));
        return true;
      } catch (err) {
        return err instanceof KinesisError && err.type !== "InternalFailure";
      }
    },

    close() {
      client.destroy();
    },
  };
}

function shardOf(s: AwsShard): kinesis.Shard {
  return {
    shardId: s.ShardId ?? "",
    ...(s.ParentShardId === undefined ? {} : { parentShardId: s.ParentShardId }),
    ...(s.AdjacentParentShardId === undefined
      ? {}
      : { adjacentParentShardId: s.AdjacentParentShardId }),
    hashKeyRange: {
      startingHashKey: s.HashKeyRange?.StartingHashKey ?? "",
      endingHashKey: s.HashKeyRange?.EndingHashKey ?? "",
    },
    sequenceNumberRange: {
      startingSequenceNumber: s.SequenceNumberRange?.StartingSequenceNumber ?? "",
      ...(s.SequenceNumberRange?.EndingSequenceNumber === undefined
        ? {}
        : { endingSequenceNumber: s.SequenceNumberRange.EndingSequenceNumber }),
    },
  };
}

function resultEntry(entry: AwsPutRecordsResultEntry): kinesis.PutRecordsResultEntry {
  if (entry.ErrorCode !== undefined) {
    return {
      errorCode: entry.ErrorCode as NonNullable<kinesis.PutRecordsResultEntry["errorCode"]>,
      errorMessage: entry.ErrorMessage ?? "",
    };
  }
  return { sequenceNumber: entry.SequenceNumber ?? "", shardId: entry.ShardId ?? "" };
}

/**
 * Names the SDK gives an answer without an AWS error type: its own for an
 * untyped answer, and JavaScript's for a body it could not parse (a proxy's
 * HTML page, say).
 */
const NOT_AWS_TYPES = new Set([
  "Error",
  "Unknown",
  "UnknownError",
  "KinesisServiceException",
  "SyntaxError",
  "TypeError",
  "RangeError",
]);

/**
 * Whether the upstream's error type looks like one of AWS's (`KMSOptInRequired`,
 * `ResourceNotFoundException`…): it becomes a detail, a metric label and an
 * answer's `__type`, so a Kinesis-compatible endpoint cannot make it anything
 * else, or longer.
 */
function isAwsErrorType(name: string): boolean {
  return /^[A-Z][A-Za-z0-9]{0,99}$/.test(name) && !NOT_AWS_TYPES.has(name);
}

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
}

/**
 * An SDK failure as the gateway reports it. An answer from Kinesis keeps its
 * type and message; a 5xx without a known type is `InternalFailure`; no
 * answer at all is `unavailable`, or `timeout` when the request timed out.
 * When the caller gave up, the caller's reason wins.
 */
export function translateError(err: unknown, signal: AbortSignal): Error {
  if (signal.aborted) return signal.reason instanceof Error ? signal.reason : new Error("aborted");
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) {
    const type = e.name !== undefined && isAwsErrorType(e.name) ? e.name : undefined;
    if (type !== undefined) return new KinesisError(type, e.message ?? "");
    const message = `Kinesis answered HTTP ${status} without an error type`;
    return new KinesisError(status >= 500 ? "InternalFailure" : "UnknownError", message);
  }
  if (e.name === "CredentialsProviderError") {
    return new GatewayError("unavailable", `no AWS credentials: ${e.message}`, { cause: err });
  }
  if (e.name === "TimeoutError") {
    return new GatewayError("timeout", "Kinesis did not answer in time", { cause: err });
  }
  const reason = e.code ?? e.name ?? "error";
  return new GatewayError("unavailable", `Kinesis is unreachable (${reason})`, { cause: err });
}
