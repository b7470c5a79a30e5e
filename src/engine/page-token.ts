import { Buffer } from "node:buffer";
import { KinesisError } from "../kinesis/errors.ts";

/**
 * Pagination tokens: opaque to clients (base64url of a small JSON array), so
 * their content can change without breaking anyone. They do not expire,
 * unlike AWS ListShards tokens (300 s): a local engine gains nothing from it.
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

/** A requested page size, with 0 or absent (proto3's "unset") meaning the default, capped at the maximum. */
export function pageSize(
  requested: number | undefined,
  defaultSize: number,
  maxSize: number,
): number {
  return requested !== undefined && requested > 0 ? Math.min(requested, maxSize) : defaultSize;
}
