/**
 * The producer behind `ProducerService.Produce`: what the KPL does for Java,
 * as a service. Records taken in (validated, admitted by the buffer budget)
 * are grouped by predicted shard, batched into `PutRecords` calls after at
 * most `lingerMs` (at once when a batch is full), packed in the KPL's
 * aggregated format for aggregating streams, and retried with backoff and
 * jitter while retryable failures last and their deadline allows. Every
 * record gets exactly one outcome: written (shard, sequence number,
 * sub-sequence number) or failed with a reason.
 *
 * Ordering (unless the stream is unordered): records of one partition key are
 * written in the order they came. A key has at most one Kinesis record in
 * flight: one user record, or one aggregated record holding several of the
 * key's (an aggregated record is written or failed whole). A record that
 * failed and will be retried goes back to the front of its key; one given up
 * on takes the key's later records with it (`PrecedingRecordFailed`), since
 * writing them would leave a gap the consumer cannot see. The cost: a key's
 * records go one Kinesis call at a time, so a single hot key moves one record
 * (or one aggregated record) per round trip. Unordered streams send every
 * ready record at once.
 *
 * Pacing: a shard that throttles is left alone for a backoff (doubling from
 * 50 ms to 1 s, with jitter) while other shards go on, and a stream whose
 * calls fail whole (upstream unreachable, 5xx) backs off as a whole: the
 * gateway does not hammer what is already overloaded.
 */
import type { Backend } from "../backends/backend.ts";
import { hashKeyForPartitionKey } from "../engine/hash-key.ts";
import { GatewayError, KinesisError } from "../kinesis/errors.ts";
import { MAX_PUT_RECORDS_BYTES, MAX_RECORDS_PER_PUT } from "../kinesis/limits.ts";
import type { PutRecordsRequestEntry, PutRecordsResultEntry, StreamRef } from "../kinesis/types.ts";
import { recordBytes, streamNameOf } from "../kinesis/validation.ts";
import { type AggregateSizer, createAggregateSizer } from "./aggregation.ts";
import { aggregatedEntry, userRecordOf } from "./pack.ts";
import { hashKeyOf, type ShardMap, type ShardMaps } from "./shard-map.ts";

/** How a record ended. */
export type RecordOutcome =
  | {
      readonly shardId: string;
      readonly sequenceNumber: string;
      readonly subSequenceNumber: number;
      readonly errorCode?: undefined;
    }
  | { readonly errorCode: string; readonly errorMessage: string };

/** A record handed to the producer. */
export interface ProducedRecord {
  /** Validated: a partition key, data, a valid explicit hash key if any. */
  readonly entry: PutRecordsRequestEntry;
  /** When to give up, in `Date.now()` milliseconds. */
  readonly deadline: number;
  /** How acks of later records name this one (the caller's id). */
  readonly label: string;
  /** Called exactly once. */
  readonly done: (outcome: RecordOutcome) => void;
  /**
   * Not to be written (validation refused it): answered with this failure
   * once the records of its key sent before it are (an ordered stream's
   * acks keep their order), taking the key's later records with it.
   */
  readonly refused?: Failure | undefined;
}

export interface ProducerHooks {
  /** A Kinesis record about to be sent carries these user records (telemetry links). */
  carries?(carrier: PutRecordsRequestEntry, carried: readonly PutRecordsRequestEntry[]): void;
  /** A `PutRecords` call is sent with this many Kinesis records. */
  batch?(records: number): void;
  /** An aggregated record is sealed with this many user records and bytes. */
  aggregated?(records: number, bytes: number): void;
  /** A batch goes out whose longest-waiting new record came `waitedMs` ago. */
  firstSent?(waitedMs: number): void;
  /** Records go back to wait for a retry, after a failure of this type. */
  retried?(records: number, errorType: string): void;
  /** A record is given up on with this error code (`RecordExpired`, `PrecedingRecordFailed`, …). */
  gaveUp?(errorCode: string): void;
}

export interface ProducerOptions {
  /** Where batches go: PutRecords and ListShards, past validation and access checks. */
  readonly backend: Backend;
  readonly shardMaps: ShardMaps;
  readonly lingerMs: number;
  /** Whether the stream's records are packed in aggregated records. */
  readonly aggregates: (streamName: string) => boolean;
  /** Largest aggregated record, in bytes. */
  readonly aggregationMaxBytes: number;
  /** Whether the stream keeps each key's order (the default). */
  readonly ordered: (streamName: string) => boolean;
  /** `PutRecords` calls in flight per stream. Default 8. */
  readonly callsPerStream?: number | undefined;
  readonly hooks?: ProducerHooks | undefined;
  /** Uniform in [0, 1); injectable for tests. */
  readonly random?: (() => number) | undefined;
}

