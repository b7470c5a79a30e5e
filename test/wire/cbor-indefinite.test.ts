/**
 * CBOR's indefinite-length strings (RFC 8949 §3.2.3) on the wire API: a byte
 * or text string sent as chunks is read as the string its chunks make, and
 * one that is not well-formed (a chunk of another type, a chunk that is
 * itself in chunks, no break, a text chunk that is not UTF-8 on its own) is
 * refused like any other malformed body, with nothing stored. Indefinite
 * arrays and maps keep working, and the counters that read a body before it
 * is decoded count through chunks and give up on malformed ones.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { Decoder, Encoder, type Options } from "cbor-x";
import { decodeBody } from "../../src/wire/codec.ts";
import { cborHasMoreContainers, countWireRecords } from "../../src/wire/record-count.ts";
import { useGateway } from "../helpers/gateway.ts";

const SIGNED =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0";

// A few CBOR writers, to lay out bodies no encoder writes.
type Bytes = Uint8Array | readonly number[];
const join = (...parts: Bytes[]) => Buffer.concat(parts.map((p) => Uint8Array.from(p)));
const head = (major: number, n: number): Buffer => {
  const type = major << 5;
  if (n < 24) return Buffer.of(type | n);
  if (n < 0x100) return Buffer.of(type | 24, n);
  const out = Buffer.alloc(5);
  out[0] = type | 26;
  out.writeUInt32BE(n, 1);
  return out;
};
const bytes = (b: Bytes) => join(head(2, b.length), b);
const text = (s: string) => join(head(3, Buffer.byteLength(s)), Buffer.from(s));
/** An indefinite byte string (0x5f) or text string (0x7f) of the chunks given, ended by a break. */
const chunked = (initial: 0x5f | 0x7f, ...chunks: Bytes[]) => join([initial], ...chunks, [0xff]);
const bytesInChunks = (...parts: Bytes[]) => chunked(0x5f, ...parts.map(bytes));
const textInChunks = (...parts: string[]) => chunked(0x7f, ...parts.map(text));
const map = (...pairs: [Bytes, Bytes][]) => join(head(5, pairs.length), ...pairs.flat());
const indefiniteMap = (...pairs: [Bytes, Bytes][]) => join([0xbf], ...pairs.flat(), [0xff]);
const indefiniteArray = (...items: Bytes[]) => join([0x9f], ...items, [0xff]);

const decoderOptions: Options & { int64AsNumber: boolean } = {
  mapsAsObjects: true,
  useRecords: false,
  int64AsNumber: true, // AWS's millisecond timestamps are 64-bit (a runtime option its types omit)
};
const decoder = new Decoder(decoderOptions);
const encoder = new Encoder({ mapsAsObjects: true, useRecords: false, tagUint8Array: false });

/** The partition key, in chunks that end on code-point boundaries, one of them empty. */
const KEY_CHUNKS = ["cl", "é", "", "-鍵", "-🦀", "k"];
const KEY = KEY_CHUNKS.join("");

interface Malformed {
  /** The member that holds it. */
  member: "Data" | "PartitionKey";
  value: Buffer;
  /** Whether it must end the body (the member is then the last one, its array definite). */
  last?: boolean;
  /** Whether only its text is wrong: its structure is sound, and counts. */
  textOnly?: boolean;
}

/** Each way an indefinite string can be malformed. */
const malformed: Record<string, Malformed> = {
  "a text chunk in a byte string": { member: "Data", value: chunked(0x5f, bytes([1]), text("a")) },
  "a byte chunk in a text string": {
    member: "PartitionKey",
    value: chunked(0x7f, text("a"), bytes([0x62])),
  },
  "an integer chunk": { member: "Data", value: chunked(0x5f, bytes([1]), [0x01]) },
  "an array chunk": { member: "Data", value: chunked(0x5f, [0x81, 0x41, 0x01]) },
  "an indefinite chunk in a byte string": {
    member: "Data",
    value: chunked(0x5f, bytesInChunks([1], [2])),
  },
  "an indefinite chunk in a text string": {
    member: "PartitionKey",
    value: chunked(0x7f, textInChunks("a", "b")),
  },
  "a chunk running past the body's end": {
    member: "Data",
    value: join([0x5f, 0x45, 1, 2]),
    last: true,
  },
  "no break before the body ends": {
    member: "Data",
    value: join([0x5f], bytes([1]), bytes([2])),
    last: true,
  },
  "no break before the next member": { member: "Data", value: join([0x5f], bytes([1])) },
  "a text chunk that is not UTF-8": {
    member: "PartitionKey",
    value: chunked(0x7f, text("k"), [0x61, 0xff]),
    textOnly: true,
  },
  // RFC 8949 §3.2.3: "a new chunk of a text string can only be started at a code point boundary".
  "a character split between two text chunks": {
    member: "PartitionKey",
    value: chunked(0x7f, [0x62, 0x6b, 0xc3], [0x61, 0xa9]),
    textOnly: true,
  },
};

