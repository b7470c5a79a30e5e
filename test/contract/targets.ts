/**
 * The three things the contract suite runs against, behind one interface:
 * the engine on its own, the gateway serving from its engine, and the
 * gateway forwarding to a real Kinesis emulator. Every target takes and
 * returns the Kinesis domain shapes and throws `KinesisError(type, message)`,
 * so one test body checks all three.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
} from "@aws-sdk/client-kinesis";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { backgroundCall } from "../../src/backends/backend.ts";
import { createEngineBackend } from "../../src/backends/engine-backend.ts";
import { createEngine, type Engine } from "../../src/engine/index.ts";
import { KinesisErrorDetailSchema } from "../../src/gen/kinesis/gateway/v1/common_pb.ts";
import { ConsumerStatus, ShardIteratorType } from "../../src/gen/kinesis/gateway/v1/consumer_pb.ts";
import { StreamMode, StreamStatus } from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import { KinesisError } from "../../src/kinesis/errors.ts";
import type * as kinesis from "../../src/kinesis/types.ts";
import { validatePutRecord, validatePutRecords } from "../../src/kinesis/validation.ts";
import type { RunningGateway } from "../../src/main.ts";
import { createEngineSource } from "../../src/subscriptions/engine-source.ts";
import { createSubscriptions } from "../../src/subscriptions/subscriptions.ts";
import { type Emulator, waitUntilStreamActive } from "../helpers/emulator.ts";
import { clientsFor, startTestGateway, transports } from "../helpers/gateway.ts";

export interface ReadBackRecord {
  data: Uint8Array;
  partitionKey: string;
  sequenceNumber: string;
}

/** What the contract reads of a SubscribeToShard event. */
export interface SubscribedEvent {
  records: Pick<kinesis.KinesisRecord, "data" | "sequenceNumber" | "approximateArrivalTimestamp">[];
  continuationSequenceNumber?: string | undefined;
  childShards?: { shardId: string }[] | undefined;
}

export interface ContractTarget {
  readonly name: string;
  readonly accountId: string;
  /** How shards split the hash key space: AWS's `floor(2^128/N)` or kinesis-mock's `(2^128−1)/N`. */
  readonly shardSplit: "aws" | "kinesis-mock";
  /**
   * Whose texts the errors that only the store knows (an unknown stream, a
   * record over the stream's maximum record size) carry.
   */
  readonly notFoundText: "aws" | "kinesis-mock";
  /**
   * How a subscription to a shard a reshard closed goes on: AWS's last event
   * names the children and the subscription ends; kinesis-mock's sends empty
   * events and never ends.
   */
  readonly closedShardSubscription: "aws" | "kinesis-mock";
  putRecords(input: kinesis.PutRecordsInput): Promise<kinesis.PutRecordsOutput>;
  putRecord(input: kinesis.PutRecordInput): Promise<kinesis.PutRecordOutput>;
  /** Creates a provisioned stream and returns when it is ACTIVE. */
  createStream(streamName: string, shardCount: number): Promise<void>;
  deleteStream(streamName: string): Promise<void>;
  listStreamNames(): Promise<string[]>;
  describe(
    streamName: string,
  ): Promise<{ status: string; openShardCount: number; arn: string; mode: kinesis.StreamMode }>;
  listShards(streamName: string): Promise<kinesis.Shard[]>;
  /** Every record of a shard, oldest first, read around the gateway. */
  readBack(streamName: string, shardId: string): Promise<ReadBackRecord[]>;
  stop(): Promise<void>;
  /** Switches the stream's capacity mode and returns when it is ACTIVE again. */
  updateStreamMode(streamArn: string, streamName: string, mode: kinesis.StreamMode): Promise<void>;
  /** Splits a shard and returns when the stream is ACTIVE again. */
  splitShard(streamName: string, shardToSplit: string, newStartingHashKey: string): Promise<void>;
  /** Merges two shards and returns when the stream is ACTIVE again. */
  mergeShards(
    streamName: string,
    shardToMerge: string,
    adjacentShardToMerge: string,
  ): Promise<void>;
  /** Registers an enhanced fan-out consumer and returns its ARN once it is ACTIVE. */
  registerConsumer(streamArn: string, consumerName: string): Promise<string>;
  /**
   * A consumer's SubscribeToShard: its events, until the caller stops reading.
   * A refusal fails the iteration with the KinesisError.
   */
  subscribeToShard(
    consumerArn: string,
    shardId: string,
    startingPosition: kinesis.StartingPosition,
  ): AsyncIterable<SubscribedEvent>;
}

