/** The built-in engine as a backend: the engine is synchronous and in process. */
import type { Engine } from "../engine/index.ts";
import type { Backend } from "./backend.ts";

export function createEngineBackend(engine: Engine): Backend {
  return {
    putRecords: async (input) => engine.putRecords(input),
    putRecord: async (input) => engine.putRecord(input),
    createStream: async (input) => engine.createStream(input),
    deleteStream: async (input) => engine.deleteStream(input),
    listStreams: async (input) => engine.listStreams(input),
    describeStreamSummary: async (input) => engine.describeStreamSummary(input),
    listShards: async (input) => engine.listShards(input),
    describeStream: async (input) => engine.describeStream(input),
    getShardIterator: async (input) => engine.getShardIterator(input),
    getRecords: async (input) => engine.getRecords(input),
    increaseStreamRetentionPeriod: async (input) => engine.increaseStreamRetentionPeriod(input),
    decreaseStreamRetentionPeriod: async (input) => engine.decreaseStreamRetentionPeriod(input),
    addTagsToStream: async (input) => engine.addTagsToStream(input),
    removeTagsFromStream: async (input) => engine.removeTagsFromStream(input),
    listTagsForStream: async (input) => engine.listTagsForStream(input),
    describeLimits: async () => engine.describeLimits(),
  };
}