/** A record's members, the malformed one followed by the other unless it must end the body. */
const malformedMembers = ({ member, value, last }: Malformed): [Bytes, Bytes][] => {
  const other: [Bytes, Bytes] =
    member === "Data" ? [text("PartitionKey"), text("k")] : [text("Data"), bytes([1])];
  const bad: [Bytes, Bytes] = [text(member), value];
  return last ? [other, bad] : [bad, other];
};
const malformedPutRecord = (bad: Malformed) =>
  map([text("StreamName"), text("refused")], ...malformedMembers(bad));
const malformedPutRecords = (bad: Malformed) => {
  const entry = map(...malformedMembers(bad));
  return map(
    [text("StreamName"), text("refused")],
    [text("Records"), bad.last ? join([0x81], entry) : indefiniteArray(entry)],
  );
};

void suite("CBOR indefinite-length strings on the wire API", () => {
  const gateway = useGateway(["--streams", "chunks:1,refused:1", "--throttle", "off"]);

  const call = async (operation: string, body: Uint8Array) => {
    const res = await fetch(`${gateway.current.url}/`, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-cbor-1.1",
        "x-amz-target": `Kinesis_20131202.${operation}`,
        authorization: SIGNED,
      },
      body,
    });
    return {
      status: res.status,
      body: decoder.decode(new Uint8Array(await res.arrayBuffer())) as Record<string, unknown>,
    };
  };
  const ok = async (operation: string, body: Uint8Array) => {
    const res = await call(operation, body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  /** Every record of a one-shard stream, read over CBOR. */
  const readAll = async (stream: string) => {
    const { ShardIterator } = await ok(
      "GetShardIterator",
      encoder.encode({
        StreamName: stream,
        ShardId: "shardId-000000000000",
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    const got = await ok("GetRecords", encoder.encode({ ShardIterator, Limit: 10_000 }));
    return (got.Records as { Data: Uint8Array; PartitionKey: string }[]).map((r) => ({
      data: [...r.Data],
      key: r.PartitionKey,
    }));
  };

  void test("PutRecord and PutRecords: strings in chunks are stored as the strings they make, in an indefinite array and map", async () => {
    // Data in chunks, one of them empty; keys and the stream name in chunks
    // too, a map key among them.
    const single = map(
      [text("StreamName"), textInChunks("chu", "", "nks")],
      [textInChunks("Partition", "Key"), textInChunks(...KEY_CHUNKS)],
      [text("Data"), bytesInChunks([0, 1], [], [2, 0xc3], [0xa9, 255])],
    );
    await ok("PutRecord", single);

    const records = Array.from({ length: 5 }, (_, i) => ({
      data: Array.from({ length: 40 * i }, (_, b) => (b * 7 + i) & 0xff),
      key: `${KEY}-${i}`,
    }));
    const entries = records.map(({ data }, i) =>
      indefiniteMap(
        [
          textInChunks("Da", "ta"),
          i === 0 ? bytes(data) : bytesInChunks([], data.slice(0, i), data.slice(i)),
        ],
        [text("PartitionKey"), textInChunks(...KEY_CHUNKS, `-${i}`)],
      ),
    );
    const batch = indefiniteMap(
      [text("StreamName"), textInChunks("chunks")],
      [textInChunks("Rec", "ords"), indefiniteArray(...entries)],
    );
    const answer = await ok("PutRecords", batch);
    assert.equal(answer.FailedRecordCount, 0);
    assert.equal((answer.Records as unknown[]).length, records.length);

    assert.deepEqual(await readAll("chunks"), [
      { data: [0, 1, 2, 0xc3, 0xa9, 255], key: KEY },
      ...records,
    ]);
  });

  void suite("malformed chunks are refused with SerializationException, nothing stored", () => {
    for (const [name, bad] of Object.entries(malformed)) {
      void test(name, async () => {
        for (const [operation, body] of [
          ["PutRecord", malformedPutRecord(bad)],
          ["PutRecords", malformedPutRecords(bad)],
        ] as const) {
          const res = await call(operation, body);
          assert.equal(res.status, 400, operation);
          assert.deepEqual(
            res.body,
            { __type: "SerializationException", message: "Malformed CBOR body" },
            operation,
          );
        }
        assert.deepEqual(await readAll("refused"), []);
      });
    }
  });
});

void suite("indefinite-length strings before and during decoding", () => {
  const asBody = (b: Buffer) => ({ chunks: [b], size: b.length });

  void test("decode as the definite strings their chunks make", () => {
    // Bytes that read as an indefinite string's head or a break, inside a
    // definite string, in a body that has strings in chunks too.
    const headsInside = map(
      [text("Data"), bytes([0x5f, 0x7f, 0xff])],
      [text("PartitionKey"), text("\x7f")],
    );
    // Strings whose lengths take heads of 2, 3 and 5 bytes.
    const long = [30, 300, 70_000].map((length) => ({
      data: Buffer.from(Array.from({ length }, (_, i) => (i * 31) & 0xff)),
      key: "é".repeat(length / 2),
    }));
    const definite = map(
      [text("StreamName"), text("s")],
      [
        text("Records"),
        join(
          [0x86],
          map([text("Data"), bytes([1, 2, 3])], [text("PartitionKey"), text(KEY)]),
          map([text("Data"), bytes([])], [text("PartitionKey"), text("")]),
          headsInside,
          ...long.map(({ data, key }) =>
            map([text("Data"), bytes(data)], [text("PartitionKey"), text(key)]),
          ),
        ),
      ],
    );
    const inChunks = indefiniteMap(
      [textInChunks("Stream", "Name"), textInChunks("s")],
      [
        text("Records"),
        indefiniteArray(
          map(
            [text("Data"), bytesInChunks([1], [], [2, 3])],
            [text("PartitionKey"), textInChunks(...KEY_CHUNKS)],
          ),
          map([text("Data"), bytesInChunks()], [text("PartitionKey"), textInChunks("", "")]),
          headsInside,
          ...long.map(({ data, key }) =>
            map(
              [text("Data"), bytesInChunks(data.subarray(0, 7), data.subarray(7))],
              [text("PartitionKey"), textInChunks(key.slice(0, 3), key.slice(3))],
            ),
          ),
        ),
      ],
    );
    const expected = decodeBody("cbor", asBody(definite));
    assert.deepEqual(decodeBody("cbor", asBody(inChunks)), expected);
    assert.equal((expected.Records as unknown[]).length, 6);
    // What follows the body's item is kept, and refused as it is without chunks.
    for (const body of [definite, inChunks]) {
      assert.throws(() => decodeBody("cbor", asBody(join(body, [0x00]))), /Malformed CBOR body/);
    }
  });

  void test("are counted through: entries, and maps and arrays", () => {
    const entry = map(
      [text("Data"), bytesInChunks([1], [2, 3])],
      [text("PartitionKey"), textInChunks("a", "b")],
    );
    const body = indefiniteMap(
      [textInChunks("Stream", "Name"), textInChunks("s")],
      [textInChunks("Rec", "ords"), indefiniteArray(entry, entry, entry)],
    );
    assert.equal(countWireRecords("cbor", body, 1), 3);
    // The body's map, the array, and its three entries.
    assert.equal(cborHasMoreContainers(body, 5), false);
    assert.equal(cborHasMoreContainers(body, 4), true);
  });

  void test("that are malformed make the counters give up, without throwing", () => {
    for (const [name, bad] of Object.entries(malformed)) {
      const body = malformedPutRecords(bad);
      // Only a decoder reads text: a body whose text alone is wrong counts as
      // it is. A definite array's count is its head's, its entries unread.
      const counted = bad.textOnly || bad.last ? 1 : undefined;
      assert.equal(countWireRecords("cbor", body, 0), counted, name);
      assert.equal(cborHasMoreContainers(body, 100), bad.textOnly ? false : undefined, name);
    }
    // Millions of nested indefinite strings, which no decoder reads.
    const deep = join([0xa1], text("Records"), [0x9f], Buffer.alloc(4 << 20, 0x5f));
    assert.equal(countWireRecords("cbor", deep, 0), undefined);
    assert.equal(cborHasMoreContainers(deep, 100), undefined);
  });
});
