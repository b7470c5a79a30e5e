/**
 * Every injected fault reaches every protocol in the shape that protocol
 * gives it: the real gateway on an ephemeral port, rules set at start
 * (`--faults` inline) and through `FaultService`, and real clients: each
 * Connect transport (gRPC, gRPC-Web, Connect JSON and binary), raw wire-API
 * requests, and the AWS SDK, once without retries and once with its own
 * default retry strategy. Each write that fails is read back to show that
 * it wrote nothing.
 */
import assert from "node:assert/strict";
import { afterEach, suite, test } from "node:test";
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  PutRecordCommand,
  PutRecordsCommand,
  type PutRecordsResultEntry,
  SubscribeToShardCommand,
} from "@aws-sdk/client-kinesis";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ShardIteratorType } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import {
  FaultService,
  type SetFaultsRequestSchema,
} from "../../src/gen/kinesis/gateway/v1/faults_pb.ts";
import { awsFailureOf, failureOf } from "../helpers/control-plane.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";
import { activeConsumer, http2SdkClient, sdkClient } from "../helpers/kinesis-sdk.ts";
import { hashKeyVectors } from "../helpers/vectors.ts";

const ACCOUNT = "111122223333";
const SEED = 7;
const PTEE = "ProvisionedThroughputExceededException";
const INTERNAL_FAILURE_TEXT = "Internal service failure.";
const KMS_THROTTLING_TEXT =
  "The request was denied due to request throttling. For more information about throttling, see Limits in the Amazon Web Services Key Management Service Developer Guide.";
const SIGNED =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";

/** A rule set as `FaultService.SetFaults` takes it (the `--faults` shape). */
type FaultRules = MessageInitShape<typeof SetFaultsRequestSchema>;
type FaultRule = NonNullable<FaultRules["rules"]>[number];

/** Set from the start: every record written to `doomed` is throttled. */
const STARTUP_RULES: FaultRules = {
  seed: SEED,
  rules: [
    { streams: "doomed", operations: ["PutRecords"], recordFailure: { rate: 1, code: PTEE } },
  ],
};

/** A shard's id from its index. */
const shardIdOf = (index: number) => `shardId-${String(index).padStart(12, "0")}`;

/** Twenty records with the vectors' keys, so each one's shard of four is known without the gateway. */
const RECORDS = hashKeyVectors().map((v) => ({
  partitionKey: v.partitionKey,
  shardId: shardIdOf(v.shardIndexByShardCount["4"]!),
}));

const throttledText = (shardId: string, stream: string) =>
  `Rate exceeded for shard ${shardId} in stream ${stream} under account ${ACCOUNT}.`;
const streamRateText = (stream: string) =>
  `Rate exceeded for stream ${stream} under account ${ACCOUNT}.`;

/** A record's result whatever the protocol: its shard when written, its error when not. */
interface Outcome {
  shardId?: string | undefined;
  sequenceNumber?: string | undefined;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
}

const fromSdk = (r: PutRecordsResultEntry): Outcome => ({
  shardId: r.ShardId,
  sequenceNumber: r.SequenceNumber,
  errorCode: r.ErrorCode,
  errorMessage: r.ErrorMessage,
});

/** Proto3 sends absent strings as empty ones. */
const fromProto = (r: {
  shardId: string;
  sequenceNumber: string;
  errorCode: string;
  errorMessage: string;
}): Outcome => ({
  shardId: r.shardId || undefined,
  sequenceNumber: r.sequenceNumber || undefined,
  errorCode: r.errorCode || undefined,
  errorMessage: r.errorMessage || undefined,
});

/**
 * Asserts each record's result is AWS's: a failed one has its code and the
 * text for it, naming the record's own shard; a written one its shard and a
 * sequence number. The failed records' indexes.
 */
