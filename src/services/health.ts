/**
 * The gRPC health checking protocol (`grpc.health.v1.Health`): a registry
 * of serving statuses that the gateway sets, and the service that answers
 * `Check`, `Watch` and `List` from it.
 *
 * Keys are "" for the whole gateway and each fully-qualified service name.
 * Two more names are aliases for Kubernetes gRPC probes, which send a fixed
 * `service` string: "liveness" is SERVING for as long as the process answers
 * (a draining or disconnected gateway must not be restarted), and
 * "readiness" is the status of "".
 */
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb.ts";
import { ConsumerService } from "../gen/kinesis/gateway/v1/consumer_pb.ts";
import { ProducerService } from "../gen/kinesis/gateway/v1/producer_pb.ts";
import { StreamService } from "../gen/kinesis/gateway/v1/stream_pb.ts";

export { ServingStatus };

/** The services whose status the registry holds by default, besides "". */
export const GATEWAY_SERVICE_NAMES: readonly string[] = [
  ProducerService.typeName,
  StreamService.typeName,
  ConsumerService.typeName,
];

export const LIVENESS_SERVICE = "liveness";
export const READINESS_SERVICE = "readiness";

export interface HealthRegistryOptions {
  /** The status every service starts with. Default SERVING (as grpc-go's health server). */
  initialStatus?: ServingStatus;
  /** Service names known besides "". Default `GATEWAY_SERVICE_NAMES`. */
  services?: readonly string[];
}

export interface HealthRegistry {
  /**
   * The status of a service or alias; undefined when the service is not
   * known.
   */
  status(service: string): ServingStatus | undefined;
  /** Every known service (not the aliases) with its status. */
  statuses(): ReadonlyMap<string, ServingStatus>;
  /**
   * Sets a service's status; an unknown name becomes known. Throws for the
   * alias names, which cannot be set.
   */
  set(service: string, status: ServingStatus): void;
  /** Sets the status of "" and of every known service. */
  setAll(status: ServingStatus): void;
  /**
   * Calls `listener` after each status change (not when a status is set to
   * what it already was). Returns the function that unsubscribes.
   */
  subscribe(listener: (service: string, status: ServingStatus) => void): () => void;
}

export function createHealthRegistry(options: HealthRegistryOptions = {}): HealthRegistry {
  const initialStatus = options.initialStatus ?? ServingStatus.SERVING;
  const statuses = new Map<string, ServingStatus>(
    ["", ...(options.services ?? GATEWAY_SERVICE_NAMES)].map((name) => [name, initialStatus]),
  );
  const listeners = new Set<(service: string, status: ServingStatus) => void>();

  const set = (service: string, status: ServingStatus) => {
    if (statuses.get(service) === status) return;
    statuses.set(service, status);
    for (const listener of listeners) listener(service, status);
  };

  return {
    status(service) {
      if (service === LIVENESS_SERVICE) return ServingStatus.SERVING;
      return statuses.get(service === READINESS_SERVICE ? "" : service);
    },
    statuses: () => new Map(statuses),
    set(service, status) {
      if (service === LIVENESS_SERVICE || service === READINESS_SERVICE) {
        throw new RangeError(`"${service}" is a health alias and has no status of its own`);
      }
      set(service, status);
    },
    setAll(status) {
      for (const service of [...statuses.keys()]) set(service, status);
    },
    subscribe(listener) {
      // A wrapper, so that one function subscribed twice is two subscriptions.
      const subscription = (service: string, status: ServingStatus) => listener(service, status);
      listeners.add(subscription);
      return () => listeners.delete(subscription);
    },
  };
}

export interface HealthServiceOptions {
  /**
   * Aborted when the gateway drains: open `Watch` streams send what changed,
   * then end with UNAVAILABLE, so that the caller watches another instance.
   * Default: never.
   */
  shutdown?: AbortSignal | undefined;
}

export function createHealthService(
  registry: HealthRegistry,
  options: HealthServiceOptions = {},
): ServiceImpl<typeof Health> {
  return {
    check(req) {
      const status = registry.status(req.service);
      if (status === undefined) {
        throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      }
      return { status };
    },

    list() {
      return {
        statuses: Object.fromEntries(
          [...registry.statuses()].map(([service, status]) => [service, { status }]),
        ),
      };
    },

    // Sends the latest status, not every intermediate one: a caller that
    // reads slowly sees where things stand, and nothing queues up for it.
    async *watch(req, ctx) {
      const shutdown = options.shutdown ?? new AbortController().signal;
      const until = AbortSignal.any([ctx.signal, shutdown]);
      let changed = false;
      let wake = () => {};
      const notify = () => {
        changed = true;
        wake();
      };
      const unsubscribe = registry.subscribe(notify);
      until.addEventListener("abort", notify);
      try {
        let sent: ServingStatus | undefined;
        for (;;) {
          changed = false;
          const status = registry.status(req.service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (status !== sent) {
            sent = status;
            yield { status };
          }
          if (until.aborted) break;
          if (!changed) await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        unsubscribe();
        until.removeEventListener("abort", notify);
      }
      if (!ctx.signal.aborted) {
        throw new ConnectError("the gateway is shutting down; watch again", Code.Unavailable);
      }
    },
  };
}
