/**
 * Stream names as metric attributes, bounded. Every distinct attribute value
 * is a time series the SDK keeps until the process ends, and a stream name is
 * whatever text a request carries — a million characters, or a new name on
 * every call. So a name becomes a label only once a backend has answered for
 * it (the stream exists, and the name passed validation to get there), and
 * only the first `maxNames` such names do; everything else is counted under
 * {@link OTHER_STREAMS}.
 */

/** The one label for streams that are not (yet) known to exist, or past the cap. */
export const OTHER_STREAMS = "_OTHER";

/** Enough for every stream of a busy account (AWS's default quota is 50 on-demand and 1,000 shards). */
export const DEFAULT_MAX_STREAM_LABELS = 1000;

export interface StreamLabels {
  /** Records that a backend has answered for this stream: it exists. */
  confirm(streamName: string): void;
  /** The label for a stream: its name when confirmed, else {@link OTHER_STREAMS}. */
  label(streamName: string | undefined): string;
}

export function createStreamLabels(maxNames = DEFAULT_MAX_STREAM_LABELS): StreamLabels {
  const known = new Set<string>();
  return {
    confirm(streamName) {
      if (known.size < maxNames) known.add(streamName);
    },
    label(streamName) {
      return streamName !== undefined && known.has(streamName) ? streamName : OTHER_STREAMS;
    },
  };
}
