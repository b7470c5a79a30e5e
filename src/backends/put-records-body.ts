/**
 * The forwarded PutRecords body without the SDK's serializer on the hot path.
 *
 * The SDK's JSON serializer writes every record's data as base64 in
 * JavaScript, byte by byte: 13 % of a forwarding gateway's CPU in all, 11 %
 * of it the base64 (500 × 1 KiB records a call). Here the `Records` member is
 * written as JSON bytes up front, with Node's native base64, and handed to
 * the SDK inside the command's input; the client's protocol — the SDK's own
 * AWS JSON 1.1 protocol, one method overridden — serializes the rest of the
 * request as always and splices the bytes in. Everything else stays the SDK's: the endpoint, the headers, SigV4
 * signing, the HTTP handler, retries, and the parsing of answers and errors.
 * `test/backends/put-records-body.test.ts` holds the SDK's own serializer to
 * the same bytes.
 */
import { AwsJson1_1Protocol } from "@aws-sdk/core/protocols";
import type { PutRecordsRequestEntry } from "../kinesis/types.ts";

/** A PutRecords request's `Records` member, already written as the JSON the SDK would write. */
export class RecordsJson {
  /** The array's elements, comma-separated, in UTF-8. */
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
}

const DATA = '{"Data":"';
const HASH_KEY = '","ExplicitHashKey":';
const PARTITION_KEY_AFTER_DATA = '","PartitionKey":';
const PARTITION_KEY_AFTER_HASH_KEY = ',"PartitionKey":';

/**
 * The records as the elements of a JSON array, in the SDK's member order
 * (`Data`, `ExplicitHashKey`, `PartitionKey`), or undefined when one lacks
 * data or a partition key (validation refuses those before they get here;
 * the SDK's serializer then writes what there is). Written into one buffer
 * of the exact size: a body built as a string cost more to measure, hash and
 * send than the SDK's serializer saved.
 */
export function recordsJson(records: readonly PutRecordsRequestEntry[]): RecordsJson | undefined {
  const keys: string[] = new Array(records.length);
  const hashKeys: (string | undefined)[] = new Array(records.length);
  let size = Math.max(0, records.length - 1); // the commas
  for (let i = 0; i < records.length; i++) {
    const { data, partitionKey, explicitHashKey } = records[i]!;
    if (data === null || partitionKey === null) return undefined;
    const key = JSON.stringify(partitionKey);
    keys[i] = key;
    size += DATA.length + Math.ceil(data.byteLength / 3) * 4 + Buffer.byteLength(key) + 1;
    if (explicitHashKey === undefined) {
      size += PARTITION_KEY_AFTER_DATA.length;
    } else {
      const hashKey = JSON.stringify(explicitHashKey);
      hashKeys[i] = hashKey;
      size += HASH_KEY.length + Buffer.byteLength(hashKey) + PARTITION_KEY_AFTER_HASH_KEY.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const data = records[i]!.data!;
    if (i > 0) out[at++] = 0x2c; // ,
    at += out.write(DATA, at, "latin1");
    const base64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
    at += out.write(base64, at, "latin1");
    const hashKey = hashKeys[i];
    if (hashKey === undefined) {
      at += out.write(PARTITION_KEY_AFTER_DATA, at, "latin1");
    } else {
      at += out.write(HASH_KEY, at, "latin1");
      at += out.write(hashKey, at, "utf8");
      at += out.write(PARTITION_KEY_AFTER_HASH_KEY, at, "latin1");
    }
    at += out.write(keys[i]!, at, "utf8");
    out[at++] = 0x7d; // }
  }
  if (at !== size) throw new Error(`PutRecords body: wrote ${at} bytes of ${size}`);
  return new RecordsJson(out);
}

/** How the SDK's serializer begins a body whose first member, `Records`, is empty. */
const EMPTY_RECORDS = Buffer.from('{"Records":[]');
const RECORDS_OPEN = Buffer.from('{"Records":[');

type SerializeRequest = AwsJson1_1Protocol["serializeRequest"];

/**
 * The SDK's AWS JSON 1.1 protocol, which takes a `RecordsJson` as the
 * `Records` of a request: the request is serialized with no records, and the
 * text goes where they would have been.
 */
export class KinesisJsonProtocol extends AwsJson1_1Protocol {
  override async serializeRequest(
    ...[operation, input, context]: Parameters<SerializeRequest>
  ): ReturnType<SerializeRequest> {
    const records = (input as { Records?: unknown } | undefined)?.Records;
    if (!(records instanceof RecordsJson)) {
      return super.serializeRequest(operation, input, context);
    }
    const request = await super.serializeRequest(
      operation,
      { ...(input as object), Records: [] },
      context,
    );
    // The SDK writes bytes (earlier versions a string): a few members after the records at most.
    const written = request.body as unknown;
    const body =
      typeof written === "string"
        ? Buffer.from(written)
        : written instanceof Uint8Array
          ? Buffer.from(written.buffer, written.byteOffset, written.byteLength)
          : undefined;
    if (body === undefined || !body.subarray(0, EMPTY_RECORDS.length).equals(EMPTY_RECORDS)) {
      // A serializer that orders members otherwise: a test catches it before a release does.
      throw new Error("the SDK's serializer did not begin PutRecords with its Records");
    }
    request.body = Buffer.concat([
      RECORDS_OPEN,
      records.bytes,
      body.subarray(EMPTY_RECORDS.length - 1), // from the array's closing bracket on
    ]);
    return request;
  }
}
