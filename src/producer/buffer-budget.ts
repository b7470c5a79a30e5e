/**
 * The bytes of records the producer holds (buffered, being sent, awaiting
 * retry), bounded in total and per stream. A record is admitted when it fits
 * both; otherwise its caller waits, first come first served, until records
 * leave (written or given up on). Nothing is dropped to make room: the caller
 * is held back instead (a Produce stream stops being read; a coalesced call
 * waits until its deadline).
 */
import { GatewayError } from "../kinesis/errors.ts";

/** What a record costs besides its data and key: its place in queues and its ack. */
export const RECORD_OVERHEAD_BYTES = 256;

export interface BufferBudget {
  /** Admits `bytes` for the stream at once when they fit; false when they do not (or others wait first). */
  tryAcquire(stream: string, bytes: number): boolean;
  /**
   * Admits `bytes` for the stream when they fit. Rejects with a GatewayError
   * `overloaded` when `signal` aborts first (a deadline, the caller gone).
   */
  acquire(stream: string, bytes: number, signal?: AbortSignal): Promise<void>;
  /** Gives back what `acquire` admitted. */
  release(stream: string, bytes: number): void;
  /** Bytes held, all streams together. */
  readonly bytes: number;
  /** Callers waiting for room. */
  readonly waiting: number;
}

interface Waiter {
  readonly stream: string;
  readonly bytes: number;
  readonly admit: () => void;
}

/**
 * `maxBytes` in total; one stream may hold `maxStreamBytes`. A record larger
 * than a stream's share is admitted when its stream holds nothing, so that
 * any record the stream takes can be written.
 */
export function createBufferBudget(maxBytes: number, maxStreamBytes: number): BufferBudget {
  let total = 0;
  const byStream = new Map<string, number>();
  const waiters: Waiter[] = [];

  const fits = (stream: string, bytes: number) => {
    const held = byStream.get(stream) ?? 0;
    if (held === 0 && total === 0) return true;
    if (held === 0 && total + bytes <= maxBytes) return true;
    return held + bytes <= maxStreamBytes && total + bytes <= maxBytes;
  };
  const take = (stream: string, bytes: number) => {
    total += bytes;
    byStream.set(stream, (byStream.get(stream) ?? 0) + bytes);
  };

  /** Admits waiters in order; one that does not fit holds back only later waiters of its stream. */
  function wake(): void {
    const blocked = new Set<string>();
    for (let i = 0; i < waiters.length; ) {
      const waiter = waiters[i]!;
      if (!blocked.has(waiter.stream) && fits(waiter.stream, waiter.bytes)) {
        waiters.splice(i, 1);
        take(waiter.stream, waiter.bytes);
        waiter.admit();
      } else {
        blocked.add(waiter.stream);
        i++;
      }
    }
  }

  return {
    tryAcquire(stream, bytes) {
      if (waiters.some((waiter) => waiter.stream === stream) || !fits(stream, bytes)) return false;
      take(stream, bytes);
      return true;
    },
    acquire(stream, bytes, signal) {
      if (this.tryAcquire(stream, bytes)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const index = waiters.indexOf(waiter);
          if (index < 0) return;
          waiters.splice(index, 1);
          reject(
            new GatewayError(
              "overloaded",
              "The gateway holds as many records as it may; nothing was written.",
            ),
          );
          wake();
        };
        const waiter: Waiter = {
          stream,
          bytes,
          admit: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        waiters.push(waiter);
        signal?.addEventListener("abort", onAbort, { once: true });
        if (signal?.aborted) onAbort();
      });
    },
    release(stream, bytes) {
      total -= bytes;
      const held = (byStream.get(stream) ?? 0) - bytes;
      if (held <= 0) byStream.delete(stream);
      else byStream.set(stream, held);
      if (waiters.length > 0) wake();
    },
    get bytes() {
      return total;
    },
    get waiting() {
      return waiters.length;
    },
  };
}
