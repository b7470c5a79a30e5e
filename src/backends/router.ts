/**
 * Sends each call to the backend that serves its stream: the first route
 * whose pattern matches the stream name wins, then the default. Patterns are
 * exact names or globs (`*` any characters, `?` one character).
 */
import { isEngineShardIterator } from "../engine/index.ts";
import { GatewayError, KinesisError } from "../kinesis/errors.ts";
import type { ListStreamsInput, ListStreamsOutput, StreamRef } from "../kinesis/types.ts";
import { streamNameOf } from "../kinesis/validation.ts";
import type { Backend, CallContext } from "./backend.ts";

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

export function globToRegExp(pattern: string): RegExp {
  const source = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`);
}

export function createRouter(options: RouterOptions): Router {
  const routes = options.routes.map((r) => ({ ...r, regexp: globToRegExp(r.pattern) }));
  const backendNameFor = (streamName: string) =>
    routes.find((r) => r.regexp.test(streamName))?.backend ?? options.defaultBackend;

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

  const inUse = [...new Set([options.defaultBackend, ...options.routes.map((r) => r.backend)])]
    .map((name) => ({ name, backend: options.backends.get(name) }))
    .filter((b): b is { name: string; backend: Backend } => b.backend !== undefined);

  return {
    backendNameFor,
    putRecords: (input, call) => backendFor(input).putRecords(input, call),
    putRecord: (input, call) => backendFor(input).putRecord(input, call),
    createStream: (input, call) => backendFor(input).createStream(input, call),
    deleteStream: (input, call) => backendFor(input).deleteStream(input, call),
    describeStreamSummary: (input, call) => backendFor(input).describeStreamSummary(input, call),
    listShards: (input, call) =>
      // A page token goes where the stream it pages through is served.
      backendFor(input.tokenStream ?? input).listShards(input, call),
    describeStream: (input, call) => backendFor(input).describeStream(input, call),
    getShardIterator: (input, call) => backendFor(input).getShardIterator(input, call),
    getRecords: (input, call) => {
      // An iterator names no stream, but the engine's are recognisable.
      const engine = options.backends.get("engine");
      const fromEngine = isEngineShardIterator(input.shardIterator ?? "");
      if (fromEngine && engine !== undefined) return engine.getRecords(input, call);
      const forwarded = options.backends.get("kinesis");
      if (!fromEngine && forwarded !== undefined) return forwarded.getRecords(input, call);
      return defaultBackend().getRecords(input, call);
    },
    increaseStreamRetentionPeriod: (input, call) =>
      backendFor(input).increaseStreamRetentionPeriod(input, call),
    decreaseStreamRetentionPeriod: (input, call) =>
      backendFor(input).decreaseStreamRetentionPeriod(input, call),
    addTagsToStream: (input, call) => backendFor(input).addTagsToStream(input, call),
    removeTagsFromStream: (input, call) => backendFor(input).removeTagsFromStream(input, call),
    listTagsForStream: (input, call) => backendFor(input).listTagsForStream(input, call),
    describeLimits: (call) => defaultBackend().describeLimits(call),
    async listStreams(input, call) {
      const only = inUse[0];
      if (inUse.length === 1 && only !== undefined && routes.length === 0) {
        return only.backend.listStreams(input, call);
      }
      return mergedListing(input, call);
    },
  };

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
