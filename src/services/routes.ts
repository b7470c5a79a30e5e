import type { ConnectRouter } from "@connectrpc/connect";
import type { Backend } from "../backends/backend.ts";
import { ConsumerService } from "../gen/kinesis/gateway/v1/consumer_pb.ts";
import { ProducerService } from "../gen/kinesis/gateway/v1/producer_pb.ts";
import { StreamService } from "../gen/kinesis/gateway/v1/stream_pb.ts";
import { createConsumerService } from "./consumer-service.ts";
import { createProducerService } from "./producer-service.ts";
import { createStreamService } from "./stream-service.ts";

/** Every RPC service of the gateway, in Connect's `(router) => void` form. */
export function createRoutes(backend: Backend): (router: ConnectRouter) => void {
  return (router) => {
    router.service(ProducerService, createProducerService(backend));
    router.service(StreamService, createStreamService(backend));
    router.service(ConsumerService, createConsumerService(backend));
  };
}
