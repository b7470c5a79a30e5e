/**
 * Protobuf messages ⇄ Kinesis domain shapes: one `ProtoMapping` per
 * operation, which `unary.ts` serves. The mappings live in `convert/`, a
 * module per service (StreamService's tags in their own); this module
 * gathers them, so a service imports every mapping from one place.
 */
export * from "./convert/common.ts";
export * from "./convert/consumer.ts";
export * from "./convert/producer.ts";
export * from "./convert/stream.ts";
export * from "./convert/tags.ts";
