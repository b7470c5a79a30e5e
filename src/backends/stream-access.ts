/**
 * Streams a caller may use: a token limited to some streams reaches only
 * those, on every operation and every protocol. ListStreams shows a limited
 * caller its own streams only.
 */

import type { Principal } from "../auth/tokens.ts";
import { decodeShardIterator } from "../engine/index.ts";
import { GatewayError, KinesisError } from "../kinesis/errors.ts";
import type { ListStreamsInput, ListStreamsOutput, StreamRef } from "../kinesis/types.ts";
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
      // A page token is authorised by the stream it was issued for.
      check(call, nameOf(input) ?? (input.tokenStream && nameOf(input.tokenStream)));
      return backend.listShards(input, call);
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
      const principal = call.principal;
      if (principal === undefined || !principal.restricted) return backend.listStreams(input, call);
      return visibleListing(backend, input, call, principal);
    },
  };
}

/** Names read from the backend per call while paging for a limited caller. */
const SCAN_PAGE = 1000;
/** How a limited caller's page token starts: the last name it was shown. */
const VISIBLE_AFTER = "visible-after:";

/**
 * A ListStreams page of the streams a limited caller may see, cut after
 * filtering: a page cut first and filtered after would tell, by its size and
 * `HasMoreStreams`, how many hidden streams sort after any name the caller
 * picks. Its `NextToken` names the last stream shown (page-tokens.ts seals it).
 */
async function visibleListing(
  backend: Backend,
  input: ListStreamsInput,
  call: CallContext,
  principal: Principal,
): Promise<ListStreamsOutput> {
  let after = input.exclusiveStartStreamName;
  if (input.nextToken !== undefined) {
    if (!input.nextToken.startsWith(VISIBLE_AFTER)) {
      throw new KinesisError("InvalidArgumentException", "Invalid NextToken.");
    }
    after = input.nextToken.slice(VISIBLE_AFTER.length);
  }
  const limit = input.limit ?? 100;
  const names: string[] = [];
  const summaries: ListStreamsOutput["streamSummaries"] = [];
  let page = await backend.listStreams({ exclusiveStartStreamName: after, limit: SCAN_PAGE }, call);
  for (;;) {
    page.streamSummaries.forEach((summary) => {
      if (principal.mayUse(summary.streamName)) summaries.push(summary);
    });
    names.push(...page.streamNames.filter((name) => principal.mayUse(name)));
    if (names.length > limit || !page.hasMoreStreams || page.nextToken === undefined) break;
    page = await backend.listStreams({ nextToken: page.nextToken, limit: SCAN_PAGE }, call);
  }
  const shown = names.slice(0, limit);
  const shownSet = new Set(shown);
  const hasMoreStreams = names.length > limit;
  const last = shown.at(-1);
  return {
    streamNames: shown,
    streamSummaries: summaries.filter((s) => shownSet.has(s.streamName)),
    hasMoreStreams,
    ...(hasMoreStreams && last !== undefined ? { nextToken: VISIBLE_AFTER + last } : {}),
  };
}
