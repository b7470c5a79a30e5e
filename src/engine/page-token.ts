import { Buffer } from "node:buffer";
import { KinesisError } from "../kinesis/errors.ts";
import { NEXT_TOKEN_TTL_MS } from "../kinesis/limits.ts";

/**
 * Pagination tokens: opaque to clients (base64url of a small JSON array), so
 * their content can change without breaking anyone. ListShards' and
 * ListStreamConsumers' tokens carry when they were issued and expire after
 * 300 s, as AWS documents for those two ({@link decodeTimedPageToken});
 * ListStreams' do not (AWS documents no expiry for them).
 */

/** Encodes the strings a page resumes after. */
export function encodePageToken(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts), "utf8").toString("base64url");
}

/** Decodes a token made by {@link encodePageToken} with `partCount` parts; anything else is an InvalidArgumentException. */
export function decodePageToken(token: string, partCount: number): string[] {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    parts = undefined;
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== partCount ||
    !parts.every((part) => typeof part === "string")
  ) {
    throw new KinesisError("InvalidArgumentException", "Invalid NextToken.");
  }
  return parts;
}

/** Encodes the strings a page resumes after, and when the token was issued. */
export function encodeTimedPageToken(parts: readonly string[], issuedAtMs: number): string {
  return encodePageToken([...parts, String(issuedAtMs)]);
}

/**
 * Decodes a token made by {@link encodeTimedPageToken} with `partCount` parts:
 * InvalidArgumentException for anything else (a token from the future too),
 * ExpiredNextTokenException once it is older than 300 s. AWS documents the
 * exception, not its text; this one is ours.
 */
export function decodeTimedPageToken(token: string, partCount: number, nowMs: number): string[] {
  const parts = decodePageToken(token, partCount + 1);
  const issuedAtMs = Number(parts.pop());
  if (!Number.isSafeInteger(issuedAtMs) || issuedAtMs > nowMs) {
    throw new KinesisError("InvalidArgumentException", "Invalid NextToken.");
  }
  if (nowMs - issuedAtMs > NEXT_TOKEN_TTL_MS) {
    throw new KinesisError(
      "ExpiredNextTokenException",
      `The NextToken has expired: it was issued more than ${NEXT_TOKEN_TTL_MS / 1000} seconds ago.`,
    );
  }
  return parts;
}

/** A requested page size, with 0 or absent (proto3's "unset") meaning the default, capped at the maximum. */
export function pageSize(
  requested: number | undefined,
  defaultSize: number,
  maxSize: number,
): number {
  return requested !== undefined && requested > 0 ? Math.min(requested, maxSize) : defaultSize;
}
