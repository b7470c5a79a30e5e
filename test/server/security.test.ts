/**
 * TLS, mutual TLS and bearer tokens over gRPC (Connect and @grpc/grpc-js),
 * Connect JSON and the Kinesis wire API, with right and wrong credentials.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import { after, before, suite, test } from "node:test";
import { KinesisClient, ListStreamsCommand, PutRecordCommand } from "@aws-sdk/client-kinesis";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { ProducerService } from "../../src/gen/kinesis/gateway/v1/producer_pb.ts";
import { StreamService } from "../../src/gen/kinesis/gateway/v1/stream_pb.ts";
import type { RunningGateway } from "../../src/main.ts";
import { hasOpenssl, makeCertificates, type TestCertificates } from "../helpers/certificates.ts";
import { startTestGateway, withBearerToken } from "../helpers/gateway.ts";
import { createGrpcJsClient } from "../helpers/grpc-js-client.ts";

const TOKEN = "full-access-token-0123456789";
const LIMITED = "orders-only-token-0123456789";

const codeOf = (err: unknown) => Code[ConnectError.from(err).code];

void suite("TLS and tokens", { skip: hasOpenssl() ? false : "openssl is not installed" }, () => {
  let certs: TestCertificates;
  let gateway: RunningGateway;
  before(async () => {
    certs = makeCertificates();
    const tokens = join(certs.dir, "tokens");
    writeFileSync(tokens, `# token [streams…]\n${TOKEN}\n${LIMITED} orders-*\n`);
    gateway = await startTestGateway([
      "--streams",
      "orders-1:1,other:1",
      "--tls-cert",
      certs.serverCertFile,
      "--tls-key",
      certs.serverKeyFile,
      "--auth-tokens-file",
      tokens,
    ]);
  });
  after(() => gateway.stop());

  const grpcClients = (token?: string) => {
    const transport = createGrpcTransport({
      baseUrl: gateway.url,
      nodeOptions: { ca: certs.ca },
      interceptors: token ? [withBearerToken(token)] : [],
    });
    return {
      producer: createClient(ProducerService, transport),
      streams: createClient(StreamService, transport),
    };
  };

  void test("the URL is https and health needs no token", async () => {
    assert.match(gateway.url, /^https:/);
    const status = await new Promise<number | undefined>((resolve, reject) =>
      https
        .get(`${gateway.url}/healthz`, { ca: certs.ca }, (res) => resolve(res.statusCode))
        .on("error", reject),
    );
    assert.equal(status, 200);
  });

  void test("gRPC over TLS: no token is UNAUTHENTICATED, a wrong one too, the right one works", async () => {
    const record = { streamName: "orders-1", partitionKey: "k", data: Buffer.from("x") };
    await assert.rejects(
      grpcClients().producer.putRecord(record),
      (err) => codeOf(err) === "Unauthenticated",
    );
    await assert.rejects(
      grpcClients("not-the-token-at-all-000").producer.putRecord(record),
      (err) => {
        assert.equal(codeOf(err), "Unauthenticated");
        assert.equal(ConnectError.from(err).rawMessage, "unauthenticated"); // says nothing more
        return true;
      },
    );
    const res = await grpcClients(TOKEN).producer.putRecord(record);
    assert.match(res.sequenceNumber, /^\d{56}$/);
  });

  void test("Connect JSON over HTTP/1.1 with TLS, by ALPN on the same port", async () => {
    const transport = createConnectTransport({
      baseUrl: gateway.url,
      httpVersion: "1.1",
      nodeOptions: { ca: certs.ca },
      interceptors: [withBearerToken(TOKEN)],
    });
    const res = await createClient(ProducerService, transport).putRecord({
      streamName: "other",
      partitionKey: "k",
      data: Buffer.from("x"),
    });
    assert.equal(res.shardId, "shardId-000000000000");
  });

  void test("@grpc/grpc-js with TLS credentials and the token in metadata", async () => {
    const client = createGrpcJsClient(
      gateway.url.replace(/^https:\/\//, ""),
      grpc.credentials.createSsl(certs.ca),
    );
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${TOKEN}`);
    const request = {
      stream_name: "orders-1",
      records: [{ data: Buffer.from("x"), partition_key: "k" }],
    };
    const res = await client.call("ProducerService", "PutRecords", request, metadata);
    assert.equal(res.failed_record_count, 0);
    const denied = await client
      .call("ProducerService", "PutRecords", request)
      .catch((err: grpc.ServiceError) => err);
    assert.equal((denied as grpc.ServiceError).code, grpc.status.UNAUTHENTICATED);
    client.close();
  });

  void test("a token limited to some streams reaches those only", async () => {
    const { producer, streams } = grpcClients(LIMITED);
    await producer.putRecord({ streamName: "orders-1", partitionKey: "k", data: Buffer.from("x") });
    await assert.rejects(
      producer.putRecord({ streamName: "other", partitionKey: "k", data: Buffer.from("x") }),
      (err) => codeOf(err) === "PermissionDenied",
    );
    const listed = await streams.listStreams({});
    assert.deepEqual(listed.streamNames, ["orders-1"]);
  });

  void test("the wire API takes the token as the AWS access key id", async () => {
    const kinesis = (accessKeyId: string) =>
      new KinesisClient({
        endpoint: gateway.url,
        region: "us-east-1",
        credentials: { accessKeyId, secretAccessKey: "unused" },
        maxAttempts: 1,
        requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: certs.ca }) }),
      });
    const put = new PutRecordCommand({
      StreamName: "orders-1",
      PartitionKey: "k",
      Data: Buffer.from("x"),
    });
    assert.ok((await kinesis(TOKEN).send(put)).SequenceNumber);
    await assert.rejects(kinesis("AKIDWRONGWRONGWRONG").send(put), {
      name: "UnrecognizedClientException",
      message: "The security token included in the request is invalid.",
    });
    const limited = kinesis(LIMITED);
    await assert.rejects(
      limited.send(
        new PutRecordCommand({ StreamName: "other", PartitionKey: "k", Data: Buffer.from("x") }),
      ),
      { name: "AccessDeniedException" },
    );
    assert.deepEqual((await limited.send(new ListStreamsCommand({}))).StreamNames, ["orders-1"]);
  });
});

void suite("mutual TLS", { skip: hasOpenssl() ? false : "openssl is not installed" }, () => {
  let certs: TestCertificates;
  let gateway: RunningGateway;
  before(async () => {
    certs = makeCertificates();
    gateway = await startTestGateway([
      "--streams",
      "orders:1",
      "--tls-cert",
      certs.serverCertFile,
      "--tls-key",
      certs.serverKeyFile,
      "--tls-client-ca",
      certs.caFile,
    ]);
  });
  after(() => gateway.stop());

  const producer = (withCertificate: boolean) =>
    createClient(
      ProducerService,
      createGrpcTransport({
        baseUrl: gateway.url,
        nodeOptions: withCertificate
          ? { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }
          : { ca: certs.ca },
      }),
    );

  void test("a client with a certificate the CA signed is served", async () => {
    const res = await producer(true).putRecord({
      streamName: "orders",
      partitionKey: "k",
      data: Buffer.from("x"),
    });
    assert.match(res.sequenceNumber, /^\d{56}$/);
  });

  void test("a client without a certificate is refused at the handshake", async () => {
    await assert.rejects(
      producer(false).putRecord({
        streamName: "orders",
        partitionKey: "k",
        data: Buffer.from("x"),
      }),
      (err) => ["Unavailable", "Internal", "Unknown"].includes(codeOf(err)),
    );
  });
});
