/**
 * The compose stack, brought up as the README says: the default stack (the
 * gateway with its durable engine on :4567) and the emulator profile (a
 * gateway forwarding to kinesis-mock on :4568). A client container on the
 * stack's network calls the gateway by its service name, with the environment
 * the README gives such a service, and a record
 * written before `restart` reads back after it — with the README's AWS CLI
 * commands. Needs a Docker engine and Docker Compose (the v2 plugin, else
 * Debian's docker-compose 1.29); without either it says so and skips.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, suite, test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { awsCliVersion } from "../helpers/aws-cli.ts";
import { type Compose, findCompose } from "../helpers/compose.ts";
import {
  BUILD_MS,
  buildGatewayImage,
  docker,
  GATEWAY_IMAGE,
  kinesisMockImage,
  needsEngine,
  REPOSITORY,
  until,
} from "../helpers/docker.ts";

const run = promisify(execFile);
/** A project of its own, so that a developer's own stack (named after the directory) is left alone. */
const PROJECT = `kinesis-gateway-test-${process.pid}`;
/** Containers on the vfs storage driver start as a full copy of their image. */
const READY_MS = 120_000;

/** The AWS CLI as the README sets it up, against a gateway on this host. */
async function aws(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("aws", ["kinesis", ...args], {
    env: {
      ...process.env,
      AWS_ENDPOINT_URL_KINESIS: `http://localhost:${port}`,
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "any",
      AWS_SECRET_ACCESS_KEY: "any",
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    },
    timeout: 60_000,
  });
  return stdout.trim();
}

/**
 * `put-record --data TEXT`, as the README writes it: version 2 of the CLI reads
 * a blob as base64 unless told otherwise; version 1 has no such option and
 * sends the text as it is.
 */
async function putText(port: number, stream: string, text: string): Promise<void> {
  const version = (await awsCliVersion()) ?? "";
  const raw = version.startsWith("aws-cli/1.") ? [] : ["--cli-binary-format", "raw-in-base64-out"];
  await aws(
    port,
    "put-record",
    "--stream-name",
    stream,
    "--partition-key",
    "k",
    "--data",
    text,
    ...raw,
  );
}

/** What the README's get-shard-iterator and get-records commands print, decoded. */
async function readBack(port: number, stream: string): Promise<string[]> {
  const iterator = await aws(
    port,
    "get-shard-iterator",
    "--stream-name",
    stream,
    "--shard-id",
    "shardId-000000000000",
    "--shard-iterator-type",
    "TRIM_HORIZON",
    "--query",
    "ShardIterator",
    "--output",
    "text",
  );
  const data = await aws(
    port,
    "get-records",
    "--query",
    "Records[].Data",
    "--output",
    "text",
    "--shard-iterator",
    iterator,
  );
  return data === "" ? [] : data.split(/\s+/).map((b64) => Buffer.from(b64, "base64").toString());
}

/** The environment of the README's example service ("Calling it from a service in the stack"). */
function readmeServiceEnvironment(): Record<string, string> {
  const readme = readFileSync(`${REPOSITORY}README.md`, "utf8");
  const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((match) => match[1]!)
    .find((yaml) => yaml.includes("orders-service:"));
  assert.ok(block, "the README's example service");
  const parsed = parse(block) as {
    services: Record<string, { environment: Record<string, string> }>;
  };
  return parsed.services["orders-service"]!.environment;
}

