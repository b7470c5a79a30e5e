/**
 * A data dir on a disk that fills: the real gateway on a tmpfs of 4 MiB,
 * driven by the AWS SDK and a gRPC client. Writes that cannot be stored fail
 * and are never acknowledged, reads go on, /readyz says so, and writes come
 * back by themselves once there is room.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, suite, test } from "node:test";
import {
  AddTagsToStreamCommand,
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListStreamsCommand,
  ListTagsForStreamCommand,
  PutRecordCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from "@aws-sdk/client-kinesis";
import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { RunningGateway } from "../../src/main.ts";
import { clientsFor, startTestGateway } from "../helpers/gateway.ts";
import { activeStream, rejectsWith, sdkClient } from "../helpers/kinesis-sdk.ts";

const KiB = 1024;
const RECORD_BYTES = 10 * KiB;
const RECORDS_PER_CALL = 50;

/** A tmpfs of `sizeMiB` at a new directory, or why it could not be mounted. */
function mountTmpfs(sizeMiB: number): { path: string } | { reason: string } {
  const path = mkdtempSync(join(tmpdir(), "kg-disk-full-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", path], {
      stdio: "pipe",
    });
    return { path };
  } catch (error) {
    rmSync(path, { recursive: true, force: true });
    return { reason: String((error as { stderr?: Buffer }).stderr ?? error).trim() };
  }
}

const mounted = mountTmpfs(4);
const skip =
  "reason" in mounted
    ? `SKIPPED: the disk-full tests need a tmpfs they mount themselves (as root); mount failed: ${mounted.reason}`
    : false;
if (skip) console.error(`\n!!!!! ${skip} !!!!!\n`);

const recordData = (id: string) => {
  const data = new Uint8Array(RECORD_BYTES);
  data.set(new TextEncoder().encode(`${id};`));
  return data;
};
const idOf = (data: Uint8Array) => new TextDecoder().decode(data).split(";")[0]!;

/** Every record id of the stream's only shard, oldest first. */
async function readAllIds(kinesis: KinesisClient, name: string): Promise<string[]> {
  let iterator = (
    await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: name,
        ShardId: "shardId-000000000000",
        ShardIteratorType: "TRIM_HORIZON",
      }),
    )
  ).ShardIterator;
  const ids: string[] = [];
  for (;;) {
    const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    ids.push(...out.Records!.map((r) => idOf(r.Data!)));
    iterator = out.NextShardIterator;
    if (out.Records!.length === 0 && out.MillisBehindLatest === 0) return ids;
  }
}

