/**
 * Kinesis errors as the AWS API names them. Every layer throws these; each
 * protocol adapter turns one into its own shape (a Connect code plus detail,
 * or a JSON `__type`/`message` body), so the same failure reads the same
 * everywhere.
 */

/** The AWS error types the gateway produces or passes through. */
export type KinesisErrorType =
  | "ValidationException"
  | "InvalidArgumentException"
  | "ResourceNotFoundException"
  | "ResourceInUseException"
  | "LimitExceededException"
  | "ProvisionedThroughputExceededException"
  | "InternalFailure"
  | (string & {});

export class KinesisError extends Error {
  override readonly name = "KinesisError";
  /** The AWS error type, e.g. `ValidationException`. */
  readonly type: KinesisErrorType;

  constructor(type: KinesisErrorType, message: string) {
    super(message);
    this.type = type;
  }
}

export function streamNotFound(streamName: string, accountId: string): KinesisError {
  return new KinesisError(
    "ResourceNotFoundException",
    `Stream ${streamName} under account ${accountId} not found.`,
  );
}

export function streamInUse(streamName: string, accountId: string): KinesisError {
  return new KinesisError(
    "ResourceInUseException",
    `Stream ${streamName} under account ${accountId} already exists.`,
  );
}

/** The per-record and whole-call throttling text AWS uses for writes. */
export function writeRateExceededMessage(
  shardId: string,
  streamName: string,
  accountId: string,
): string {
  return `Rate exceeded for shard ${shardId} in stream ${streamName} under account ${accountId}.`;
}

/** What went wrong on the way to Kinesis, when Kinesis itself did not answer. */
export type GatewayErrorKind =
  /** The upstream could not be reached, or failed without an answer. */
  | "unavailable"
  /** The upstream took longer than the gateway's request timeout. */
  | "timeout"
  /** The gateway holds as many records in flight as it allows. */
  | "overloaded"
  /** No route sends the stream to a backend. */
  | "unrouted"
  /** The caller's token may not use this stream. */
  | "forbidden";

/**
 * A failure of the gateway or of the path to Kinesis rather than an answer
 * from Kinesis. Its message never contains record data or credentials.
 */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
  readonly kind: GatewayErrorKind;

  constructor(kind: GatewayErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}