void suite("the compose stack", () => {
  let compose: Compose | undefined;
  const environment = { ...process.env, KINESIS_MOCK_IMAGE: kinesisMockImage() };
  const composeRun = async (...args: string[]): Promise<string> => {
    assert.ok(compose !== undefined);
    const [command, ...leading] = compose.command;
    const { stdout } = await run(command, [...leading, "-p", PROJECT, ...args], {
      cwd: REPOSITORY,
      env: environment,
      timeout: READY_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout.trim();
  };
  /** `up -d --wait` where Compose has it; else the same wait: every started service healthy. */
  const upAndWait = async (...profiles: string[]): Promise<void> => {
    const flags = profiles.flatMap((profile) => ["--profile", profile]);
    if (compose?.canWait) {
      await composeRun(...flags, "up", "-d", "--no-build", "--wait");
      return;
    }
    await composeRun(...flags, "up", "-d", "--no-build");
    await waitHealthy(...flags);
  };
  const waitHealthy = async (...flags: string[]): Promise<void> => {
    const ids = (await composeRun(...flags, "ps", "-q")).split("\n").filter(Boolean);
    await until(
      "healthy",
      async () => {
        for (const id of ids) {
          const state = await docker(
            "inspect",
            "--format",
            "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}",
            id,
          );
          if (state !== "healthy" && state !== "running") return false;
        }
        return true;
      },
      READY_MS,
    );
  };

  after(async () => {
    if (compose === undefined) return;
    await composeRun(
      "--profile",
      "emulator",
      "down",
      "--volumes",
      "--remove-orphans",
      "--timeout",
      "5",
    ).catch((error: unknown) => {
      process.stderr.write(`compose down failed: ${String(error)}\n`);
    });
  });

  test("the default stack and the emulator profile, as the README runs them", {
    timeout: BUILD_MS + 10 * READY_MS,
  }, async (t) => {
    if (!(await needsEngine(t, "the compose stack is not started"))) return;
    const found = findCompose();
    if ("missing" in found) {
      const why = `no Docker Compose: ${found.missing}; the compose stack is not started`;
      process.stderr.write(`\n*** SKIPPED: ${why} ***\n\n`);
      t.skip(why);
      return;
    }
    compose = found;
    await buildGatewayImage();

    await t.test("up: the gateway with its engine, healthy once ready, on :4567", async () => {
      await upAndWait();
      assert.deepEqual(JSON.parse(await aws(4567, "list-streams", "--query", "StreamNames")), [
        "events",
        "orders",
      ]);
    });

    await t.test(
      "a client container on the stack's network calls kinesis-gateway:4567",
      async () => {
        // An AWS SDK program in another container, from the gateway image's own node_modules, and
        // a Connect JSON call with fetch: a service of the stack as the README describes it.
        const network = JSON.parse(
          await docker(
            "inspect",
            "--format",
            "{{json .NetworkSettings.Networks}}",
            await composeRun("ps", "-q", "kinesis-gateway"),
          ),
        ) as Record<string, unknown>;
        const [name] = Object.keys(network);
        assert.ok(name, "the gateway is on the stack's network");
        const client = `
        const { KinesisClient, PutRecordCommand } = require("@aws-sdk/client-kinesis");
        (async () => {
          const kinesis = new KinesisClient({});
          const put = await kinesis.send(new PutRecordCommand({
            StreamName: "orders", PartitionKey: "from-a-container", Data: Buffer.from("sdk"),
          }));
          const connect = await fetch("http://kinesis-gateway:4567/kinesis.gateway.v1.ProducerService/PutRecord", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ streamName: "events", partitionKey: "k", data: Buffer.from("connect").toString("base64") }),
          });
          console.log(JSON.stringify({ sdk: put.ShardId, connect: connect.status, body: await connect.json() }));
        })().catch((error) => { console.error(error); process.exit(1); });`;
        // The environment the README gives a service of the stack, as it is written there.
        const environment = Object.entries(readmeServiceEnvironment()).flatMap(([key, value]) => [
          "-e",
          `${key}=${value}`,
        ]);
        assert.ok(environment.includes("AWS_ENDPOINT_URL_KINESIS=http://kinesis-gateway:4567"));
        const output = await docker(
          "run",
          "--rm",
          "--network",
          name,
          ...environment,
          "--entrypoint",
          "node",
          GATEWAY_IMAGE,
          "-e",
          client,
        );
        const answer = JSON.parse(output) as {
          sdk: string;
          connect: number;
          body: { shardId: string; sequenceNumber: string };
        };
        assert.match(answer.sdk, /^shardId-00000000000[0-3]$/);
        assert.equal(answer.connect, 200);
        assert.equal(answer.body.shardId, "shardId-000000000000");
        assert.match(answer.body.sequenceNumber, /^\d+$/);
      },
    );

    await t.test("a record written before docker compose restart reads back after it", async () => {
      // The README's commands: put-record, restart, wait until ready, get-records.
      await putText(4567, "events", "hello");
      const before = await readBack(4567, "events");
      const id = await composeRun("ps", "-q", "kinesis-gateway");
      const startedAt = await docker("inspect", "--format", "{{.State.StartedAt}}", id);
      await composeRun("restart", "kinesis-gateway");
      assert.notEqual(
        await docker("inspect", "--format", "{{.State.StartedAt}}", id),
        startedAt,
        "the container was restarted",
      );
      await upAndWait();
      assert.deepEqual(await readBack(4567, "events"), before);
      assert.deepEqual(before, ["connect", "hello"]);
    });

    await t.test("--profile emulator: a gateway on :4568 forwarding to kinesis-mock", async () => {
      await upAndWait("emulator");
      // The streams kinesis-mock was started with, seen and written through the gateway.
      assert.deepEqual(JSON.parse(await aws(4568, "list-streams", "--query", "StreamNames")), [
        "events",
        "orders",
      ]);
      await putText(4568, "events", "forwarded");
      assert.deepEqual(await readBack(4568, "events"), ["forwarded"]);
      // It went to kinesis-mock: the engine gateway's stream of the same name has not got it.
      assert.deepEqual(await readBack(4567, "events"), ["connect", "hello"]);
    });
  });
});
