/**
 * HTTP/2 floods, written frame by frame: streams reset as soon as they are
 * opened (CVE-2023-44487), header blocks over the limit or that HPACK
 * inflates, a client that never acknowledges SETTINGS. Each costs its own
 * connection — GOAWAY, ENHANCE_YOUR_CALM where it misbehaved — and neither
 * the server's memory nor other clients. And HTTP/1.1's header limits hold
 * with TLS as without.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, suite, test } from "node:test";
import tls from "node:tls";
import { hasOpenssl, makeCertificates, type TestCertificates } from "../helpers/certificates.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import {
  ackSettings,
  connectRaw,
  ErrorCode,
  Flags,
  FrameType,
  frame,
  getRequest,
  indexed,
  literal,
  postRequest,
} from "../helpers/raw-http2.ts";
import { underAttack } from "./helpers.ts";

const bounds = { maxMemoryMiB: 384 };
const SETTINGS_TIMEOUT = 4;

void suite("abuse: HTTP/2 floods", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGatewayProcess(["--streams", "s:4", "--header-timeout-seconds", "2"]);
  });
  after(() => gateway.stop());

  void test("rapid reset: streams opened and reset at once get GOAWAY ENHANCE_YOUR_CALM", async () => {
    let code: number | undefined;
    let opened = 0;
    let seen = "";
    await underAttack(gateway, bounds, async () => {
      const { socket, reader } = await connectRaw(gateway.port);
      ackSettings(socket);
      // A call that waits for its body, cancelled at once: the server has begun its
      // work. Sent 500 at a time, as fast as the connection takes them.
      const block = postRequest("/kinesis.gateway.v1.ProducerService/PutRecord");
      for (let id = 1; !reader.closed && id < 200_000; ) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 500; i++, id += 2) {
          batch.push(
            frame(FrameType.HEADERS, Flags.END_HEADERS, id, block),
            frame(FrameType.RST_STREAM, 0, id, Buffer.from([0, 0, 0, ErrorCode.CANCEL])),
          );
        }
        opened += 500;
        await new Promise((resolve) => socket.write(Buffer.concat(batch), resolve));
        if (reader.goAwayCode() !== undefined) break;
      }
      await reader.until(() => reader.goAwayCode() !== undefined, 2_000);
      code = reader.goAwayCode();
      seen = JSON.stringify(reader.frames.map((f) => f.type).slice(0, 20)) + reader.closed;
      socket.destroy();
    });
    assert.equal(code, ErrorCode.ENHANCE_YOUR_CALM, `after ${opened} streams: ${seen}`);
  });

  void test("rapid reset with a declared time-out of a nanosecond still gets GOAWAY ENHANCE_YOUR_CALM", async () => {
    const { socket, reader } = await connectRaw(gateway.port);
    ackSettings(socket);
    const block = postRequest("/kinesis.gateway.v1.ProducerService/PutRecord", [
      literal("grpc-timeout", "1n"),
    ]);
    const cancel = Buffer.from([0, 0, 0, ErrorCode.CANCEL]);
    for (let id = 1; !reader.closed && id < 200_000; ) {
      const batch: Buffer[] = [];
      for (let i = 0; i < 500; i++, id += 2) {
        batch.push(
          frame(FrameType.HEADERS, Flags.END_HEADERS, id, block),
          frame(FrameType.RST_STREAM, 0, id, cancel),
        );
      }
      await new Promise((resolve) => socket.write(Buffer.concat(batch), resolve));
      if (reader.goAwayCode() !== undefined) break;
    }
    await reader.until(() => reader.goAwayCode() !== undefined, 2_000);
    assert.equal(reader.goAwayCode(), ErrorCode.ENHANCE_YOUR_CALM);
    socket.destroy();
  });

  void test("a client whose calls all reach their deadlines and are cancelled is no rapid reset", async () => {
    // As a gRPC client cancels a call at its 150 ms deadline (a fault rule's latency outlasting
    // every deadline makes them all do it): 100 streams at a time, 2,000 in three seconds.
    const { socket, reader } = await connectRaw(gateway.port);
    ackSettings(socket);
    const block = postRequest("/kinesis.gateway.v1.ProducerService/PutRecord", [
      literal("grpc-timeout", "150m"),
    ]);
    for (let id = 1; id < 4_000 && !reader.closed; ) {
      const opened: number[] = [];
      const headers: Buffer[] = [];
      for (let i = 0; i < 100; i++, id += 2) {
        opened.push(id);
        headers.push(frame(FrameType.HEADERS, Flags.END_HEADERS, id, block));
      }
      socket.write(Buffer.concat(headers));
      await new Promise((resolve) => setTimeout(resolve, 150));
      const cancel = Buffer.from([0, 0, 0, ErrorCode.CANCEL]);
      socket.write(Buffer.concat(opened.map((s) => frame(FrameType.RST_STREAM, 0, s, cancel))));
    }
    // Still open: a PING is answered.
    socket.write(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    await reader.until((f) => f.some((x) => x.type === FrameType.PING), 2_000);
    assert.equal(reader.goAwayCode(), undefined);
    socket.destroy();
  });

  void test("a client that ignores the concurrency limit, opening streams past it, loses its connection", async () => {
    const { socket, reader } = await connectRaw(gateway.port);
    ackSettings(socket);
    const block = postRequest("/kinesis.gateway.v1.ProducerService/PutRecord");
    // 1,000 calls that wait for their bodies, ten times the 100 the server allows at once.
    for (let id = 1; id < 2_000 && !reader.closed; id += 100) {
      const headers: Buffer[] = [];
      for (let i = 0; i < 100; i += 2) {
        headers.push(frame(FrameType.HEADERS, Flags.END_HEADERS, id + i, block));
      }
      socket.write(Buffer.concat(headers));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await reader.until(() => reader.goAwayCode() !== undefined, 2_000);
    // nghttp2's PROTOCOL_ERROR, once the client has acknowledged the limit; or ours.
    assert.ok(
      ([ErrorCode.PROTOCOL_ERROR, ErrorCode.ENHANCE_YOUR_CALM] as number[]).includes(
        reader.goAwayCode() ?? -1,
      ),
      String(reader.goAwayCode()),
    );
    socket.destroy();
  });

  void test("an HPACK bomb: header blocks that inflate past the limit end the connection", async () => {
    let code: number | undefined;
    await underAttack(gateway, bounds, async () => {
      const { socket, reader } = await connectRaw(gateway.port);
      await reader.until((f) => f.some((x) => x.type === FrameType.SETTINGS), 1_000);
      ackSettings(socket);
      // Once the server has read the acknowledgement (a PING answered after it
      // says so), the limits are nghttp2's to enforce: it refuses the blocks.
      socket.write(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
      await reader.until((f) => f.some((x) => x.type === FrameType.PING), 2_000);
      // 4 KB into the dynamic table once; then each block names it 100 times (400 KB).
      const seed = literal("x-bomb", "b".repeat(3_950), true);
      const bomb = Buffer.alloc(100, indexed(62));
      // A thousand blocks a second, each 200 bytes on the wire and 400 KB inflated.
      for (let id = 1; !reader.closed && id < 20_000; ) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 10; i++, id += 2) {
          const block = getRequest("/healthz", [id === 1 ? seed : Buffer.alloc(0), bomb]);
          batch.push(frame(FrameType.HEADERS, Flags.END_HEADERS | Flags.END_STREAM, id, block));
        }
        socket.write(Buffer.concat(batch));
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (reader.goAwayCode() !== undefined) break;
      }
      await reader.until(() => reader.goAwayCode() !== undefined, 2_000);
      code = reader.goAwayCode();
      socket.destroy();
    });
    assert.equal(code, ErrorCode.ENHANCE_YOUR_CALM);
  });

  void test("a 65,000-byte header is refused even before the client acknowledged SETTINGS", async () => {
    const { socket, reader } = await connectRaw(gateway.port);
    const block = getRequest("/healthz", [literal("x-big", "y".repeat(65_000))]);
    // Over two frames: the first may carry at most 16 KiB until SETTINGS are known.
    socket.write(
      Buffer.concat([
        frame(FrameType.HEADERS, Flags.END_STREAM, 1, block.subarray(0, 16_000)),
        frame(FrameType.CONTINUATION, Flags.END_HEADERS, 1, block.subarray(16_000)),
      ]),
    );
    await reader.until(
      (frames) =>
        frames.some(
          (f) =>
            f.streamId === 1 && (f.type === FrameType.HEADERS || f.type === FrameType.RST_STREAM),
        ),
      2_000,
    );
    const answer = reader.frames.find((f) => f.streamId === 1 && f.type === FrameType.HEADERS);
    // HPACK: ":status: 431" is not in the static table, so it comes as a literal.
    if (answer !== undefined) assert.match(answer.payload.toString("latin1"), /431/);
    else assert.ok(reader.frames.some((f) => f.streamId === 1 && f.type === FrameType.RST_STREAM));
    socket.destroy();
  });

  void test("a client that never acknowledges SETTINGS is closed with SETTINGS_TIMEOUT", async () => {
    const { socket, reader } = await connectRaw(gateway.port);
    const started = performance.now();
    await reader.until(() => reader.goAwayCode() !== undefined || reader.closed, 5_000);
    const elapsed = performance.now() - started;
    assert.equal(reader.goAwayCode(), SETTINGS_TIMEOUT);
    assert.ok(elapsed < 4_000, `${elapsed} ms`);
    socket.destroy();
  });
});

void suite("abuse: HTTP/1.1 over TLS keeps the header limits", {
  skip: hasOpenssl() ? false : "openssl is not installed",
}, () => {
  let certs: TestCertificates;
  let gateway: GatewayProcess;
  before(async () => {
    certs = makeCertificates();
    writeFileSync(join(certs.dir, "unused"), "");
    gateway = await startGatewayProcess([
      "--streams",
      "s:1",
      "--tls-cert",
      certs.serverCertFile,
      "--tls-key",
      certs.serverKeyFile,
      "--header-timeout-seconds",
      "1",
      "--max-header-bytes",
      "2048",
    ]);
  });
  after(() => gateway.stop());

  const connectTls = () =>
    new Promise<tls.TLSSocket>((resolve, reject) => {
      const socket = tls.connect(
        {
          port: gateway.port,
          host: "127.0.0.1",
          ca: certs.ca,
          servername: "localhost",
          ALPNProtocols: ["http/1.1"],
        },
        () => resolve(socket),
      );
      socket.once("error", reject);
    });

  void test("headers sent a line at a time are cut off after the header time-out", async () => {
    const socket = await connectTls();
    socket.on("error", () => undefined);
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    const drip = setInterval(() => socket.write("X-Slow: y\r\n"), 200);
    const started = performance.now();
    await new Promise((resolve) => socket.once("close", resolve));
    clearInterval(drip);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 3_000, `held for ${elapsed} ms against a 1 s limit`);
  });

  void test("an 8,000-byte header is refused against a 2,048-byte limit", async () => {
    const socket = await connectTls();
    let answer = "";
    socket.setEncoding("latin1").on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"y".repeat(8_000)}\r\n\r\n`);
    await new Promise((resolve) => socket.once("close", resolve));
    assert.match(answer, /^HTTP\/1\.1 431/);
  });
});
