/**
 * ConsumerService: GetShardIterator and GetRecords as thin adapters over the
 * backend, and SubscribeToShard, which polls GetRecords for the caller and
 * pushes what it finds. The stream is pulled by the transport: when the
 * caller stops reading, HTTP/2 flow control stops the writes, the generator
 * is not resumed, and no more records are read for it.
 *
 * Every answer and every event fits the caller's `max_message_bytes`
 * (`read-budget.ts`): GetRecords returns fewer records and continues after
 * them, SubscribeToShard splits a read into several events. KPL-aggregated
 * records come as the user records they hold unless the caller keeps them
 * aggregated (`answer-records.ts`); the wire API returns them as stored.
 */

import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Backend, CallContext } from "../backends/backend.ts";
import { decodeShardIterator, parseSequenceNumber, shardIdFor } from "../engine/index.ts";
import {
  type ConsumerService,
  ShardIteratorType,
  type SubscribeToShardResponseSchema,
} from "../gen/kinesis/gateway/v1/consumer_pb.ts";
import type * as kinesis from "../kinesis/types.ts";
import { operations } from "../operations/table.ts";
import {
  createPollingSource,
  DEFAULT_IDLE_POLL_MS,
  whileThrottled as retriedWhileThrottled,
} from "../subscriptions/polling-source.ts";
import { createSubscriptions, type Subscriptions } from "../subscriptions/subscriptions.ts";
import { type FitOptions, type FittedRecords, fitRecords } from "./answer-records.ts";
import { callContextOf } from "./call-context.ts";
import {
  childShardsToProto,
  deregisterStreamConsumerMapping,
  describeStreamConsumerMapping,
  getShardIteratorMapping,
  iteratorInput,
  listStreamConsumersMapping,
  registerStreamConsumerMapping,
  streamRefFromProto,
} from "./convert.ts";
import { MAX_ANSWER_BYTES, messageBudget } from "./read-budget.ts";
import { unary } from "./unary.ts";

export interface ConsumerServiceOptions {
  /** Wait between polls that found nothing new. Default 250 ms (4 of a shard's 5 reads a second). */
  idlePollMs?: number;
  /** Aborted when the gateway drains: subscriptions end with UNAVAILABLE. */
  shutdown?: AbortSignal | undefined;
  /** Admits each answer to be made within a memory budget. Default: no budget. */
  answers?: AnswerAdmission | undefined;
  /** SubscribeToShard's sources. Default: GetRecords polled through the backend. */
  subscriptions?: Subscriptions | undefined;
}

/**
 * Lets a read answer be made that holds `bytes` while it is read and encoded;
 * the caller gives them back (the function it resolves with) once the answer
 * is handed to the connection, where the budget of unread answers takes over.
 */
export interface AnswerAdmission {
  admit(bytes: number, signal: AbortSignal): Promise<() => void>;
}

const NO_BUDGET: AnswerAdmission = { admit: async () => () => {} };

/** What making an answer of `budgetBytes` may hold: the answer encoded, and again in its envelope. */
const makingBytes = (budgetBytes: number) => 2 * Math.min(budgetBytes, MAX_ANSWER_BYTES);

/**
 * Runs `release` once the answer made now is handed to the connection:
 * Connect encodes it and writes it to Node in the promise jobs that follow,
 * before the next turn of the event loop.
 */
const afterHandover = (release: () => void) => setImmediate(release);

const shuttingDown = () =>
  new ConnectError(
    "the gateway is shutting down; subscribe again at the continuation",
    Code.Unavailable,
  );

/**
 * A client that resets its stream this close to the deadline does so because
 * its deadline passed: gRPC clients reset the stream when theirs does, which
 * is about when ours does (the timeout they send leaves out the time the
 * request took to get here, which the reset takes too).
 */
const DEADLINE_SLACK_MS = 100;

/**
 * How a call ends that its caller cut short: DEADLINE_EXCEEDED when its
 * deadline passed, CANCELLED when it went away. Never OK, which a caller
 * would read as a closed shard read to its end.
 */
function cutShort(call: CallContext): ConnectError {
  const reason: unknown = call.signal.reason;
  if (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded) return reason;
  if (call.deadline !== undefined && Date.now() >= call.deadline - DEADLINE_SLACK_MS) {
    return new ConnectError("the operation timed out", Code.DeadlineExceeded);
  }
  return new ConnectError("the client went away", Code.Canceled);
}

