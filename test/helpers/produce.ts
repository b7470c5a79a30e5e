/**
 * A `ProducerService.Produce` client as the producer tests use it, and the
 * checks every one of them makes: exactly one ack per record, and each
 * partition key's written records in the order they were sent.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ProduceAck,
  ProduceRequestSchema,
  ProducerService,
} from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";

export interface Sent {
  id: bigint;
  key: string;
  data: string;
}

/** `count` records spread over `keys` partition keys, ids from 0. */
export function records(count: number, keys: number, prefix = "r"): Sent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: BigInt(i),
    key: `key-${i % keys}`,
    data: `${prefix} ${i}`,
  }));
}

/** Exactly one ack per id, as a map. */
export function oneAckEach(
  sent: readonly Sent[],
  acks: readonly ProduceAck[],
): Map<bigint, ProduceAck> {
  const byId = new Map<bigint, ProduceAck>();
  for (const ack of acks) {
    assert.ok(!byId.has(ack.id), `a second ack for record ${ack.id}`);
    byId.set(ack.id, ack);
  }
  assert.equal(byId.size, sent.length, "an ack for every record");
  for (const r of sent) assert.ok(byId.has(r.id), `no ack for record ${r.id}`);
  return byId;
}

/**
 * Per key and shard, written records' (sequence, sub-sequence) increase in the
 * order they were sent: what a consumer of the shard sees. (Numbers of
 * different shards are not compared: a key's records move to a child shard
 * after a reshard.) Records without an ack in `byId` are not looked at.
 */
export function assertKeyOrder(sent: readonly Sent[], byId: Map<bigint, ProduceAck>): void {
  const last = new Map<string, [bigint, bigint]>();
  for (const r of sent) {
    const ack = byId.get(r.id);
    if (ack === undefined || ack.errorCode !== "") continue;
    const position: [bigint, bigint] = [BigInt(ack.sequenceNumber), ack.subSequenceNumber];
    const place = `${r.key} ${ack.shardId}`;
    const before = last.get(place);
    if (before !== undefined) {
      assert.ok(
        position[0] > before[0] || (position[0] === before[0] && position[1] > before[1]),
        `record ${r.id} of ${r.key} was written before an earlier one`,
      );
    }
    last.set(place, position);
  }
}

/** How many acks carry each error code ("" for written), for messages. */
export function codeCounts(acks: Iterable<ProduceAck>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const ack of acks) counts[ack.errorCode] = (counts[ack.errorCode] ?? 0) + 1;
  return counts;
}

export interface ProduceClientOptions {
  readonly interceptors?: Interceptor[];
}

export const produceClient = (url: string, options: ProduceClientOptions = {}) =>
  createClient(
    ProducerService,
    createGrpcTransport({ baseUrl: url, interceptors: options.interceptors ?? [] }),
  );

/** Sends the records in messages of `perMessage`, half-closes, and collects every ack. */
export async function produce(
  url: string,
  stream: string,
  sent: readonly Sent[],
  perMessage = 100,
  streamArn = "",
  interceptors: Interceptor[] = [],
): Promise<ProduceAck[]> {
  async function* requests() {
    for (let i = 0; i < sent.length; i += perMessage) {
      yield create(ProduceRequestSchema, {
        streamName: stream,
        streamArn,
        records: sent.slice(i, i + perMessage).map((r) => ({
          id: r.id,
          partitionKey: r.key,
          data: new TextEncoder().encode(r.data),
        })),
      });
    }
  }
  const acks: ProduceAck[] = [];
  for await (const response of produceClient(url, { interceptors }).produce(requests())) {
    acks.push(...response.acks);
  }
  return acks;
}

/** An ack and when it came, in `performance.now()` milliseconds. */
export interface TimedAck {
  readonly ack: ProduceAck;
  readonly at: number;
}

export interface ContinuousProduce {
  /** Every record handed to the stream so far, in send order. */
  readonly sent: Sent[];
  /** Every ack so far, as it came. */
  readonly acks: TimedAck[];
  /** Half-closes the stream and resolves once the gateway ends the call. */
  finish(): Promise<void>;
}

/**
 * One Produce stream sending `perMessage` records every `intervalMs` (over
 * `keys` keys) until `finish()`; the sends wait whenever the gateway stops
 * reading. The call's own failure rejects `finish()`.
 */
export function produceContinuously(
  url: string,
  stream: string,
  options: { perMessage: number; intervalMs: number; keys: number },
): ContinuousProduce {
  const sent: Sent[] = [];
  const acks: TimedAck[] = [];
  let finished = false;
  async function* requests() {
    for (let message = 0; !finished; message++) {
      const batch = Array.from({ length: options.perMessage }, (_, i) => {
        const n = message * options.perMessage + i;
        return { id: BigInt(n), key: `key-${n % options.keys}`, data: `record ${n}` };
      });
      yield create(ProduceRequestSchema, {
        streamName: stream,
        records: batch.map((r) => ({
          id: r.id,
          partitionKey: r.key,
          data: new TextEncoder().encode(r.data),
        })),
      });
      // Counted once the transport took it: the next message is only asked for then.
      sent.push(...batch);
      await sleep(options.intervalMs);
    }
  }
  const call = (async () => {
    for await (const response of produceClient(url).produce(requests())) {
      const at = performance.now();
      for (const ack of response.acks) acks.push({ ack, at });
    }
  })();
  // Reported by finish(); not an unhandled rejection meanwhile.
  call.catch(() => {});
  return {
    sent,
    acks,
    finish: () => {
      finished = true;
      return call;
    },
  };
}

/** Sends the messages as they are, half-closes, and collects the acks by id (throws what the call ends with). */
export async function acksFor(
  url: string,
  messages: readonly MessageInitShape<typeof ProduceRequestSchema>[],
  into = new Map<bigint, ProduceAck>(),
): Promise<Map<bigint, ProduceAck>> {
  async function* requests() {
    for (const message of messages) yield create(ProduceRequestSchema, message);
  }
  for await (const response of produceClient(url).produce(requests())) {
    for (const ack of response.acks) into.set(ack.id, ack);
  }
  return into;
}