/** The engine with the shared validation in front, as the services use it. */
export function engineTarget(): ContractTarget {
  const engine = createEngine({ throttle: false });
  const backend = createEngineBackend(engine);
  const call = backgroundCall();
  const subscriptions = createSubscriptions({
    sources: new Map([["engine", createEngineSource(engine)]]),
    backendNameFor: () => "engine",
  });
  return {
    name: "the engine",
    accountId: "000000000000",
    shardSplit: "aws",
    notFoundText: "aws",
    closedShardSubscription: "aws",
    async putRecords(input) {
      validatePutRecords(input);
      return backend.putRecords(input, call);
    },
    async putRecord(input) {
      validatePutRecord(input);
      return backend.putRecord(input, call);
    },
    createStream: async (streamName, shardCount) => engine.createStream({ streamName, shardCount }),
    deleteStream: async (streamName) => engine.deleteStream({ streamName }),
    listStreamNames: async () => engine.listStreams({ limit: 10_000 }).streamNames,
    async describe(streamName) {
      const s = engine.describeStreamSummary({ streamName });
      return {
        status: s.streamStatus,
        openShardCount: s.openShardCount,
        arn: s.streamArn,
        mode: s.streamMode,
      };
    },
    listShards: async (streamName) => engine.listShards({ streamName }).shards,
    readBack: async (streamName, shardId) => readFromEngine(engine, streamName, shardId),
    stop: async () => undefined,
    updateStreamMode: async (streamArn, _, streamMode) =>
      engine.updateStreamMode({ streamArn, streamMode }),
    splitShard: async (streamName, shardToSplit, newStartingHashKey) =>
      engine.splitShard({ streamName, shardToSplit, newStartingHashKey }),
    mergeShards: async (streamName, shardToMerge, adjacentShardToMerge) =>
      engine.mergeShards({ streamName, shardToMerge, adjacentShardToMerge }),
    // The engine's consumers are ACTIVE at once (no transition delay).
    registerConsumer: async (streamArn, consumerName) =>
      engine.registerStreamConsumer({ streamArn, consumerName }).consumer.consumerArn,
    async *subscribeToShard(consumerArn, shardId, startingPosition) {
      const subscription = await subscriptions.subscribe(
        { consumerArn, shardId, startingPosition },
        call,
        { requireConsumer: true },
      );
      try {
        yield* subscription.events;
      } finally {
        subscription.close();
      }
    },
  };
}

function readFromEngine(engine: Engine, streamName: string, shardId: string): ReadBackRecord[] {
  return engine.readRecords({ streamName }, shardId).map((r) => ({
    data: r.data,
    partitionKey: r.partitionKey,
    sequenceNumber: r.sequenceNumber,
  }));
}

const streamStatusName: Record<number, string> = {
  [StreamStatus.UNSPECIFIED]: "UNSPECIFIED",
  [StreamStatus.CREATING]: "CREATING",
  [StreamStatus.DELETING]: "DELETING",
  [StreamStatus.ACTIVE]: "ACTIVE",
  [StreamStatus.UPDATING]: "UPDATING",
};

/** A gateway error as the Kinesis error its detail carries. */
function unwrap(err: unknown): never {
  const error = ConnectError.from(err);
  const [detail] = error.findDetails(KinesisErrorDetailSchema);
  if (detail === undefined) throw error;
  throw new KinesisError(detail.type, detail.message);
}

