/**
 * The built-in engine as a backend: the engine is synchronous and in process.
 * Every call first checks that its caller still waits: the engine acts at
 * once, so a call whose deadline has passed must not reach it.
 */
import type { Engine } from "../engine/index.ts";
import { assertCallerWaiting, type Backend, type CallContext } from "./backend.ts";

/** An engine method as a backend method, run only while its caller waits. */
const served =
  <I, O>(method: (input: I) => O) =>
  async (input: I, call: CallContext): Promise<O> => {
    assertCallerWaiting(call);
    return method(input);
  };

export function createEngineBackend(engine: Engine): Backend {
  return {
    putRecords: served(engine.putRecords),
    putRecord: served(engine.putRecord),
    createStream: served(engine.createStream),
    deleteStream: served(engine.deleteStream),
    listStreams: served(engine.listStreams),
    describeStreamSummary: served(engine.describeStreamSummary),
    listShards: served(engine.listShards),
    describeStream: served(engine.describeStream),
    getShardIterator: served(engine.getShardIterator),
    getRecords: served(engine.getRecords),
    increaseStreamRetentionPeriod: served(engine.increaseStreamRetentionPeriod),
    decreaseStreamRetentionPeriod: served(engine.decreaseStreamRetentionPeriod),
    addTagsToStream: served(engine.addTagsToStream),
    removeTagsFromStream: served(engine.removeTagsFromStream),
    listTagsForStream: served(engine.listTagsForStream),
    describeLimits: async (call) => {
      assertCallerWaiting(call);
      return engine.describeLimits();
    },
  };
}
