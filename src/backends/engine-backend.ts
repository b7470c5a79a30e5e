/**
 * The built-in engine as a backend: the engine is synchronous and in process.
 * Every call first checks that its caller still waits: the engine acts at
 * once, so a call whose deadline has passed must not reach it.
 */
import type { Engine } from "../engine/index.ts";
import { assertCallerWaiting, type Backend, backendOf } from "./backend.ts";

export function createEngineBackend(engine: Engine): Backend {
  return backendOf(async (operation, input, call) => {
    assertCallerWaiting(call);
    return operation.engine(engine, input);
  });
}