export interface Producer {
  /** Takes records of one stream. The stream reference must be validated. */
  put(ref: StreamRef, records: readonly ProducedRecord[]): void;
  /** Records taken in and not yet done. */
  readonly held: number;
  /** Sends everything buffered without lingering from now on (the gateway drains). */
  flushAll(): void;
  /**
   * Ends every record not done with `ShuttingDown`: those waiting at once,
   * those in flight too (their outcome, if it comes, is not reported).
   */
  abandon(): void;
}

/**
 * Failures worth another try: throttling, Kinesis's own failures, a stream
 * between states (being created or updated), the way there.
 */
const RETRYABLE_TYPES = new Set([
  "ProvisionedThroughputExceededException",
  "ResourceInUseException",
  "InternalFailure",
  "ServiceUnavailable",
  "LimitExceededException",
  "KMSThrottlingException",
  "ThrottlingException",
]);

export function isRetryable(err: unknown): boolean {
  if (err instanceof KinesisError) return RETRYABLE_TYPES.has(err.type);
  if (err instanceof GatewayError) {
    return err.kind === "unavailable" || err.kind === "timeout" || err.kind === "overloaded";
  }
  return false;
}

const THROTTLED = "ProvisionedThroughputExceededException";
const PRECEDING_FAILED = "PrecedingRecordFailed";
/** What an aggregated record adds around a user record at most, besides its data and key. */
const AGGREGATE_SLACK_BYTES = 64;
const BASE_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1_000;
/** The longest error text carried into another record's ack. */
const MAX_CARRIED_MESSAGE = 1_000;

/** Why a record was not written: an error code and its text. */
export interface Failure {
  readonly code: string;
  readonly message: string;
}

interface Pending {
  readonly record: ProducedRecord;
  readonly bytes: number;
  readonly hashKey: bigint;
  readonly accepted: number;
  /** Its place among the records taken in: a key's records go out in this order. */
  readonly order: number;
  shardId: string;
  attempts: number;
  /** The call it was last sent in. */
  call: number;
  lastError: Failure | undefined;
  done: boolean;
}

/** A key's records, in order; listed on its head's shard when ready. */
interface KeyQueue {
  readonly key: string;
  readonly records: Pending[];
  inFlight: boolean;
  listed: ShardQueue | undefined;
  /** Not before this time (a retry's backoff). */
  notBefore: number;
}

interface ShardQueue {
  readonly shardId: string;
  readonly ready: KeyQueue[];
  pausedUntil: number;
  throttles: number;
  /** Why it is paused: what a record that waited behind the pause says when it expires. */
  lastError: Failure | undefined;
}

interface StreamState {
  readonly key: string;
  readonly ref: StreamRef;
  readonly ordered: boolean;
  readonly aggregates: boolean;
  map: ShardMap | undefined;
  /** An answer named a shard the map did not predict: it is read again before the next batch. */
  stale: boolean;
  loading: boolean;
  readonly unmapped: Pending[];
  readonly keys: Map<string, KeyQueue>;
  readonly shards: Map<string, ShardQueue>;
  readonly delayed: Set<KeyQueue>;
  readonly inFlight: Set<Pending>;
  calls: number;
  held: number;
  heldBytes: number;
  inFlightBytes: number;
  pausedUntil: number;
  failures: number;
  /** The last failure of a whole call or a map read, while they keep failing. */
  lastError: Failure | undefined;
  linger: NodeJS.Timeout | undefined;
  wake: NodeJS.Timeout | undefined;
  wakeAt: number;
  sweep: NodeJS.Timeout | undefined;
  nextShard: number;
}

/** One Kinesis record of a batch: the user records it carries. */
interface Carrier {
  readonly entry: PutRecordsRequestEntry;
  readonly records: readonly Pending[];
  readonly aggregated: boolean;
  readonly shard: ShardQueue;
}

