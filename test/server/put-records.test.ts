import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { suite, test } from "node:test";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { EncryptionType } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";
import { createGrpcJsClient } from "../helpers/grpc-js-client.ts";
import { hashKeyVectors } from "../helpers/vectors.ts";

const exec = promisify(execFile);
const SEQUENCE_NUMBER = /^\d{56}$/;

/** The two records of the AWS CLI's `put-records` example. */
const cliExample = [
  { data: "blob1", partitionKey: "partitionkey1" },
  { data: "blob2", partitionKey: "partitionkey2" },
];

/** The shard AWS puts a partition key in, from the shared vectors. */
function expectedShard(partitionKey: string, shardCount: number): string {
  const vector = hashKeyVectors().find((v) => v.partitionKey === partitionKey)!;
  const index = vector.shardIndexByShardCount[String(shardCount)]!;
  return `shardId-${String(index).padStart(12, "0")}`;
}

void suite("PutRecords over the wire", () => {
  const gateway = useGateway(["--streams", "four:4,one:1", "--throttle", "off"]);

  void test("the AWS CLI example lands on the MD5-chosen shards, through @grpc/grpc-js", async () => {
    const client = createGrpcJsClient(`127.0.0.1:${gateway.current.port}`);
    try {
      const res = await client.call("ProducerService", "PutRecords", {
        stream_name: "four",
        records: cliExample.map((r) => ({
          data: Buffer.from(r.data),
          partition_key: r.partitionKey,
        })),
      });
      assert.equal(res.failed_record_count, 0);
      const records = res.records as {
        shard_id: string;
        sequence_number: string;
        error_code: string;
      }[];
      assert.equal(records.length, 2);
      for (const [i, record] of records.entries()) {
        assert.equal(record.shard_id, expectedShard(cliExample[i]!.partitionKey, 4));
        assert.match(record.sequence_number, SEQUENCE_NUMBER);
        assert.equal(record.error_code, "");
      }
      assert.equal(res.encryption_type, "ENCRYPTION_TYPE_NONE");
    } finally {
      client.close();
    }
  });

  void test("the AWS CLI example works from curl over Connect JSON on HTTP/1.1", async () => {
    const body = JSON.stringify({
      streamName: "four",
      records: cliExample.map((r) => ({
        data: Buffer.from(r.data).toString("base64"),
        partitionKey: r.partitionKey,
      })),
    });
    const { stdout } = await exec("curl", [
      "--silent",
      "--show-error",
      "--http1.1",
      "--header",
      "Content-Type: application/json",
      "--data",
      body,
      `${gateway.current.url}/kinesis.gateway.v1.ProducerService/PutRecords`,
    ]);
    const res = JSON.parse(stdout) as {
      failedRecordCount?: number;
      records: { shardId: string; sequenceNumber: string }[];
      encryptionType: string;
    };
    assert.equal(res.failedRecordCount ?? 0, 0);
    assert.deepEqual(
      res.records.map((r) => r.shardId),
      cliExample.map((r) => expectedShard(r.partitionKey, 4)),
    );
    for (const r of res.records) assert.match(r.sequenceNumber, SEQUENCE_NUMBER);
    assert.equal(res.encryptionType, "ENCRYPTION_TYPE_NONE");
  });

  for (const [name, makeTransport] of Object.entries(transports)) {
    void test(`writes and routes every vector key over ${name}`, async () => {
      const { producer } = clientsFor(makeTransport(gateway.current.url));
      const vectors = hashKeyVectors();
      const res = await producer.putRecords({
        streamName: "four",
        records: vectors.map((v) => ({
          data: new TextEncoder().encode(v.md5Hex),
          partitionKey: v.partitionKey,
        })),
      });
      assert.equal(res.failedRecordCount, 0);
      assert.equal(res.encryptionType, EncryptionType.NONE);
      assert.deepEqual(
        res.records.map((r) => r.shardId),
        vectors.map((v) => expectedShard(v.partitionKey, 4)),
      );
      const single = await producer.putRecord({
        streamName: "one",
        data: new Uint8Array([1]),
        partitionKey: "k",
      });
      assert.equal(single.shardId, "shardId-000000000000");
      assert.match(single.sequenceNumber, SEQUENCE_NUMBER);
    });
  }

  void test("sequence numbers keep increasing within a shard across calls", async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const seen: bigint[] = [];
    for (let call = 0; call < 5; call++) {
      const res = await producer.putRecords({
        streamName: "one",
        records: Array.from({ length: 50 }, (_, i) => ({
          data: new Uint8Array([i]),
          partitionKey: `k${i}`,
        })),
      });
      seen.push(...res.records.map((r) => BigInt(r.sequenceNumber)));
    }
    for (let i = 1; i < seen.length; i++)
      assert.ok(seen[i]! > seen[i - 1]!, `record ${i} not after ${i - 1}`);
  });
});

