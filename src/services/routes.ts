import type { ConnectRouter } from "@connectrpc/connect";
import type { Backend } from "../backends/backend.ts";
import { createFaultInjector } from "../faults/injector.ts";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import { ConsumerService } from "../gen/kinesis/gateway/v1/consumer_pb.ts";
import { FaultService } from "../gen/kinesis/gateway/v1/faults_pb.ts";
import { ProducerService } from "../gen/kinesis/gateway/v1/producer_pb.ts";
import { StreamService } from "../gen/kinesis/gateway/v1/stream_pb.ts";
import type { Subscriptions } from "../subscriptions/subscriptions.ts";
import { type AnswerAdmission, createConsumerService } from "./consumer-service.ts";
import { createFaultService, type FaultServiceOptions } from "./fault-service.ts";
import { createHealthRegistry, createHealthService, type HealthRegistry } from "./health.ts";
import type { ProduceOptions } from "./produce.ts";
import { createProducerService } from "./producer-service.ts";
import { registerReflection } from "./reflection.ts";
import { createStreamService } from "./stream-service.ts";

export interface RoutesOptions {
  /** Aborted when the gateway drains: long-lived streams end with UNAVAILABLE. */
  shutdown?: AbortSignal | undefined;
  /** The statuses `grpc.health.v1.Health` reports. Default: SERVING throughout. */
  health?: HealthRegistry | undefined;
  /** What read answers being made may hold. Default: no bound. */
  answers?: AnswerAdmission | undefined;
  /** SubscribeToShard's sources. Default: GetRecords polled through the backend. */
  subscriptions?: Subscriptions | undefined;
  /** The largest `ProducerService` request. Default: the router's. */
  producerReadMaxBytes?: number | undefined;
  /** What `Produce` works with. Default: a producer of its own over the backend. */
  produce?: ProduceOptions | undefined;
  /** The fault rules `FaultService` changes. Default: none, and the service refuses. */
  faults?: FaultServiceOptions | undefined;
}

/**
 * The largest request message each service takes (decompressed). Only
 * writes need megabytes; every other request is a few names and numbers, and
 * a larger limit would only let a client make the gateway decode more. The
 * largest besides writes carry tags: 50 of the longest keys and values, in
 * 3-byte characters, make some 58 KB (RegisterStreamConsumer's fit its 64 KiB).
 */
export const REQUEST_MAX_BYTES = {
  stream: 256 * 1024,
  consumer: 64 * 1024,
  health: 4 * 1024,
  faults: 64 * 1024,
  reflection: 64 * 1024,
} as const;

/** The largest request message the method at `path` takes; `producer` for `ProducerService`. */
export function requestMaxBytes(path: string, producer: number): number {
  const service = path.slice(1, path.lastIndexOf("/"));
  switch (service) {
    case ProducerService.typeName:
      return producer;
    case StreamService.typeName:
      return REQUEST_MAX_BYTES.stream;
    case ConsumerService.typeName:
      return REQUEST_MAX_BYTES.consumer;
    case Health.typeName:
      return REQUEST_MAX_BYTES.health;
    case FaultService.typeName:
      return REQUEST_MAX_BYTES.faults;
    default:
      return REQUEST_MAX_BYTES.reflection;
  }
}

/** Every RPC service of the gateway, in Connect's `(router) => void` form. */
export function createRoutes(
  backend: Backend,
  options: RoutesOptions = {},
): (router: ConnectRouter) => void {
  const largest = options.producerReadMaxBytes;
  return (router) => {
    router.service(
      ProducerService,
      createProducerService(backend, options.produce),
      largest === undefined ? {} : { readMaxBytes: largest },
    );
    router.service(StreamService, createStreamService(backend), {
      readMaxBytes: REQUEST_MAX_BYTES.stream,
    });
    router.service(
      ConsumerService,
      createConsumerService(backend, {
        shutdown: options.shutdown,
        answers: options.answers,
        subscriptions: options.subscriptions,
      }),
      {
        readMaxBytes: REQUEST_MAX_BYTES.consumer,
      },
    );
    router.service(
      Health,
      createHealthService(options.health ?? createHealthRegistry(), { shutdown: options.shutdown }),
      { readMaxBytes: REQUEST_MAX_BYTES.health },
    );
    router.service(
      FaultService,
      createFaultService(options.faults ?? { injector: createFaultInjector(), control: false }),
      // A misspelt key in a rule set is a mistake to report, not a key to drop: the
      // rule would silently do nothing. (Connect skips unknown JSON keys by default.)
      { readMaxBytes: REQUEST_MAX_BYTES.faults, jsonOptions: { ignoreUnknownFields: false } },
    );
    // Last: it describes what is registered before it.
    registerReflection(router, { readMaxBytes: REQUEST_MAX_BYTES.reflection });
  };
}
