import { encodeBlock, encodedRecordBytes } from "./src/engine/storage/block-codec.ts";
import { crc32 } from "node:zlib";
const records = Array.from({ length: 500 }, (_, i) => ({ sequenceNumber: "49680737906235297373427470375735754591061692902822379538", data: Buffer.alloc(1024, i), partitionKey: `partition-${i}`, approximateArrivalTimestamp: Date.now(), sizeBytes: 1024 + `partition-${i}`.length }));
let bytes = 0; for (const r of records) bytes += encodedRecordBytes(r);
const buf = Buffer.allocUnsafe(bytes + 24);
for (let round = 0; round < 3; round++) {
let t = performance.now();
for (let i = 0; i < 2000; i++) encodeBlock(buf, 0, 1, records, bytes);
let ms = performance.now() - t;
console.log("encode", (ms * 1000 / (2000 * 500)).toFixed(3), "us/rec");
t = performance.now();
for (let i = 0; i < 2000; i++) crc32(buf);
console.log("crc", ((performance.now() - t) * 1000 / (2000 * 500)).toFixed(3), "us/rec");
t = performance.now();
for (let i = 0; i < 2000; i++) for (const r of records) encodedRecordBytes(r);
console.log("sizes", ((performance.now() - t) * 1000 / (2000 * 500)).toFixed(3), "us/rec");
}
