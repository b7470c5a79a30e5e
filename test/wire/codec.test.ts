import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { suite, test } from "node:test";
import { KinesisError } from "../../src/kinesis/errors.ts";
import { decodeBase64 } from "../../src/wire/codec.ts";

const refusal = (text: string) => {
  try {
    decodeBase64(text);
  } catch (err) {
    assert.ok(err instanceof KinesisError);
    assert.equal(err.type, "SerializationException");
    return err.message;
  }
  return undefined;
};

void suite("strict base64 for blobs", () => {
  void test("decodes every canonical encoding exactly", () => {
    for (let size = 0; size < 70; size++) {
      const bytes = randomBytes(size);
      assert.deepEqual(Buffer.from(decodeBase64(bytes.toString("base64"))), bytes);
    }
  });

  void test("refuses the rest with AWS's texts", () => {
    assert.equal(
      refusal("abc"),
      "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3",
    );
    assert.equal(
      refusal("ab$d"),
      "'ab$d' can not be converted to a Blob: Invalid Base64 character: '$'",
    );
    assert.equal(
      refusal("YR=="),
      "'YR==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected",
    );
    assert.ok(refusal("YQ=A"));
    assert.equal(refusal("YQ=="), undefined);
  });

  void test("refuses what Node's lenient decoder would take", () => {
    // The URL alphabet, white space, padding inside, missing or extra padding.
    for (const text of [
      "-_-_",
      "YW Jj",
      "YQ==YQ==",
      "YQ",
      "YQ=",
      "YWJj=",
      "====",
      "Y===",
      "\nYWJj",
    ]) {
      assert.ok(refusal(text), `'${text}' is refused`);
    }
  });
});
