/**
 * Sends each call to the backend that serves its stream: the first route
 * whose pattern matches the stream name wins, then the default. Patterns are
 * exact names or globs (`*` any characters, `?` one character).
 */
import { isEngineShardIterator } from "../engine/index.ts";
import { GatewayError, KinesisError } from "../kinesis/errors.ts";
import type { ListStreamsInput, ListStreamsOutput, StreamRef } from "../kinesis/types.ts";
import { streamNameOf } from "../kinesis/validation.ts";
import type { OutputOf } from "../operations/table.ts";
import { type Backend, backendOf, type CallContext } from "./backend.ts";
import { glob } from "./glob.ts";

export interface RouterRoute {
  /** An exact stream name or a glob. */
  readonly pattern: string;
  /** A key of `backends`, or `none` to refuse the stream. */
  readonly backend: string;
}

export interface RouterOptions {
  /** The backends by name (`engine`, `kinesis`). */
  readonly backends: ReadonlyMap<string, Backend>;
  /** Tried in order; the first match wins. */
  readonly routes: readonly RouterRoute[];
  /** For streams no route matches: a key of `backends`, or `none`. */
  readonly defaultBackend: string;
}

export interface Router extends Backend {
  /** The backend name a stream goes to, or `none`. */
  backendNameFor(streamName: string): string;
}

export function createRouter(options: RouterOptions): Router {
  const routes = options.routes.map((r) => ({ ...r, matches: glob(r.pattern) }));
  const backendNameFor = (streamName: string) =>
    routes.find((r) => r.matches(streamName))?.backend ?? options.defaultBackend;

  function backendFor(ref: StreamRef): Backend {
    // Validation has made sure there is a name or an ARN naming the same stream.
    const name = streamNameOf(ref) ?? "";
    const backend = options.backends.get(backendNameFor(name));
    if (backend === undefined) {
      throw new GatewayError(
        "unrouted",
        `Stream ${name} is not served by this gateway: no --route matches it and there is no default backend.`,
      );
    }
    return backend;
  }

  /** An iterator names no stream, but the engine's are recognisable. */
  function backendForIterator(iterator: string): Backend {
    const engine = options.backends.get("engine");
    const fromEngine = isEngineShardIterator(iterator);
    if (fromEngine && engine !== undefined) return engine;
    const forwarded = options.backends.get("kinesis");
    if (!fromEngine && forwarded !== undefined) return forwarded;
    return defaultBackend();
  }

  const inUse = [...new Set([options.defaultBackend, ...options.routes.map((r) => r.backend)])]
    .map((name) => ({ name, backend: options.backends.get(name) }))
    .filter((b): b is { name: string; backend: Backend } => b.backend !== undefined);

  function listStreams(input: ListStreamsInput, call: CallContext): Promise<ListStreamsOutput> {
    const only = inUse[0];
    if (inUse.length === 1 && only !== undefined && routes.length === 0) {
      return only.backend.listStreams(input, call);
    }
    return mergedListing(input, call);
  }

  const router = backendOf((operation, input, call) => {
    const target = operation.target(input);
    if ("stream" in target) return backendFor(target.stream).call(operation, input, call);
    if ("iterator" in target) {
      return backendForIterator(target.iterator).call(operation, input, call);
    }
    if ("listing" in target) {
      // Only ListStreams addresses the listing.
      return listStreams(target.listing, call) as Promise<OutputOf<typeof operation.name>>;
    }
    return defaultBackend().call(operation, input, call);
  });
  return { ...router, backendNameFor };

  function defaultBackend(): Backend {
    const backend = options.backends.get(options.defaultBackend) ?? inUse[0]?.backend;
    if (backend === undefined) throw new GatewayError("unrouted", "No backend is configured.");
    return backend;
  }

  /**
   * Streams of every backend in use, each listed only by the backend its
   * route names, in name order. The next token is the last name listed.
   */
  async function mergedListing(
    input: ListStreamsInput,
    call: CallContext,
  ): Promise<ListStreamsOutput> {
    const after =
      input.nextToken === undefined ? input.exclusiveStartStreamName : decodeToken(input.nextToken);
    const limit = input.limit ?? 100;
    const names: string[] = [];
    const summaries = new Map<string, ListStreamsOutput["streamSummaries"][number]>();
    for (const { name, backend } of inUse) {
      let page = await backend.listStreams({ exclusiveStartStreamName: after }, call);
      for (;;) {
        for (const streamName of page.streamNames) {
          // `after` may name another backend's stream, which kinesis-mock does
          // not know and then lists from the start: so the cut is made here.
          const listed = after === undefined || streamName > after;
          if (listed && backendNameFor(streamName) === name) names.push(streamName);
        }
        for (const summary of page.streamSummaries) summaries.set(summary.streamName, summary);
        if (!page.hasMoreStreams || page.nextToken === undefined) break;
        page = await backend.listStreams({ nextToken: page.nextToken }, call);
      }
    }
    names.sort();
    const listed = names.slice(0, limit);
    const hasMoreStreams = names.length > limit;
    const last = listed.at(-1);
    return {
      streamNames: listed,
      streamSummaries: listed.flatMap((name) => summaries.get(name) ?? []),
      hasMoreStreams,
      ...(hasMoreStreams && last !== undefined ? { nextToken: encodeToken(last) } : {}),
    };
  }
}

const encodeToken = (lastName: string) => Buffer.from(`after:${lastName}`).toString("base64url");

function decodeToken(token: string): string {
  const text = Buffer.from(token, "base64url").toString();
  // Unsealed already, so anything else is another layer's token (a limited
  // caller's, say): it gets the answer every layer gives.
  if (!text.startsWith("after:")) {
    throw new KinesisError("InvalidArgumentException", "Invalid NextToken.");
  }
  return text.slice("after:".length);
}
