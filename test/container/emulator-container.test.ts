/**
 * The emulator harness's default where a Docker engine answers: kinesis-mock's
 * image through testcontainers — the image `KINESIS_MOCK_IMAGE` names, or
 * kinesis-mock's own. So the suites that use the emulator (the contract suite,
 * the fault tests, forward mode) run against a container wherever an engine
 * runs, CI included. Without an engine it says so and skips.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ListStreamsCommand } from "@aws-sdk/client-kinesis";
import { docker, kinesisMockImage, needsEngine } from "../helpers/docker.ts";
import { startEmulator } from "../helpers/emulator.ts";

test("with an engine and no KINESIS_EMULATOR, the harness runs kinesis-mock's image", async (t) => {
  if (!(await needsEngine(t, "the emulator runs as a process instead"))) return;
  const forced = process.env.KINESIS_EMULATOR;
  delete process.env.KINESIS_EMULATOR;
  const emulator = await startEmulator({ initializeStreams: "harness-default:2" });
  if (forced !== undefined) process.env.KINESIS_EMULATOR = forced;
  try {
    assert.equal(emulator.kind, "container");
    const image = kinesisMockImage();
    const running = await docker("ps", "--filter", `ancestor=${image}`, "--format", "{{.Ports}}");
    const port = new URL(emulator.endpoint).port;
    assert.ok(
      running.split("\n").some((ports) => ports.includes(`:${port}->4568/tcp`)),
      `a container of ${image} publishes its port 4568 on ${port}: ${running}`,
    );
    const client = emulator.client();
    const { StreamNames } = await client.send(new ListStreamsCommand({}));
    client.destroy();
    assert.deepEqual(StreamNames, ["harness-default"]);
  } finally {
    await emulator.stop();
  }
});
