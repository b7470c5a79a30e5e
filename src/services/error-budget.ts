/**
 * Error answers that every gRPC stack receives with its default settings.
 *
 * gRPC carries an error's status in HTTP/2 headers: `grpc-message`
 * (percent-encoded) and `grpc-status-details-bin` (a base64 `google.rpc.Status`
 * holding the message again, and again in its `KinesisErrorDetail`). gRPC's C
 * core (Python, C++, Ruby, PHP) and grpc-java refuse more than 8 KiB of
 * metadata by default, and the client then loses the status altogether. AWS's
 * texts can be far longer (a 501-record request is quoted back entry by
 * entry), and a non-ASCII character costs up to 12 bytes in `grpc-message`.
 *
 * So an error's metadata gets a byte budget, measured as Connect encodes it
 * (name, value and HTTP/2's 32 bytes per field): a text that fits is kept
 * word for word; one that does not keeps its beginning and its end, cut
 * between characters, and says how much it left out — the same text on every
 * RPC protocol. A lone surrogate (which `encodeURIComponent` refuses,
 * leaving the call unanswered) becomes U+FFFD.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import {
  findTrailerError,
  headerGrpcMessage,
  headerGrpcStatus,
  headerStatusDetailsBin,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";
import { KinesisErrorDetailSchema } from "../gen/kinesis/gateway/v1/common_pb.ts";

/**
 * Bytes an error's status fields may take in all: half of the 8 KiB the
 * strictest clients accept, leaving the rest for the answer's other headers.
 */
export const ERROR_METADATA_MAX_BYTES = 4096;
/** HTTP/2 counts each header field as its name, its value and 32 bytes. */
const FIELD_OVERHEAD_BYTES = 32;
/**
 * Up to this many UTF-16 units a text fits whatever it holds: 12 bytes per
 * unit at worst in `grpc-message` and 8 in the details, plus their framing.
 */
const ALWAYS_FITS_UNITS = 160;
/** The end of a shortened text, kept first: AWS's texts end with the constraint broken. */
const TAIL_CHARACTERS = 160;
/** Past this, a text is cut to it before it is measured (the rest is left out anyway). */
const MEASURED_UNITS_MAX = 16_384;

/** A Connect error for a Kinesis error, its message fitted to the budget and carried in a `KinesisErrorDetail`. */
export function kinesisConnectError(code: Code, type: string, message: string): ConnectError {
  const fitted = fitErrorMessage(message, code, type);
  return new ConnectError(fitted, code, undefined, [
    { desc: KinesisErrorDetailSchema, value: { type, message: fitted } },
  ]);
}

/** The error as it is, or with its message fitted to the budget (and in its `KinesisErrorDetail`). */
export function fittedConnectError(err: ConnectError): ConnectError {
  const detail = err.findDetails(KinesisErrorDetailSchema)[0];
  const fitted = fitErrorMessage(err.rawMessage, err.code, detail?.type);
  if (fitted === err.rawMessage) return err;
  if (detail !== undefined) return kinesisConnectError(err.code, detail.type, err.rawMessage);
  return new ConnectError(fitted, err.code, err.metadata, undefined, err.cause);
}

/**
 * The last word on a gRPC answer's status, whoever set it (Connect's own
 * errors too: a parse error may quote what the client sent): its fields
 * fitted to the budget in place.
 */
export function fitGrpcStatus(trailer: Headers): void {
  if (!trailer.has(headerGrpcMessage) || statusFieldBytes(trailer) <= ERROR_METADATA_MAX_BYTES) {
    return;
  }
  let err: ConnectError | undefined;
  try {
    err = findTrailerError(trailer);
  } catch {
    // Undecodable: the status is told without its text.
  }
  for (const name of [headerGrpcMessage, headerStatusDetailsBin]) trailer.delete(name);
  const code = err?.code ?? Number(trailer.get(headerGrpcStatus) ?? Code.Internal);
  setTrailerStatus(
    trailer,
    err ? fittedConnectError(err) : new ConnectError("internal error", code as Code),
  );
}

/** `message`, well-formed, and shortened when its status fields would not fit the budget. */
export function fitErrorMessage(message: string, code: Code, detailType?: string): string {
  const long = message.length > MEASURED_UNITS_MAX;
  const text = long ? bounded(message) : message.toWellFormed();
  if (text.length <= ALWAYS_FITS_UNITS && text === message) return message;
  const cost = (candidate: string) => statusBytes(candidate, code, detailType);
  if (!long && cost(text) <= ERROR_METADATA_MAX_BYTES) return text;
  const characters = Array.from(text);
  const total = long ? codePointCount(message) : characters.length;
  // AWS's texts end with the constraint broken: the end is kept first, then
  // as much of the beginning as fits.
  const tail = Math.min(TAIL_CHARACTERS, characters.length);
  const fits = (head: number, end: number) =>
    cost(shortened(characters, head, end, total)) <= ERROR_METADATA_MAX_BYTES;
  if (!fits(0, tail))
    return shortened(
      characters,
      0,
      mostThatFit(tail, (n) => fits(0, n)),
      total,
    );
  return shortened(
    characters,
    mostThatFit(characters.length - tail, (n) => fits(n, tail)),
    tail,
    total,
  );
}

/** The largest n in [0, max] for which `fits(n)` holds, `fits` holding for 0 and being monotone. */
function mostThatFit(max: number, fits: (n: number) => boolean): number {
  let low = 0;
  let high = max;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** The first `head` and last `tail` characters, and a note of how many of `total` are left out. */
function shortened(
  characters: readonly string[],
  head: number,
  tail: number,
  total: number,
): string {
  const note = ` … [${total - head - tail} characters left out to fit gRPC metadata] … `;
  return (
    characters.slice(0, head).join("") + note + characters.slice(characters.length - tail).join("")
  );
}

/** A very long text's beginning and end, well-formed: what the budget could keep of it. */
function bounded(message: string): string {
  const end = 1024;
  return (
    message.slice(0, MEASURED_UNITS_MAX - end).toWellFormed() +
    message.slice(message.length - end).toWellFormed()
  );
}

function codePointCount(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      count--;
      i++;
    }
  }
  return count;
}

/** What the status fields of an error with this message take, as Connect writes them. */
function statusBytes(message: string, code: Code, detailType: string | undefined): number {
  const details =
    detailType === undefined
      ? undefined
      : [{ desc: KinesisErrorDetailSchema, value: { type: detailType, message } }];
  return statusFieldBytes(
    setTrailerStatus(new Headers(), new ConnectError(message, code, undefined, details)),
  );
}

/** What an answer's status fields take on the wire, by HTTP/2's count. */
function statusFieldBytes(fields: Headers): number {
  let bytes = 0;
  for (const name of [headerGrpcStatus, headerGrpcMessage, headerStatusDetailsBin]) {
    const value = fields.get(name);
    if (value !== null) bytes += name.length + value.length + FIELD_OVERHEAD_BYTES;
  }
  return bytes;
}
