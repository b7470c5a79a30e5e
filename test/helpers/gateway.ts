/**
 * Starts the real gateway on an ephemeral loopback port, configured the way
 * the command is (flags), and hands out clients for each protocol.
 */
import { after, before } from "node:test";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { pino } from "pino";
import { parseConfig } from "../../src/config.ts";
import { ConsumerService } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { ProducerService } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { StreamService } from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import { type GatewayOptions, type RunningGateway, startGateway } from "../../src/main.ts";
import { startTelemetry, type Telemetry } from "../../src/telemetry/telemetry.ts";
import type { Emulator } from "./emulator.ts";

export async function startTestGateway(
  flags: string[] = [],
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  const result = parseConfig(["--port", "0", "--host", "127.0.0.1", ...flags], {});
  if (result.kind !== "config") throw new Error(`bad test flags: ${JSON.stringify(result)}`);
  return startGateway(result.config, pino({ level: "silent" }), options);
}

/**
 * Starts a gateway before the suite's tests and stops it after them. Flags
 * known only once the suite starts (an emulator's endpoint) come as a function.
 */
export function useGateway(
  flags: string[] | (() => string[]) = [],
  options: GatewayOptions = {},
): { readonly current: RunningGateway } {
  const holder: { current: RunningGateway } = { current: undefined as unknown as RunningGateway };
  before(async () => {
    holder.current = await startTestGateway(typeof flags === "function" ? flags() : flags, options);
  });
  after(async () => {
    await holder.current.stop();
  });
  return holder;
}

/** The flags of a gateway forwarding to the emulator of `useEmulator()`, for `useGateway`. */
export const forwardingTo =
  (emulator: { readonly current: Emulator }): (() => string[]) =>
  () => ["--backend", "kinesis", "--kinesis-endpoint", emulator.current.endpoint];

/** The protocols a Connect client can speak to the gateway, each on its own HTTP version. */
export const transports: Record<string, (baseUrl: string) => Transport> = {
  "gRPC over h2c": (baseUrl) => createGrpcTransport({ baseUrl }),
  "gRPC-Web over HTTP/1.1": (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
  "Connect JSON over HTTP/1.1": (baseUrl) =>
    createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
  "Connect binary over h2c": (baseUrl) =>
    createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
};

export interface Clients {
  producer: Client<typeof ProducerService>;
  streams: Client<typeof StreamService>;
  consumer: Client<typeof ConsumerService>;
}

export function clientsFor(transport: Transport): Clients {
  return {
    producer: createClient(ProducerService, transport),
    streams: createClient(StreamService, transport),
    consumer: createClient(ConsumerService, transport),
  };
}

/** A client interceptor that presents a bearer token. */
export const withBearerToken =
  (token: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };

/**
 * `useGateway` with the OpenTelemetry SDK started first, so that the
 * gateway's `/metrics` answers; both stop after the suite.
 */
export function useGatewayWithMetrics(flags: string[]): { readonly current: RunningGateway } {
  let telemetry: Telemetry;
  before(async () => {
    telemetry = await startTelemetry({ logger: pino({ level: "silent" }) });
  });
  const gateway = useGateway(flags, {
    get telemetry() {
      return telemetry;
    },
  });
  after(() => telemetry.shutdown());
  return gateway;
}

/**
 * The value of the first series of a Prometheus metric on the gateway's
 * `/metrics` whose labels include each of `labels` (`name="value"`); undefined when none.
 */
export async function metricValue(
  baseUrl: string,
  name: string,
  ...labels: string[]
): Promise<number | undefined> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}