/** Calls a running gateway over gRPC; reads back through `readBack`. */
function overGateway(
  gateway: RunningGateway,
  fields: Pick<
    ContractTarget,
    "name" | "accountId" | "shardSplit" | "notFoundText" | "closedShardSubscription" | "readBack"
  >,
  stop: () => Promise<void>,
  awaitActive: (streamName: string) => Promise<void>,
): ContractTarget {
  const { producer, streams, consumer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
  const entry = (e: kinesis.PutRecordsRequestEntry) => ({
    data: e.data ?? new Uint8Array(0),
    partitionKey: e.partitionKey ?? "",
    explicitHashKey: e.explicitHashKey ?? "",
  });
  return {
    ...fields,
    async putRecords(input) {
      const res = await producer
        .putRecords({
          streamName: input.streamName ?? "",
          streamArn: input.streamArn ?? "",
          records: (input.records ?? []).map(entry),
        })
        .catch(unwrap);
      return {
        failedRecordCount: res.failedRecordCount,
        records: res.records.map((r) =>
          r.errorCode === ""
            ? { sequenceNumber: r.sequenceNumber, shardId: r.shardId }
            : {
                errorCode: r.errorCode as "InternalFailure",
                errorMessage: r.errorMessage,
              },
        ),
        encryptionType: "NONE",
      };
    },
    async putRecord(input) {
      const res = await producer
        .putRecord({
          streamName: input.streamName ?? "",
          streamArn: input.streamArn ?? "",
          ...entry(input),
          sequenceNumberForOrdering: input.sequenceNumberForOrdering ?? "",
        })
        .catch(unwrap);
      return { shardId: res.shardId, sequenceNumber: res.sequenceNumber, encryptionType: "NONE" };
    },
    async createStream(streamName, shardCount) {
      await streams.createStream({ streamName, shardCount }).catch(unwrap);
      await awaitActive(streamName);
    },
    async deleteStream(streamName) {
      await streams.deleteStream({ streamName }).catch(unwrap);
    },
    async listStreamNames() {
      const names: string[] = [];
      let page = await streams.listStreams({}).catch(unwrap);
      names.push(...page.streamNames);
      while (page.hasMoreStreams) {
        page = await streams.listStreams({ nextToken: page.nextToken }).catch(unwrap);
        names.push(...page.streamNames);
      }
      return names;
    },
    async describe(streamName) {
      const res = await streams.describeStreamSummary({ streamName }).catch(unwrap);
      const s = res.streamDescriptionSummary;
      return {
        status: streamStatusName[s?.streamStatus ?? StreamStatus.UNSPECIFIED] ?? "UNSPECIFIED",
        openShardCount: s?.openShardCount ?? 0,
        arn: s?.streamArn ?? "",
        mode:
          s?.streamModeDetails?.streamMode === StreamMode.ON_DEMAND ? "ON_DEMAND" : "PROVISIONED",
      };
    },
    async listShards(streamName) {
      const res = await streams.listShards({ streamName }).catch(unwrap);
      return res.shards.map((s) => {
        const shard: kinesis.Shard = {
          shardId: s.shardId,
          hashKeyRange: {
            startingHashKey: s.hashKeyRange?.startingHashKey ?? "",
            endingHashKey: s.hashKeyRange?.endingHashKey ?? "",
          },
          sequenceNumberRange: {
            startingSequenceNumber: s.sequenceNumberRange?.startingSequenceNumber ?? "",
          },
        };
        // proto3 has no absent strings: empty is absent.
        if (s.parentShardId) shard.parentShardId = s.parentShardId;
        if (s.adjacentParentShardId) shard.adjacentParentShardId = s.adjacentParentShardId;
        const ending = s.sequenceNumberRange?.endingSequenceNumber;
        if (ending) shard.sequenceNumberRange.endingSequenceNumber = ending;
        return shard;
      });
    },
    stop,
    async updateStreamMode(streamArn, streamName, mode) {
      const streamMode = mode === "ON_DEMAND" ? StreamMode.ON_DEMAND : StreamMode.PROVISIONED;
      await streams
        .updateStreamMode({ streamArn, streamModeDetails: { streamMode } })
        .catch(unwrap);
      await awaitActive(streamName);
    },
    async splitShard(streamName, shardToSplit, newStartingHashKey) {
      await streams.splitShard({ streamName, shardToSplit, newStartingHashKey }).catch(unwrap);
      await awaitActive(streamName);
    },
    async mergeShards(streamName, shardToMerge, adjacentShardToMerge) {
      await streams.mergeShards({ streamName, shardToMerge, adjacentShardToMerge }).catch(unwrap);
      await awaitActive(streamName);
    },
    async registerConsumer(streamArn, consumerName) {
      const res = await consumer.registerStreamConsumer({ streamArn, consumerName }).catch(unwrap);
      const consumerArn = res.consumer?.consumerArn ?? "";
      for (let i = 0; i < 500; i++) {
        const described = await consumer.describeStreamConsumer({ consumerArn }).catch(unwrap);
        if (described.consumerDescription?.consumerStatus === ConsumerStatus.ACTIVE) {
          return consumerArn;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`${consumerName} did not become ACTIVE`);
    },
    async *subscribeToShard(consumerArn, shardId, position) {
      const events = consumer.subscribeToShard({
        consumerArn,
        shardId,
        startingPosition: {
          type: ShardIteratorType[position.type ?? "UNSPECIFIED"],
          sequenceNumber: position.sequenceNumber ?? "",
        },
      });
      try {
        for await (const event of events) {
          yield {
            records: event.records.map((r) => ({
              data: r.data,
              sequenceNumber: r.sequenceNumber,
              approximateArrivalTimestamp: timestampDate(r.approximateArrivalTimestamp!),
            })),
            // proto3 has no absent strings: empty is absent.
            continuationSequenceNumber: event.continuationSequenceNumber || undefined,
            childShards: event.childShards.length === 0 ? undefined : event.childShards,
          };
        }
      } catch (err) {
        unwrap(err);
      }
    },
  };
}

export async function gatewayEngineTarget(): Promise<ContractTarget> {
  return engineGateway("the gateway serving from its engine", []);
}

/** The same gateway with its engine on a data dir (fsync on): the contract holds for what is stored on disk too. */
export async function gatewayDurableEngineTarget(): Promise<ContractTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), "kg-contract-"));
  return engineGateway("the gateway serving from its durable engine", ["--data-dir", dataDir], () =>
    rmSync(dataDir, { recursive: true, force: true }),
  );
}

