import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { suite, test } from "node:test";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  AGGREGATE_OVERHEAD_BYTES,
  aggregate,
  createAggregateSizer,
  deaggregate,
  decodeAggregated,
  decodeAggregatedUpTo,
  isAggregated,
  type UserRecord,
} from "../../src/producer/aggregation.ts";
import { aggAggregated, aggDeaggregate } from "../helpers/kinesis-agg.ts";
import { seededRandom } from "../helpers/seeded-random.ts";

const aggAggregate = (records: readonly UserRecord[]) => aggAggregated(records).data;

function randomRecords(
  next: () => number,
  count: number,
  options: {
    explicitHashKeys: "none" | "all" | "some";
    maxDataBytes?: number;
    integerKeys?: boolean;
  },
): UserRecord[] {
  // aws-kinesis-agg's aggregator scrambles keys that read as array indexes ("0" to "4294967294"),
  // see below; the tests against it leave them out, the rest have them.
  const integerKeys = options.integerKeys ?? true;
  const keys = ["user-1", "user-2", "ключ", "键🔑", "k".repeat(256), integerKeys ? "42" : "a"];
  const hashKeys = [
    integerKeys ? "0" : "4294967295",
    integerKeys ? "1" : "99999999999",
    "170141183460469231731687303715884105728",
    "340282366920938463463374607431768211455",
  ];
  return Array.from({ length: count }, (_, i) => {
    const data = new Uint8Array(Math.floor(next() * (options.maxDataBytes ?? 300)));
    for (let j = 0; j < data.length; j++) data[j] = Math.floor(next() * 256);
    const partitionKey =
      next() < 0.5 ? (keys[i % keys.length] as string) : `pk-${Math.floor(next() * 1000)}`;
    const withHashKey =
      options.explicitHashKeys === "all" || (options.explicitHashKeys === "some" && next() < 0.5);
    return withHashKey
      ? {
          partitionKey,
          explicitHashKey: hashKeys[Math.floor(next() * hashKeys.length)] as string,
          data,
        }
      : { partitionKey, data };
  });
}

/** Wraps protobuf bytes as an aggregated record with a correct checksum. */
function frame(message: Uint8Array): Uint8Array {
  const digest = createHash("md5").update(message).digest();
  return Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), message, digest]);
}

function plain(records: readonly UserRecord[] | undefined) {
  return records?.map((r) => ({
    partitionKey: r.partitionKey,
    explicitHashKey: r.explicitHashKey,
    data: Buffer.from(r.data).toString("hex"),
  }));
}