/** Appends to `file` until the disk has no room left. */
function fillUp(file: string): void {
  const fd = openSync(file, "a");
  try {
    const page = new Uint8Array(4 * KiB);
    for (;;) writeSync(fd, page);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
}

const describe = async (kinesis: KinesisClient) =>
  (await kinesis.send(new DescribeStreamCommand({ StreamName: "full" }))).StreamDescription;

const readyz = async (gateway: RunningGateway) => (await fetch(`${gateway.url}/readyz`)).status;

suite("a data dir on a disk that fills", { skip }, () => {
  const path = "path" in mounted ? mounted.path : "";
  const dataDir = join(path, "data");
  /** Room the test takes and gives back. */
  const filler = join(path, "filler");
  const topUp = join(path, "top-up");
  /** What the first test had acknowledged. */
  const stored: string[] = [];
  let gateway: RunningGateway;
  let kinesis: KinesisClient;
  const start = async () => {
    gateway = await startTestGateway(["--data-dir", dataDir, "--throttle", "off"]);
    kinesis = sdkClient(gateway.url);
  };

  before(async () => {
    mkdirSync(dataDir);
    writeFileSync(filler, new Uint8Array(1024 * KiB));
    await start();
  });
  after(async () => {
    // Room first, so that a test failing while full still shuts down cleanly.
    rmSync(filler, { force: true });
    rmSync(topUp, { force: true });
    try {
      await gateway?.stop();
    } finally {
      if (path) {
        execFileSync("umount", [path]);
        rmSync(path, { recursive: true, force: true });
      }
    }
  });

  test("fails what it cannot store, acknowledges nothing unstored, reads on, and recovers when room returns", async () => {
    await activeStream(kinesis, "full");
    const acked: string[] = [];
    const failed: string[] = [];
    let call = 0;
    // Fill it: calls until one fails.
    for (; call < 100; call++) {
      const ids = Array.from({ length: RECORDS_PER_CALL }, (_, i) => `c${call}r${i}`);
      const out = await kinesis.send(
        new PutRecordsCommand({
          StreamName: "full",
          Records: ids.map((id) => ({ PartitionKey: "k", Data: recordData(id) })),
        }),
      );
      if (out.FailedRecordCount === 0) {
        acked.push(...ids);
        continue;
      }
      // A call that could not be stored fails whole: no record of it was stored.
      assert.equal(out.FailedRecordCount, RECORDS_PER_CALL);
      for (const record of out.Records!) {
        assert.equal(record.ErrorCode, "InternalFailure");
        assert.equal(record.ErrorMessage, "Internal service failure.");
        assert.equal(record.SequenceNumber, undefined);
      }
      failed.push(...ids);
      break;
    }
    assert.ok(failed.length > 0, `the disk never filled after ${call} calls`);
    assert.ok(acked.length > 0, "something was stored before the disk filled");

    // What a large batch left free is taken too, so that nothing fits.
    fillUp(topUp);

    // While full: single writes fail on both APIs, readiness says so, reads work.
    await rejectsWith(
      kinesis.send(
        new PutRecordCommand({ StreamName: "full", PartitionKey: "k", Data: recordData("single") }),
      ),
      "InternalFailure",
    );
    failed.push("single");
    const { producer } = clientsFor(createGrpcTransport({ baseUrl: gateway.url }));
    await assert.rejects(
      producer.putRecord({ streamName: "full", partitionKey: "k", data: recordData("grpc") }),
      (error: unknown) => {
        assert.ok(error instanceof ConnectError);
        assert.equal(error.code, Code.Unavailable, error.message);
        return true;
      },
    );
    failed.push("grpc");
    assert.equal(await readyz(gateway), 503);
    assert.deepEqual(await readAllIds(kinesis, "full"), acked);

    // A stream created while full fails and leaves nothing.
    await rejectsWith(
      kinesis.send(new CreateStreamCommand({ StreamName: "while-full", ShardCount: 1 })),
      "InternalFailure",
    );
    assert.deepEqual((await kinesis.send(new ListStreamsCommand({}))).StreamNames, ["full"]);
    // So do other changes, leaving the stream as it was.
    const described = await describe(kinesis);
    await rejectsWith(
      kinesis.send(new AddTagsToStreamCommand({ StreamName: "full", Tags: { k: "v" } })),
      "InternalFailure",
      /^The change could not be stored \(ENOSPC\)\.$/,
    );
    await rejectsWith(
      kinesis.send(
        new SplitShardCommand({
          StreamName: "full",
          ShardToSplit: "shardId-000000000000",
          NewStartingHashKey: (2n ** 127n).toString(),
        }),
      ),
      "InternalFailure",
    );
    assert.deepEqual(await describe(kinesis), described);
    assert.deepEqual(
      (await kinesis.send(new ListTagsForStreamCommand({ StreamName: "full" }))).Tags,
      [],
    );

    // Room returns: the next write is stored, with no restart, and readiness follows.
    rmSync(filler);
    rmSync(topUp);
    const ids = Array.from({ length: 3 }, (_, i) => `resumed${i}`);
    const out = await kinesis.send(
      new PutRecordsCommand({
        StreamName: "full",
        Records: ids.map((id) => ({ PartitionKey: "k", Data: recordData(id) })),
      }),
    );
    assert.equal(out.FailedRecordCount, 0);
    acked.push(...ids);
    assert.equal(await readyz(gateway), 200);
    assert.deepEqual(await readAllIds(kinesis, "full"), acked);

    // And after a restart: every acknowledged record, nothing else, no stream made while full.
    await gateway.stop();
    await start();
    assert.deepEqual(await readAllIds(kinesis, "full"), acked);
    assert.deepEqual((await kinesis.send(new ListStreamsCommand({}))).StreamNames, ["full"]);
    assert.equal(new Set([...acked, ...failed]).size, acked.length + failed.length);
    stored.push(...acked);
  });

  test("a DeleteStream refused while full leaves the stream, and writes and readiness come back with room", async () => {
    fillUp(topUp);
    const full = await kinesis.send(
      new PutRecordsCommand({
        StreamName: "full",
        Records: [{ PartitionKey: "k", Data: recordData("refused") }],
      }),
    );
    assert.equal(full.FailedRecordCount, 1);
    await rejectsWith(
      kinesis.send(new DeleteStreamCommand({ StreamName: "full" })),
      "InternalFailure",
    );
    assert.equal((await describe(kinesis))!.StreamStatus, "ACTIVE");
    rmSync(topUp);
    const out = await kinesis.send(
      new PutRecordsCommand({
        StreamName: "full",
        Records: [{ PartitionKey: "k", Data: recordData("after-delete-refused") }],
      }),
    );
    assert.equal(out.FailedRecordCount, 0);
    assert.deepEqual(await readAllIds(kinesis, "full"), [...stored, "after-delete-refused"]);
    assert.equal(await readyz(gateway), 200);
  });
});
