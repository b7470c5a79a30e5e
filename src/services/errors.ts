/**
 * Turns Kinesis errors into Connect errors: the status code from the AWS
 * error type, the AWS message word for word, and a `KinesisErrorDetail` so a
 * program can read the type. Anything unexpected is logged with its cause and
 * answered `internal` without its details.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { KinesisErrorDetailSchema } from "../gen/kinesis/gateway/v1/common_pb.ts";
import { KinesisError } from "../kinesis/errors.ts";

const codeByKinesisType: Readonly<Record<string, Code>> = {
  ValidationException: Code.InvalidArgument,
  InvalidArgumentException: Code.InvalidArgument,
  SerializationException: Code.InvalidArgument,
  ResourceNotFoundException: Code.NotFound,
  ResourceInUseException: Code.FailedPrecondition,
  LimitExceededException: Code.ResourceExhausted,
  ProvisionedThroughputExceededException: Code.ResourceExhausted,
  InternalFailure: Code.Unavailable,
};

export function connectCodeForKinesisType(type: string): Code {
  return codeByKinesisType[type] ?? Code.Unknown;
}

export function kinesisErrorToConnectError(err: KinesisError): ConnectError {
  return new ConnectError(err.message, connectCodeForKinesisType(err.type), undefined, [
    { desc: KinesisErrorDetailSchema, value: { type: err.type, message: err.message } },
  ]);
}

function toConnectError(err: unknown, logger: Logger, procedure: string): ConnectError {
  if (err instanceof KinesisError) return kinesisErrorToConnectError(err);
  if (err instanceof ConnectError) return err;
  logger.error({ err, procedure }, "unexpected error");
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
  return (next) => async (req) => {
    const map = (err: unknown) => toConnectError(err, logger, req.method.name);
    try {
      const res = await next(req);
      return res.stream ? { ...res, message: mapErrors(res.message, map) } : res;
    } catch (err) {
      throw map(err);
    }
  };
}
