/**
 * The byte reader for large JSON bodies against JSON.parse: the same value
 * wherever it answers, and no answer where JSON.parse refuses or where the
 * text holds what the reader leaves to it.
 */
import assert from "node:assert/strict";
import { suite, test } from "node:test";
import { readJsonBytes } from "../../src/wire/json-bytes.ts";

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return refused;
  }
}
const refused = Symbol("refused");

function assertAgrees(text: string, mustRead: boolean): void {
  const expected = parsed(text);
  const actual = readJsonBytes(Buffer.from(text));
  if (expected === refused) {
    assert.equal(actual, undefined, `read what JSON.parse refuses: ${text.slice(0, 80)}`);
    return;
  }
  if (actual === undefined) {
    assert.ok(!mustRead, `left to JSON.parse: ${text.slice(0, 80)}`);
    return;
  }
  assert.deepEqual(actual, expected);
  // Own properties only, as JSON.parse makes them.
  assert.equal(Object.getPrototypeOf(actual), Object.getPrototypeOf(expected));
}

const putRecords = JSON.stringify({
  StreamName: "orders",
  Records: Array.from({ length: 500 }, (_, i) => ({
    Data: Buffer.alloc(100, i).toString("base64"),
    PartitionKey: `key-${i}`,
    ...(i % 50 === 0 ? { ExplicitHashKey: String(i) } : {}),
  })),
});

void suite("reading large JSON bodies from their bytes", () => {
  const readable: Record<string, string> = {
    "a PutRecords body as the AWS SDK sends it": putRecords,
    "the same, pretty-printed": JSON.stringify(JSON.parse(putRecords), null, 2),
    "white space everywhere JSON allows it": ' \t\r\n{ "a" : [ "x" , { } , [ ] ] , "b":"" }\n',
    "a repeated key (the last wins)": '{"StreamName":"first","StreamName":"second"}',
    "empty containers": '{"Records":[],"Tags":{}}',
    "a top-level array (the caller refuses it)": '["a"]',
    "a top-level string (the caller refuses it)": '"a"',
    "printable ASCII in strings": JSON.stringify({ k: " !#$%&'()*+,-./0-9:;<=>?@A-Z[]^_`a-z{|}~" }),
  };
  for (const [name, text] of Object.entries(readable)) {
    void test(`reads ${name} as JSON.parse does`, () => assertAgrees(text, true));
  }

  const leftToJsonParse: Record<string, string> = {
    numbers: '{"Limit":10}',
    literals: '{"a":true,"b":false,"c":null}',
    "an escaped quote": '{"a":"x\\"y"}',
    "a unicode escape": '{"a":"\\u00e9"}',
    "non-ASCII text": '{"PartitionKey":"clé"}',
    "a __proto__ key": '{"__proto__":{"polluted":"yes"}}',
    "deep nesting": `${"[".repeat(40)}${"]".repeat(40)}`,
    // Strings of 64 bytes and more are checked a word at a time, shorter ones byte by byte:
    // what is not plain, at every place in a word.
    ...Object.fromEntries(
      [8, 64, 65, 66, 67, 1400].flatMap((length) => {
        const long = (inner: string) =>
          `{"Data":"${"A".repeat(length)}${inner}${"B".repeat(length)}"}`;
        return [
          [`an escape in a string of ${2 * length + 2}`, long("\\n")],
          [`non-ASCII text in a string of ${2 * length + 2}`, long("é")],
          [`DEL in a string of ${2 * length + 1}`, long("\x7f")],
          [`the last byte below 0x80 in a string of ${2 * length + 2}`, long("~\x80")],
        ];
      }),
    ),
  };
  for (const [name, text] of Object.entries(leftToJsonParse)) {
    void test(`leaves ${name} to JSON.parse`, () => {
      assert.equal(readJsonBytes(Buffer.from(text)), undefined);
      assertAgrees(text, false);
    });
  }

  const malformed = [
    "",
    "{",
    "}",
    '{"a"}',
    '{"a":}',
    '{"a":"b",}',
    '{"a":"b"}x',
    '{"a":"b"}{}',
    '["a",]',
    '{"a":"b\nc"}',
    ...[99, 100, 101, 102].flatMap((length) => [
      `{"a":"${"x".repeat(length)}\n${"y".repeat(100)}"}`,
      `{"a":"${"x".repeat(length)}\u0000"}`,
      `{"a":"${"x".repeat(length)}\u001f${"y".repeat(100)}"}`,
    ]),
    `{"a":"${"x".repeat(100)}`,
    '{a:"b"}',
    "{'a':'b'}",
    '{"a":"b" "c":"d"}',
    '{"a":["b"}',
  ];
  void test("never reads what JSON.parse refuses", () => {
    for (const text of malformed) assertAgrees(text, false);
  });

  void test("every truncation of a PutRecords body is refused or read as JSON.parse does", () => {
    const text = JSON.stringify({
      StreamName: "s",
      Records: [
        { Data: "YQ==", PartitionKey: "k" },
        { Data: "", PartitionKey: "" },
      ],
    });
    for (let end = 0; end <= text.length; end++) assertAgrees(text.slice(0, end), false);
  });

  void test("a JSON body polluting Object.prototype through __proto__ does not", () => {
    assertAgrees('{"__proto__":{"polluted":"yes"}}', false);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
