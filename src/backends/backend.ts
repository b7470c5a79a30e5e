/**
 * What a backend does: the Kinesis operations of the table
 * (`operations/table.ts`) in domain form. The engine backend serves them in
 * process; the kinesis backend forwards them to AWS; decorators stack on
 * either. A backend throws `KinesisError` for every failure a caller should see.
 */
import type { Principal } from "../auth/tokens.ts";
import { GatewayError } from "../kinesis/errors.ts";
import {
  allOperations,
  type InputOf,
  type Operation,
  type OperationName,
  type OutputOf,
} from "../operations/table.ts";

/** The caller's side of one call. */
export interface CallContext {
  /** Aborted when the caller cancels or its deadline passes. */
  readonly signal: AbortSignal;
  /** The caller's deadline in `Date.now()` milliseconds; undefined without one. */
  readonly deadline?: number | undefined;
  /** Who the caller is, when authentication is on: the streams it may use. */
  readonly principal?: Principal | undefined;
}

/**
 * One call of any operation in the table: what every backend and decorator
 * implements, once for all operations. Inputs are validated by the caller
 * (`kinesis/validation.ts`, through `validation.ts`) first.
 */
export type Dispatch = <N extends OperationName>(
  operation: Operation<N>,
  input: InputOf<N>,
  call: CallContext,
) => Promise<OutputOf<N>>;

/** The typed facade: one method per operation (`putRecords` for PutRecords…). */
export type BackendMethods = {
  readonly [N in OperationName as Uncapitalize<N>]: (
    input: InputOf<N>,
    call: CallContext,
  ) => Promise<OutputOf<N>>;
};

export interface Backend extends BackendMethods {
  readonly call: Dispatch;
}

/** The method the facade names an operation by. */
export const methodName = <N extends OperationName>(name: N) =>
  (name[0]!.toLowerCase() + name.slice(1)) as Uncapitalize<N>;

/** A backend from its dispatch: the facade's methods are made from the table. */
export function backendOf(call: Dispatch): Backend {
  const backend: Record<string, unknown> = { call };
  for (const operation of allOperations) {
    backend[methodName(operation.name)] = (input: never, context: CallContext) =>
      call(operation, input, context);
  }
  return backend as unknown as Backend;
}

/** A call context for work nobody waits on with a deadline (start-up, probes). */
export function backgroundCall(signal: AbortSignal = new AbortController().signal): CallContext {
  return { signal };
}

/**
 * Throws when nobody waits for the call's answer any more: the caller
 * cancelled, or its deadline passed (the body may have arrived after it). A
 * caller that gave up will retry, so nothing may be written on its behalf.
 */
export function assertCallerWaiting(call: CallContext): void {
  if (call.signal.aborted) {
    throw call.signal.reason instanceof Error
      ? call.signal.reason
      : new GatewayError("timeout", "The caller's deadline passed; nothing was done.");
  }
  if (call.deadline !== undefined && Date.now() >= call.deadline) {
    throw new GatewayError("timeout", "The caller's deadline passed; nothing was done.");
  }
}
