/**
 * The shared test vectors (`../shared/vectors` beside the repository), and
 * their wire-form requests turned into domain inputs.
 */
import { readFileSync } from "node:fs";
import type {
  PutRecordInput,
  PutRecordsInput,
  PutRecordsRequestEntry,
} from "../../src/kinesis/types.ts";

const vectorsDir = new URL("../../../shared/vectors/", import.meta.url);

export function loadVectors<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, vectorsDir), "utf8")) as T;
}

export interface ValidationCase {
  operation: "PutRecords" | "PutRecord";
  case: string;
  request: Record<string, unknown>;
  expected: { status: number; type?: string; message?: string; failedRecordCount?: number };
}

export interface HashKeyVector {
  partitionKey: string;
  md5Hex: string;
  hashKey: string;
  shardIndexByShardCount: Record<string, number>;
}

export interface ShardRangeVector {
  shardId: string;
  startingHashKey: string;
  endingHashKey: string;
}

export const validationCases = () =>
  loadVectors<{ cases: ValidationCase[] }>("validation.json").cases;
export const hashKeyVectors = () =>
  loadVectors<{ vectors: HashKeyVector[] }>("hash-keys.json").vectors;
export const shardRangeVectors = () =>
  loadVectors<{ shardCount: Record<string, ShardRangeVector[]> }>("shard-ranges.json").shardCount;

/** Expands the vectors' abbreviations: `{repeat, times}` lists and `{base64OfBytes, byte}` blobs. */
function expand(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expand);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if ("repeat" in obj && "times" in obj) {
      return Array.from({ length: obj.times as number }, () => expand(obj.repeat));
    }
    if ("base64OfBytes" in obj) {
      return Buffer.alloc(obj.base64OfBytes as number, obj.byte as string).toString("base64");
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, expand(v)]));
  }
  return value;
}

/** The case's request in wire (JSON) form, abbreviations expanded. */
export function wireRequest(c: ValidationCase): Record<string, unknown> {
  return expand(c.request) as Record<string, unknown>;
}

/** True when the case is about the JSON encoding itself, not a Kinesis rule. */
export function isSerializationCase(c: ValidationCase): boolean {
  return c.expected.type === "SerializationException";
}

const blob = (value: unknown) =>
  typeof value === "string" ? new Uint8Array(Buffer.from(value, "base64")) : null;
const text = (value: unknown) => (typeof value === "string" ? value : null);

function entry(raw: Record<string, unknown>): PutRecordsRequestEntry {
  return {
    data: blob(raw.Data),
    partitionKey: text(raw.PartitionKey),
    explicitHashKey: text(raw.ExplicitHashKey) ?? undefined,
  };
}

/** A wire-form PutRecords request as the domain input the gRPC adapter would make. */
export function putRecordsInput(request: Record<string, unknown>): PutRecordsInput {
  const records = request.Records as Record<string, unknown>[] | undefined;
  return {
    streamName: text(request.StreamName) ?? undefined,
    streamArn: text(request.StreamARN) ?? undefined,
    records: records?.map(entry) ?? null,
  };
}

export function putRecordInput(request: Record<string, unknown>): PutRecordInput {
  return {
    ...entry(request),
    streamName: text(request.StreamName) ?? undefined,
    streamArn: text(request.StreamARN) ?? undefined,
    sequenceNumberForOrdering: text(request.SequenceNumberForOrdering) ?? undefined,
  };
}
