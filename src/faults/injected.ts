/**
 * Which errors and record results a fault rule made, so that telemetry can
 * mark them (`injected="true"` on counters, an attribute on spans) without
 * the outcome's shape changing: an injected answer is byte for byte what
 * Kinesis would send.
 */
const injectedOutcomes = new WeakSet<object>();

/** Whether an error or a record's result was injected by a fault rule. */
export const isInjected = (outcome: unknown): boolean =>
  typeof outcome === "object" && outcome !== null && injectedOutcomes.has(outcome);

/** Marks an outcome as injected; returns it. */
export function markInjected<T extends object>(outcome: T): T {
  injectedOutcomes.add(outcome);
  return outcome;
}
