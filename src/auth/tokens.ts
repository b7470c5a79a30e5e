/**
 * Bearer-token authentication. Tokens are compared in constant time (as
 * SHA-256 digests, every configured token every time), and nothing says
 * which part of a failed attempt was wrong.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { glob } from "../backends/glob.ts";
import type { AuthToken } from "../config.ts";

/** Who a call is from: the streams its token may use. */
export interface Principal {
  /** Whether the principal may use this stream. */
  mayUse(streamName: string): boolean;
  /** False when the token may use every stream. */
  readonly restricted: boolean;
  /** Whether it may change the gateway's fault rules (`scope:admin`, or no tokens configured). */
  readonly admin: boolean;
}

/** Every caller, when no token is configured. */
export const UNRESTRICTED: Principal = { mayUse: () => true, restricted: false, admin: true };

export interface Authenticator {
  /** Whether any token is configured; without, every call is allowed. */
  readonly enabled: boolean;
  /** The principal a presented token names, or undefined when it names none. */
  identify(presented: string | undefined): Principal | undefined;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

export function createAuthenticator(tokens: readonly AuthToken[]): Authenticator {
  const known = tokens.map((t) => {
    const patterns = t.streams.map(glob);
    const principal: Principal =
      patterns.length === 0
        ? { restricted: false, mayUse: () => true, admin: t.admin }
        : {
            restricted: true,
            mayUse: (stream) => patterns.some((matches) => matches(stream)),
            admin: t.admin,
          };
    return { digest: digest(t.token), principal };
  });
  return {
    enabled: known.length > 0,
    identify(presented) {
      if (known.length === 0) return UNRESTRICTED;
      const offered = digest(presented ?? "");
      let found: Principal | undefined;
      for (const entry of known) {
        if (timingSafeEqual(entry.digest, offered) && found === undefined) found = entry.principal;
      }
      return found;
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return match?.[1];
}

/**
 * On the Kinesis wire API the token is the signature's access key id
 * (`Credential=<token>/…`): AWS clients set it as their access key. The
 * signature itself is not checked.
 */
export function accessKeyId(
  authorization: string | undefined,
  url: string | undefined,
): string | undefined {
  const fromHeader = /Credential=([^/,\s]+)\//.exec(authorization ?? "")?.[1];
  if (fromHeader !== undefined) return fromHeader;
  const query = (url ?? "").split("?")[1];
  const credential = new URLSearchParams(query ?? "").get("X-Amz-Credential");
  return credential?.split("/")[0];
}