suite("KPL aggregated records", () => {
  test("round trip: user records come back in order with their keys and data", () => {
    const next = seededRandom(1);
    for (const explicitHashKeys of ["none", "all", "some"] as const) {
      const records = randomRecords(next, 200, { explicitHashKeys });
      const data = aggregate(records);
      assert.ok(isAggregated(data));
      assert.deepEqual(plain(deaggregate(data)), plain(records));
    }
    const empty = [{ partitionKey: "k", data: new Uint8Array(0) }];
    assert.deepEqual(plain(deaggregate(aggregate(empty))), plain(empty));
  });

  test("writes the published layout: magic, key tables deduplicated in order of first use, records, MD5", () => {
    const data = aggregate([
      { partitionKey: "a", data: Buffer.from("x") },
      { partitionKey: "a", explicitHashKey: "1", data: Buffer.from("y") },
      { partitionKey: "b", explicitHashKey: "", data: Buffer.from("z") },
    ]);
    const message =
      "0a01610a0162120131" + "1a0508001a0178" + "1a07080010001a0179" + "1a0508011a017a";
    const digest = createHash("md5").update(Buffer.from(message, "hex")).digest("hex");
    assert.equal(Buffer.from(data).toString("hex"), `f3899ac2${message}${digest}`);
  });

  test("encodes exactly as aws-kinesis-agg's RecordAggregator does", () => {
    const next = seededRandom(2);
    for (const explicitHashKeys of ["none", "all", "some"] as const) {
      const records = randomRecords(next, 300, { explicitHashKeys, integerKeys: false });
      assert.deepEqual(Buffer.from(aggregate(records)), Buffer.from(aggAggregate(records)));
    }
  });

  test("records aggregated here de-aggregate with aws-kinesis-agg (checksums on)", () => {
    const next = seededRandom(3);
    for (const explicitHashKeys of ["none", "all"] as const) {
      const records = randomRecords(next, 300, { explicitHashKeys });
      const { error, records: read } = aggDeaggregate(aggregate(records));
      assert.equal(error, undefined);
      assert.deepEqual(
        read.map((r, i) => ({
          partitionKey: r.partitionKey,
          explicitHashKey: r.explicitPartitionKey,
          data: Buffer.from(r.data, "base64").toString("hex"),
          subSequenceNumber: i,
        })),
        plain(records)?.map((r, i) => ({ ...r, subSequenceNumber: i })),
      );
      assert.deepEqual(
        read.map((r) => r.subSequenceNumber),
        records.map((_, i) => i),
      );
    }
  });

  test("aws-kinesis-agg reads a mixed aggregate's records without a hash key as having the table's first (its defect, not the format's)", () => {
    const records: UserRecord[] = [
      { partitionKey: "a", explicitHashKey: "7", data: Buffer.from("x") },
      { partitionKey: "b", data: Buffer.from("y") },
    ];
    const { records: read } = aggDeaggregate(aggregate(records));
    assert.deepEqual(
      read.map((r) => [
        r.partitionKey,
        r.explicitPartitionKey,
        Buffer.from(r.data, "base64").toString(),
      ]),
      [
        ["a", "7", "x"],
        ["b", "7", "y"], // protobufjs gives the absent optional index its default, 0
      ],
    );
    // The record carries no index for it, which is what this module reads back.
    assert.deepEqual(plain(deaggregate(aggregate(records))), plain(records));
  });

  test("aws-kinesis-agg's aggregator misplaces keys that read as array indexes (its defect: object key order)", () => {
    const records: UserRecord[] = [
      { partitionKey: "user", data: Buffer.from("x") },
      { partitionKey: "42", data: Buffer.from("y") },
    ];
    // Its table is Object.keys() of a key → index object, which puts "42" first.
    assert.deepEqual(
      deaggregate(aggAggregate(records))?.map((r) => r.partitionKey),
      ["42", "user"],
    );
    assert.deepEqual(
      deaggregate(aggregate(records))?.map((r) => r.partitionKey),
      ["user", "42"],
    );
  });

  test("records aggregated by aws-kinesis-agg de-aggregate here", () => {
    const next = seededRandom(4);
    for (const explicitHashKeys of ["none", "all", "some"] as const) {
      const records = randomRecords(next, 300, { explicitHashKeys, integerKeys: false });
      assert.deepEqual(plain(deaggregate(aggAggregate(records))), plain(records));
    }
  });

  test("a checksum that does not match makes it a plain record, as the KCL reads it", () => {
    const records = [{ partitionKey: "k", data: Buffer.from("payload") }];
    for (const position of ["body", "trailer"] as const) {
      const data = aggregate(records);
      const at = position === "body" ? 6 : data.length - 1;
      data[at] = (data[at] as number) ^ 0x01;
      assert.equal(isAggregated(data), false);
      assert.deepEqual(decodeAggregated(data), { aggregated: false, reason: "checksum-mismatch" });
      assert.equal(deaggregate(data), undefined);
      const itself = deaggregate(data, "outer-key", "42");
      assert.deepEqual(itself, [{ partitionKey: "outer-key", explicitHashKey: "42", data }]);
      assert.equal(itself[0]?.data, data, "the record itself, not a copy");
      // aws-kinesis-agg fails the whole record instead (the KCL and this module keep it).
      assert.match(String(aggDeaggregate(data).error), /Invalid record checksum/);
    }
  });

  test("data that is not framed as an aggregate is a plain record", () => {
    const valid = aggregate([{ partitionKey: "k", data: Buffer.from("v") }]);
    const cases = [
      new Uint8Array(0),
      Buffer.from("just some bytes, long enough to hold a checksum"),
      valid.subarray(0, 4),
      frame(new Uint8Array(0)), // exactly magic + checksum: the KCL needs one byte of protobuf
      Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc3]), valid.subarray(4)]),
    ];
    for (const data of cases) {
      assert.equal(isAggregated(data), false);
      assert.deepEqual(decodeAggregated(data), { aggregated: false, reason: "not-framed" });
      assert.deepEqual(deaggregate(data, "p"), [{ partitionKey: "p", data }]);
    }
  });

  test("refuses to aggregate no records", () => {
    assert.throws(() => aggregate([]), RangeError);
  });
});

