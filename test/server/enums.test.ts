/**
 * Proto enums are open: a client may send a number the enum does not name.
 * Such a number gets INVALID_ARGUMENT with AWS's enum text, naming the
 * number, on every protocol, and nothing is created.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { KinesisErrorDetailSchema } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import {
  ConsumerService,
  type ShardIteratorType,
} from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { StreamMode } from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import { clientsFor, transports, useGateway } from "../helpers/gateway.ts";
import { envelope, grpcStatusOf, rawGrpcCall } from "../helpers/raw-grpc.ts";

const modeRefused = (value: string) =>
  `1 validation error detected: Value '${value}' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]`;

async function rejectsWith(call: Promise<unknown>, code: Code, type: string, message?: string) {
  await assert.rejects(call, (err: unknown) => {
    const error = ConnectError.from(err);
    assert.equal(error.code, code);
    if (message !== undefined) assert.equal(error.rawMessage, message);
    assert.equal(error.findDetails(KinesisErrorDetailSchema)[0]?.type, type);
    return true;
  });
}

/** Protobuf varint bytes; a negative int32 takes ten, as its 64-bit two's complement. */
function varint(value: number): number[] {
  let rest = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest === 0n ? low : low | 0x80);
  } while (rest !== 0n);
  return bytes;
}

/** A CreateStreamRequest written by hand: name (1), shard count (2), StreamModeDetails (3). */
function createStreamBytes(streamName: string, streamMode: number): Uint8Array {
  const name = Buffer.from(streamName);
  const details = [0x08, ...varint(streamMode)];
  return new Uint8Array([0x0a, name.length, ...name, 0x10, 1, 0x1a, details.length, ...details]);
}

void suite("unknown proto enum numbers", () => {
  const gateway = useGateway(["--streams", "samplestream:1"]);

  for (const [name, transport] of Object.entries(transports)) {
    void test(`CreateStream with stream mode 7 over ${name} is refused and creates nothing`, async () => {
      const { streams } = clientsFor(transport(gateway.current.url));
      const streamName = `mode-7-${name.replace(/[^a-zA-Z0-9]/g, "-")}`;
      await rejectsWith(
        streams.createStream({
          streamName,
          shardCount: 1,
          streamModeDetails: { streamMode: 7 as StreamMode },
        }),
        Code.InvalidArgument,
        "ValidationException",
        modeRefused("7"),
      );
      await rejectsWith(
        streams.describeStreamSummary({ streamName }),
        Code.NotFound,
        "ResourceNotFoundException",
      );
    });
  }

  for (const mode of [3, 2_147_483_647, -1]) {
    void test(`CreateStream with stream mode ${mode} in raw protobuf bytes is refused`, async () => {
      const answer = await rawGrpcCall(gateway.current.url, {
        path: "/kinesis.gateway.v1.StreamService/CreateStream",
        body: envelope(createStreamBytes(`raw-mode-${mode}`, mode)),
      });
      assert.equal(grpcStatusOf(answer), String(Code.InvalidArgument));
      const message = answer.trailers["grpc-message"] ?? answer.headers["grpc-message"];
      assert.equal(decodeURIComponent(String(message)), modeRefused(String(mode)));
    });
  }

  void test("an unset stream mode still means provisioned", async () => {
    const { streams } = clientsFor(transports["gRPC over h2c"]!(gateway.current.url));
    await streams.createStream({
      streamName: "mode-unspecified",
      shardCount: 2,
      streamModeDetails: { streamMode: StreamMode.UNSPECIFIED },
    });
    const { streamDescriptionSummary } = await streams.describeStreamSummary({
      streamName: "mode-unspecified",
    });
    assert.equal(streamDescriptionSummary?.streamModeDetails?.streamMode, StreamMode.PROVISIONED);
  });

  void test("GetShardIterator with iterator type 99 is refused, never served", async () => {
    const consumer = createClient(
      ConsumerService,
      transports["gRPC over h2c"]!(gateway.current.url),
    );
    await rejectsWith(
      consumer.getShardIterator({
        streamName: "samplestream",
        shardId: "shardId-000000000000",
        shardIteratorType: 99 as ShardIteratorType,
      }),
      Code.InvalidArgument,
      "ValidationException",
    );
  });
});
