/**
 * The Kinesis API operations in their wire shapes, as one thin adapter over
 * the same backend stack the gRPC services use: each request is read into the
 * domain input by its operation's AWS shape (`operations/table.ts`), the
 * backend is called, and the domain output is written back out by the same
 * shape. Behaviour lives below, never here.
 */
import type { Backend, CallContext } from "../backends/backend.ts";
import { read, write } from "../operations/aws-shape.ts";
import { allOperations, type Operation as TableEntry } from "../operations/table.ts";
import type { Members } from "./codec.ts";

export type Operation = (
  request: Members,
  backend: Backend,
  call: CallContext,
) => Promise<Record<string, unknown>>;

function served(operation: TableEntry): Operation {
  const { input, output } = operation.aws;
  return async (request, backend, call) =>
    write(output, await backend.call(operation, read(input, request), call));
}

/** Every operation of the table, by its AWS name. */
export const operations: Readonly<Record<string, Operation>> = Object.fromEntries(
  allOperations.map((operation) => [operation.name, served(operation)]),
);
