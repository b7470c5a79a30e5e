/**
 * Streams a caller may use: a token limited to some streams reaches only
 * those, on every operation and every protocol. ListStreams shows a limited
 * caller its own streams only; it may read the account's limits and
 * settings, not change them.
 */

import type { Principal } from "../auth/tokens.ts";
import { decodeShardIterator } from "../engine/index.ts";
import { GatewayError, KinesisError } from "../kinesis/errors.ts";
import type { ListStreamsInput, ListStreamsOutput } from "../kinesis/types.ts";
import { streamNameOf as nameOf, streamNameFromArn } from "../kinesis/validation.ts";
import type { OutputOf, Target } from "../operations/table.ts";
import { type Backend, backendOf, type CallContext } from "./backend.ts";

const forbidden = () =>
  new GatewayError(
    "forbidden",
    "The caller is not allowed to perform this operation on this stream.",
  );

/** The stream a target names, as far as it can be told before the call. */
export function streamNameOfTarget(target: Target): string | undefined {
  if ("stream" in target) return nameOf(target.stream);
  if ("iterator" in target) {
    // Engine iterators carry their stream; an AWS one is named by StreamARN only.
    return (
      decodeShardIterator(target.iterator)?.streamName ?? streamNameFromArn(target.streamArn ?? "")
    );
  }
  return undefined;
}

export function withStreamAccess(backend: Backend): Backend {
  return backendOf((operation, input, call) => {
    const principal = call.principal;
    if (principal === undefined || !principal.restricted) {
      return backend.call(operation, input, call);
    }
    const target = operation.target(input);
    if ("listing" in target) {
      // Only ListStreams addresses the listing.
      return visibleListing(backend, target.listing, call, principal) as Promise<
        OutputOf<typeof operation.name>
      >;
    }
    if ("account" in target) {
      // Reading the account's settings and limits is allowed; changing them
      // would change every stream's, the caller's or not.
      if (target.changes === true) throw forbidden();
    } else {
      const streamName = streamNameOfTarget(target);
      if (streamName === undefined || !principal.mayUse(streamName)) throw forbidden();
    }
    return backend.call(operation, input, call);
  });
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