/**
 * Makes a call to the backend, waiting and trying again while the shard's
 * budget is spent, until the caller goes away.
 */
async function whileThrottled<T>(
  attempt: () => Promise<T>,
  call: CallContext,
  waitMs: number,
): Promise<T> {
  const out = await retriedWhileThrottled(attempt, call.signal, waitMs);
  if (out === undefined) throw cutShort(call);
  return out;
}

/**
 * `millis_behind_latest` for an answer that ends at `last` while `out`, the
 * read it came from, goes on: at least as far behind as `out`, and never 0,
 * which would say the reader has caught up.
 */
function millisBehindAfter(last: kinesis.KinesisRecord, behind: number): number {
  return Math.max(behind, Date.now() - last.approximateArrivalTimestamp.getTime(), 1);
}

/**
 * The stream and shard a GetRecords read, when something names them: an
 * engine iterator does; an AWS iterator is opaque, but a StreamARN names the
 * stream and a sequence number (the layout AWS uses) the shard.
 */
function shardOf(
  input: kinesis.GetRecordsInput,
  sequenceNumber: string,
): (kinesis.StreamRef & { shardId: string }) | undefined {
  const engine = decodeShardIterator(input.shardIterator ?? "");
  if (engine !== undefined) {
    return { streamName: engine.streamName, shardId: shardIdFor(engine.shardIndex) };
  }
  const fields = parseSequenceNumber(sequenceNumber);
  if (input.streamArn === undefined || fields === undefined) return undefined;
  return { streamArn: input.streamArn, shardId: shardIdFor(fields.shardIndex) };
}

/** An event's records as events of at most `budgetBytes` each; one event when there are none. */
function* eventsOf(
  event: kinesis.SubscribeToShardEvent,
  budgetBytes: number,
  keepAggregated: boolean,
): Generator<MessageInitShape<typeof SubscribeToShardResponseSchema>> {
  let from = 0;
  do {
    const fit = fitRecords(event.records, budgetBytes, { from, keepAggregated });
    from += fit.count;
    const last = event.records[from - 1];
    const final = from === event.records.length;
    yield {
      records: fit.records,
      // Each part's own last record: a subscriber that resumes there misses
      // nothing. A closed shard's children come with its last part, which then
      // has no continuation, as AWS's has none beside ChildShards (the KCL checks it).
      continuationSequenceNumber: final
        ? (event.continuationSequenceNumber ?? "")
        : last!.sequenceNumber,
      millisBehindLatest: BigInt(
        final ? event.millisBehindLatest : millisBehindAfter(last!, event.millisBehindLatest),
      ),
      childShards: final ? childShardsToProto(event.childShards) : [],
    };
  } while (from < event.records.length);
}

