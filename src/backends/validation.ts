/**
 * Every request is validated before any backend sees it, with the one
 * validation module all protocols share (each operation's entry names its
 * check); a refused request changes nothing.
 */
import { type Backend, backendOf } from "./backend.ts";

export function withValidation(backend: Backend): Backend {
  return backendOf(async (operation, input, call) => {
    operation.validate(input);
    return backend.call(operation, input, call);
  });
}
