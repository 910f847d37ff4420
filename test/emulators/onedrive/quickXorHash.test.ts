import { test } from "node:test";
import assert from "node:assert/strict";
import { QuickXorHash, quickXorHashBase64 } from "./quickXorHash";
import { patternBytes, referenceQuickXorHash } from "./testClient";

const VECTORS: Array<[string, Buffer, string]> = [
  ["empty", Buffer.alloc(0), "AAAAAAAAAAAAAAAAAAAAAAAAAAA="],
  ["1 byte", Buffer.from("Sg==", "base64"), "SgAAAAAAAAAAAAAAAQAAAAAAAAA="],
  ["2 bytes", Buffer.from("tbQ=", "base64"), "taAFAAAAAAAAAAAAAgAAAAAAAAA="],
  ["3 bytes", Buffer.from("0pZP", "base64"), "0rDEEwAAAAAAAAAAAwAAAAAAAAA="],
  ["16 bytes", Buffer.from("2fuxhBJXtpWFe8dOfdGeHw==", "base64"), "O9tHLAghgSvYohKFyMMxnNCHaHg="],
  ["20 bytes", Buffer.from("T6LYJIfDh81JrAK309H2JMJTXis=", "base64"), "zBTHrspn3mEcohlJdIUAbjGNaNg="],
  ["hello world", Buffer.from("hello world"), "aCgDG9jwBhDc4Q1yawMZAAAAAAA="],
  ["abc", Buffer.from("abc"), "YRDDGAAAAAAAAAAAAwAAAAAAAAA="],
  ["quick brown fox", Buffer.from("The quick brown fox jumps over the lazy dog"), "bMSlbysmxJL6S75XwfMcQZOpcr4="],
  ["1000 bytes i%256", Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256)), "eMTc7ksneLHFfWI8T9W9y23sExM="],
  ["327,680 zero bytes", Buffer.alloc(327_680), "AAAAAAAAAAAAAAAAAAAFAAAAAAA="],
];

for (const [label, input, expected] of VECTORS) {
  test(`QuickXorHash vector: ${label}`, () => {
    assert.equal(quickXorHashBase64(input), expected);
    assert.equal(referenceQuickXorHash(input), expected);
  });
}

test("QuickXorHash: split at odd sizes and at unaligned memory gives the whole-input hash", () => {
  const data = patternBytes(100_003, 7);
  const whole = referenceQuickXorHash(data);
  assert.equal(quickXorHashBase64(data), whole);
  for (const piece of [1, 3, 7, 161, 1_759, 65_537]) {
    const hash = new QuickXorHash();
    for (let offset = 0; offset < data.length; offset += piece) hash.update(data.subarray(offset, offset + piece));
    assert.equal(hash.digestBase64(), whole, `pieces of ${piece}`);
  }
  // A view that starts 1 byte into its ArrayBuffer exercises the unaligned path.
  const backing = Buffer.alloc(data.length + 1);
  data.copy(backing, 1);
  assert.equal(quickXorHashBase64(backing.subarray(1)), whole);
});

test("QuickXorHash: a clone continues independently", () => {
  const first = new QuickXorHash().update(Buffer.from("hello "));
  const copy = first.clone();
  copy.update(Buffer.from("world"));
  assert.equal(copy.digestBase64(), "aCgDG9jwBhDc4Q1yawMZAAAAAAA=");
  assert.equal(first.digestBase64(), referenceQuickXorHash(Buffer.from("hello ")));
  assert.equal(copy.length, 11);
});