function assertOutcomes(stream: string, outcomes: Outcome[], failedRecordCount: number): number[] {
  assert.equal(outcomes.length, RECORDS.length, "one result per record, in order");
  const failed: number[] = [];
  outcomes.forEach((outcome, i) => {
    const { shardId } = RECORDS[i]!;
    if (outcome.errorCode === undefined) {
      assert.equal(outcome.shardId, shardId, `record ${i} went to its shard`);
      assert.match(outcome.sequenceNumber ?? "", /^\d{56}$/);
      return;
    }
    failed.push(i);
    const expected =
      outcome.errorCode === PTEE
        ? throttledText(shardId, stream)
        : outcome.errorCode === "InternalFailure"
          ? INTERNAL_FAILURE_TEXT
          : assert.fail(`record ${i} failed with ${outcome.errorCode}`);
    assert.equal(outcome.shardId, undefined, `failed record ${i} has no shard`);
    assert.equal(outcome.sequenceNumber, undefined, `failed record ${i} has no sequence number`);
    assert.equal(outcome.errorMessage, expected, `record ${i}'s text`);
  });
  assert.equal(failedRecordCount, failed.length, "FailedRecordCount counts the failed records");
  return failed;
}

/** The data of the records written to the stream that start with `tag`, by shard. */
async function writtenTo(
  url: string,
  stream: string,
  shards: number,
  tag: string,
): Promise<Record<string, string[]>> {
  const kinesis = sdkClient(url);
  const written: Record<string, string[]> = {};
  for (let shard = 0; shard < shards; shard++) {
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: shardIdOf(shard),
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    const { Records } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    const data = Records!
      .map((r) => Buffer.from(r.Data!).toString())
      .filter((d) => d.startsWith(`${tag}-`));
    if (data.length > 0) written[shardIdOf(shard)] = data;
  }
  kinesis.destroy();
  return written;
}

/** What a write of RECORDS tagged `tag` should have left, given which of them failed. */
function survivors(tag: string, failed: number[]): Record<string, string[]> {
  const expected: Record<string, string[]> = {};
  RECORDS.forEach(({ shardId }, i) => {
    if (failed.includes(i)) return;
    expected[shardId] ??= [];
    expected[shardId].push(`${tag}-${i}`);
  });
  return expected;
}

const protoRecords = (tag: string) =>
  RECORDS.map((r, i) => ({ data: Buffer.from(`${tag}-${i}`), partitionKey: r.partitionKey }));
const sdkRecords = (tag: string) =>
  RECORDS.map((r, i) => ({ Data: Buffer.from(`${tag}-${i}`), PartitionKey: r.partitionKey }));

/** A tag for records that no other test writes. */
let tags = 0;
const tagFor = (what: string) => `${what.replace(/[^a-zA-Z0-9]+/g, "_")}_${++tags}`;

