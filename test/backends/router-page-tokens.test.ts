/**
 * Paging through the router with engine streams and forwarded streams side by
 * side. AWS sends page 2 of ListShards with the NextToken alone, so the token
 * itself has to bring the call back to the backend and stream that issued it:
 * an engine token to the engine, an AWS token (wrapped by the gateway) to the
 * kinesis backend, whichever of them is the default route.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, suite, test } from "node:test";
import { KinesisClient, ListShardsCommand, ListStreamsCommand } from "@aws-sdk/client-kinesis";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { StreamService } from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import type { RunningGateway } from "../../src/main.ts";
import { useEmulator } from "../helpers/emulator.ts";
import { startTestGateway, withBearerToken } from "../helpers/gateway.ts";

const ENGINE_STREAM = "scratch-a";
const FORWARDED_STREAM = "orders";
const SHARDS = ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"];

const FULL = "full-access-token-0123456789";
const LIMITED = "scratch-only-token-0123456789";

/** The same two routes, with each backend (and none) as the default. */
const ROUTINGS: Record<string, string[]> = {
  "no default backend": [
    "--backend",
    "none",
    "--route",
    `${FORWARDED_STREAM}=kinesis`,
    "--route",
    "scratch-*=engine",
  ],
  "the engine by default": ["--backend", "engine", "--route", `${FORWARDED_STREAM}=kinesis`],
  "kinesis by default": ["--backend", "kinesis", "--route", "scratch-*=engine"],
};

interface Page {
  ids: string[];
  nextToken: string | undefined;
}

/** Every page of ListShards, one shard each, every page after the first asked for by token alone. */
async function pageShards(
  first: () => Promise<Page>,
  next: (token: string) => Promise<Page>,
): Promise<{ ids: string[]; tokens: string[] }> {
  const ids: string[] = [];
  const tokens: string[] = [];
  let page = await first();
  // Bounded: a token that leads back to an earlier page must fail, not hang.
  for (let pages = 1; pages <= SHARDS.length; pages++) {
    ids.push(...page.ids);
    if (page.nextToken === undefined) break;
    tokens.push(page.nextToken);
    page = await next(page.nextToken);
  }
  return { ids, tokens };
}

function assertOpaque(token: string): void {
  for (const text of [token, Buffer.from(token, "base64url").toString("latin1")]) {
    assert.doesNotMatch(text, /orders|scratch|shardId/, "a page token shows what it pages through");
  }
}

function assertInvalidNextToken(err: unknown): true {
  if (err instanceof ConnectError) {
    assert.equal(Code[err.code], Code[Code.InvalidArgument]);
    assert.equal(err.rawMessage, "Invalid NextToken.");
  } else {
    assert.equal((err as Error).name, "InvalidArgumentException");
    assert.equal((err as Error).message, "Invalid NextToken.");
  }
  return true;
}