async function engineGateway(
  name: string,
  flags: readonly string[],
  cleanUp: () => void = () => undefined,
): Promise<ContractTarget> {
  const gateway = await startTestGateway(["--throttle", "off", ...flags]);
  const engine = gateway.engine!;
  return overGateway(
    gateway,
    {
      name,
      accountId: "000000000000",
      shardSplit: "aws",
      notFoundText: "aws",
      closedShardSubscription: "aws",
      readBack: async (streamName, shardId) => readFromEngine(engine, streamName, shardId),
    },
    async () => {
      await gateway.stop();
      cleanUp();
    },
    async () => undefined,
  );
}

export async function gatewayForwardTarget(emulator: Emulator): Promise<ContractTarget> {
  const gateway = await startTestGateway([
    "--backend",
    "kinesis",
    "--kinesis-endpoint",
    emulator.endpoint,
    "--region",
    emulator.region,
  ]);
  const client = emulator.client();
  return overGateway(
    gateway,
    {
      name: `the gateway forwarding to kinesis-local (${emulator.kind})`,
      accountId: emulator.accountId,
      // Deviations of kinesis-mock, the engine behind kinesis-local and LocalStack.
      shardSplit: "kinesis-mock",
      notFoundText: "kinesis-mock",
      closedShardSubscription: "kinesis-mock",
      readBack: (streamName, shardId) => readFromEmulator(client, streamName, shardId),
    },
    async () => {
      await gateway.stop();
      client.destroy();
    },
    (streamName) => waitUntilStreamActive(client, streamName),
  );
}

/** Reads a shard from the emulator with the AWS SDK, from the oldest record to the newest. */
export async function readFromEmulator(
  client: KinesisClient,
  streamName: string,
  shardId: string,
): Promise<ReadBackRecord[]> {
  const { ShardIterator } = await client.send(
    new GetShardIteratorCommand({
      StreamName: streamName,
      ShardId: shardId,
      ShardIteratorType: "TRIM_HORIZON",
    }),
  );
  const records: ReadBackRecord[] = [];
  let iterator = ShardIterator;
  while (iterator !== undefined) {
    const page = await client.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }),
    );
    for (const r of page.Records ?? []) {
      records.push({
        data: r.Data ?? new Uint8Array(0),
        partitionKey: r.PartitionKey ?? "",
        sequenceNumber: r.SequenceNumber ?? "",
      });
    }
    if ((page.Records ?? []).length === 0) break;
    iterator = page.NextShardIterator;
  }
  return records;
}
