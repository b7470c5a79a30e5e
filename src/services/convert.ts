/**
 * Protobuf messages ⇄ Kinesis domain shapes: one `ProtoMapping` per
 * operation, which `unary.ts` serves. The mappings live in `convert/`, a
 * module per service, StreamService's in six: a stream's life and
 * description (`stream.ts`), its settings (`stream-settings.ts`), its tags
 * (`tags.ts`), resource policies (`resource-policy.ts`), capacity
 * (`capacity.ts`: modes, warm throughput, account settings) and resharding
 * (`resharding.ts`). This module gathers them, so a service imports every
 * mapping from one place.
 */
export * from "./convert/capacity.ts";
export * from "./convert/common.ts";
export * from "./convert/consumer.ts";
export * from "./convert/producer.ts";
export * from "./convert/resharding.ts";
export * from "./convert/resource-policy.ts";
export * from "./convert/stream.ts";
export * from "./convert/stream-settings.ts";
export * from "./convert/tags.ts";