void suite("page tokens through the router", () => {
  const emulator = useEmulator({ initializeStreams: `${FORWARDED_STREAM}:${SHARDS.length}` });
  let tokensFile: string;
  before(() => {
    tokensFile = join(mkdtempSync(join(tmpdir(), "tokens-")), "tokens");
    writeFileSync(tokensFile, `${FULL}\n${LIMITED} scratch-*\n`);
  });

  for (const [routing, routeFlags] of Object.entries(ROUTINGS)) {
    void suite(`with ${routing}`, () => {
      let gateway: RunningGateway;
      let aws: KinesisClient;
      const awsWith = (token: string) =>
        new KinesisClient({
          endpoint: gateway.url,
          region: "us-east-1",
          credentials: { accessKeyId: token, secretAccessKey: "unused" },
          maxAttempts: 1,
          requestHandler: new NodeHttpHandler(),
        });
      const grpcWith = (token: string) =>
        createClient(
          StreamService,
          createGrpcTransport({ baseUrl: gateway.url, interceptors: [withBearerToken(token)] }),
        );
      before(async () => {
        gateway = await startTestGateway([
          ...routeFlags,
          "--streams",
          `${ENGINE_STREAM}:${SHARDS.length},scratch-b:1`,
          "--kinesis-endpoint",
          emulator.current.endpoint,
          "--auth-tokens-file",
          tokensFile,
        ]);
        aws = awsWith(FULL);
      });
      after(async () => {
        aws.destroy();
        await gateway.stop();
      });

      const awsPage = async (input: { StreamName?: string; NextToken?: string }) => {
        const out = await aws.send(new ListShardsCommand({ ...input, MaxResults: 1 }));
        return { ids: (out.Shards ?? []).map((s) => s.ShardId ?? ""), nextToken: out.NextToken };
      };
      const grpcPage = async (input: { streamName?: string; nextToken?: string }) => {
        const out = await grpcWith(FULL).listShards({ ...input, maxResults: 1 });
        return { ids: out.shards.map((s) => s.shardId), nextToken: out.nextToken || undefined };
      };

      for (const stream of [ENGINE_STREAM, FORWARDED_STREAM]) {
        void test(`pages ListShards of ${stream} with the token alone, over the wire API`, async () => {
          const { ids, tokens } = await pageShards(
            () => awsPage({ StreamName: stream }),
            (token) => awsPage({ NextToken: token }),
          );
          assert.deepEqual(ids, SHARDS);
          tokens.forEach(assertOpaque);
        });

        void test(`pages ListShards of ${stream} with the token alone, over gRPC`, async () => {
          const { ids, tokens } = await pageShards(
            () => grpcPage({ streamName: stream }),
            (token) => grpcPage({ nextToken: token }),
          );
          assert.deepEqual(ids, SHARDS);
          tokens.forEach(assertOpaque);
        });
      }

      void test("pages ListStreams across both backends", async () => {
        const whole = (await aws.send(new ListStreamsCommand({}))).StreamNames ?? [];
        assert.ok(whole.includes(ENGINE_STREAM), "the engine's stream is listed");
        assert.ok(whole.includes(FORWARDED_STREAM), "the forwarded stream is listed");
        const paged: string[] = [];
        let nextToken: string | undefined;
        // Bounded: a token that leads back to an earlier page must fail, not hang.
        for (let pages = 0; pages <= whole.length; pages++) {
          const page = await aws.send(new ListStreamsCommand({ Limit: 1, NextToken: nextToken }));
          paged.push(...(page.StreamNames ?? []));
          if (!page.HasMoreStreams) break;
          nextToken = page.NextToken;
          assertOpaque(nextToken ?? "");
        }
        assert.deepEqual(paged, whole);
        const afterEngineStream = await aws.send(
          new ListStreamsCommand({ ExclusiveStartStreamName: ENGINE_STREAM }),
        );
        assert.deepEqual(afterEngineStream.StreamNames, ["scratch-b"]);
      });

      void test("garbled, forged and unwrapped tokens are refused as AWS refuses them", async () => {
        const { nextToken: sealed = "" } = await awsPage({ StreamName: FORWARDED_STREAM });
        const altered = Buffer.from(sealed, "base64url");
        altered[altered.length - 20]! ^= 1;
        // AWS's own token, as the emulator hands it out, never reaches it through the gateway.
        const upstream = await emulator.current
          .client()
          .send(new ListShardsCommand({ StreamName: FORWARDED_STREAM, MaxResults: 1 }));
        const listStreams = await aws.send(new ListStreamsCommand({ Limit: 1 }));
        const refused = {
          garbled: "AAAA",
          random: randomBytes(64).toString("base64url"),
          altered: altered.toString("base64url"),
          "engine-shaped": Buffer.from(
            JSON.stringify([ENGINE_STREAM, "shardId-000000000000"]),
          ).toString("base64url"),
          "AWS's own": upstream.NextToken ?? "",
          "a ListStreams token": listStreams.NextToken ?? "",
        };
        for (const [kind, token] of Object.entries(refused)) {
          assert.notEqual(token, "", kind);
          await assert.rejects(awsPage({ NextToken: token }), assertInvalidNextToken, kind);
          await assert.rejects(grpcPage({ nextToken: token }), assertInvalidNextToken, kind);
        }
      });

      void test("a forwarded stream's page token is refused to a caller limited to other streams", async () => {
        const { nextToken = "" } = await awsPage({ StreamName: FORWARDED_STREAM });
        await assert.rejects(
          grpcWith(LIMITED).listShards({ nextToken }),
          (err) => ConnectError.from(err).code === Code.PermissionDenied,
        );
      });

      void test("a limited caller's ListStreams token is an invalid NextToken to another caller", async () => {
        const mine = await grpcWith(LIMITED).listStreams({ limit: 1 });
        assert.deepEqual(mine.streamNames, [ENGINE_STREAM]);
        assert.equal(mine.hasMoreStreams, true);
        await assert.rejects(
          grpcWith(FULL).listStreams({ limit: 1, nextToken: mine.nextToken }),
          assertInvalidNextToken,
        );
      });
    });
  }
});
