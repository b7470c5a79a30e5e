/**
 * HTTP/2 written by hand, frame by frame, for clients no library would be:
 * streams reset as soon as they are opened, header blocks larger than the
 * server allows, HPACK references that decompress to far more than was sent.
 * Header blocks use HPACK literals without Huffman coding (RFC 7541 §6.2).
 */
import net from "node:net";

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

export const Flags = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;
export const ErrorCode = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  CANCEL: 8,
  ENHANCE_YOUR_CALM: 11,
} as const;

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/** An HPACK integer with an `n`-bit prefix, its first byte or-ed with `mask`. */
function hpackInteger(value: number, n: number, mask: number): Buffer {
  const max = (1 << n) - 1;
  if (value < max) return Buffer.from([mask | value]);
  const bytes = [mask | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

const hpackString = (text: string) => {
  const bytes = Buffer.from(text, "latin1");
  return Buffer.concat([hpackInteger(bytes.length, 7, 0), bytes]);
};

/** A header field from the static or dynamic table, by index. */
export const indexed = (index: number) => hpackInteger(index, 7, 0x80);

/** A literal header field; with indexing, it enters the dynamic table (index 62). */
export function literal(name: string, value: string, indexing = false): Buffer {
  return Buffer.concat([
    indexing ? Buffer.from([0x40]) : Buffer.from([0x00]),
    hpackString(name),
    hpackString(value),
  ]);
}

/** The request header block of `GET path` (static table entries where they exist). */
export function getRequest(path: string, extra: Buffer[] = []): Buffer {
  return Buffer.concat([
    indexed(2), // :method GET
    indexed(6), // :scheme http
    literal(":path", path),
    literal(":authority", "localhost"),
    ...extra,
  ]);
}

/** The request header block of a gRPC call to `path`. */
export function postRequest(path: string, extra: readonly Buffer[] = []): Buffer {
  return Buffer.concat([
    indexed(3), // :method POST
    indexed(6), // :scheme http
    literal(":path", path),
    literal(":authority", "localhost"),
    literal("content-type", "application/grpc"),
    literal("te", "trailers"),
    ...extra,
  ]);
}

export interface ParsedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** Reads frames off a connection as they come. */
export class FrameReader {
  private buffered = Buffer.alloc(0);
  readonly frames: ParsedFrame[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  constructor(socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 9) {
        const length = this.buffered.readUIntBE(0, 3);
        if (this.buffered.length < 9 + length) break;
        this.frames.push({
          type: this.buffered[3]!,
          flags: this.buffered[4]!,
          streamId: this.buffered.readUInt32BE(5) & 0x7fffffff,
          payload: this.buffered.subarray(9, 9 + length),
        });
        this.buffered = this.buffered.subarray(9 + length);
      }
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => undefined);
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Waits until `test` holds of the frames read so far, or the connection closed, or `ms` passed. */
  async until(test: (frames: ParsedFrame[]) => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!test(this.frames)) {
      if (this.closed || Date.now() >= deadline) return test(this.frames);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** The error code of the GOAWAY received, if one was. */
  goAwayCode(): number | undefined {
    const goAway = this.frames.find((f) => f.type === FrameType.GOAWAY);
    return goAway?.payload.readUInt32BE(4);
  }
}

/** Opens a cleartext HTTP/2 connection: preface and an empty SETTINGS. */
export async function connectRaw(
  port: number,
): Promise<{ socket: net.Socket; reader: FrameReader }> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
  const reader = new FrameReader(socket);
  socket.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0))]));
  return { socket, reader };
}

/** Acknowledges the server's SETTINGS, so that its limits are in force. */
export function ackSettings(socket: net.Socket): void {
  socket.write(frame(FrameType.SETTINGS, Flags.ACK, 0, Buffer.alloc(0)));
}
