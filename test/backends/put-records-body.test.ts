/**
 * The forwarded PutRecords body written without the SDK's serializer
 * (src/backends/put-records-body.ts), against the SDK's own: two forwarding
 * backends — one as shipped, one with `sdkPutRecordsSerializer` — send the
 * same calls to the same stand-in for Kinesis, which records what arrives.
 * The bodies must be the same bytes, the headers the same but for the date,
 * the signature and the SDK's invocation id, and the answers, the errors,
 * the retries and an abort the same.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import pino from "pino";
import { backgroundCall } from "../../src/backends/backend.ts";
import { createKinesisBackend, type KinesisBackend } from "../../src/backends/kinesis-backend.ts";
import { KinesisJsonProtocol, recordsJson } from "../../src/backends/put-records-body.ts";
import type { PutRecordsInput, PutRecordsRequestEntry } from "../../src/kinesis/types.ts";
import { type FakeAnswer, type FakeUpstream, startFakeUpstream } from "../helpers/fake-upstream.ts";

/** What differs between two requests of the same call by nature. */
const PER_REQUEST_HEADERS = new Set(["x-amz-date", "authorization", "amz-sdk-invocation-id"]);

/** Partition keys that JSON writers escape differently if they differ at all. */
const AWKWARD_KEYS = [
  "plain",
  'quote " and backslash \\',
  "control \u0000\u0001\u001f and tab \t newline \n",
  "DEL \u007f",
  "é ñ 中文 😀",
  "line separators \u2028\u2029",
  "lone surrogates \ud800 \udfff",
  "</script><!--",
  "k".repeat(256),
  "",
];

function entries(): PutRecordsRequestEntry[] {
  const records: PutRecordsRequestEntry[] = AWKWARD_KEYS.map((partitionKey, i) => ({
    data: Uint8Array.from({ length: i * 7 }, (_, j) => (i * 31 + j * 17) & 0xff),
    partitionKey,
  }));
  // Every remainder of a length divided by 3 (base64's padding), hash keys, a view into a larger buffer.
  for (const length of [0, 1, 2, 3, 4, 5, 1024, 1024 * 1024]) {
    records.push({
      data: new Uint8Array(length).fill(length & 0xff),
      partitionKey: `len-${length}`,
    });
  }
  records.push({ data: Buffer.from("hash key"), partitionKey: "h", explicitHashKey: "0" });
  records.push({
    data: Buffer.from("max hash key"),
    partitionKey: "h",
    explicitHashKey: (2n ** 128n - 1n).toString(),
  });
  const shared = Buffer.from("0123456789abcdef");
  records.push({ data: shared.subarray(3, 11), partitionKey: "view" });
  return records;
}

const OK_ANSWER: FakeAnswer = {
  status: 200,
  body: {
    FailedRecordCount: 1,
    Records: [
      {
        SequenceNumber: "49680568268213097344330377401304855224747970548136411154",
        ShardId: "shardId-000000000001",
      },
      {
        ErrorCode: "ProvisionedThroughputExceededException",
        ErrorMessage:
          "Rate exceeded for shard shardId-000000000002 in stream s under account 000000000000.",
      },
    ],
    EncryptionType: "NONE",
  },
};