suite("aggregate sizer", () => {
  test("predicts aggregate()'s exact size, record by record, across varint boundaries and key tables", () => {
    const next = seededRandom(5);
    const records: UserRecord[] = [];
    // Data lengths around the 1- and 2-byte varint limits, more than 128 distinct keys (2-byte
    // indexes), multi-byte and lone-surrogate keys (written as U+FFFD), hash keys that repeat.
    const lengths = [0, 1, 116, 117, 118, 127, 128, 129, 16_370, 16_383, 16_384, 20_000];
    for (let i = 0; i < 400; i++) {
      const partitionKey = i % 7 === 0 ? "\ud800lone" : i % 5 === 0 ? "ключ-🔑" : `key-${i % 300}`;
      const explicitHashKey =
        i % 3 === 0 ? `${i}${"9".repeat(i % 38)}` : i % 11 === 0 ? "" : undefined;
      const data = new Uint8Array(lengths[i % lengths.length] ?? Math.floor(next() * 100));
      records.push(
        explicitHashKey === undefined
          ? { partitionKey, data }
          : { partitionKey, explicitHashKey, data },
      );
    }
    const sizer = createAggregateSizer();
    assert.equal(sizer.bytes, AGGREGATE_OVERHEAD_BYTES);
    for (const [i, record] of records.entries()) {
      const before = sizer.bytes;
      const growth = sizer.bytesToAdd(record);
      assert.equal(sizer.add(record), before + growth);
      assert.equal(sizer.count, i + 1);
      if (i % 20 === 0 || i === records.length - 1) {
        assert.equal(
          sizer.bytes,
          aggregate(records.slice(0, i + 1)).length,
          `after ${i + 1} records`,
        );
      }
    }
  });

  test("counts a key only where it is new", () => {
    const sizer = createAggregateSizer();
    const record = {
      partitionKey: "a-partition-key",
      explicitHashKey: "12345",
      data: new Uint8Array(10),
    };
    const first = sizer.bytesToAdd(record);
    sizer.add(record);
    // Tables: tag + length + key for each of the two keys.
    assert.equal(first - sizer.bytesToAdd(record), 2 + 15 + 2 + 5);
  });
});