export function createConsumerService(
  backend: Backend,
  options: ConsumerServiceOptions = {},
): ServiceImpl<typeof ConsumerService> {
  const idlePollMs = options.idlePollMs ?? DEFAULT_IDLE_POLL_MS;
  const answers = options.answers ?? NO_BUDGET;
  const shutdown = options.shutdown ?? new AbortController().signal;
  const subscriptions =
    options.subscriptions ??
    createSubscriptions({
      sources: new Map([["backend", createPollingSource(backend, idlePollMs)]]),
      backendNameFor: () => "backend",
      shutdown,
    });

  /**
   * `out` as an answer of at most `budgetBytes`: the records that fit, and an
   * iterator that continues right after them. Where the shard is known,
   * GetShardIterator AFTER_SEQUENCE_NUMBER makes it without spending the
   * shard's read budget; otherwise the same iterator is read again, limited
   * to the records that fit.
   */
  async function fitted(
    input: kinesis.GetRecordsInput,
    out: kinesis.GetRecordsOutput,
    budgetBytes: number,
    options: FitOptions,
    call: CallContext,
  ): Promise<{ out: kinesis.GetRecordsOutput; fit: FittedRecords }> {
    const fit = fitRecords(out.records, budgetBytes, options);
    const count = fit.count;
    if (count === out.records.length) return { out, fit };
    const last = out.records[count - 1]!;
    const shard = shardOf(input, last.sequenceNumber);
    if (shard === undefined) {
      // It has no more records than fit, but they may be others (retention
      // moved on meanwhile), so it is measured again.
      const again = await fitted(
        input,
        await whileThrottled(
          () => backend.getRecords({ ...input, limit: count }, call),
          call,
          idlePollMs,
        ),
        budgetBytes,
        options,
        call,
      );
      // Read with a limit, it may not know that more records follow; `out` does.
      const lastAgain = again.out.records[again.fit.count - 1];
      if (lastAgain === undefined) return again;
      const behind = Math.max(
        again.out.millisBehindLatest,
        millisBehindAfter(lastAgain, out.millisBehindLatest),
      );
      return { out: { ...again.out, millisBehindLatest: behind }, fit: again.fit };
    }
    const { shardIterator } = await whileThrottled(
      () =>
        backend.getShardIterator(
          {
            ...shard,
            shardIteratorType: "AFTER_SEQUENCE_NUMBER",
            startingSequenceNumber: last.sequenceNumber,
          },
          call,
        ),
      call,
      idlePollMs,
    );
    return {
      out: {
        records: out.records.slice(0, count),
        nextShardIterator: shardIterator,
        millisBehindLatest: millisBehindAfter(last, out.millisBehindLatest),
      },
      fit,
    };
  }

  return {
    getShardIterator: unary(backend, operations.GetShardIterator, getShardIteratorMapping),

    async getRecords(req, ctx) {
      const call = callContextOf(ctx);
      const input: kinesis.GetRecordsInput = {
        shardIterator: req.shardIterator,
        limit: req.limit === 0 ? undefined : req.limit,
        streamArn: req.streamArn === "" ? undefined : req.streamArn,
      };
      const budgetBytes = messageBudget(req.maxMessageBytes);
      const release = await answers.admit(makingBytes(budgetBytes), call.signal);
      try {
        const { out, fit } = await fitted(
          input,
          await backend.getRecords(input, call),
          budgetBytes,
          { keepAggregated: req.keepAggregated },
          call,
        );
        return {
          records: fit.records,
          nextShardIterator: out.nextShardIterator ?? "",
          millisBehindLatest: BigInt(out.millisBehindLatest),
          childShards: childShardsToProto(out.childShards),
        };
      } finally {
        afterHandover(release);
      }
    },

    async *subscribeToShard(req, ctx: HandlerContext) {
      const call = callContextOf(ctx);
      const position = req.startingPosition ?? {
        type: ShardIteratorType.UNSPECIFIED,
        sequenceNumber: "",
        timestamp: undefined,
      };
      const { shardIteratorType, ...at } = iteratorInput(req, req.shardId, position);
      const input: kinesis.SubscribeToShardInput = {
        ...streamRefFromProto(req),
        consumerArn: req.consumerArn === "" ? undefined : req.consumerArn,
        shardId: req.shardId,
        startingPosition: {
          type: shardIteratorType,
          sequenceNumber: at.startingSequenceNumber,
          timestamp: at.timestamp,
        },
      };
      const budgetBytes = messageBudget(req.maxMessageBytes);
      const subscription = await subscriptions.subscribe(input, call, { requireConsumer: false });
      try {
        // Each event is admitted as it is made and given back once it is
        // handed over, so a reader that does not read holds no budget. (The
        // read itself costs little in the engine, whose records are views of
        // its store.)
        for await (const event of subscription.events) {
          for (const part of eventsOf(event, budgetBytes, req.keepAggregated)) {
            afterHandover(await answers.admit(makingBytes(budgetBytes), call.signal));
            yield part;
          }
        }
      } catch (err) {
        // A read cut short by the drain or the caller is their doing, not a failure.
        if (!call.signal.aborted && !shutdown.aborted) throw err;
      } finally {
        subscription.close();
      }
      switch (subscription.end()) {
        case "shutdown":
          throw shuttingDown();
        case "caller":
          throw cutShort(call);
        default:
          // A closed shard read to its end, or a consumer's lifetime over:
          // the last event's child shards tell which.
          return;
      }
    },

    registerStreamConsumer: unary(
      backend,
      operations.RegisterStreamConsumer,
      registerStreamConsumerMapping,
    ),
    deregisterStreamConsumer: unary(
      backend,
      operations.DeregisterStreamConsumer,
      deregisterStreamConsumerMapping,
    ),
    describeStreamConsumer: unary(
      backend,
      operations.DescribeStreamConsumer,
      describeStreamConsumerMapping,
    ),
    listStreamConsumers: unary(backend, operations.ListStreamConsumers, listStreamConsumersMapping),
  };
}
