/**
 * Bearer-token authentication for every RPC but the health checks: a call
 * without a known token is UNAUTHENTICATED, without saying what was wrong.
 * The caller's principal travels in the context values to the backends,
 * which refuse streams the token may not use (PERMISSION_DENIED).
 */
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { type Authenticator, bearerToken, type Principal } from "../auth/tokens.ts";

export const principalKey = createContextKey<Principal | undefined>(undefined, {
  description: "the authenticated caller",
});

export function createAuthInterceptor(auth: Authenticator): Interceptor {
  return (next) => async (req) => {
    if (!auth.enabled || req.service.typeName.startsWith("grpc.health.")) return next(req);
    // The server checked the token from the headers already, before reading the body.
    if (req.contextValues.get(principalKey) !== undefined) return next(req);
    const principal = auth.identify(bearerToken(req.header.get("authorization")));
    if (principal === undefined) throw new ConnectError("unauthenticated", Code.Unauthenticated);
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
}
