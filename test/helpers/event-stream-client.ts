/**
 * A wire API client without an SDK, for what the SDKs do not show: a CBOR
 * SubscribeToShard, the answer's headers and raw event-stream messages, a
 * reader that stops reading. Over HTTP/2 (h2c prior knowledge, or TLS with
 * ALPN h2) or HTTP/1.1; the messages are read with the gateway's own
 * event-stream reader (the Smithy codec).
 */
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { Readable } from "node:stream";
import type { Message } from "@smithy/types";
import { Decoder } from "cbor-x";
import { headerText, readEventStream } from "../../src/wire/event-stream.ts";

/** A signature the gateway accepts (it reads the access key id, and checks no signature). */
const AUTHORIZATION =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";

export const CONTENT_TYPES = {
  json: "application/x-amz-json-1.1",
  cbor: "application/x-amz-cbor-1.1",
} as const;

export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The answer's body, to pause (a reader that stops reading) or read. */
  readonly body: Readable;
  /** The body's event-stream messages, as they arrive. */
  readonly messages: AsyncGenerator<Message>;
  /** Resolves when the answer's stream has closed, with the HTTP/2 reset code if it was reset. */
  readonly closed: Promise<{ rstCode?: number | undefined }>;
  /** Lets go of the connection. */
  close(): void;
}

export interface RawSubscribeOptions {
  readonly url: string;
  readonly format: keyof typeof CONTENT_TYPES;
  readonly body: Uint8Array;
  readonly http: "1.1" | "2";
  /** For https URLs: the CA that signed the gateway's certificate. */
  readonly ca?: Buffer | undefined;
}

const headersFor = (options: RawSubscribeOptions) => ({
  "content-type": CONTENT_TYPES[options.format],
  "x-amz-target": "Kinesis_20131202.SubscribeToShard",
  authorization: AUTHORIZATION,
});

/** Sends a SubscribeToShard request and resolves once the answer's headers are in. */
export function rawSubscribe(options: RawSubscribeOptions): Promise<RawAnswer> {
  return options.http === "2" ? overHttp2(options) : overHttp1(options);
}

function overHttp2(options: RawSubscribeOptions): Promise<RawAnswer> {
  const session = http2.connect(options.url, options.ca ? { ca: options.ca } : {});
  const req = session.request({ ":method": "POST", ":path": "/", ...headersFor(options) });
  req.end(options.body);
  const closed = new Promise<{ rstCode?: number }>((resolve) =>
    req.once("close", () => resolve({ rstCode: req.rstCode })),
  );
  return new Promise((resolve, reject) => {
    session.once("error", reject);
    req.once("error", () => {}); // a reset shows in `closed`
    req.once("response", (headers) =>
      resolve({
        status: Number(headers[":status"]),
        headers,
        body: req,
        messages: readEventStream(req),
        closed,
        close: () => session.destroy(),
      }),
    );
  });
}

function overHttp1(options: RawSubscribeOptions): Promise<RawAnswer> {
  const secure = options.url.startsWith("https:");
  const agent = secure ? new https.Agent({ ca: options.ca }) : new http.Agent();
  const request = secure ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(options.url, { method: "POST", headers: headersFor(options), agent });
    req.once("error", reject);
    req.once("response", (res) => {
      const closed = new Promise<{ rstCode?: number }>((done) => res.once("close", () => done({})));
      res.once("error", () => {}); // a cut connection shows in `closed`
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: res,
        messages: readEventStream(res),
        closed,
        close: () => {
          req.destroy();
          agent.destroy();
        },
      });
    });
    req.end(options.body);
  });
}

// AWS clients read 64-bit integers (tag 1 milliseconds) as numbers; cbor-x leaves that option out of its types.
const cbor = new Decoder({ mapsAsObjects: true, useRecords: false, int64AsNumber: true } as object);

/** A message as a test compares it: its type headers and its payload decoded. */
export function describeMessage(message: Message) {
  const contentType = headerText(message, ":content-type");
  const payload =
    contentType === CONTENT_TYPES.cbor
      ? cbor.decode(message.body)
      : JSON.parse(Buffer.from(message.body).toString("utf8"));
  return {
    messageType: headerText(message, ":message-type"),
    eventType: headerText(message, ":event-type"),
    exceptionType: headerText(message, ":exception-type"),
    contentType,
    payload,
  };
}

/** Every message of an answer, to its end. */
export async function allMessages(answer: RawAnswer) {
  const out = [];
  for await (const message of answer.messages) out.push(describeMessage(message));
  return out;
}
