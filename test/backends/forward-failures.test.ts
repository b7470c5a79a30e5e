/**
 * Forward mode against failures a real emulator cannot produce on demand:
 * every AWS error type of the README's table, 5xx answers, an endpoint that
 * never answers, and a full in-flight budget.
 */
import assert from "node:assert/strict";
import { after, before, suite, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { KinesisErrorDetailSchema } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import type { RunningGateway } from "../../src/main.ts";
import { type FakeAnswer, type FakeUpstream, startFakeUpstream } from "../helpers/fake-upstream.ts";
import { clientsFor, startTestGateway, transports } from "../helpers/gateway.ts";

const records = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ data: new Uint8Array(100), partitionKey: `k${i}` }));

function assertConnectError(err: unknown, code: Code, type?: string, message?: string): true {
  const error = ConnectError.from(err);
  assert.equal(Code[error.code], Code[code], error.rawMessage);
  if (type !== undefined) {
    const [detail] = error.findDetails(KinesisErrorDetailSchema);
    assert.equal(detail?.type, type);
    assert.equal(detail?.message, error.rawMessage);
    if (message !== undefined) assert.equal(error.rawMessage, message);
  }
  return true;
}

/**
 * A fake upstream and a gateway forwarding to it, for one suite. `flags` are
 * added to `--kinesis-endpoint <fake>`.
 */
function useForwarding(flags: string[], answer?: FakeAnswer) {
  const holder = {} as { upstream: FakeUpstream; gateway: RunningGateway };
  before(async () => {
    holder.upstream = await startFakeUpstream();
    if (answer) holder.upstream.answer = answer;
    holder.gateway = await startTestGateway([
      "--kinesis-endpoint",
      holder.upstream.endpoint,
      ...flags,
    ]);
  });
  after(async () => {
    await holder.gateway.stop();
    await holder.upstream.close();
  });
  return holder;
}

