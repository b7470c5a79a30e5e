/**
 * Forwards every operation to AWS Kinesis, or any endpoint that speaks its
 * API, through `@aws-sdk/client-kinesis`. Results pass through unchanged;
 * AWS errors keep their type and message; failures on the way there become
 * `GatewayError`s. Credentials come only from the SDK's default chain.
 */
import http from "node:http";
import https from "node:https";
import * as sdk from "@aws-sdk/client-kinesis";
import {
  KinesisClient,
  ListStreamsCommand,
  SubscribeToShardCommand,
  type SubscribeToShardCommandInput,
} from "@aws-sdk/client-kinesis";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import type { Logger } from "pino";
import { GatewayError, KinesisError } from "../kinesis/errors.ts";
import type { PutRecordsInput } from "../kinesis/types.ts";
import { PlainMembers, read, type Shape, write } from "../operations/aws-shape.ts";
import { subscribeToShardInput } from "../operations/kinesis-shapes.ts";
import type { OperationName } from "../operations/table.ts";
import type { SubscriptionSource } from "../subscriptions/subscriptions.ts";
import { type Backend, backendOf, type CallContext } from "./backend.ts";
import { createEventStreamHandler, relayEvents } from "./kinesis-event-stream.ts";
import { KinesisJsonProtocol, recordsJson } from "./put-records-body.ts";

/**
 * The SDK's command for each operation, by the operation's name: the SDK
 * names every command `<Operation>Command`, so any operation in the table is
 * forwarded without a member of its own.
 */
type SdkCommand = new (input: Record<string, unknown>) => Parameters<KinesisClient["send"]>[0];
const commandFor = (name: OperationName) =>
  (sdk as unknown as Record<string, SdkCommand>)[`${name}Command`]!;

/**
 * The SDK's input for an operation, written by its shape; PutRecords' records
 * as JSON text already, which the client's protocol splices in (see
 * put-records-body.ts).
 */
function directInput(name: OperationName, shape: Shape<unknown>, input: unknown) {
  if (name === "PutRecords") {
    const { records } = input as PutRecordsInput;
    const text = records === null ? undefined : recordsJson(records);
    if (text !== undefined) {
      return { ...write(shape, { ...(input as PutRecordsInput), records: [] }), Records: text };
    }
  }
  return write(shape, input);
}

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
  /**
   * PutRecords written by the SDK's own serializer, as every other operation,
   * instead of put-records-body.ts: what the differential test compares with.
   */
  sdkPutRecordsSerializer?: boolean;
}

export interface KinesisBackend extends Backend {
  /**
   * Whether the endpoint answers at all: any response from Kinesis, even an
   * error such as AccessDenied, means it is reachable.
   */
  reachable(signal: AbortSignal): Promise<boolean>;
  /**
   * A consumer's SubscribeToShard, passed to the upstream's own: accepted
   * once the upstream accepts it, its events relayed as they arrive.
   */
  subscribeToShard: SubscriptionSource;
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

/**
 * A Kinesis-compatible endpoint, for every call. The SDK's endpoint rules
 * would otherwise send a request carrying a `StreamId` (AWS's reserved
 * member, which the gateway passes through) to the stream's own AWS host,
 * `<id>.<suffix>.control-kinesis.<region>.amazonaws.com`, instead of the
 * configured endpoint (measured with client-kinesis 3.1143); without a custom
 * endpoint the rules are left to choose, as they do for AWS.
 */
function customEndpoint(endpoint: string) {
  const url = new URL(endpoint);
  return { endpoint, endpointProvider: () => ({ url }) };
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
  const clientOptions = {
    region: options.region,
    ...(options.endpoint === undefined ? {} : customEndpoint(options.endpoint)),
    credentials: credentialsFor(options),
    // A retried PutRecords can write its records twice: the caller (or the
    // gateway's opt-in retry of failed records) decides.
    maxAttempts: 1,
  };
  const direct = options.sdkPutRecordsSerializer !== true;
  const client = new KinesisClient({
    ...clientOptions,
    requestHandler,
    ...(direct ? { protocol: KinesisJsonProtocol } : {}),
  });
  // Event streams go over HTTP/2, on a client of their own made when the first subscription comes.
  let eventStreamClient: KinesisClient | undefined;

  /** An SDK failure translated, and told to readiness when the endpoint could not be reached. */
  function failure(err: unknown, signal: AbortSignal): Error {
    const translated = translateError(err, signal);
    if (translated instanceof GatewayError && translated.kind === "unavailable") {
      options.onUnreachable?.();
    }
    return translated;
  }

  /** Runs one SDK call under the caller's signal, translating its failure. */
  async function send<Output>(
    call: CallContext,
    request: (options: { abortSignal: AbortSignal }) => Promise<Output>,
  ): Promise<Output> {
    try {
      return await request({ abortSignal: call.signal });
    } catch (err) {
      throw failure(err, call.signal);
    }
  }

  /**
   * Any operation of the table: its input written as the AWS request by the
   * operation's shape, sent as the SDK's command of the same name, and the
   * answer read back by the same shape.
   */
  const backend = backendOf(async (operation, input, call) => {
    const Command = commandFor(operation.name);
    const { input: request, output: answer } = operation.aws;
    const sent = direct ? directInput(operation.name, request, input) : write(request, input);
    const out = await send(call, (o) => client.send(new Command(sent), o));
    return read(answer, new PlainMembers(out));
  });

  return {
    ...backend,
    async reachable(signal) {
      try {
        await send({ signal }, (o) => client.send(new ListStreamsCommand({ Limit: 1 }), o));
        return true;
      } catch (err) {
        return err instanceof KinesisError && err.type !== "InternalFailure";
      }
    },

    // The SDK resolves once the upstream's answer and its first event (AWS's
    // initial-response) arrived; until the stream ends, the call's signal
    // still aborts it, closing the upstream's stream.
    async subscribeToShard(input, call) {
      eventStreamClient ??= new KinesisClient({
        ...clientOptions,
        requestHandler: createEventStreamHandler(),
      });
      const subscriber = eventStreamClient;
      // Validated already: the shape writes the members the SDK's input names.
      const request = write(
        subscribeToShardInput,
        input,
      ) as unknown as SubscribeToShardCommandInput;
      const out = await send(call, (o) => subscriber.send(new SubscribeToShardCommand(request), o));
      return relayEvents(out.EventStream, (err) => failure(err, call.signal));
    },

    close() {
      client.destroy();
      eventStreamClient?.destroy();
    },
  };
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
 * type and message, an event stream's exception event too; a 5xx without a
 * known type is `InternalFailure`; no answer at all, or an answer broken off
 * after its 2xx status (an event stream's connection lost), is `unavailable`,
 * or `timeout` when the request timed out. When the caller gave up, the
 * caller's reason wins.
 */
export function translateError(err: unknown, signal: AbortSignal): Error {
  if (signal.aborted) return signal.reason instanceof Error ? signal.reason : new Error("aborted");
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const type = e.name !== undefined && isAwsErrorType(e.name) ? e.name : undefined;
  // An exception event has no status of its own (its stream's answer was a 200): the SDK marks it with a fault.
  if (type !== undefined && (status !== undefined || e.$fault !== undefined)) {
    // The event stream's name for the InternalFailure of every other answer.
    return new KinesisError(
      type === "InternalFailureException" ? "InternalFailure" : type,
      e.message ?? "",
    );
  }
  if (status !== undefined && status >= 300) {
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
