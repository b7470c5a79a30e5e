/**
 * Page tokens as callers see them: sealed. Every `NextToken` a backend hands
 * out (the engine's, the router's merged listing's, AWS's own) reaches the
 * caller encrypted and authenticated with a key of this process, together
 * with the stream it pages through. So a token reveals nothing — a caller
 * limited to `pub*` cannot read the next stream's name out of a ListStreams
 * token — cannot be forged, and a ListShards token, which AWS sends without a
 * stream name, still says which stream it is for: stream access authorises
 * it by that stream, and the router sends it to the backend that issued it.
 *
 * Tokens do not outlive the process (a restarted gateway answers "Invalid
 * NextToken.", as AWS does for a token it no longer knows).
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { KinesisError } from "../kinesis/errors.ts";
import type { StreamRef } from "../kinesis/types.ts";
import type { OutputOf } from "../operations/table.ts";
import { type Backend, backendOf } from "./backend.ts";

const ALGORITHM = "aes-256-gcm";
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Sealed {
  /** The operation that issued it: a ListStreams token does not page ListShards. */
  readonly operation: string;
  /** The token of the backend that issued it. */
  readonly token: string;
  /** The stream a ListShards token pages through, as the first page's request named it. */
  readonly stream?: StreamRef | undefined;
}

export interface PageTokenSealer {
  seal(page: Sealed): string;
  /** The sealed content, or InvalidArgumentException "Invalid NextToken." for anything else. */
  unseal(token: string, operation: string): Sealed;
}

const invalidToken = () => new KinesisError("InvalidArgumentException", "Invalid NextToken.");

export function createPageTokenSealer(key: Uint8Array = randomBytes(32)): PageTokenSealer {
  return {
    seal(page) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, key, iv);
      const body = Buffer.concat([
        cipher.update(
          JSON.stringify([
            page.operation,
            page.token,
            page.stream?.streamName ?? null,
            page.stream?.streamArn ?? null,
          ]),
        ),
        cipher.final(),
      ]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
    },
    unseal(token, operation) {
      const bytes = Buffer.from(token, "base64url");
      if (bytes.length <= IV_BYTES + TAG_BYTES) throw invalidToken();
      let parts: unknown;
      try {
        const decipher = createDecipheriv(ALGORITHM, key, bytes.subarray(0, IV_BYTES));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        const text = Buffer.concat([
          decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
          decipher.final(),
        ]).toString("utf8");
        parts = JSON.parse(text);
      } catch {
        throw invalidToken();
      }
      // Authenticated, so it is ours; only its operation can still be wrong.
      const [issuedBy, inner, streamName, streamArn] = parts as [
        string,
        string,
        string | null,
        string | null,
      ];
      if (issuedBy !== operation) throw invalidToken();
      const stream =
        streamName === null && streamArn === null
          ? undefined
          : { streamName: streamName ?? undefined, streamArn: streamArn ?? undefined };
      return { operation, token: inner, stream };
    },
  };
}

/** What a paging operation's input and output have in common. */
interface PagedInput extends StreamRef {
  nextToken?: string | undefined;
  tokenStream?: StreamRef | undefined;
}
interface PagedOutput {
  nextToken?: string | undefined;
}

/** Seals the page tokens of `backend`'s answers and unseals the ones callers send back. */
export function withSealedPageTokens(backend: Backend, sealer: PageTokenSealer): Backend {
  return backendOf(async (operation, input, call) => {
    const paging = operation.paging;
    if (paging === undefined) return backend.call(operation, input, call);
    const paged = input as PagedInput;
    let inner = paged;
    let stream: StreamRef | undefined = paging.sealsStream
      ? { streamName: paged.streamName, streamArn: paged.streamArn }
      : undefined;
    if (paged.nextToken !== undefined) {
      const page = sealer.unseal(paged.nextToken, operation.name);
      inner = { ...paged, nextToken: page.token };
      if (paging.sealsStream) {
        stream = page.stream ?? {};
        inner.tokenStream = page.stream;
      }
    }
    const out = (await backend.call(operation, inner as typeof input, call)) as PagedOutput;
    if (out.nextToken === undefined) return out as OutputOf<typeof operation.name>;
    const nextToken = sealer.seal({ operation: operation.name, token: out.nextToken, stream });
    return { ...out, nextToken } as OutputOf<typeof operation.name>;
  });
}
