/**
 * The `aws` command (Debian's `awscli`, which `.ci/run` installs) against a
 * gateway, with placeholder credentials and no pager.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The installed CLI's version line, or undefined when there is no `aws` command. */
export async function awsCliVersion(): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run("aws", ["--version"]);
    return (stdout || stderr).trim(); // version 1 prints it on stderr
  } catch {
    return undefined;
  }
}

/** Runs `aws kinesis <args>` against `endpoint` with JSON output; rejects with its stderr on failure. */
export function awsKinesis(endpoint: string, ...args: string[]) {
  return run("aws", ["kinesis", ...args, "--endpoint-url", endpoint, "--output", "json"], {
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_PAGER: "",
    },
  });
}

/** The skip reason for a test that needs the CLI, or false. */
export const skipWithoutCli = (version: string | undefined) =>
  version === undefined ? "the aws command is not installed (apt-get install awscli)" : false;
