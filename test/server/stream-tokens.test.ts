/**
 * Tokens limited to some streams, in cleartext: every operation, reads and
 * paging included, over gRPC and the Kinesis wire API. A limited caller
 * reaches its streams only, learns nothing of the others (page tokens are
 * sealed), and can page through what it may see.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, suite, test } from "node:test";
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  ListStreamsCommand,
} from "@aws-sdk/client-kinesis";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ConsumerService,
  ShardIteratorType,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { ProducerService } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { StreamService } from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import type { RunningGateway } from "../../src/main.ts";
import { startTestGateway, withBearerToken } from "../helpers/gateway.ts";

const FULL = "full-access-token-0123456789";
const LIMITED = "pub-only-token-0123456789ab";

const codeOf = (err: unknown) => Code[ConnectError.from(err).code];

void suite("tokens limited to some streams", () => {
  let gateway: RunningGateway;
  before(async () => {
    const tokens = join(mkdtempSync(join(tmpdir(), "tokens-")), "tokens");
    writeFileSync(tokens, `${FULL}\n${LIMITED} pub*\n`);
    gateway = await startTestGateway([
      "--streams",
      "pub-a:3,pub-b:1,pub-c:1,secret-alpha:2,secret-beta:1",
      "--auth-tokens-file",
      tokens,
    ]);
  });
  after(() => gateway.stop());

  const clientsWith = (token: string) => {
    const transport = createGrpcTransport({
      baseUrl: gateway.url,
      interceptors: [withBearerToken(token)],
    });
    return {
      producer: createClient(ProducerService, transport),
      streams: createClient(StreamService, transport),
      consumer: createClient(ConsumerService, transport),
    };
  };
  const awsWith = (token: string) =>
    new KinesisClient({
      endpoint: gateway.url,
      region: "us-east-1",
      credentials: { accessKeyId: token, secretAccessKey: "unused" },
      maxAttempts: 1,
    });

  void test("ListStreams pages show a limited caller its streams only, and its tokens name none", async () => {
    const { streams } = clientsWith(LIMITED);
    const seen: string[] = [];
    let nextToken = "";
    for (let page = 0; page < 10; page++) {
      const out = await streams.listStreams({ limit: 1, nextToken });
      seen.push(...out.streamNames);
      for (const text of [out.nextToken, Buffer.from(out.nextToken, "base64url").toString()]) {
        assert.doesNotMatch(text, /secret|pub-/, "a page token shows a stream name");
      }
      if (!out.hasMoreStreams) break;
      nextToken = out.nextToken;
    }
    assert.deepEqual(seen, ["pub-a", "pub-b", "pub-c"]);
  });

  void test("ListStreams tells a limited caller nothing of the streams after the ones it may see", async () => {
    const { streams } = clientsWith(LIMITED);
    // secret-alpha and secret-beta sort after pub-c: a page cut before filtering would say
    // "more to come", and its size would count them.
    const out = await streams.listStreams({ exclusiveStartStreamName: "pub-c", limit: 1 });
    assert.deepEqual(out.streamNames, []);
    assert.equal(out.hasMoreStreams, false);
    const between = await streams.listStreams({ exclusiveStartStreamName: "pub-a", limit: 1 });
    assert.deepEqual(between.streamNames, ["pub-b"]);
    assert.equal(between.hasMoreStreams, true);
  });

  void test("a limited caller pages ListShards of its own stream with the token alone", async () => {
    const { streams } = clientsWith(LIMITED);
    const first = await streams.listShards({ streamName: "pub-a", maxResults: 1 });
    assert.equal(first.shards.length, 1);
    const second = await streams.listShards({ nextToken: first.nextToken, maxResults: 1 });
    const third = await streams.listShards({ nextToken: second.nextToken, maxResults: 1 });
    assert.deepEqual(
      [first, second, third].map((page) => page.shards[0]?.shardId),
      ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"],
    );
    assert.equal(third.nextToken, "");
  });

  void test("a ListShards token of another stream is refused to a limited caller", async () => {
    const full = clientsWith(FULL);
    const page = await full.streams.listShards({ streamName: "secret-alpha", maxResults: 1 });
    assert.notEqual(page.nextToken, "");
    await assert.rejects(
      clientsWith(LIMITED).streams.listShards({ nextToken: page.nextToken }),
      (err) => codeOf(err) === "PermissionDenied",
    );
    const rest = await full.streams.listShards({ nextToken: page.nextToken });
    assert.equal(rest.shards[0]?.shardId, "shardId-000000000001");
  });

  void test("a forged or altered page token is an invalid argument", async () => {
    const { streams } = clientsWith(FULL);
    const page = await streams.listShards({ streamName: "secret-alpha", maxResults: 1 });
    const bytes = Buffer.from(page.nextToken, "base64url");
    bytes[bytes.length - 20]! ^= 1;
    for (const nextToken of [
      bytes.toString("base64url"),
      Buffer.from(JSON.stringify(["secret-beta", "shardId-000000000000"])).toString("base64url"),
    ]) {
      await assert.rejects(streams.listShards({ nextToken }), (err) => {
        assert.equal(codeOf(err), "InvalidArgument");
        assert.equal(ConnectError.from(err).rawMessage, "Invalid NextToken.");
        return true;
      });
    }
    const streamsPage = await streams.listStreams({ limit: 1 });
    await assert.rejects(
      streams.listShards({ nextToken: streamsPage.nextToken }),
      (err) => codeOf(err) === "InvalidArgument",
      "a ListStreams token does not page ListShards",
    );
  });

  void test("reads: a limited caller reads its streams and no other, over gRPC", async () => {
    const limited = clientsWith(LIMITED);
    await limited.producer.putRecord({
      streamName: "pub-b",
      partitionKey: "k",
      data: Buffer.from("mine"),
    });
    const { shardIterator } = await limited.consumer.getShardIterator({
      streamName: "pub-b",
      shardId: "shardId-000000000000",
      shardIteratorType: ShardIteratorType.TRIM_HORIZON,
    });
    const read = await limited.consumer.getRecords({ shardIterator });
    assert.equal(Buffer.from(read.records[0]!.data).toString(), "mine");

    await assert.rejects(
      limited.consumer.getShardIterator({
        streamName: "secret-beta",
        shardId: "shardId-000000000000",
        shardIteratorType: ShardIteratorType.TRIM_HORIZON,
      }),
      (err) => codeOf(err) === "PermissionDenied",
    );
    const theirs = await clientsWith(FULL).consumer.getShardIterator({
      streamName: "secret-beta",
      shardId: "shardId-000000000000",
      shardIteratorType: ShardIteratorType.TRIM_HORIZON,
    });
    await assert.rejects(
      limited.consumer.getRecords({ shardIterator: theirs.shardIterator }),
      (err) => codeOf(err) === "PermissionDenied",
      "an iterator of another stream is refused",
    );
  });

  void test("the wire API: listing, paging and reading as a limited AWS client", async () => {
    const aws = awsWith(LIMITED);
    const names: string[] = [];
    let NextToken: string | undefined;
    do {
      const out = await aws.send(new ListStreamsCommand({ Limit: 2, NextToken }));
      names.push(...(out.StreamNames ?? []));
      NextToken = out.HasMoreStreams ? out.NextToken : undefined;
    } while (NextToken !== undefined);
    assert.deepEqual(names, ["pub-a", "pub-b", "pub-c"]);

    const first = await aws.send(new ListShardsCommand({ StreamName: "pub-a", MaxResults: 2 }));
    const second = await aws.send(new ListShardsCommand({ NextToken: first.NextToken }));
    assert.deepEqual(
      [...(first.Shards ?? []), ...(second.Shards ?? [])].map((s) => s.ShardId),
      ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"],
    );

    await assert.rejects(
      aws.send(
        new GetShardIteratorCommand({
          StreamName: "secret-alpha",
          ShardId: "shardId-000000000000",
          ShardIteratorType: "TRIM_HORIZON",
        }),
      ),
      (err: Error) => err.name === "AccessDeniedException",
    );
    const { ShardIterator } = await aws.send(
      new GetShardIteratorCommand({
        StreamName: "pub-c",
        ShardId: "shardId-000000000000",
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    const read = await aws.send(new GetRecordsCommand({ ShardIterator }));
    assert.deepEqual(read.Records, []);
  });
});