void suite("forwarding: AWS errors map to Connect codes", () => {
  const forwarding = useForwarding(["--backend", "kinesis"]);

  const table: [status: number, type: string, code: Code][] = [
    [400, "ResourceNotFoundException", Code.NotFound],
    [400, "ValidationException", Code.InvalidArgument],
    [400, "InvalidArgumentException", Code.InvalidArgument],
    [400, "AccessDeniedException", Code.PermissionDenied],
    [400, "KMSAccessDeniedException", Code.PermissionDenied],
    [400, "ProvisionedThroughputExceededException", Code.ResourceExhausted],
    [400, "LimitExceededException", Code.ResourceExhausted],
    [400, "KMSThrottlingException", Code.ResourceExhausted],
    [400, "ResourceInUseException", Code.FailedPrecondition],
    [400, "KMSDisabledException", Code.FailedPrecondition],
    [400, "KMSInvalidStateException", Code.FailedPrecondition],
    [400, "KMSNotFoundException", Code.FailedPrecondition],
    [400, "KMSOptInRequired", Code.FailedPrecondition],
    [400, "UnrecognizedClientException", Code.Unauthenticated],
    [500, "InternalFailure", Code.Unavailable],
  ];
  for (const [status, type, code] of table) {
    void test(`${type} → ${Code[code]}, type and message kept`, async () => {
      const message = `the upstream said ${type}`;
      forwarding.upstream.answer = { status, body: { __type: type, message } };
      const { producer } = clientsFor(transports["gRPC over h2c"]!(forwarding.gateway.url));
      await assert.rejects(producer.putRecords({ streamName: "s", records: records(2) }), (err) =>
        assertConnectError(err, code, type, message),
      );
    });
  }

  void test("a 503 without an AWS error type is UNAVAILABLE", async () => {
    forwarding.upstream.answer = { status: 503, body: "Service Unavailable" };
    const { producer } = clientsFor(transports["gRPC over h2c"]!(forwarding.gateway.url));
    await assert.rejects(producer.putRecord({ streamName: "s", partitionKey: "k" }), (err) =>
      assertConnectError(err, Code.Unavailable),
    );
  });

  void test("a 500 whose body is not JSON is UNAVAILABLE, InternalFailure", async () => {
    forwarding.upstream.answer = { status: 500, raw: "<html><body>Bad gateway</body></html>" };
    const { producer } = clientsFor(transports["gRPC over h2c"]!(forwarding.gateway.url));
    await assert.rejects(producer.putRecord({ streamName: "s", partitionKey: "k" }), (err) =>
      assertConnectError(err, Code.Unavailable, "InternalFailure"),
    );
  });

  for (const [name, type] of [
    ["15,000 characters", "X".repeat(15_000)],
    ["3,000 emoji", "😀".repeat(3_000)],
    ["a space", "Resource Not Found"],
  ] as const) {
    void test(`an upstream error type of ${name} is not taken for an AWS type`, async () => {
      forwarding.upstream.answer = {
        status: 400,
        body: { __type: type, message: "😀".repeat(3_000) },
      };
      const { producer } = clientsFor(transports["gRPC over h2c"]!(forwarding.gateway.url));
      await assert.rejects(producer.putRecord({ streamName: "s", partitionKey: "k" }), (err) =>
        assertConnectError(err, Code.Unknown, "UnknownError"),
      );
    });
  }

  void test("per-record failures pass through unchanged and in order", async () => {
    const results = [
      { SequenceNumber: "1".repeat(56), ShardId: "shardId-000000000002" },
      {
        ErrorCode: "ProvisionedThroughputExceededException",
        ErrorMessage:
          "Rate exceeded for shard shardId-000000000001 in stream s under account 123456789012.",
      },
      { ErrorCode: "InternalFailure", ErrorMessage: "Internal service failure." },
      { SequenceNumber: "2".repeat(56), ShardId: "shardId-000000000000" },
    ];
    forwarding.upstream.answer = {
      status: 200,
      body: { FailedRecordCount: 2, Records: results, EncryptionType: "KMS" },
    };
    const { producer } = clientsFor(
      transports["Connect JSON over HTTP/1.1"]!(forwarding.gateway.url),
    );
    const res = await producer.putRecords({ streamName: "s", records: records(4) });
    assert.equal(res.failedRecordCount, 2);
    assert.deepEqual(
      res.records.map((r) => [r.sequenceNumber, r.shardId, r.errorCode, r.errorMessage]),
      results.map((r) => [
        r.SequenceNumber ?? "",
        r.ShardId ?? "",
        r.ErrorCode ?? "",
        r.ErrorMessage ?? "",
      ]),
    );
  });

  void test("an invalid request is refused before it is forwarded", async () => {
    forwarding.upstream.answer = { status: 200, body: {} };
    const before = forwarding.upstream.targets.length;
    const { producer } = clientsFor(transports["gRPC over h2c"]!(forwarding.gateway.url));
    await assert.rejects(producer.putRecords({ streamName: "s", records: records(501) }), (err) =>
      assertConnectError(err, Code.InvalidArgument),
    );
    assert.equal(forwarding.upstream.targets.length, before);
  });
});

void suite("forwarding: an upstream that never answers", () => {
  const forwarding = useForwarding([
    "--backend",
    "kinesis",
    "--kinesis-request-timeout-ms",
    "1500",
    "--max-in-flight-records",
    "600",
  ]);

  void test("the caller's deadline ends the call with DEADLINE_EXCEEDED", async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(forwarding.gateway.url));
    const started = performance.now();
    await assert.rejects(
      producer.putRecords({ streamName: "s", records: records(1) }, { timeoutMs: 300 }),
      (err) => assertConnectError(err, Code.DeadlineExceeded),
    );
    assert.ok(
      performance.now() - started < 1400,
      "ended by the caller's deadline, not the gateway's",
    );
  });

  void test("without a caller deadline the gateway's request timeout answers DEADLINE_EXCEEDED", async () => {
    const { producer } = clientsFor(
      transports["Connect JSON over HTTP/1.1"]!(forwarding.gateway.url),
    );
    await assert.rejects(producer.putRecord({ streamName: "s", partitionKey: "k" }), (err) =>
      assertConnectError(err, Code.DeadlineExceeded),
    );
  });

  void test("past the in-flight bound, writes are refused at once with RESOURCE_EXHAUSTED", async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(forwarding.gateway.url));
    const held = producer.putRecords({ streamName: "s", records: records(500) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await assert.rejects(producer.putRecords({ streamName: "s", records: records(200) }), (err) =>
      assertConnectError(err, Code.ResourceExhausted),
    );
    assert.ok(performance.now() - started < 500, "refused without waiting");
    // Smaller writes still fit next to the held one.
    const small = producer.putRecords({ streamName: "s", records: records(50) });
    await assert.rejects(held, (err) => assertConnectError(err, Code.DeadlineExceeded));
    await assert.rejects(small, (err) => assertConnectError(err, Code.DeadlineExceeded));
  });
});

