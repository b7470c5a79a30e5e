/**
 * A do-nothing Kinesis: an HTTP/1.1 server that answers the JSON API's
 * PutRecords with canned results (one per record, counted without decoding
 * the data), DescribeStreamSummary with an ACTIVE stream, and every other
 * operation with an empty object. Measures what a
 * forwarding gateway costs when the upstream costs next to nothing. Prints
 * `{"port": N}` when listening.
 */
import http from "node:http";
import type net from "node:net";

const SEQUENCE = "49680568268213097344330377401304855224747970548136411154";
const entry = (i: number) =>
  `{"SequenceNumber":"${SEQUENCE}","ShardId":"shardId-00000000000${i % 4}"}`;
const EMPTY = Buffer.from("{}");
/** Every stream exists and is ACTIVE. */
const ACTIVE = Buffer.from(
  '{"StreamDescriptionSummary":{"StreamStatus":"ACTIVE","OpenShardCount":4}}',
);
const answers = new Map<number, Buffer>();
/** The canned answer for `count` records, made once per count. */
function answerFor(count: number): Buffer {
  let answer = answers.get(count);
  if (answer === undefined) {
    const records = Array.from({ length: count }, (_, i) => entry(i)).join(",");
    answer = Buffer.from(`{"FailedRecordCount":0,"Records":[${records}]}`);
    answers.set(count, answer);
  }
  return answer;
}

/** Records in a PutRecords body: each has one "PartitionKey" member. */
function recordCount(body: string): number {
  let count = 0;
  for (
    let at = body.indexOf('"PartitionKey"');
    at >= 0;
    at = body.indexOf('"PartitionKey"', at + 1)
  )
    count++;
  return count;
}

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const target = String(request.headers["x-amz-target"] ?? "");
    const body =
      target === "Kinesis_20131202.PutRecords"
        ? answerFor(recordCount(Buffer.concat(chunks).toString("latin1")))
        : target === "Kinesis_20131202.DescribeStreamSummary"
          ? ACTIVE
          : EMPTY;
    response.writeHead(200, {
      "content-type": "application/x-amz-json-1.1",
      "content-length": body.length,
      "x-amzn-requestid": "null-kinesis",
    });
    response.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
