import { readFileSync } from "node:fs";

/** The shared test vectors live beside the repository: `<repo>/../shared/vectors`. */
const vectorsDir = new URL("../../../shared/vectors/", import.meta.url);

function readVectors<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, vectorsDir), "utf8")) as T;
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

export function hashKeyVectors(): HashKeyVector[] {
  return readVectors<{ vectors: HashKeyVector[] }>("hash-keys.json").vectors;
}

export function shardRangeVectors(): Record<string, ShardRangeVector[]> {
  return readVectors<{ shardCount: Record<string, ShardRangeVector[]> }>("shard-ranges.json")
    .shardCount;
}

/** A clock that moves only when told to. */
export function createManualClock(startMs = Date.UTC(2026, 0, 1)) {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance(ms: number) {
      nowMs += ms;
    },
  };
}

export function bytes(size: number): Uint8Array {
  return new Uint8Array(size);
}