suite("hostile aggregated records", () => {
  const LD = WireType.LengthDelimited;
  /** An `AggregatedRecord` whose partition key table is `["k"]`, with these `Record` bodies. */
  const withKeyK = (...records: Uint8Array[]) => {
    const writer = new BinaryWriter().tag(1, LD).string("k");
    for (const body of records) writer.tag(3, LD).bytes(body);
    return writer.finish();
  };
  /** A `Record` body with the fields given; indexes are bigints so 64-bit ones can be written. */
  const recordBody = (fields: { pk?: bigint; ehk?: bigint; data?: string; tag?: Uint8Array }) => {
    const writer = new BinaryWriter();
    if (fields.pk !== undefined) writer.tag(1, WireType.Varint).uint64(fields.pk);
    if (fields.ehk !== undefined) writer.tag(2, WireType.Varint).uint64(fields.ehk);
    if (fields.data !== undefined) writer.tag(3, LD).bytes(Buffer.from(fields.data));
    if (fields.tag !== undefined) writer.tag(4, LD).bytes(fields.tag);
    return writer.finish();
  };
  const cases: [string, Uint8Array][] = [
    ["partition key index out of the table", withKeyK(recordBody({ pk: 1n, data: "d" }))],
    [
      "explicit hash key index out of the table",
      withKeyK(recordBody({ pk: 0n, ehk: 0n, data: "d" })),
    ],
    ["index 2^64 - 1", withKeyK(recordBody({ pk: 2n ** 64n - 1n, data: "d" }))],
    ["record without data", withKeyK(recordBody({ pk: 0n }))],
    ["record without a partition key index", withKeyK(recordBody({ data: "d" }))],
    [
      "tag without a key",
      withKeyK(
        recordBody({ pk: 0n, data: "d", tag: new BinaryWriter().tag(2, LD).string("v").finish() }),
      ),
    ],
    ["truncated varint", Buffer.from([0x1a, 0x80, 0x80])],
    ["length of 4 GiB - 1", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x61])],
    ["nested record longer than the data", Buffer.from([0x1a, 0x7f, 0x08, 0x00])],
    // The record says 3 bytes; its data field takes 3 more, still inside the message.
    [
      "field running past its record",
      Buffer.from([0x0a, 0x01, 0x6b, 0x1a, 0x03, 0x08, 0x00, 0x1a, 0x02, 0x61, 0x62]),
    ],
    ["field number 0", Buffer.from([0x02, 0x00])],
    ["end-group at the top", Buffer.from([0x0c])],
    [
      "groups nested deeper than the reader allows",
      Buffer.from([...Array<number>(200).fill(0x2b), ...Array<number>(200).fill(0x2c)]),
    ],
    ["wire type 7", Buffer.from([0x0f, 0x00])],
  ];
  for (const [name, message] of cases) {
    test(`${name}: a plain record, said why, never thrown`, () => {
      const data = frame(message);
      assert.equal(isAggregated(data), true, "framed with a matching checksum");
      const decoding = decodeAggregated(data);
      assert.equal(decoding.aggregated, false);
      assert.equal(decoding.aggregated === false && decoding.reason, "malformed");
      assert.equal(deaggregate(data), undefined);
      assert.deepEqual(deaggregate(data, "p"), [{ partitionKey: "p", data }]);
    });
  }

  test("fields it does not know, or of another wire type, are skipped as protobuf parsers skip them", () => {
    const body = new BinaryWriter()
      .tag(7, WireType.Bit64)
      .fixed64(1n)
      .raw(
        recordBody({
          pk: 0n,
          data: "d",
          tag: new BinaryWriter().tag(1, LD).string("tag").finish(),
        }),
      )
      .finish();
    // Field 1 as a varint is not the partition key table's wire type: an unknown field.
    const message = new BinaryWriter()
      .tag(9, WireType.Varint)
      .uint32(5)
      .tag(1, WireType.Varint)
      .uint32(3)
      .raw(withKeyK(body))
      .finish();
    assert.deepEqual(plain(deaggregate(frame(message))), [
      { partitionKey: "k", explicitHashKey: undefined, data: "64" },
    ]);
  });

  test("a few thousand random mutations of a valid aggregate: never thrown, never hung, nothing beyond the input", () => {
    const next = seededRandom(6);
    const records = randomRecords(next, 40, { explicitHashKeys: "some", maxDataBytes: 40 });
    const valid = aggregate(records);
    const message = valid.subarray(4, valid.length - 16);
    const outcomes = { aggregated: 0, malformed: 0, "checksum-mismatch": 0, "not-framed": 0 };
    const started = performance.now();
    for (let i = 0; i < 4000; i++) {
      const mutated = Buffer.from(message);
      const edits = 1 + Math.floor(next() * 4);
      let bytes: Buffer = mutated;
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(next() * bytes.length);
        const kind = next();
        if (kind < 0.5) bytes[at] = Math.floor(next() * 256);
        else if (kind < 0.65) bytes = bytes.subarray(0, at);
        else if (kind < 0.8)
          bytes = Buffer.concat([
            bytes.subarray(0, at),
            Buffer.from([Math.floor(next() * 256)]),
            bytes.subarray(at),
          ]);
        else bytes[at] = [0x00, 0x7f, 0x80, 0xff][Math.floor(next() * 4)] as number;
      }
      // Mostly re-framed with a matching checksum, so the protobuf parser sees the damage;
      // sometimes not, so the checksum has to catch it.
      const data =
        i % 8 === 0
          ? Buffer.concat([valid.subarray(0, 4), bytes, valid.subarray(valid.length - 16)])
          : frame(bytes);
      const decoding = decodeAggregated(data);
      if (decoding.aggregated) {
        outcomes.aggregated += 1;
        let held = 0;
        for (const r of decoding.records) {
          // Data are views into the input; keys come from the input's tables.
          assert.equal(r.data.buffer, data.buffer);
          held += r.data.length;
        }
        assert.ok(held <= data.length);
        assert.ok(
          decoding.records.length <= data.length / 4,
          "each record takes at least 4 bytes of input",
        );
      } else {
        outcomes[decoding.reason] += 1;
      }
    }
    const elapsedMs = performance.now() - started;
    assert.ok(outcomes.malformed > 500, JSON.stringify(outcomes));
    assert.ok(outcomes.aggregated > 100, JSON.stringify(outcomes));
    assert.ok(outcomes["checksum-mismatch"] > 100, JSON.stringify(outcomes));
    assert.ok(elapsedMs < 1500, `took ${elapsedMs} ms`);
  });
});

suite("decoding for a reader that takes at most so many user records", () => {
  const records = Array.from({ length: 10 }, (_, i) => ({
    partitionKey: `k${i % 3}`,
    data: Buffer.from(`record ${i}`),
  }));

  test("up to the bound it decodes as decodeAggregated does; past it, it only counts", () => {
    const data = aggregate(records);
    assert.deepEqual(decodeAggregatedUpTo(data, 10), decodeAggregated(data));
    assert.deepEqual(decodeAggregatedUpTo(data, 9), {
      aggregated: true,
      records: undefined,
      recordCount: 10,
    });
    assert.deepEqual(decodeAggregatedUpTo(data, 0), {
      aggregated: true,
      records: undefined,
      recordCount: 10,
    });
  });

  test("a key index outside its table past the bound still makes it malformed", () => {
    const writer = new BinaryWriter();
    writer.tag(1, WireType.LengthDelimited).string("k");
    for (const index of [0, 0, 5]) {
      writer.tag(3, WireType.LengthDelimited).fork();
      writer.tag(1, WireType.Varint).uint32(index);
      writer.tag(3, WireType.LengthDelimited).bytes(Buffer.from("d"));
      writer.join();
    }
    const decoding = decodeAggregatedUpTo(frame(writer.finish()), 1);
    assert.equal(decoding.aggregated === false && decoding.reason, "malformed");
  });
});
