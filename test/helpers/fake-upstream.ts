/**
 * A stand-in for Kinesis, only for failures a real emulator cannot produce on
 * demand: an AWS error of any type, a 5xx, an endpoint that never answers.
 */
import http from "node:http";
import type net from "node:net";

export interface FakeAnswer {
  status: number;
  /** Sent as the JSON body, e.g. `{ __type, message }`. */
  body?: unknown;
  /** Sent as it is instead, for an answer that is not JSON. */
  raw?: string;
}

export interface FakeUpstream {
  readonly endpoint: string;
  /** What the next requests get; `silent` accepts and never answers. */
  answer: FakeAnswer | "silent";
  /**
   * Answers for the next calls of one operation (e.g. `PutRecords`), one
   * each, before `answer` applies again; other calls (the gateway's probes)
   * leave them alone.
   */
  queue(operation: string, ...answers: FakeAnswer[]): void;
  /** The `X-Amz-Target` of each request received. */
  readonly targets: string[];
  /** Each request received whole: its headers and body. */
  readonly requests: { headers: http.IncomingHttpHeaders; body: Buffer }[];
  close(): Promise<void>;
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const targets: string[] = [];
  const requests: FakeUpstream["requests"] = [];
  const queued: { operation: string; answer: FakeAnswer }[] = [];
  const sockets = new Set<net.Socket>();
  const upstream = {
    answer: "silent" as FakeAnswer | "silent",
    queue(operation: string, ...answers: FakeAnswer[]) {
      queued.push(...answers.map((answer) => ({ operation, answer })));
    },
    targets,
    requests,
    endpoint: "",
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    targets.push(target);
    const next = queued.findIndex((q) => target.endsWith(`.${q.operation}`));
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    const answer = next < 0 ? upstream.answer : queued.splice(next, 1)[0]!.answer;
    req.on("end", () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks) });
      if (answer === "silent") return;
      res.writeHead(answer.status, {
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-requestid": "fake-request-id",
      });
      res.end(answer.raw ?? (answer.body === undefined ? "" : JSON.stringify(answer.body)));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  upstream.endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return upstream;
}
