/**
 * A client on a second gRPC implementation, @grpc/grpc-js, built from the
 * .proto files as a Go, Python or Java user would build theirs.
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const protoRoot = fileURLToPath(new URL("../../proto", import.meta.url));

const definition = protoLoader.loadSync(
  [
    "kinesis/gateway/v1/producer.proto",
    "kinesis/gateway/v1/stream.proto",
    "kinesis/gateway/v1/consumer.proto",
  ],
  { includeDirs: [protoRoot], keepCase: true, longs: String, enums: String, defaults: true },
);
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  kinesis: { gateway: { v1: Record<string, grpc.ServiceClientConstructor> } };
};

export type GrpcJsCall = (request: object) => Promise<Record<string, unknown>>;

export interface GrpcJsClient {
  call(
    service: "ProducerService" | "StreamService" | "ConsumerService",
    method: string,
    request: object,
    metadata?: grpc.Metadata,
  ): Promise<Record<string, unknown>>;
  close(): void;
}

/** `address` is host:port; plaintext HTTP/2 (h2c) unless other credentials are given. */
export function createGrpcJsClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): GrpcJsClient {
  const clients = new Map<string, grpc.Client>();
  const clientFor = (service: string) => {
    let client = clients.get(service);
    if (!client) {
      const Ctor = pkg.kinesis.gateway.v1[service]!;
      client = new Ctor(address, credentials);
      clients.set(service, client);
    }
    return client as unknown as Record<
      string,
      (
        req: object,
        metadata: grpc.Metadata,
        cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void,
      ) => void
    >;
  };
  return {
    call(service, method, request, metadata = new grpc.Metadata()) {
      const client = clientFor(service);
      return new Promise((resolve, reject) => {
        client[method]!.call(client, request, metadata, (err, res) =>
          err ? reject(err) : resolve(res),
        );
      });
    },
    close() {
      for (const client of clients.values()) client.close();
    },
  };
}
