/**
 * The README's fault injection example runs as shown: its rule file, its
 * command's flags, and its AWS SDK producer, which prints what the README
 * says it prints (the rules are seeded, so it is the same every run) and
 * leaves every record in the stream once.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { readFromEmulator } from "../contract/targets.ts";
import { startGatewayProcess } from "../helpers/gateway-process.ts";
import { sdkClient } from "../helpers/kinesis-sdk.ts";

const REPOSITORY = fileURLToPath(new URL("../../", import.meta.url));

/** The first ```<language> block after `after` in the README's "Fault injection" section. */
function blockOf(section: string, language: string, after = 0): { text: string; end: number } {
  const start = section.indexOf(`\`\`\`${language}\n`, after);
  assert.ok(start >= 0, `no \`\`\`${language} block`);
  const from = start + language.length + 4;
  const end = section.indexOf("\n```", from);
  return { text: section.slice(from, end + 1), end };
}

void test("the README's rule file and AWS SDK producer run as shown", async () => {
  const readme = await readFile(join(REPOSITORY, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Fault injection"), readme.indexOf("## Errors"));
  const rules = blockOf(section, "yaml");
  const command = blockOf(section, "sh", rules.end);
  const producer = blockOf(section, "js", command.end);
  const shown = blockOf(section, "text", producer.end);
  assert.match(rules.text, /^# faults\.yaml\n/);
  assert.match(producer.text, /^\/\/ producer\.mjs\n/);

  // Inside the repository, so that the producer's import finds the AWS SDK.
  const dir = await mkdtemp(join(REPOSITORY, ".readme-faults-"));
  const flags = command.text
    .trim()
    .replace(/^npm start -- /, "")
    .split(/\s+/);
  assert.deepEqual(flags.slice(-2), ["--faults", "faults.yaml"]);
  await writeFile(join(dir, "faults.yaml"), rules.text);
  await writeFile(join(dir, "producer.mjs"), producer.text);
  const gateway = await startGatewayProcess([...flags.slice(0, -1), join(dir, "faults.yaml")]);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, "producer.mjs")], {
      env: { ...process.env, KINESIS_ENDPOINT: gateway.url },
    });
    const expected = shown.text.split("\n").find((line) => !line.startsWith("$") && line !== "");
    assert.equal(stdout.trim(), expected);
    const throttled = Number(/; (\d+) throttled/.exec(stdout)?.[1]);
    assert.ok(throttled > 0, "the producer saw no throttling");

    const kinesis = sdkClient(gateway.url);
    const orders: number[] = [];
    for (const shardId of ["shardId-000000000000", "shardId-000000000001"]) {
      for (const record of await readFromEmulator(kinesis, "orders", shardId)) {
        orders.push((JSON.parse(Buffer.from(record.data).toString()) as { order: number }).order);
      }
    }
    kinesis.destroy();
    assert.deepEqual(
      orders.sort((a, b) => a - b),
      Array.from({ length: 500 }, (_, i) => i),
    );
  } finally {
    await gateway.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
