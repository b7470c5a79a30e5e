/**
 * ConsumerService: GetShardIterator and GetRecords as thin adapters over the
 * backend, and SubscribeToShard, which polls GetRecords for the caller and
 * pushes what it finds. The stream is pulled by the transport: when the
 * caller stops reading, HTTP/2 flow control stops the writes, the generator
 * is not resumed, and no more records are read for it.
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Backend, CallContext } from "../backends/backend.ts";
import { EncryptionType } from "../gen/kinesis/gateway/v1/common_pb.ts";
import {
  type ConsumerService,
  type RecordSchema,
  ShardIteratorType,
  type StartingPosition,
} from "../gen/kinesis/gateway/v1/consumer_pb.ts";
import { KinesisError } from "../kinesis/errors.ts";
import type * as kinesis from "../kinesis/types.ts";
import { callContextOf } from "./call-context.ts";
import { streamRefFromProto } from "./convert.ts";

export interface ConsumerServiceOptions {
  /** Wait between polls that found nothing new. Default 250 ms (4 of a shard's 5 reads a second). */
  idlePollMs?: number;
  /** Aborted when the gateway drains: subscriptions end with UNAVAILABLE. */
  shutdown?: AbortSignal | undefined;
}

const shuttingDown = () =>
  new ConnectError(
    "the gateway is shutting down; subscribe again at the continuation",
    Code.Unavailable,
  );

const iteratorTypes: Readonly<Record<number, kinesis.ShardIteratorType>> = {
  [ShardIteratorType.AT_SEQUENCE_NUMBER]: "AT_SEQUENCE_NUMBER",
  [ShardIteratorType.AFTER_SEQUENCE_NUMBER]: "AFTER_SEQUENCE_NUMBER",
  [ShardIteratorType.TRIM_HORIZON]: "TRIM_HORIZON",
  [ShardIteratorType.LATEST]: "LATEST",
  [ShardIteratorType.AT_TIMESTAMP]: "AT_TIMESTAMP",
};

function recordToProto(r: kinesis.KinesisRecord): MessageInitShape<typeof RecordSchema> {
  return {
    sequenceNumber: r.sequenceNumber,
    approximateArrivalTimestamp: timestampFromDate(r.approximateArrivalTimestamp),
    data: r.data,
    partitionKey: r.partitionKey,
    encryptionType: EncryptionType[r.encryptionType ?? "NONE"],
  };
}

function iteratorInput(
  ref: { streamName: string; streamArn: string },
  shardId: string,
  position: Pick<StartingPosition, "type" | "sequenceNumber" | "timestamp">,
): kinesis.GetShardIteratorInput {
  return {
    ...streamRefFromProto(ref),
    shardId,
    // Unset is null, as from a wire client that sent none: validation names it.
    shardIteratorType: iteratorTypes[position.type] ?? null,
    startingSequenceNumber: position.sequenceNumber === "" ? undefined : position.sequenceNumber,
    timestamp: position.timestamp === undefined ? undefined : timestampDate(position.timestamp),
  };
}

/** Waits; false when the caller went away first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * GetRecords, waiting and trying again while the shard's read budget is
 * spent; undefined when the caller went away.
 */
async function readThrottled(
  backend: Backend,
  input: kinesis.GetRecordsInput,
  call: CallContext,
  waitMs: number,
): Promise<kinesis.GetRecordsOutput | undefined> {
  for (;;) {
    try {
      return await backend.getRecords(input, call);
    } catch (err) {
      if (!(err instanceof KinesisError && err.type === "ProvisionedThroughputExceededException"))
        throw err;
      if (!(await pause(waitMs, call.signal))) return undefined;
    }
  }
}

export function createConsumerService(
  backend: Backend,
  options: ConsumerServiceOptions = {},
): ServiceImpl<typeof ConsumerService> {
  const idlePollMs = options.idlePollMs ?? 250;
  return {
    async getShardIterator(req, ctx) {
      return backend.getShardIterator(
        iteratorInput(req, req.shardId, {
          type: req.shardIteratorType,
          sequenceNumber: req.startingSequenceNumber,
          timestamp: req.timestamp,
        }),
        callContextOf(ctx),
      );
    },

    async getRecords(req, ctx) {
      const out = await backend.getRecords(
        {
          shardIterator: req.shardIterator,
          limit: req.limit === 0 ? undefined : req.limit,
          streamArn: req.streamArn === "" ? undefined : req.streamArn,
        },
        callContextOf(ctx),
      );
      return {
        records: out.records.map(recordToProto),
        nextShardIterator: out.nextShardIterator ?? "",
        millisBehindLatest: BigInt(out.millisBehindLatest),
      };
    },

    async *subscribeToShard(req, ctx: HandlerContext) {
      const shutdown = options.shutdown ?? new AbortController().signal;
      const until = AbortSignal.any([ctx.signal, shutdown]);
      const call = { ...callContextOf(ctx), signal: until };
      const position = req.startingPosition ?? {
        type: ShardIteratorType.UNSPECIFIED,
        sequenceNumber: "",
      };
      let continuation = position.sequenceNumber;
      let first = true;
      try {
        let { shardIterator } = await backend.getShardIterator(
          iteratorInput(req, req.shardId, position),
          call,
        );
        while (!until.aborted) {
          const out = await readThrottled(backend, { shardIterator }, call, idlePollMs);
          if (out === undefined) break;
          const last = out.records.at(-1);
          if (last !== undefined) continuation = last.sequenceNumber;
          // The first event says the subscription is live even when there is nothing yet.
          if (out.records.length > 0 || first) {
            yield {
              records: out.records.map(recordToProto),
              continuationSequenceNumber: continuation,
              millisBehindLatest: BigInt(out.millisBehindLatest),
            };
          }
          first = false;
          if (out.nextShardIterator === undefined) return; // the shard is closed and read
          shardIterator = out.nextShardIterator;
          if (out.records.length === 0 && !(await pause(idlePollMs, until))) break;
        }
      } catch (err) {
        // A read cut short by the drain is the drain's doing, not a failure.
        if (!shutdown.aborted) throw err;
      }
      if (shutdown.aborted) throw shuttingDown();
    },
  };
}