void suite("routing", () => {
  const forwarding = useForwarding(
    [
      "--backend",
      "none",
      "--route",
      "local-*=engine",
      "--route",
      "prod-orders=kinesis",
      "--route",
      "prod-?=kinesis",
      "--streams",
      "local-orders:2",
    ],
    {
      status: 200,
      body: {
        FailedRecordCount: 0,
        Records: [{ SequenceNumber: "9".repeat(56), ShardId: "shardId-000000000007" }],
      },
    },
  );

  void test("streams go where the first matching route says", async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(forwarding.gateway.url));
    const forwardedBefore = forwarding.upstream.targets.filter((t) =>
      t.endsWith(".PutRecords"),
    ).length;
    const local = await producer.putRecords({ streamName: "local-orders", records: records(1) });
    assert.match(local.records[0]!.shardId, /^shardId-00000000000[01]$/);
    const remote = await producer.putRecords({ streamName: "prod-orders", records: records(1) });
    assert.equal(remote.records[0]!.shardId, "shardId-000000000007");
    await producer.putRecords({ streamName: "prod-x", records: records(1) });
    const forwarded = forwarding.upstream.targets.filter((t) => t.endsWith(".PutRecords")).length;
    assert.equal(forwarded - forwardedBefore, 2);
  });

  void test("a stream no route covers gets a clear NOT_FOUND", async () => {
    const { producer } = clientsFor(transports["gRPC over h2c"]!(forwarding.gateway.url));
    await assert.rejects(
      producer.putRecords({ streamName: "prod-xy", records: records(1) }),
      (err) => {
        assertConnectError(err, Code.NotFound);
        assert.match(ConnectError.from(err).rawMessage, /prod-xy is not served by this gateway/);
        return true;
      },
    );
  });
});

void suite("forwarding: retry of failed records", () => {
  const forwarding = useForwarding([
    "--backend",
    "kinesis",
    "--retry-failed-records",
    "2",
    "--retry-base-delay-ms",
    "10",
  ]);

  void test("a throttled record is retried upstream and its result takes its place, in order", async () => {
    const ok = (n: string) => ({ SequenceNumber: n.repeat(56), ShardId: "shardId-000000000000" });
    forwarding.upstream.queue(
      "PutRecords",
      {
        status: 200,
        body: {
          FailedRecordCount: 1,
          Records: [
            ok("1"),
            {
              ErrorCode: "ProvisionedThroughputExceededException",
              ErrorMessage:
                "Rate exceeded for shard shardId-000000000000 in stream s under account 000000000000.",
            },
            ok("3"),
          ],
        },
      },
      { status: 200, body: { FailedRecordCount: 0, Records: [ok("2")] } },
    );
    const puts = () => forwarding.upstream.targets.filter((t) => t.endsWith(".PutRecords")).length;
    const before = puts();
    const { producer } = clientsFor(transports["gRPC over h2c"]!(forwarding.gateway.url));
    const res = await producer.putRecords({ streamName: "s", records: records(3) });
    assert.equal(res.failedRecordCount, 0);
    assert.deepEqual(
      res.records.map((r) => r.sequenceNumber[0]),
      ["1", "2", "3"],
    );
    assert.equal(puts() - before, 2, "one call, then one retry");
  });
});
