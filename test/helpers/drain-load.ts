/**
 * Load for drain tests: eight gRPC callers, each on its own connection,
 * writing batches of 50 back to back until told the gateway is being
 * stopped, then making at most one more call each.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { clientsFor, transports } from "./gateway.ts";
import type { GatewayProcess } from "./gateway-process.ts";

export interface DrainLoad {
  /** Records the gateway acknowledged, with their data. */
  readonly acknowledged: { sequenceNumber: string; data: string }[];
  /** The code of each failed call (a call refused by the GOAWAY counts as `Unavailable`). */
  readonly failures: string[];
  /** Calls started after `signalled()`. */
  readonly startedAfterSignal: number;
  /** The gateway is being stopped: each caller ends after its next call. */
  signalled(): void;
  /** Every caller has ended. */
  readonly done: Promise<void>;
}

function startDrainLoad(url: string, streamName: string): DrainLoad {
  const acknowledged: DrainLoad["acknowledged"] = [];
  const failures: string[] = [];
  let signalled = false;
  let startedAfterSignal = 0;
  const callers = Array.from({ length: 8 }, async (_, caller) => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(url));
    for (let batch = 0; ; batch++) {
      if (signalled) startedAfterSignal++;
      const data = Array.from({ length: 50 }, (_, i) => `${caller}/${batch}/${i}`);
      try {
        const res = await producer.putRecords({
          streamName,
          records: data.map((d) => ({ data: Buffer.from(d), partitionKey: d })),
        });
        res.records.forEach((r, i) => {
          if (r.sequenceNumber !== "") {
            acknowledged.push({ sequenceNumber: r.sequenceNumber, data: data[i]! });
          }
        });
      } catch (err) {
        const error = ConnectError.from(err);
        // A stream refused by the GOAWAY was never processed; connect-node
        // reports it as INTERNAL, where gRPC's own mapping says UNAVAILABLE.
        const refused = error.rawMessage.includes("NGHTTP2_REFUSED_STREAM");
        failures.push(refused ? "Unavailable" : Code[error.code]);
        return;
      }
      if (signalled && batch > 0) return;
    }
  });
  return {
    acknowledged,
    failures,
    get startedAfterSignal() {
      return startedAfterSignal;
    },
    signalled() {
      signalled = true;
    },
    done: Promise.all(callers).then(() => undefined),
  };
}

/**
 * Puts `gateway` under {@link startDrainLoad}'s load for half a second, stops
 * it (SIGTERM) and waits for every caller: its exit code, how long the stop
 * took, and what the callers saw.
 */
export async function drainUnderLoad(
  gateway: GatewayProcess,
  streamName: string,
): Promise<DrainLoad & { exitCode: number | null; stopMs: number }> {
  const load = startDrainLoad(gateway.url, streamName);
  await new Promise((resolve) => setTimeout(resolve, 500));
  load.signalled();
  const started = performance.now();
  const exitCode = await gateway.stop();
  const stopMs = performance.now() - started;
  await load.done;
  return Object.assign(load, { exitCode, stopMs });
}
