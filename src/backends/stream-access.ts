/**
 * Streams a caller may use: a token limited to some streams reaches only
 * those, on every operation and every protocol. ListStreams shows a limited
 * caller its own streams only.
 */
import { decodeShardIterator } from "../engine/index.ts";
import { GatewayError } from "../kinesis/errors.ts";
import type { StreamRef } from "../kinesis/types.ts";
import { streamNameOf as nameOf, streamNameFromArn } from "../kinesis/validation.ts";
import type { Backend, CallContext } from "./backend.ts";

const forbidden = () =>
  new GatewayError(
    "forbidden",
    "The caller is not allowed to perform this operation on this stream.",
  );

function check(call: CallContext, streamName: string | undefined): void {
  const principal = call.principal;
  if (principal === undefined || !principal.restricted) return;
  if (streamName === undefined || !principal.mayUse(streamName)) throw forbidden();
}

export function withStreamAccess(backend: Backend): Backend {
  /** An operation on the stream its input names. */
  const guarded =
    <I extends StreamRef, O>(op: (input: I, call: CallContext) => Promise<O>) =>
    (input: I, call: CallContext): Promise<O> => {
      check(call, nameOf(input));
      return op(input, call);
    };
  return {
    putRecords: guarded(backend.putRecords),
    putRecord: guarded(backend.putRecord),
    createStream: (input, call) => {
      check(call, input.streamName);
      return backend.createStream(input, call);
    },
    deleteStream: guarded(backend.deleteStream),
    describeStreamSummary: guarded(backend.describeStreamSummary),
    describeStream: guarded(backend.describeStream),
    listShards: async (input, call) => {
      // A next token alone names no stream: only an unlimited caller may page on by it.
      if (nameOf(input) === undefined && call.principal?.restricted) throw forbidden();
      return guarded(backend.listShards)(input, call);
    },
    getShardIterator: guarded(backend.getShardIterator),
    getRecords: (input, call) => {
      // Engine iterators carry their stream; an AWS one is named by StreamARN only.
      const fromIterator = decodeShardIterator(input.shardIterator ?? "")?.streamName;
      check(call, fromIterator ?? streamNameFromArn(input.streamArn ?? ""));
      return backend.getRecords(input, call);
    },
    increaseStreamRetentionPeriod: guarded(backend.increaseStreamRetentionPeriod),
    decreaseStreamRetentionPeriod: guarded(backend.decreaseStreamRetentionPeriod),
    addTagsToStream: guarded(backend.addTagsToStream),
    removeTagsFromStream: guarded(backend.removeTagsFromStream),
    listTagsForStream: guarded(backend.listTagsForStream),
    describeLimits: (call) => backend.describeLimits(call),
    async listStreams(input, call) {
      const out = await backend.listStreams(input, call);
      const principal = call.principal;
      if (principal === undefined || !principal.restricted) return out;
      return {
        ...out,
        streamNames: out.streamNames.filter((name) => principal.mayUse(name)),
        streamSummaries: out.streamSummaries.filter((s) => principal.mayUse(s.streamName)),
      };
    },
  };
}
