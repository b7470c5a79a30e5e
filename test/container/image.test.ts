/**
 * The container image, built as a user builds it (`npm run image`: offline
 * where no registry gives node:24-slim) and run as one runs it: healthy over
 * HTTP and gRPC, serving the quick start's calls over gRPC, running as user
 * 1000, and draining on `docker stop` — a call in flight is answered and the
 * process exits 0; and the README's run with a data dir in the image's
 * volume, whose records outlive the container. Needs a Docker engine; without one it says so and skips.
 */
import assert from "node:assert/strict";
import { after, suite, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.ts";
import { ShardIteratorType } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import {
  BUILD_MS,
  buildGatewayImage,
  docker,
  GATEWAY_IMAGE as IMAGE,
  needsEngine,
  until,
} from "../helpers/docker.ts";
import { clientsFor } from "../helpers/gateway.ts";

void suite("the container image", () => {
  const containers: string[] = [];
  const volumes: string[] = [];
  after(async () => {
    for (const id of containers) await docker("rm", "-f", "-v", id).catch(() => undefined);
    for (const volume of volumes) await docker("volume", "rm", volume).catch(() => undefined);
  });

  test("npm run image builds it; it serves, runs as user 1000 and drains on docker stop", {
    timeout: BUILD_MS + 120_000,
  }, async (t) => {
    if (!(await needsEngine(t, "the image is not built or run"))) return;
    await buildGatewayImage();
    assert.equal(
      await docker("image", "inspect", "--format", "{{.Config.User}}", IMAGE),
      "1000:1000",
    );

    // A 2 s latency on `slow`, so that a call is in flight when the container is stopped.
    const faults = JSON.stringify({
      seed: 1,
      rules: [{ streams: "slow", latency: { ms: 2_000 } }],
    });
    const id = await docker(
      "run",
      "-d",
      "-p",
      "127.0.0.1::4567",
      IMAGE,
      "--streams",
      "orders:4,slow:1",
      "--faults",
      faults,
    );
    containers.push(id);
    const url = `http://${await docker("port", id, "4567/tcp")}`.replace("0.0.0.0", "127.0.0.1");
    await until("ready", async () => (await fetch(`${url}/readyz`)).status === 200);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal(await docker("exec", id, "id", "-u"), "1000");

    const transport = createGrpcTransport({ baseUrl: url });
    const health = await createClient(Health, transport).check({ service: "" });
    assert.equal(health.status, HealthCheckResponse_ServingStatus.SERVING);

    // The quick start over gRPC: records in, and back out of their shard.
    const { producer, consumer } = clientsFor(transport);
    const put = await producer.putRecords({
      streamName: "orders",
      records: ["a", "b", "c"].map((key) => ({
        data: Buffer.from(`order ${key}`),
        partitionKey: "customer-1",
      })),
    });
    assert.equal(put.failedRecordCount, 0);
    const shardId = put.records[0]!.shardId;
    const { shardIterator } = await consumer.getShardIterator({
      streamName: "orders",
      shardId,
      shardIteratorType: ShardIteratorType.TRIM_HORIZON,
    });
    const read = await consumer.getRecords({ shardIterator });
    assert.deepEqual(
      read.records.map((r) => Buffer.from(r.data).toString()),
      ["order a", "order b", "order c"],
    );

    // docker stop while a call waits out its latency: answered, then exit 0.
    const inFlight = producer.putRecord({
      streamName: "slow",
      data: Buffer.from("late"),
      partitionKey: "k",
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await docker("stop", "-t", "30", id);
    assert.equal((await inFlight).shardId, "shardId-000000000000");
    assert.equal(await docker("inspect", "--format", "{{.State.ExitCode}}", id), "0");
    assert.match(await docker("logs", id), /"msg":"stopped"/);
  });

  test("the README's data dir run: records outlive the container, in the image's volume", {
    timeout: 5 * 60_000,
  }, async (t) => {
    if (!(await needsEngine(t, "the image is not run"))) return;
    await buildGatewayImage();
    const volume = `kinesis-gateway-test-${process.pid}`;
    volumes.push(volume);
    // The README's command, but on a port Docker picks.
    const start = async () => {
      const id = await docker(
        "run",
        "-d",
        "-p",
        "127.0.0.1::4567",
        "-v",
        `${volume}:/var/lib/kinesis-gateway`,
        IMAGE,
        "--data-dir",
        "/var/lib/kinesis-gateway",
        "--streams",
        "orders:4,events:1",
      );
      containers.push(id);
      const url = `http://${await docker("port", id, "4567/tcp")}`;
      await until("ready", async () => (await fetch(`${url}/readyz`)).status === 200, 60_000);
      return { id, url };
    };
    const first = await start();
    const { producer } = clientsFor(createGrpcTransport({ baseUrl: first.url }));
    const put = await producer.putRecord({
      streamName: "events",
      data: Buffer.from("kept"),
      partitionKey: "k",
    });
    // Gone at once, without a drain: the record was stored before it was acknowledged.
    await docker("rm", "-f", first.id);
    const second = await start();
    const { consumer } = clientsFor(createGrpcTransport({ baseUrl: second.url }));
    const { shardIterator } = await consumer.getShardIterator({
      streamName: "events",
      shardId: put.shardId,
      shardIteratorType: ShardIteratorType.TRIM_HORIZON,
    });
    const read = await consumer.getRecords({ shardIterator });
    assert.deepEqual(
      read.records.map((r) => [Buffer.from(r.data).toString(), r.sequenceNumber]),
      [["kept", put.sequenceNumber]],
    );
  });
});
