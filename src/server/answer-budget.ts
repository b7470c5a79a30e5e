/**
 * The bytes that read answers being made may hold at once, process-wide: a
 * GetRecords answer or a SubscribeToShard event is read, encoded and
 * enveloped (about twice its size) before a byte of it is written, and a few
 * clients asking for 10 MiB each could otherwise have many made at once. Once
 * an answer is handed to its connection, the budget of unread answers
 * counts it instead. Reads past this budget wait their turn, first come
 * first served, for as long as their callers do; one answer may always be
 * made, however large.
 */
import type { AnswerAdmission } from "../services/consumer-service.ts";

interface Waiting {
  bytes: number;
  grant: (release: () => void) => void;
}

export function createAnswerBudget(maxBytes: number): AnswerAdmission {
  let free = maxBytes;
  const queue: Waiting[] = [];

  /** Lets in, in order, the waiting reads that now fit. */
  const admitWaiting = () => {
    while (queue.length > 0 && queue[0]!.bytes <= free) {
      const next = queue.shift()!;
      free -= next.bytes;
      next.grant(releaser(next.bytes));
    }
  };
  const releaser = (bytes: number) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      free += bytes;
      admitWaiting();
    };
  };

  return {
    admit(bytes, signal) {
      const wanted = Math.min(bytes, maxBytes);
      if (signal.aborted) return Promise.reject(signal.reason);
      if (queue.length === 0 && wanted <= free) {
        free -= wanted;
        return Promise.resolve(releaser(wanted));
      }
      return new Promise((resolve, reject) => {
        const waiting: Waiting = {
          bytes: wanted,
          grant: (release) => {
            signal.removeEventListener("abort", leave);
            resolve(release);
          },
        };
        const leave = () => {
          const at = queue.indexOf(waiting);
          if (at >= 0) queue.splice(at, 1);
          reject(signal.reason);
          admitWaiting(); // those it held back may fit now
        };
        signal.addEventListener("abort", leave, { once: true });
        queue.push(waiting);
      });
    },
  };
}