/** A wire-API request as a plain HTTP client sends it: the answer's status and JSON body. */
async function wireCall(url: string, operation: string, body: unknown) {
  const res = await fetch(`${url}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `Kinesis_20131202.${operation}`,
      authorization: SIGNED,
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The AWS SDK as an application makes it: default retries (standard, 3 attempts), default handler. */
const retryingSdkClient = (endpoint: string) =>
  new KinesisClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
  });

/** The SDK's error and the `$metadata` it carries. */
interface SdkFailure extends Error {
  $metadata: { httpStatusCode?: number; attempts?: number; totalRetryDelay?: number };
}

async function sdkFailureOf(call: Promise<unknown>): Promise<SdkFailure> {
  try {
    await call;
  } catch (err) {
    return err as SdkFailure;
  }
  assert.fail("the call succeeded");
}

void suite("injected faults over every protocol", () => {
  const gateway = useGateway([
    "--account-id",
    ACCOUNT,
    "--throttle",
    "off",
    "--streams",
    [
      "doomed:4",
      "mixed:4",
      "single:4",
      "calls:1",
      "retry-ServiceUnavailable:1",
      "retry-InternalFailure:1",
      "retry-LimitExceededException:1",
      "retry-KMSThrottlingException:1",
      "retry-ProvisionedThroughputExceededException:1",
      "flaky:1",
      "slow:1",
      "down:1",
      "up:1",
      "reads:2",
      "cut-rpc:1",
      "cut-wire:1",
    ].join(","),
    "--faults",
    JSON.stringify(STARTUP_RULES),
  ]);
  const url = () => gateway.current.url;
  const faults = () =>
    createClient(
      FaultService,
      createConnectTransport({ baseUrl: url(), httpVersion: "1.1", useBinaryFormat: false }),
    );
  const setFaults = async (rules: FaultRule[], seed = SEED) => {
    await faults().setFaults({ seed, rules });
  };
  afterEach(async () => {
    // Back to the rules it started with, so each test sees only its own.
    await faults().setFaults(STARTUP_RULES);
  });

  suite("PutRecords: records failed one by one", () => {
    const MIXED_RULES: FaultRule[] = [
      { streams: "mixed", operations: ["PutRecords"], recordFailure: { rate: 0.3, code: PTEE } },
      {
        streams: "mixed",
        operations: ["PutRecords"],
        recordFailure: { rate: 0.3, code: "InternalFailure" },
      },
    ];

    for (const [name, transport] of Object.entries(transports)) {
      void test(`${name}: a rate of 1 (set by --faults) throttles every record, naming its shard, and writes none`, async () => {
        const tag = tagFor(name);
        const { producer } = clientsFor(transport(url()));
        const res = await producer.putRecords({ streamName: "doomed", records: protoRecords(tag) });
        const failed = assertOutcomes("doomed", res.records.map(fromProto), res.failedRecordCount);
        assert.equal(failed.length, RECORDS.length);
        assert.ok(res.records.every((r) => r.errorCode === PTEE));
        assert.deepEqual(await writtenTo(url(), "doomed", 4, tag), {});
      });

      void test(`${name}: a seeded rate of each code fails some records with AWS's texts, and writes only the others`, async () => {
        await setFaults(MIXED_RULES);
        const tag = tagFor(name);
        const { producer } = clientsFor(transport(url()));
        const res = await producer.putRecords({ streamName: "mixed", records: protoRecords(tag) });
        const outcomes = res.records.map(fromProto);
        const failed = assertOutcomes("mixed", outcomes, res.failedRecordCount);
        // Seed 7 gives both codes and some records written: each branch above is exercised.
        const codes = new Set(outcomes.map((o) => o.errorCode));
        assert.deepEqual(codes, new Set([undefined, PTEE, "InternalFailure"]));
        assert.deepEqual(await writtenTo(url(), "mixed", 4, tag), survivors(tag, failed));
      });
    }

    void test("AWS SDK: a rate of 1 throttles every record, naming its shard, and writes none", async () => {
      const tag = tagFor("sdk");
      const kinesis = sdkClient(url());
      const out = await kinesis.send(
        new PutRecordsCommand({ StreamName: "doomed", Records: sdkRecords(tag) }),
      );
      const failed = assertOutcomes("doomed", out.Records!.map(fromSdk), out.FailedRecordCount!);
      assert.equal(failed.length, RECORDS.length);
      assert.deepEqual(await writtenTo(url(), "doomed", 4, tag), {});
    });

    void test("AWS SDK: a seeded rate of each code fails the same records as over gRPC, and writes only the others", async () => {
      await setFaults(MIXED_RULES);
      const { producer } = clientsFor(transports["gRPC over h2c"]!(url()));
      const overGrpc = await producer.putRecords({
        streamName: "mixed",
        records: protoRecords(tagFor("grpc")),
      });
      await setFaults(MIXED_RULES); // the decisions start again
      const tag = tagFor("sdk");
      const out = await sdkClient(url()).send(
        new PutRecordsCommand({ StreamName: "mixed", Records: sdkRecords(tag) }),
      );
      const outcomes = out.Records!.map(fromSdk);
      const failed = assertOutcomes("mixed", outcomes, out.FailedRecordCount!);
      assert.deepEqual(
        outcomes.map((o) => o.errorCode),
        overGrpc.records.map((r) => r.errorCode || undefined),
        "the same seed and calls, the same faults",
      );
      assert.deepEqual(await writtenTo(url(), "mixed", 4, tag), survivors(tag, failed));
    });
  });

  suite("PutRecord: a failed record fails the call", () => {
    const record = RECORDS[1]!; // shard 2 of 4
    for (const [code, grpcCode, status] of [
      [PTEE, Code.ResourceExhausted, 400],
      ["InternalFailure", Code.Unavailable, 500],
    ] as const) {
      void test(`${code}: gRPC ${Code[grpcCode]} with its detail, wire ${status}, nothing written`, async () => {
        await setFaults([
          { streams: "single", operations: ["PutRecord"], recordFailure: { rate: 1, code } },
        ]);
        const text =
          code === PTEE ? throttledText(record.shardId, "single") : INTERNAL_FAILURE_TEXT;
        const tag = tagFor(code);
        for (const transport of Object.values(transports)) {
          const { producer } = clientsFor(transport(url()));
          const failure = await failureOf(
            producer.putRecord({
              streamName: "single",
              data: Buffer.from(`${tag}-1`),
              partitionKey: record.partitionKey,
            }),
          );
          assert.deepEqual(failure, { code: Code[grpcCode], type: code, message: text });
        }
        const wire = await wireCall(url(), "PutRecord", {
          StreamName: "single",
          Data: Buffer.from(`${tag}-1`).toString("base64"),
          PartitionKey: record.partitionKey,
        });
        assert.deepEqual(wire, { status, body: { __type: code, message: text } });
        const sdk = await sdkFailureOf(
          sdkClient(url()).send(
            new PutRecordCommand({
              StreamName: "single",
              Data: Buffer.from(`${tag}-1`),
              PartitionKey: record.partitionKey,
            }),
          ),
        );
        assert.deepEqual(
          [sdk.name, sdk.message, sdk.$metadata.httpStatusCode],
          [code, text, status],
        );
        assert.deepEqual(await writtenTo(url(), "single", 4, tag), {});
      });
    }
  });

  suite("callFailure: the whole call fails, in each protocol's shape, and writes nothing", () => {
    const CALL_FAILURES = [
      ["ServiceUnavailable", Code.Unavailable, 503, "Service Unavailable"],
      ["InternalFailure", Code.Unavailable, 500, INTERNAL_FAILURE_TEXT],
      ["LimitExceededException", Code.ResourceExhausted, 400, streamRateText("calls")],
      ["KMSThrottlingException", Code.ResourceExhausted, 400, KMS_THROTTLING_TEXT],
      [PTEE, Code.ResourceExhausted, 400, streamRateText("calls")],
    ] as const;

    for (const [code, grpcCode, status, text] of CALL_FAILURES) {
      void test(`${code}: gRPC ${Code[grpcCode]}, wire ${status}`, async () => {
        await setFaults([
          { streams: "calls", operations: ["PutRecords"], callFailure: { rate: 1, code } },
        ]);
        const tag = tagFor(code);
        for (const [name, transport] of Object.entries(transports)) {
          const { producer } = clientsFor(transport(url()));
          const failure = await failureOf(
            producer.putRecords({ streamName: "calls", records: protoRecords(tag) }),
          );
          assert.deepEqual(failure, { code: Code[grpcCode], type: code, message: text }, name);
        }
        const wire = await wireCall(url(), "PutRecords", {
          StreamName: "calls",
          Records: sdkRecords(tag).map((r) => ({ ...r, Data: r.Data.toString("base64") })),
        });
        assert.deepEqual(wire, { status, body: { __type: code, message: text } });
        const sdk = await sdkFailureOf(
          sdkClient(url()).send(
            new PutRecordsCommand({ StreamName: "calls", Records: sdkRecords(tag) }),
          ),
        );
        assert.deepEqual(
          [sdk.name, sdk.message, sdk.$metadata.httpStatusCode],
          [code, text, status],
        );
        assert.deepEqual(await writtenTo(url(), "calls", 1, tag), {});
      });
    }

    void test("PutRecord's ProvisionedThroughputExceededException names the record's shard, as a throttled PutRecord does", async () => {
      await setFaults([
        { streams: "single", operations: ["PutRecord"], callFailure: { rate: 1, code: PTEE } },
      ]);
      const tag = tagFor("put-record-call");
      for (const { partitionKey, shardId } of RECORDS.slice(0, 4)) {
        const text = throttledText(shardId, "single");
        const { producer } = clientsFor(transports["gRPC over h2c"]!(url()));
        assert.deepEqual(
          await failureOf(
            producer.putRecord({
              streamName: "single",
              data: Buffer.from(`${tag}-0`),
              partitionKey,
            }),
          ),
          { code: "ResourceExhausted", type: PTEE, message: text },
        );
        const wire = await wireCall(url(), "PutRecord", {
          StreamName: "single",
          Data: Buffer.from(`${tag}-0`).toString("base64"),
          PartitionKey: partitionKey,
        });
        assert.deepEqual(wire, { status: 400, body: { __type: PTEE, message: text } });
      }
      assert.deepEqual(await writtenTo(url(), "single", 4, tag), {});
    });
  });

  suite("the AWS SDK's own retry strategy (standard, 3 attempts)", () => {
    // What @smithy/core's StandardRetryStrategy retries: a throttling error by
    // name (its THROTTLING_ERROR_CODES hold LimitExceededException and
    // ProvisionedThroughputExceededException), or a transient one by status
    // (500, 502, 503, 504). KMSThrottlingException is neither: a 400 whose
    // name is not in the list and which Kinesis' model gives no retryable
    // trait, so the SDK gives up after one attempt, as it would against AWS.
    const RETRIED = {
      ServiceUnavailable: 3,
      InternalFailure: 3,
      LimitExceededException: 3,
      KMSThrottlingException: 1,
      [PTEE]: 3,
    } as const;

    void test("retries ServiceUnavailable, InternalFailure, LimitExceededException and ProvisionedThroughputExceededException; not KMSThrottlingException", async () => {
      await setFaults(
        Object.keys(RETRIED).map((code) => ({
          streams: `retry-${code}`,
          operations: ["PutRecord"],
          callFailure: { rate: 1, code },
        })),
      );
      const kinesis = retryingSdkClient(url());
      const tag = tagFor("retry");
      // At once: the throttling errors' backoff is up to 1 s, then 2 s.
      const attempts = await Promise.all(
        Object.keys(RETRIED).map(async (code) => {
          const err = await sdkFailureOf(
            kinesis.send(
              new PutRecordCommand({
                StreamName: `retry-${code}`,
                Data: Buffer.from(`${tag}-0`),
                PartitionKey: "k",
              }),
            ),
          );
          assert.equal(err.name, code);
          return [code, err.$metadata.attempts];
        }),
      );
      kinesis.destroy();
      assert.deepEqual(Object.fromEntries(attempts), RETRIED);
      for (const code of Object.keys(RETRIED)) {
        assert.deepEqual(await writtenTo(url(), `retry-${code}`, 1, tag), {});
      }
    });

    /** A seed whose first eight calls each get through in at most three attempts, and need one, two or three. */
    const FLAKY_SEED = 17;

    void test("gets every call of a seeded 50 % ServiceUnavailable through, in the attempts the seed gives", async () => {
      await setFaults(
        [
          {
            streams: "flaky",
            operations: ["PutRecord"],
            callFailure: { rate: 0.5, code: "ServiceUnavailable" },
          },
        ],
        FLAKY_SEED,
      );
      const kinesis = retryingSdkClient(url());
      const attempts: number[] = [];
      const tag = tagFor("flaky");
      for (let i = 0; i < 8; i++) {
        const out = await kinesis.send(
          new PutRecordCommand({
            StreamName: "flaky",
            Data: Buffer.from(`${tag}-${i}`),
            PartitionKey: "k",
          }),
        );
        attempts.push(out.$metadata.attempts ?? 0);
      }
      kinesis.destroy();
      // Each attempt is a call of its own to the injector: the seed's draws, attempt after attempt.
      assert.deepEqual(attempts, [2, 2, 3, 1, 2, 2, 2, 1]);
      const written = await writtenTo(url(), "flaky", 1, tag);
      assert.deepEqual(
        written[shardIdOf(0)],
        attempts.map((_, i) => `${tag}-${i}`),
        "each record once: the failed attempts wrote nothing",
      );
    });
  });

  suite("latency", () => {
    void test("a fixed 300 ms makes each protocol's call take at least 300 ms", async () => {
      await setFaults([{ streams: "slow", operations: ["PutRecords"], latency: { ms: 300 } }]);
      const { producer } = clientsFor(transports["gRPC over h2c"]!(url()));
      const timed = async (call: () => Promise<unknown>) => {
        const started = performance.now();
        await call();
        return performance.now() - started;
      };
      const grpcMs = await timed(() =>
        producer.putRecords({ streamName: "slow", records: protoRecords(tagFor("slow")) }),
      );
      const sdkMs = await timed(() =>
        sdkClient(url()).send(
          new PutRecordsCommand({ StreamName: "slow", Records: sdkRecords(tagFor("slow")) }),
        ),
      );
      assert.ok(grpcMs >= 300, `gRPC took ${grpcMs} ms`);
      assert.ok(sdkMs >= 300, `SDK took ${sdkMs} ms`);
    });

    void test("a caller with a 100 ms deadline gets DEADLINE_EXCEEDED and nothing is written", async () => {
      await setFaults([{ streams: "slow", operations: ["PutRecords"], latency: { ms: 300 } }]);
      const tag = tagFor("deadline");
      for (const [name, transport] of Object.entries(transports)) {
        const { producer } = clientsFor(transport(url()));
        await assert.rejects(
          producer.putRecords(
            { streamName: "slow", records: protoRecords(tag) },
            { timeoutMs: 100 },
          ),
          (err: unknown) => {
            assert.equal(ConnectError.from(err).code, Code.DeadlineExceeded, name);
            return true;
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 400)); // past the latency: a late write would show
      assert.deepEqual(await writtenTo(url(), "slow", 1, tag), {});
    });
  });

  void test("an outage fails every call to its stream with ServiceUnavailable until cleared; other streams and readiness are unaffected", async () => {
    await setFaults([{ streams: "down", outage: {} }]);
    const { producer, streams } = clientsFor(transports["gRPC over h2c"]!(url()));
    const kinesis = sdkClient(url());
    const tag = tagFor("outage");
    const unavailable = {
      code: "Unavailable",
      type: "ServiceUnavailable",
      message: "Service Unavailable",
    };
    assert.deepEqual(
      await failureOf(producer.putRecords({ streamName: "down", records: protoRecords(tag) })),
      unavailable,
    );
    assert.deepEqual(await failureOf(streams.listShards({ streamName: "down" })), unavailable);
    assert.deepEqual(
      await failureOf(streams.describeStreamSummary({ streamName: "down" })),
      unavailable,
    );
    const wire = await wireCall(url(), "ListShards", { StreamName: "down" });
    assert.deepEqual(wire, {
      status: 503,
      body: { __type: "ServiceUnavailable", message: "Service Unavailable" },
    });
    assert.deepEqual(
      await awsFailureOf(
        kinesis.send(new PutRecordsCommand({ StreamName: "down", Records: sdkRecords(tag) })),
      ),
      { type: "ServiceUnavailable", message: "Service Unavailable" },
    );

    const other = await producer.putRecords({ streamName: "up", records: protoRecords(tag) });
    assert.equal(other.failedRecordCount, 0, "another stream is unaffected");
    assert.equal(
      (await fetch(`${url()}/readyz`)).status,
      200,
      "an outage of Kinesis, not of the gateway",
    );

    await faults().clearFaults({});
    const after = await producer.putRecords({ streamName: "down", records: protoRecords(tag) });
    assert.equal(after.failedRecordCount, 0, "cleared: the stream answers again");
    assert.equal(
      Object.values(await writtenTo(url(), "down", 1, tag)).flat().length,
      RECORDS.length,
    );
    kinesis.destroy();
  });

  suite("reads", () => {
    void test("GetRecords with a callFailure fails over gRPC and the wire API, naming the iterator's shard", async () => {
      const { consumer } = clientsFor(transports["gRPC over h2c"]!(url()));
      const { shardIterator } = await consumer.getShardIterator({
        streamName: "reads",
        shardId: shardIdOf(1),
        shardIteratorType: ShardIteratorType.TRIM_HORIZON,
      });
      await setFaults([
        { streams: "reads", operations: ["GetRecords"], callFailure: { rate: 1, code: PTEE } },
      ]);
      const text = throttledText(shardIdOf(1), "reads");
      for (const [name, transport] of Object.entries(transports)) {
        const failure = await failureOf(
          clientsFor(transport(url())).consumer.getRecords({ shardIterator }),
        );
        assert.deepEqual(failure, { code: "ResourceExhausted", type: PTEE, message: text }, name);
      }
      const wire = await wireCall(url(), "GetRecords", { ShardIterator: shardIterator });
      assert.deepEqual(wire, { status: 400, body: { __type: PTEE, message: text } });
      const sdk = await sdkFailureOf(
        sdkClient(url()).send(new GetRecordsCommand({ ShardIterator: shardIterator })),
      );
      assert.deepEqual([sdk.name, sdk.message, sdk.$metadata.httpStatusCode], [PTEE, text, 400]);
    });

    const CUT: FaultRule = {
      operations: ["SubscribeToShard"],
      subscriptionCut: { afterEvents: 2, code: "InternalFailure" },
    };

    void test("gRPC SubscribeToShard cut after 2 events ends with UNAVAILABLE and InternalFailure's detail", async () => {
      await setFaults([{ streams: "cut-rpc", ...CUT }]);
      const { consumer, producer } = clientsFor(transports["gRPC over h2c"]!(url()));
      const events = consumer.subscribeToShard({
        streamName: "cut-rpc",
        shardId: shardIdOf(0),
        startingPosition: { type: ShardIteratorType.LATEST },
      });
      const received: string[][] = [];
      const failure = await failureOf(
        (async () => {
          for await (const event of events) {
            received.push(event.records.map((r) => Buffer.from(r.data).toString()));
            // Records after the first event (the subscription is live) make the second, and one more a third.
            await producer.putRecord({
              streamName: "cut-rpc",
              data: Buffer.from(`after-${received.length}`),
              partitionKey: "k",
            });
          }
        })(),
      );
      assert.deepEqual(failure, {
        code: "Unavailable",
        type: "InternalFailure",
        message: INTERNAL_FAILURE_TEXT,
      });
      assert.deepEqual(received, [[], ["after-1"]], "two events, then the error");
    });

    void test("the AWS SDK's SubscribeToShard over HTTP/2 cut after 2 events ends with InternalFailureException", async () => {
      const kinesis = sdkClient(url());
      const { StreamDescriptionSummary } = await kinesis.send(
        new DescribeStreamSummaryCommand({ StreamName: "cut-wire" }),
      );
      const consumerArn = await activeConsumer(
        kinesis,
        StreamDescriptionSummary!.StreamARN!,
        "cut",
      );
      await setFaults([{ streams: "cut-wire", ...CUT }]);
      const subscriber = http2SdkClient(url());
      const { EventStream } = await subscriber.send(
        new SubscribeToShardCommand({
          ConsumerARN: consumerArn,
          ShardId: shardIdOf(0),
          StartingPosition: { Type: "LATEST" },
        }),
      );
      const received: string[][] = [];
      const err = await sdkFailureOf(
        (async () => {
          for await (const item of EventStream!) {
            const event = item.SubscribeToShardEvent;
            assert.ok(event, `an event of another type: ${Object.keys(item)}`);
            received.push(event.Records!.map((r) => Buffer.from(r.Data!).toString()));
            await kinesis.send(
              new PutRecordCommand({
                StreamName: "cut-wire",
                Data: Buffer.from(`after-${received.length}`),
                PartitionKey: "k",
              }),
            );
          }
        })(),
      );
      subscriber.destroy();
      kinesis.destroy();
      assert.deepEqual(
        [err.name, err.message],
        ["InternalFailureException", INTERNAL_FAILURE_TEXT],
      );
      assert.deepEqual(received, [[], ["after-1"]], "two events, then the exception");
    });
  });
});