void suite("the PutRecords body without the SDK's serializer", () => {
  let upstream: FakeUpstream;
  let direct: KinesisBackend;
  let sdk: KinesisBackend;
  before(async () => {
    upstream = await startFakeUpstream();
    const options = {
      region: "us-east-1",
      endpoint: upstream.endpoint,
      logger: pino({ level: "silent" }),
    };
    process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLE";
    process.env.AWS_SECRET_ACCESS_KEY = "secret";
    direct = createKinesisBackend(options);
    sdk = createKinesisBackend({ ...options, sdkPutRecordsSerializer: true });
  });
  after(async () => {
    direct.close();
    sdk.close();
    await upstream.close();
  });

  /** The same call through both backends; what each sent and what each answered. */
  async function both(input: PutRecordsInput, ...answers: FakeAnswer[]) {
    const outcome = async (backend: KinesisBackend) => {
      upstream.queue("PutRecords", ...answers);
      const sent = upstream.requests.length;
      const answer = await backend.putRecords(input, backgroundCall()).then(
        (output) => ({ output }),
        (error: unknown) => ({ error }),
      );
      const requests = upstream.requests
        .slice(sent)
        .filter((r) => r.headers["x-amz-target"] === "Kinesis_20131202.PutRecords");
      return { answer, requests };
    };
    return { direct: await outcome(direct), sdk: await outcome(sdk) };
  }

  const sameHeaders = (a: Record<string, unknown>, b: Record<string, unknown>) => {
    const strip = (headers: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(headers).filter(([name]) => !PER_REQUEST_HEADERS.has(name)),
      );
    assert.deepEqual(strip(a), strip(b));
  };

  for (const [name, stream] of [
    ["by name", { streamName: "s" }],
    ["by ARN", { streamArn: "arn:aws:kinesis:us-east-1:000000000000:stream/s" }],
    [
      "by name and ARN",
      { streamName: "s", streamArn: "arn:aws:kinesis:us-east-1:000000000000:stream/s" },
    ],
  ] as const) {
    test(`a stream ${name}: the same bytes, the same headers, the same answer`, async () => {
      const outcome = await both({ ...stream, records: entries() }, OK_ANSWER);
      assert.equal(outcome.direct.requests.length, 1);
      assert.equal(outcome.sdk.requests.length, 1);
      const [mine] = outcome.direct.requests;
      const [theirs] = outcome.sdk.requests;
      assert.ok(mine!.body.equals(theirs!.body), "byte for byte");
      // And what Kinesis reads from it is the records as they were.
      const parsed = JSON.parse(mine!.body.toString()) as {
        Records: { Data: string; PartitionKey: string }[];
      };
      assert.deepEqual(
        parsed.Records.map((r) => [Buffer.from(r.Data, "base64"), r.PartitionKey]),
        entries().map((r) => [Buffer.from(r.data!), r.partitionKey]),
      );
      sameHeaders(mine!.headers, theirs!.headers);
      assert.match(
        String(mine!.headers.authorization),
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//,
      );
      assert.deepEqual(outcome.direct.answer, outcome.sdk.answer);
      assert.ok("output" in outcome.direct.answer);
    });
  }

  test("no records, and records without data: as the SDK writes them", async () => {
    const empty = await both({ streamName: "s", records: [] }, OK_ANSWER);
    assert.ok(empty.direct.requests[0]!.body.equals(empty.sdk.requests[0]!.body));
    // Validation refuses these before a backend sees them; if one came, it goes as the SDK writes it.
    const missing = await both(
      { streamName: "s", records: [{ data: null, partitionKey: "k" }] },
      OK_ANSWER,
    );
    assert.ok(missing.direct.requests[0]!.body.equals(missing.sdk.requests[0]!.body));
  });

  const failures: [string, FakeAnswer][] = [
    [
      "a throttled call",
      {
        status: 400,
        body: {
          __type: "ProvisionedThroughputExceededException",
          message: "Rate exceeded for stream s under account 000000000000.",
        },
      },
    ],
    [
      "a missing stream",
      {
        status: 400,
        body: {
          __type: "ResourceNotFoundException",
          message: "Stream s under account 000000000000 not found.",
        },
      },
    ],
    [
      "an internal failure",
      { status: 500, body: { __type: "InternalFailure", message: "Internal service failure." } },
    ],
    ["a 503 without a type", { status: 503, body: {} }],
    ["an HTML page from a proxy", { status: 502, raw: "<html>Bad gateway</html>" }],
  ];
  for (const [name, answer] of failures) {
    test(`${name}: the same error`, async () => {
      const outcome = await both({ streamName: "s", records: entries().slice(0, 3) }, answer);
      assert.ok("error" in outcome.direct.answer && "error" in outcome.sdk.answer);
      const describe = (error: unknown) => {
        const e = error as Error & { type?: string; kind?: string };
        return { name: e.name, type: e.type, kind: e.kind, message: e.message };
      };
      assert.deepEqual(describe(outcome.direct.answer.error), describe(outcome.sdk.answer.error));
    });
  }

  test("a call aborted by its caller: the caller's reason, for both", async () => {
    const aborted = async (backend: KinesisBackend) => {
      // Nothing queued: the stand-in takes the request and never answers.
      const controller = new AbortController();
      const call = backend.putRecords(
        { streamName: "s", records: entries().slice(0, 2) },
        { signal: controller.signal },
      );
      setTimeout(() => controller.abort(new Error("the caller went away")), 50);
      return call.then(
        () => "answered",
        (error: unknown) => (error as Error).message,
      );
    };
    assert.equal(await aborted(direct), "the caller went away");
    assert.equal(await aborted(sdk), "the caller went away");
  });

  test("an SDK that retries sends the same body again, the SDK's own", async () => {
    const client = (withProtocol: boolean) =>
      new KinesisClient({
        region: "us-east-1",
        endpoint: upstream.endpoint,
        credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
        maxAttempts: 2,
        requestHandler: new NodeHttpHandler(),
        ...(withProtocol ? { protocol: KinesisJsonProtocol } : {}),
      });
    const records = entries().slice(0, 12);
    const bodies = async (withProtocol: boolean) => {
      upstream.queue(
        "PutRecords",
        { status: 500, body: { __type: "InternalFailure", message: "Internal service failure." } },
        OK_ANSWER,
      );
      const sent = upstream.requests.length;
      const kinesis = client(withProtocol);
      const Records = withProtocol
        ? recordsJson(records)
        : records.map((r) => ({
            Data: r.data!,
            PartitionKey: r.partitionKey!,
            ExplicitHashKey: r.explicitHashKey,
          }));
      const output = await kinesis.send(
        new PutRecordsCommand({ StreamName: "s", Records: Records as never }),
      );
      kinesis.destroy();
      assert.equal(output.$metadata.attempts, 2);
      return upstream.requests.slice(sent).map((r) => r.body);
    };
    const [first, second] = await bodies(true);
    const [expected] = await bodies(false);
    assert.ok(first!.equals(expected!) && second!.equals(expected!));
  });
});