void suite("throttling over the wire", () => {
  const gateway = useGateway(["--streams", "hot:1"]);

  void test("a 1-shard stream offered 2,000 records/s accepts 1,000 ± 5% per second in steady state", async (t) => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    const batchesPerSecond = 20;
    const batchSize = 100; // 20 × 100 = 2,000 records/s offered
    const seconds = 4;
    const started = performance.now();
    const acceptedBySecond = new Array<number>(seconds).fill(0);
    const rejectedMessages = new Set<string>();
    for (let batch = 0; batch < seconds * batchesPerSecond; batch++) {
      const due = started + (batch * 1000) / batchesPerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const res = await producer.putRecords({
        streamName: "hot",
        records: Array.from({ length: batchSize }, (_, i) => ({
          data: new Uint8Array(10),
          partitionKey: `k${i}`,
        })),
      });
      const second = Math.floor(batch / batchesPerSecond);
      acceptedBySecond[second]! += batchSize - res.failedRecordCount;
      for (const r of res.records) {
        if (r.errorCode !== "") {
          assert.equal(r.errorCode, "ProvisionedThroughputExceededException");
          assert.equal(r.shardId, "");
          rejectedMessages.add(r.errorMessage);
        }
      }
    }
    // The first second also drains the full bucket saved up before the load.
    const steady = acceptedBySecond.slice(1);
    const elapsedSteadySeconds = (performance.now() - started) / 1000 - 1;
    const perSecond = steady.reduce((a, b) => a + b, 0) / elapsedSteadySeconds;
    t.diagnostic(
      `accepted per second: ${acceptedBySecond.join(", ")}; steady ${perSecond.toFixed(0)}/s`,
    );
    assert.ok(
      Math.abs(perSecond - 1000) <= 50,
      `accepted ${perSecond.toFixed(0)}/s: ${acceptedBySecond.join(", ")}`,
    );
    assert.deepEqual(
      [...rejectedMessages],
      ["Rate exceeded for shard shardId-000000000000 in stream hot under account 000000000000."],
    );
  });

  void test("a PutRecord beyond the shard's bytes per second fails with RESOURCE_EXHAUSTED and AWS's message", async () => {
    const client = createGrpcJsClient(`127.0.0.1:${gateway.current.port}`);
    try {
      await client.call("ProducerService", "PutRecords", {
        stream_name: "hot",
        records: Array.from({ length: 500 }, () => ({
          data: Buffer.alloc(2100),
          partition_key: "k",
        })),
      });
      // The bytes bucket is now empty; a 1 MiB record needs a whole second of refill.
      await assert.rejects(
        client.call("ProducerService", "PutRecord", {
          stream_name: "hot",
          data: Buffer.alloc(1024 * 1024 - 1),
          partition_key: "k",
        }),
        (err: grpc.ServiceError) => {
          assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
          assert.equal(
            err.details,
            "Rate exceeded for shard shardId-000000000000 in stream hot under account 000000000000.",
          );
          return true;
        },
      );
    } finally {
      client.close();
    }
  });
});
