/**
 * Turns Kinesis errors into Connect errors: the status code from the AWS
 * error type, the AWS message word for word where it fits gRPC's metadata
 * (`error-budget.ts`), and a `KinesisErrorDetail` so a program can read the
 * type. Anything unexpected is logged with its cause and
 * answered `internal` without its details.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { GatewayError, type GatewayErrorKind, KinesisError } from "../kinesis/errors.ts";
import { type LogLine, rateLimitedLog } from "../logger.ts";
import { fittedConnectError, kinesisConnectError } from "./error-budget.ts";

/** The README's error table, in code. */
const codeByKinesisType: Readonly<Record<string, Code>> = {
  ValidationException: Code.InvalidArgument,
  InvalidArgumentException: Code.InvalidArgument,
  SerializationException: Code.InvalidArgument,
  ExpiredNextTokenException: Code.InvalidArgument,
  ResourceNotFoundException: Code.NotFound,
  ResourceInUseException: Code.FailedPrecondition,
  LimitExceededException: Code.ResourceExhausted,
  RequestEntityTooLarge: Code.ResourceExhausted,
  ProvisionedThroughputExceededException: Code.ResourceExhausted,
  KMSThrottlingException: Code.ResourceExhausted,
  ThrottlingException: Code.ResourceExhausted,
  AccessDeniedException: Code.PermissionDenied,
  KMSAccessDeniedException: Code.PermissionDenied,
  UnrecognizedClientException: Code.Unauthenticated,
  InvalidSignatureException: Code.Unauthenticated,
  IncompleteSignature: Code.Unauthenticated,
  MissingAuthenticationToken: Code.Unauthenticated,
  MissingAuthenticationTokenException: Code.Unauthenticated,
  ExpiredTokenException: Code.Unauthenticated,
  InternalFailure: Code.Unavailable,
  ServiceUnavailable: Code.Unavailable,
};

export function connectCodeForKinesisType(type: string): Code {
  const code = codeByKinesisType[type];
  if (code !== undefined) return code;
  // KMSDisabledException, KMSInvalidStateException, KMSNotFoundException, KMSOptInRequired
  if (type.startsWith("KMS")) return Code.FailedPrecondition;
  return Code.Unknown;
}

const codeByGatewayErrorKind: Readonly<Record<GatewayErrorKind, Code>> = {
  unavailable: Code.Unavailable,
  timeout: Code.DeadlineExceeded,
  overloaded: Code.ResourceExhausted,
  unrouted: Code.NotFound,
  forbidden: Code.PermissionDenied,
};

export function kinesisErrorToConnectError(err: KinesisError): ConnectError {
  return kinesisConnectError(connectCodeForKinesisType(err.type), err.type, err.message);
}

/** Node's ways of saying the other side went away mid-call. */
const CLIENT_GONE_CODES = new Set([
  "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_STREAM_DESTROYED",
  "ERR_HTTP2_STREAM_CANCEL",
  "ECANCELED",
  "ECONNRESET",
  "EPIPE",
]);

function isClientGone(err: unknown, signal: AbortSignal): boolean {
  if (signal.aborted) return true;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (CLIENT_GONE_CODES.has((e as { code?: string }).code ?? "")) return true;
  }
  return false;
}

function toConnectError(
  err: unknown,
  log: LogLine,
  procedure: string,
  signal: AbortSignal,
): ConnectError {
  if (err instanceof KinesisError) return kinesisErrorToConnectError(err);
  if (err instanceof GatewayError) {
    return fittedConnectError(new ConnectError(err.message, codeByGatewayErrorKind[err.kind]));
  }
  if (err instanceof ConnectError) return fittedConnectError(err);
  // A client that went away is no failure of the gateway's (and hears no answer).
  if (isClientGone(err, signal)) return new ConnectError("the client went away", Code.Canceled);
  log({ err, procedure }, "unexpected error");
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

async function* mapErrors<T>(
  messages: AsyncIterable<T>,
  map: (err: unknown) => ConnectError,
): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw map(err);
  }
}

export function createErrorInterceptor(logger: Logger): Interceptor {
  // One client's calls may fail the same way thousands of times: the log says so a few.
  const log = rateLimitedLog((fields, message) => logger.error(fields, message));
  return (next) => async (req) => {
    const map = (err: unknown) => toConnectError(err, log, req.method.name, req.signal);
    try {
      const res = await next(req);
      return res.stream ? { ...res, message: mapErrors(res.message, map) } : res;
    } catch (err) {
      throw map(err);
    }
  };
}
