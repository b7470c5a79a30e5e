import type { HandlerContext } from "@connectrpc/connect";
import type { CallContext } from "../backends/backend.ts";
import { principalKey } from "./auth-interceptor.ts";

/** The caller's cancellation and deadline, as backends take them. */
export function callContextOf(ctx: HandlerContext): CallContext {
  const remainingMs = ctx.timeoutMs();
  return {
    signal: ctx.signal,
    deadline: remainingMs === undefined ? undefined : Date.now() + remainingMs,
    principal: ctx.values.get(principalKey),
  };
}
