/**
 * A unary gRPC method as a thin adapter over one operation of the table: the
 * request mapped to the domain input, the backend called, the domain output
 * mapped to the answer. Each operation's mapping (`ProtoMapping`) is written
 * once, in `convert.ts`.
 */
import type { HandlerContext } from "@connectrpc/connect";
import type { Backend } from "../backends/backend.ts";
import type { InputOf, Operation, OperationName, OutputOf } from "../operations/table.ts";
import { callContextOf } from "./call-context.ts";

/** Protobuf request → domain input, domain output → Protobuf answer, for one operation. */
export interface ProtoMapping<N extends OperationName, Request, Response> {
  fromProto(request: Request): InputOf<N>;
  toProto(output: OutputOf<N>): Response;
}

export function unary<N extends OperationName, Request, Response>(
  backend: Backend,
  operation: Operation<N>,
  mapping: ProtoMapping<N, Request, Response>,
): (request: Request, ctx: HandlerContext) => Promise<Response> {
  return async (request, ctx) =>
    mapping.toProto(await backend.call(operation, mapping.fromProto(request), callContextOf(ctx)));
}
