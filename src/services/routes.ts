import type { ConnectRouter } from "@connectrpc/connect";
import type { Backend } from "../backends/backend.ts";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import { ConsumerService } from "../gen/kinesis/gateway/v1/consumer_pb.ts";
import { ProducerService } from "../gen/kinesis/gateway/v1/producer_pb.ts";
import { StreamService } from "../gen/kinesis/gateway/v1/stream_pb.ts";
import { createConsumerService } from "./consumer-service.ts";
import { createHealthRegistry, createHealthService, type HealthRegistry } from "./health.ts";
import { createProducerService } from "./producer-service.ts";
import { registerReflection } from "./reflection.ts";
import { createStreamService } from "./stream-service.ts";

export interface RoutesOptions {
  /** Aborted when the gateway drains: long-lived streams end with UNAVAILABLE. */
  shutdown?: AbortSignal | undefined;
  /** The statuses `grpc.health.v1.Health` reports. Default: SERVING throughout. */
  health?: HealthRegistry | undefined;
}

/** Every RPC service of the gateway, in Connect's `(router) => void` form. */
export function createRoutes(
  backend: Backend,
  options: RoutesOptions = {},
): (router: ConnectRouter) => void {
  return (router) => {
    router.service(ProducerService, createProducerService(backend));
    router.service(StreamService, createStreamService(backend));
    router.service(ConsumerService, createConsumerService(backend, { shutdown: options.shutdown }));
    router.service(
      Health,
      createHealthService(options.health ?? createHealthRegistry(), { shutdown: options.shutdown }),
    );
    registerReflection(router); // last: it describes what is registered before it
  };
}
