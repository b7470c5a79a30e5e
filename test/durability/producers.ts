/**
 * Producers for the durability tests, each on a real client: PutRecords and
 * PutRecord over gRPC (@grpc/grpc-js, Connect) and over the wire API (the
 * AWS SDK). Each writes until told to stop and books every record it sends
 * and every answer it gets in the ledger.
 */
import { PutRecordCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { clientsFor, transports } from "../helpers/gateway.ts";
import type { GatewayProcess } from "../helpers/gateway-process.ts";
import { createGrpcJsClient } from "../helpers/grpc-js-client.ts";
import { sdkClient } from "../helpers/kinesis-sdk.ts";
import { derivedSeed, type Ledger, payloadOf, seededRandom } from "./ledger.ts";

/** What a call answered about one of its records. */
type Answer = { shardId: string; sequenceNumber: string } | { errorCode: string };

interface Entry {
  readonly data: Uint8Array;
  readonly partitionKey: string;
}

interface Client {
  /** Records per call at most: 1 for PutRecord. */
  readonly maxRecords: number;
  put(streamName: string, entries: readonly Entry[]): Promise<Answer[]>;
  close(): void;
}

type ClientKind = (gateway: GatewayProcess) => Client;

const answerOf = (r: {
  shardId?: string | undefined;
  sequenceNumber?: string | undefined;
  errorCode?: string | undefined;
}): Answer =>
  r.errorCode || !r.sequenceNumber
    ? { errorCode: r.errorCode || "no sequence number" }
    : { shardId: r.shardId ?? "", sequenceNumber: r.sequenceNumber };

const grpcJsPutRecords: ClientKind = (gateway) => {
  const client = createGrpcJsClient(`127.0.0.1:${gateway.port}`);
  return {
    maxRecords: 40,
    async put(streamName, entries) {
      const res = await client.call("ProducerService", "PutRecords", {
        stream_name: streamName,
        records: entries.map((e) => ({ data: e.data, partition_key: e.partitionKey })),
      });
      const results = res.records as {
        shard_id: string;
        sequence_number: string;
        error_code: string;
      }[];
      return results.map((r) =>
        answerOf({
          shardId: r.shard_id,
          sequenceNumber: r.sequence_number,
          errorCode: r.error_code,
        }),
      );
    },
    close: () => client.close(),
  };
};

const connectGrpcPutRecord: ClientKind = (gateway) => {
  const { producer } = clientsFor(transports["gRPC over h2c"]!(gateway.url));
  return {
    maxRecords: 1,
    async put(streamName, [entry]) {
      return [answerOf(await producer.putRecord({ streamName, ...entry! }))];
    },
    close() {},
  };
};

const sdkPutRecords: ClientKind = (gateway) => {
  const kinesis = sdkClient(gateway.url);
  return {
    maxRecords: 40,
    async put(streamName, entries) {
      const res = await kinesis.send(
        new PutRecordsCommand({
          StreamName: streamName,
          Records: entries.map((e) => ({ Data: e.data, PartitionKey: e.partitionKey })),
        }),
      );
      return (res.Records ?? []).map((r) =>
        answerOf({ shardId: r.ShardId, sequenceNumber: r.SequenceNumber, errorCode: r.ErrorCode }),
      );
    },
    close: () => kinesis.destroy(),
  };
};

const sdkPutRecord: ClientKind = (gateway) => {
  const kinesis = sdkClient(gateway.url);
  return {
    maxRecords: 1,
    async put(streamName, [entry]) {
      const res = await kinesis.send(
        new PutRecordCommand({
          StreamName: streamName,
          Data: entry!.data,
          PartitionKey: entry!.partitionKey,
        }),
      );
      return [answerOf({ shardId: res.ShardId, sequenceNumber: res.SequenceNumber })];
    },
    close: () => kinesis.destroy(),
  };
};

/** The producers of a round, by name: two of each batching kind, one of each single-record kind. */
const PRODUCERS: Record<string, ClientKind> = {
  "grpc-js-PutRecords-a": grpcJsPutRecords,
  "grpc-js-PutRecords-b": grpcJsPutRecords,
  "connect-grpc-PutRecord": connectGrpcPutRecord,
  "sdk-PutRecords-a": sdkPutRecords,
  "sdk-PutRecords-b": sdkPutRecords,
  "sdk-PutRecord": sdkPutRecord,
};

export interface Load {
  /** Stops sending: from now on a failed call is expected (the process is being killed). */
  stop(): void;
  /** Settles once every producer's last call has; failures that came before `stop`, as text. */
  readonly done: Promise<string[]>;
}

/** Starts every producer writing to `streamName` on `gateway`, booking in `ledger`. */
export function startLoad(options: {
  gateway: GatewayProcess;
  streamName: string;
  ledger: Ledger;
  round: number;
  seed: number;
}): Load {
  const { gateway, streamName, ledger, round, seed } = options;
  let stopping = false;
  const unexpected: string[] = [];

  async function produce(name: string, kind: ClientKind): Promise<void> {
    const client = kind(gateway);
    const random = seededRandom(derivedSeed(seed, round, name));
    try {
      while (!stopping) {
        const count = 1 + Math.floor(random() * client.maxRecords);
        const batch = Array.from({ length: count }, () => ledger.send(round, name, random));
        const entries = batch.map((r) => ({
          data: payloadOf(r.id, r.size),
          partitionKey: r.partitionKey,
        }));
        let answers: Answer[];
        try {
          answers = await client.put(streamName, entries);
        } catch (error) {
          for (const record of batch) record.outcome = { kind: "cut off" };
          if (!stopping) unexpected.push(`${name}: ${(error as Error).message}`);
          return;
        }
        if (answers.length !== batch.length) {
          unexpected.push(`${name}: ${answers.length} answers to ${batch.length} records`);
        }
        batch.forEach((record, i) => {
          const answer = answers[i];
          if (answer === undefined) record.outcome = { kind: "refused", errorCode: "no answer" };
          else if ("errorCode" in answer) {
            record.outcome = { kind: "refused", errorCode: answer.errorCode };
            unexpected.push(`${name}: ${record.id} refused with ${answer.errorCode}`);
          } else record.outcome = { kind: "acknowledged", ...answer };
        });
      }
    } finally {
      client.close();
    }
  }

  const done = Promise.all(
    Object.entries(PRODUCERS).map(([name, kind]) => produce(name, kind)),
  ).then(() => unexpected);
  return {
    stop() {
      stopping = true;
    },
    done,
  };
}