export function createProducer(options: ProducerOptions): Producer {
  const callsPerStream = options.callsPerStream ?? 8;
  const random = options.random ?? Math.random;
  const hooks = options.hooks ?? {};
  const streams = new Map<string, StreamState>();
  let held = 0;
  let calls = 0;
  let taken = 0;
  let draining = false;

  const backoffMs = (attempt: number) =>
    Math.floor(
      random() * Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, attempt - 1)),
    );

  function streamFor(ref: StreamRef): StreamState {
    const key = ref.streamArn || ref.streamName || "";
    let stream = streams.get(key);
    if (stream === undefined) {
      const name = streamNameOf(ref) ?? "";
      stream = {
        key,
        ref: ref.streamArn ? { streamArn: ref.streamArn } : { streamName: ref.streamName },
        ordered: options.ordered(name),
        aggregates: options.aggregates(name),
        map: undefined,
        stale: false,
        loading: false,
        unmapped: [],
        keys: new Map(),
        shards: new Map(),
        delayed: new Set(),
        inFlight: new Set(),
        calls: 0,
        held: 0,
        heldBytes: 0,
        inFlightBytes: 0,
        pausedUntil: 0,
        failures: 0,
        lastError: undefined,
        linger: undefined,
        wake: undefined,
        wakeAt: Number.POSITIVE_INFINITY,
        sweep: undefined,
        nextShard: 0,
      };
      streams.set(key, stream);
    }
    return stream;
  }

  // ---- Outcomes --------------------------------------------------------------------------

  function finish(stream: StreamState, pending: Pending, outcome: RecordOutcome): void {
    if (pending.done) return;
    pending.done = true;
    held--;
    stream.held--;
    stream.heldBytes -= pending.bytes;
    if (outcome.errorCode !== undefined) hooks.gaveUp?.(outcome.errorCode);
    pending.record.done(outcome);
    if (stream.held === 0) forget(stream);
  }

  /** A stream holding nothing is dropped: its map stays cached in `shardMaps`. */
  function forget(stream: StreamState): void {
    clearTimeout(stream.linger);
    clearTimeout(stream.wake);
    clearInterval(stream.sweep);
    if (streams.get(stream.key) === stream) streams.delete(stream.key);
  }

  /**
   * Gives up on a record, and in an ordered stream on the records of its key
   * that wait (all later than it: those in flight with it share its fate
   * already). Returns what those later records' acks say.
   */
  function giveUp(stream: StreamState, pending: Pending, reason: Failure): string {
    finish(stream, pending, { errorCode: reason.code, errorMessage: reason.message });
    const text = precedingFailed(pending, reason);
    if (!stream.ordered) return text;
    const queue = stream.keys.get(keyOf(stream, pending));
    if (queue === undefined) return text;
    for (const later of queue.records.splice(0)) {
      finish(stream, later, { errorCode: PRECEDING_FAILED, errorMessage: text });
    }
    unlist(stream, queue);
    return text;
  }

  /** What the acks of a key's records after `pending`, given up on, say. */
  function precedingFailed(pending: Pending, reason: Failure): string {
    const cause = shortened(`${reason.code}: ${reason.message}`);
    return `Not written: record ${pending.record.label} with the same partition key, sent before it, was not written (${cause}).`;
  }

  /**
   * Gives up on records in the order given: a key's later records follow its
   * first failure, those given here (sent with it) before those waiting, so
   * that the key's acks keep their order.
   */
  function giveUpAll(
    stream: StreamState,
    failures: readonly (readonly [Pending, Failure])[],
  ): void {
    if (!stream.ordered) {
      for (const [pending, reason] of failures) if (!pending.done) giveUp(stream, pending, reason);
      return;
    }
    const byKey = new Map<string, (readonly [Pending, Failure])[]>();
    for (const failure of failures) {
      if (failure[0].done) continue;
      const key = keyOf(stream, failure[0]);
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [failure]);
      else list.push(failure);
    }
    for (const [key, list] of byKey) {
      const [first, reason] = list[0]!;
      finish(stream, first, { errorCode: reason.code, errorMessage: reason.message });
      const text = precedingFailed(first, reason);
      for (const [pending] of list.slice(1)) {
        finish(stream, pending, { errorCode: PRECEDING_FAILED, errorMessage: text });
      }
      const queue = stream.keys.get(key);
      if (queue === undefined) continue;
      for (const later of queue.records.splice(0)) {
        finish(stream, later, { errorCode: PRECEDING_FAILED, errorMessage: text });
      }
      unlist(stream, queue);
    }
  }

  /**
   * A record that never went out (its shard or stream paused after failures)
   * says what held it back: the failure that paused them.
   */
  function expiry(stream: StreamState, pending: Pending): Failure {
    const ttl = Math.max(0, pending.record.deadline - pending.accepted);
    const own = pending.lastError;
    const behind = stream.shards.get(pending.shardId)?.lastError ?? stream.lastError;
    const message =
      own !== undefined
        ? `Not written within its time to live (${ttl} ms); the last attempt failed: ${own.code}: ${own.message}`
        : behind !== undefined
          ? `Not written within its time to live (${ttl} ms); held back by a failure: ${behind.code}: ${behind.message}`
          : `Not written within its time to live (${ttl} ms).`;
    return { code: "RecordExpired", message: shortened(message) };
  }

  // ---- Queues ----------------------------------------------------------------------------

  function keyOf(stream: StreamState, pending: Pending): string {
    // Unordered: one queue per shard, never held back by what is in flight.
    return stream.ordered ? (pending.record.entry.partitionKey ?? "") : `\0${pending.shardId}`;
  }

  function shardQueue(stream: StreamState, shardId: string): ShardQueue {
    let shard = stream.shards.get(shardId);
    if (shard === undefined) {
      shard = { shardId, ready: [], pausedUntil: 0, throttles: 0, lastError: undefined };
      stream.shards.set(shardId, shard);
    }
    return shard;
  }

  function unlist(stream: StreamState, queue: KeyQueue): void {
    const shard = queue.listed;
    if (shard !== undefined) {
      const index = shard.ready.indexOf(queue);
      if (index >= 0) shard.ready.splice(index, 1);
      queue.listed = undefined;
    }
    stream.delayed.delete(queue);
    if (queue.records.length === 0 && !queue.inFlight) stream.keys.delete(queue.key);
  }

  /** Lists a key on its head's shard when it can go, or among the delayed. */
  function list(stream: StreamState, queue: KeyQueue, now: number): void {
    if (queue.listed !== undefined || (queue.inFlight && stream.ordered)) return;
    const head = queue.records[0];
    if (head === undefined) {
      if (!queue.inFlight) stream.keys.delete(queue.key);
      return;
    }
    if (queue.notBefore > now) {
      stream.delayed.add(queue);
      wakeAt(stream, queue.notBefore);
      return;
    }
    const shard = shardQueue(stream, head.shardId);
    // A key coming back from a failure goes first: records retried behind fresh ones would be
    // throttled again and again by a busy shard until they expire.
    if (head.attempts > 0) shard.ready.unshift(queue);
    else shard.ready.push(queue);
    queue.listed = shard;
  }

  function place(stream: StreamState, pending: Pending, now: number): void {
    pending.shardId = stream.map!.shardFor(pending.hashKey);
    const key = keyOf(stream, pending);
    let queue = stream.keys.get(key);
    if (queue === undefined) {
      queue = { key, records: [], inFlight: false, listed: undefined, notBefore: 0 };
      stream.keys.set(key, queue);
    }
    queue.records.push(pending);
    list(stream, queue, now);
  }

  /**
   * Once a map is read (after a reshard or a misprediction): every waiting
   * record's shard is predicted again. Those that waited for the map join
   * their keys in the order records came: a retry that came back meanwhile
   * goes before its key's later records, not after them.
   */
  function replace(stream: StreamState, now: number): void {
    const waiting = stream.unmapped.splice(0);
    for (const queue of stream.keys.values()) {
      waiting.push(...queue.records.splice(0));
      unlist(stream, queue);
    }
    stream.shards.clear();
    waiting.sort((a, b) => a.order - b.order);
    for (const pending of waiting) place(stream, pending, now);
  }

  // ---- Scheduling -----------------------------------------------------------------------

  function wakeAt(stream: StreamState, at: number): void {
    if (at >= stream.wakeAt) return;
    clearTimeout(stream.wake);
    stream.wakeAt = at;
    stream.wake = setTimeout(
      () => {
        stream.wakeAt = Number.POSITIVE_INFINITY;
        stream.wake = undefined;
        const now = Date.now();
        for (const queue of [...stream.delayed]) {
          if (queue.notBefore <= now) {
            stream.delayed.delete(queue);
            list(stream, queue, now);
          } else {
            wakeAt(stream, queue.notBefore);
          }
        }
        flush(stream);
      },
      Math.max(0, at - Date.now()),
    );
  }

  /**
   * Whether enough waits for a full batch, so lingering gains nothing: 500
   * records (unless aggregated), or half the bytes a call may carry.
   */
  function full(stream: StreamState): boolean {
    const records = stream.held - stream.inFlight.size;
    const bytes = stream.heldBytes - stream.inFlightBytes;
    return (
      (!stream.aggregates && records >= MAX_RECORDS_PER_PUT) || bytes >= MAX_PUT_RECORDS_BYTES / 2
    );
  }

  /** Sends now if a batch is full, else within `lingerMs`. */
  function schedule(stream: StreamState): void {
    if (draining || options.lingerMs === 0 || full(stream)) {
      flush(stream);
    } else if (stream.linger === undefined) {
      stream.linger = setTimeout(() => {
        stream.linger = undefined;
        flush(stream);
      }, options.lingerMs);
    }
  }

  function loadMap(stream: StreamState): void {
    if (stream.loading) return;
    stream.loading = true;
    options.shardMaps.get(stream.ref, { signal: new AbortController().signal }).then(
      (map) => {
        stream.loading = false;
        stream.map = map;
        stream.stale = false;
        stream.failures = 0;
        replace(stream, Date.now());
        schedule(stream);
      },
      (err: unknown) => {
        stream.loading = false;
        if (isRetryable(err)) {
          stream.failures++;
          stream.lastError = describe(err);
          const delay = backoffMs(stream.failures);
          setTimeout(() => loadMap(stream), delay);
        } else {
          const reason = describe(err);
          giveUpAll(
            stream,
            stream.unmapped.splice(0).map((pending) => [pending, reason] as const),
          );
        }
      },
    );
  }

  function flush(stream: StreamState): void {
    clearTimeout(stream.linger);
    stream.linger = undefined;
    if (stream.map === undefined || stream.stale) {
      loadMap(stream);
      return;
    }
    const now = Date.now();
    if (stream.pausedUntil > now) {
      wakeAt(stream, stream.pausedUntil);
      return;
    }
    while (stream.calls < callsPerStream) {
      const carriers = takeBatch(stream, now);
      if (carriers.length === 0) break;
      send(stream, carriers);
    }
  }

  // ---- Batches ---------------------------------------------------------------------------

  /** One `PutRecords` worth of ready records, shard by shard from where the last batch stopped. */
  function takeBatch(stream: StreamState, now: number): Carrier[] {
    const carriers: Carrier[] = [];
    let bytes = 0;
    const shards = [...stream.shards.values()];
    for (let n = 0; n < shards.length; n++) {
      const shard = shards[(stream.nextShard + n) % shards.length]!;
      if (shard.ready.length === 0) continue;
      if (shard.pausedUntil > now) {
        wakeAt(stream, shard.pausedUntil);
        continue;
      }
      bytes = takeFromShard(stream, shard, carriers, bytes, now);
      if (carriers.length >= MAX_RECORDS_PER_PUT) {
        stream.nextShard = (stream.nextShard + n + 1) % shards.length;
        break;
      }
    }
    return carriers;
  }

  function takeFromShard(
    stream: StreamState,
    shard: ShardQueue,
    carriers: Carrier[],
    batchBytes: number,
    now: number,
  ): number {
    let bytes = batchBytes;
    let open: { sizer: AggregateSizer; records: Pending[] } | undefined;
    const count = () => carriers.length + (open === undefined ? 0 : 1);
    // What the batch has left, the open aggregated record counted in (with its key "a").
    const room = () =>
      MAX_PUT_RECORDS_BYTES - bytes - (open === undefined ? 0 : open.sizer.bytes + 1);
    const seal = () => {
      if (open === undefined) return;
      const records = open.records;
      open = undefined;
      // Opened for a record that then did not fit the batch: nothing to send.
      if (records.length === 0) return;
      const carrier = carrierOf(records, shard);
      carriers.push(carrier);
      bytes += recordBytes(carrier.entry);
    };
    const plain = (pending: Pending) => {
      carriers.push({ entry: pending.record.entry, records: [pending], aggregated: false, shard });
      bytes += pending.bytes;
    };
    let exhausted = false;
    while (!exhausted && shard.ready.length > 0 && count() < MAX_RECORDS_PER_PUT) {
      const queue = shard.ready[0]!;
      if (queue.records[0]?.shardId !== shard.shardId) {
        // Listed where its head no longer goes (an unlikely race with a reshard): move it.
        shard.ready.shift();
        queue.listed = undefined;
        list(stream, queue, now);
        if (queue.listed === shard) break;
        continue;
      }
      const head = queue.records[0]!;
      if (head.record.refused !== undefined) {
        // Refused, and now first of its key: answered, and its key's later records with it.
        shard.ready.shift();
        queue.listed = undefined;
        queue.records.shift();
        giveUp(stream, head, head.record.refused);
        if (queue.records.length > 0) list(stream, queue, now);
        continue;
      }
      let taken = 0;
      while (queue.records.length > 0 && count() < MAX_RECORDS_PER_PUT) {
        const pending = queue.records[0]!;
        if (pending.shardId !== shard.shardId || pending.record.refused !== undefined) break;
        // An ordered key has one Kinesis record per batch: one user record, or one aggregate.
        const aggregable =
          stream.aggregates && pending.bytes + AGGREGATE_SLACK_BYTES <= options.aggregationMaxBytes;
        if (!aggregable) {
          if (stream.ordered && taken > 0) break;
          if (pending.bytes > room()) {
            exhausted = true;
            break;
          }
          queue.records.shift();
          plain(pending);
          taken++;
          continue;
        }
        const user = userRecordOf(pending.record.entry);
        open ??= { sizer: createAggregateSizer(), records: [] };
        const adds = open.sizer.bytesToAdd(user);
        if (open.sizer.bytes + adds > options.aggregationMaxBytes || adds > room()) {
          if (stream.ordered && taken > 0) break;
          if (open.records.length === 0) {
            exhausted = true;
            break;
          }
          seal();
          continue;
        }
        open.sizer.add(user);
        open.records.push(pending);
        queue.records.shift();
        taken++;
      }
      if (taken === 0) break;
      // The key leaves the ready list: until its call ends (ordered), or to the end of it.
      shard.ready.shift();
      queue.listed = undefined;
      if (stream.ordered) {
        queue.inFlight = true;
      } else {
        list(stream, queue, now);
        break;
      }
    }
    seal();
    return bytes;
  }

  function carrierOf(records: Pending[], shard: ShardQueue): Carrier {
    if (records.length === 1) {
      return { entry: records[0]!.record.entry, records, aggregated: false, shard };
    }
    const entry = aggregatedEntry(
      records.map((pending) => userRecordOf(pending.record.entry)),
      records[0]!.hashKey,
    );
    hooks.aggregated?.(records.length, entry.data!.length);
    hooks.carries?.(
      entry,
      records.map((pending) => pending.record.entry),
    );
    return { entry, records, aggregated: true, shard };
  }

  function sent(stream: StreamState, pending: Pending): void {
    stream.inFlight.add(pending);
    stream.inFlightBytes += pending.bytes;
  }

  function returned(stream: StreamState, pending: Pending): void {
    if (stream.inFlight.delete(pending)) stream.inFlightBytes -= pending.bytes;
  }

  function send(stream: StreamState, carriers: Carrier[]): void {
    stream.calls++;
    const now = Date.now();
    const call = ++calls;
    let oldest = now;
    for (const carrier of carriers) {
      for (const pending of carrier.records) {
        if (pending.attempts === 0 && pending.accepted < oldest) oldest = pending.accepted;
        pending.attempts++;
        pending.call = call;
        sent(stream, pending);
      }
    }
    hooks.batch?.(carriers.length);
    hooks.firstSent?.(now - oldest);
    options.backend
      .putRecords(
        { ...stream.ref, records: carriers.map((carrier) => carrier.entry) },
        { signal: new AbortController().signal },
      )
      .then(
        (output) => answered(stream, carriers, output.records),
        (err: unknown) => failed(stream, carriers, err),
      )
      .finally(() => {
        stream.calls--;
        const now = Date.now();
        // Keys whose call ended may go again (not those sent again alone meanwhile).
        for (const carrier of carriers) {
          for (const pending of carrier.records) {
            if (pending.call !== call) continue;
            returned(stream, pending);
            const queue = stream.keys.get(keyOf(stream, pending));
            if (queue !== undefined) {
              queue.inFlight = false;
              list(stream, queue, now);
            }
          }
        }
        if (stream.held > 0) schedule(stream);
      });
  }

  function answered(
    stream: StreamState,
    carriers: readonly Carrier[],
    results: readonly PutRecordsResultEntry[],
  ): void {
    stream.failures = 0;
    stream.lastError = undefined;
    const now = Date.now();
    let mispredicted = false;
    const retry: Pending[] = [];
    carriers.forEach((carrier, i) => {
      const result = results[i];
      if (result?.errorCode === undefined && result?.shardId && result.sequenceNumber) {
        if (result.shardId !== carrier.shard.shardId) mispredicted = true;
        carrier.shard.throttles = 0;
        carrier.shard.lastError = undefined;
        carrier.records.forEach((pending, sub) => {
          finish(stream, pending, {
            shardId: result.shardId!,
            sequenceNumber: result.sequenceNumber!,
            subSequenceNumber: carrier.aggregated ? sub : 0,
          });
        });
        return;
      }
      const code = result?.errorCode ?? "InternalFailure";
      const message = result?.errorMessage ?? "No result for the record.";
      if (code === THROTTLED) {
        carrier.shard.throttles++;
        carrier.shard.lastError = { code, message };
        carrier.shard.pausedUntil = Math.max(
          carrier.shard.pausedUntil,
          now + backoffMs(carrier.shard.throttles) + BASE_BACKOFF_MS,
        );
      }
      for (const pending of carrier.records) {
        pending.lastError = { code, message };
        retry.push(pending);
      }
      hooks.retried?.(carrier.records.length, code);
    });
    if (mispredicted) {
      options.shardMaps.invalidate(stream.ref);
      stream.stale = true;
    }
    requeue(stream, retry, now);
  }

  function failed(stream: StreamState, carriers: readonly Carrier[], err: unknown): void {
    const { code, message } = describe(err);
    const records = carriers.flatMap((carrier) => carrier.records);
    if (isRetryable(err)) {
      stream.failures++;
      stream.lastError = { code, message };
      const now = Date.now();
      stream.pausedUntil = now + backoffMs(stream.failures) + BASE_BACKOFF_MS;
      for (const pending of records) pending.lastError = { code, message };
      hooks.retried?.(records.length, code);
      requeue(stream, records, now);
      return;
    }
    if (
      err instanceof KinesisError &&
      (err.type === "ValidationException" || err.type === "InvalidArgumentException") &&
      carriers.length > 1
    ) {
      // One record the stream refuses (larger than its own maximum) refuses the whole call:
      // each goes again alone, to learn whose it was.
      for (const carrier of carriers) send(stream, [carrier]);
      return;
    }
    if (err instanceof KinesisError && err.type === "ResourceNotFoundException") {
      options.shardMaps.invalidate(stream.ref);
      stream.stale = true;
    }
    giveUpAll(
      stream,
      records.map((pending) => [pending, { code, message }] as const),
    );
  }

  /**
   * Records that failed go back to the front of their keys, after a backoff,
   * if their deadline allows it; the others are given up on (and, ordered,
   * their keys' later records with them).
   */
  function requeue(stream: StreamState, records: readonly Pending[], now: number): void {
    const expired: [Pending, Failure][] = [];
    const kept: [Pending, number][] = [];
    // Ordered: a key's records here were sent together, in order; the first decides for all
    // (one backoff for the key), so none is kept behind a later one given up on.
    const decided = new Map<string, number | undefined>();
    for (const pending of records) {
      if (pending.done) continue;
      const key = keyOf(stream, pending);
      if (stream.ordered && decided.has(key)) {
        const delay = decided.get(key);
        if (delay === undefined) expired.push([pending, expiry(stream, pending)]);
        else kept.push([pending, delay]);
        continue;
      }
      const delay = draining ? 0 : backoffMs(pending.attempts);
      if (now + delay >= pending.record.deadline) {
        expired.push([pending, expiry(stream, pending)]);
        decided.set(key, undefined);
      } else {
        kept.push([pending, delay]);
        decided.set(key, delay);
      }
    }
    // Back in reverse, each to the front: a key's order is kept.
    for (let i = kept.length - 1; i >= 0; i--) {
      const [pending, delay] = kept[i]!;
      if (stream.map === undefined) {
        stream.unmapped.unshift(pending);
        continue;
      }
      const key = keyOf(stream, pending);
      let queue = stream.keys.get(key);
      if (queue === undefined) {
        queue = { key, records: [], inFlight: false, listed: undefined, notBefore: 0 };
        stream.keys.set(key, queue);
      }
      if (queue.listed !== undefined) unlist(stream, queue);
      queue.records.unshift(pending);
      queue.notBefore = now + delay;
    }
    giveUpAll(stream, expired);
    if (stream.map === undefined && stream.unmapped.length > 0) loadMap(stream);
  }

  /** Records waiting past their deadline are given up on; those in flight wait for their answer. */
  function sweep(stream: StreamState): void {
    const now = Date.now();
    const overdue = stream.unmapped.filter((pending) => pending.record.deadline <= now);
    if (overdue.length > 0) {
      stream.unmapped.splice(
        0,
        stream.unmapped.length,
        ...stream.unmapped.filter((p) => !overdue.includes(p)),
      );
      giveUpAll(
        stream,
        overdue.map((pending) => [pending, expiry(stream, pending)]),
      );
    }
    for (const queue of [...stream.keys.values()]) {
      if (stream.ordered) {
        // A key with a record in flight waits for its answer (its records' acks come after
        // that one's); otherwise its head, the oldest, decides: it, and the later records of
        // its key with it.
        const head = queue.records[0];
        if (queue.inFlight || head === undefined || head.record.deadline > now) continue;
        queue.records.shift();
        giveUpAll(stream, [[head, expiry(stream, head)]]);
        continue;
      }
      const index = queue.records.findIndex((pending) => pending.record.deadline <= now);
      if (index < 0) continue;
      const [first] = queue.records.splice(index, 1);
      giveUp(stream, first!, expiry(stream, first!));
      if (queue.records.length === 0) unlist(stream, queue);
    }
  }

  return {
    put(ref, records) {
      if (records.length === 0) return;
      const stream = streamFor(ref);
      const now = Date.now();
      const refusedNow: Pending[] = [];
      for (const record of records) {
        const pending: Pending = {
          record,
          bytes: recordBytes(record.entry),
          // A refused record's explicit hash key may be what is wrong with it: its key decides.
          hashKey:
            record.refused === undefined
              ? hashKeyOf(record.entry)
              : hashKeyForPartitionKey(record.entry.partitionKey ?? ""),
          accepted: now,
          order: taken++,
          shardId: "",
          attempts: 0,
          call: 0,
          lastError: undefined,
          done: false,
        };
        held++;
        stream.held++;
        stream.heldBytes += pending.bytes;
        if (record.refused !== undefined && !stream.ordered) refusedNow.push(pending);
        else if (stream.map === undefined) stream.unmapped.push(pending);
        else place(stream, pending, now);
      }
      // Without an order to keep, a refused record is answered at once.
      for (const pending of refusedNow) giveUp(stream, pending, pending.record.refused!);
      if (stream.held === 0) return;
      stream.sweep ??= setInterval(() => sweep(stream), 250);
      schedule(stream);
    },
    get held() {
      return held;
    },
    flushAll() {
      draining = true;
      for (const stream of streams.values()) flush(stream);
    },
    abandon() {
      const text = "The gateway stopped before the record could be written.";
      for (const stream of [...streams.values()]) {
        const all = [
          ...stream.unmapped,
          ...[...stream.keys.values()].flatMap((queue) => queue.records),
          ...stream.inFlight,
        ];
        for (const pending of all)
          finish(stream, pending, { errorCode: "ShuttingDown", errorMessage: text });
        forget(stream);
      }
    },
  };
}

/**
 * At most {@link MAX_CARRIED_MESSAGE} characters of a text carried into an
 * ack, never ending inside a surrogate pair.
 */
function shortened(text: string): string {
  if (text.length <= MAX_CARRIED_MESSAGE) return text;
  const end = /[\uD800-\uDBFF]/.test(text[MAX_CARRIED_MESSAGE - 1]!)
    ? MAX_CARRIED_MESSAGE - 1
    : MAX_CARRIED_MESSAGE;
  return `${text.slice(0, end)}…`;
}

/** An error as an ack says it: AWS's type and text, or the gateway's kind. */
export function describe(err: unknown): Failure {
  if (err instanceof KinesisError) return { code: err.type, message: err.message };
  if (err instanceof GatewayError) {
    const code =
      err.kind === "forbidden"
        ? "AccessDeniedException"
        : err.kind === "unrouted"
          ? "ResourceNotFoundException"
          : err.kind === "timeout"
            ? "Timeout"
            : err.kind === "overloaded"
              ? "Overloaded"
              : "ServiceUnavailable";
    return { code, message: err.message };
  }
  return { code: "InternalFailure", message: "Internal service failure." };
}
