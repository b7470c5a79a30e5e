/**
 * gRPC health checking through @grpc/grpc-js, a second gRPC implementation
 * and what most health clients are built on: Check and Watch on the
 * gateway itself, and on routes whose registry the test changes as the
 * gateway will on readiness, upstream loss and drain.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, suite, test } from "node:test";
import { fileURLToPath } from "node:url";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createEngineBackend } from "../../src/backends/engine-backend.ts";
import { createEngine } from "../../src/engine/index.ts";
import {
  createHealthRegistry,
  type HealthRegistry,
  ServingStatus,
} from "../../src/services/health.ts";
import { createRoutes } from "../../src/services/routes.ts";
import { useGateway } from "../helpers/gateway.ts";

const PRODUCER = "kinesis.gateway.v1.ProducerService";

type StatusName = keyof typeof ServingStatus;

interface HealthClient {
  Check(
    request: { service: string },
    callback: (err: grpc.ServiceError | null, res: { status: StatusName }) => void,
  ): void;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: StatusName }>;
  close(): void;
}

const definition = protoLoader.loadSync("grpc/health/v1/health.proto", {
  includeDirs: [fileURLToPath(new URL("../../third_party/proto", import.meta.url))],
  enums: String,
  defaults: true,
});
const { Health } = (
  grpc.loadPackageDefinition(definition) as unknown as {
    grpc: {
      health: {
        v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => HealthClient };
      };
    };
  }
).grpc.health.v1;

/** `address` is host:port, or a URL whose host and port are taken. */
function healthClient(address: string): HealthClient {
  return new Health(address.replace(/^http:\/\//, ""), grpc.credentials.createInsecure());
}

function check(client: HealthClient, service: string): Promise<StatusName> {
  return new Promise((resolve, reject) =>
    client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
  );
}

/** A Watch call whose statuses are read one at a time. */
function watch(client: HealthClient, service: string) {
  const call = client.Watch({ service });
  const messages = call[Symbol.asyncIterator]() as AsyncIterator<{ status: StatusName }>;
  return {
    async next(): Promise<StatusName> {
      const result = await messages.next();
      assert.equal(result.done, false, "the Watch stream ended");
      return result.value.status;
    },
    /** Resolves with the error that ends the stream. */
    async end(): Promise<grpc.ServiceError> {
      return messages.next().then(
        (result) => assert.fail(`expected the stream to fail, got ${JSON.stringify(result)}`),
        (err: grpc.ServiceError) => err,
      );
    },
    /** Cancels, as a caller that stops watching, and sees the stream end so. */
    async cancel(): Promise<void> {
      call.cancel();
      assert.equal((await this.end()).code, grpc.status.CANCELLED);
    },
  };
}

void suite("grpc.health.v1.Health on the gateway", () => {
  const gateway = useGateway();
  let client: HealthClient;
  before(() => {
    client = healthClient(gateway.current.url);
  });
  after(() => client.close());

  void test("Check answers SERVING for the server, each service and the probe aliases", async () => {
    for (const service of [
      "",
      PRODUCER,
      "kinesis.gateway.v1.StreamService",
      "kinesis.gateway.v1.ConsumerService",
      "liveness",
      "readiness",
    ]) {
      assert.equal(await check(client, service), "SERVING", `service "${service}"`);
    }
  });

  void test("Check on a service the gateway does not know fails with NOT_FOUND", async () => {
    await assert.rejects(check(client, "no.such.Service"), { code: grpc.status.NOT_FOUND });
  });

  void test("Watch sends the current status at once and ends when the caller cancels", async () => {
    const call = watch(client, "");
    assert.equal(await call.next(), "SERVING");
    await call.cancel();
  });
});

/** Counts the registry's subscriptions, to show that Watch leaves none behind. */
function countingSubscriptions(registry: HealthRegistry) {
  const counted = {
    ...registry,
    active: 0,
    subscribe(listener: Parameters<HealthRegistry["subscribe"]>[0]) {
      counted.active++;
      const unsubscribe = registry.subscribe(listener);
      return () => {
        counted.active--;
        unsubscribe();
      };
    },
  };
  return counted;
}

void suite("grpc.health.v1.Health following its registry", () => {
  let health: ReturnType<typeof countingSubscriptions>;
  let shutdown: AbortController;
  let server: http2.Http2Server;
  let client: HealthClient;
  before(async () => {
    health = countingSubscriptions(createHealthRegistry());
    shutdown = new AbortController();
    const routes = createRoutes(createEngineBackend(createEngine()), {
      health,
      shutdown: shutdown.signal,
    });
    server = http2.createServer(connectNodeAdapter({ routes }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    client = healthClient(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(async () => {
    client.close();
    await new Promise((resolve) => server.close(resolve));
  });

  void test("Check reports what was set; readiness follows the server, liveness stays SERVING", async () => {
    health.setAll(ServingStatus.NOT_SERVING);
    assert.equal(await check(client, ""), "NOT_SERVING");
    assert.equal(await check(client, PRODUCER), "NOT_SERVING");
    assert.equal(await check(client, "readiness"), "NOT_SERVING");
    assert.equal(await check(client, "liveness"), "SERVING");
    health.set("", ServingStatus.SERVING);
    assert.equal(await check(client, "readiness"), "SERVING");
    assert.equal(await check(client, PRODUCER), "NOT_SERVING");
    health.setAll(ServingStatus.SERVING);
  });

  void test("Watch sends each change, and leaves no subscription behind when cancelled", async () => {
    const call = watch(client, PRODUCER);
    assert.equal(await call.next(), "SERVING");
    health.set(PRODUCER, ServingStatus.NOT_SERVING);
    assert.equal(await call.next(), "NOT_SERVING");
    health.set("", ServingStatus.NOT_SERVING); // another service: nothing to send
    health.setAll(ServingStatus.SERVING);
    assert.equal(await call.next(), "SERVING");
    assert.equal(health.active, 1);
    await call.cancel();
    for (let i = 0; health.active > 0 && i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(health.active, 0);
  });

  void test("Watch on readiness follows the server's status", async () => {
    const call = watch(client, "readiness");
    assert.equal(await call.next(), "SERVING");
    health.set("", ServingStatus.NOT_SERVING);
    assert.equal(await call.next(), "NOT_SERVING");
    health.set("", ServingStatus.SERVING);
    assert.equal(await call.next(), "SERVING");
    await call.cancel();
  });

  void test("Watch on an unknown service sends SERVICE_UNKNOWN, then its status once set", async () => {
    const call = watch(client, "example.v1.LaterService");
    assert.equal(await call.next(), "SERVICE_UNKNOWN");
    health.set("example.v1.LaterService", ServingStatus.SERVING);
    assert.equal(await call.next(), "SERVING");
    await call.cancel();
  });

  // Last: the drain cannot be undone.
  void test("on drain, Watch sends NOT_SERVING, then ends with UNAVAILABLE", async () => {
    const call = watch(client, "");
    assert.equal(await call.next(), "SERVING");
    health.setAll(ServingStatus.NOT_SERVING);
    shutdown.abort();
    assert.equal(await call.next(), "NOT_SERVING");
    assert.equal((await call.end()).code, grpc.status.UNAVAILABLE);
    assert.equal(health.active, 0);
  });
});

void suite("createHealthRegistry", () => {
  void test("tells subscribers of changes only", () => {
    const health = createHealthRegistry();
    const seen: string[] = [];
    const unsubscribe = health.subscribe((service, status) => seen.push(`${service}=${status}`));
    health.set(PRODUCER, ServingStatus.SERVING); // already SERVING
    health.set(PRODUCER, ServingStatus.NOT_SERVING);
    unsubscribe();
    health.set(PRODUCER, ServingStatus.SERVING);
    assert.deepEqual(seen, [`${PRODUCER}=${ServingStatus.NOT_SERVING}`]);
  });

  void test("refuses to set the probe aliases", () => {
    const health = createHealthRegistry();
    assert.throws(() => health.set("liveness", ServingStatus.NOT_SERVING), RangeError);
    assert.throws(() => health.set("readiness", ServingStatus.NOT_SERVING), RangeError);
  });
});
