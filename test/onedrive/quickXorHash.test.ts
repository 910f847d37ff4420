import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mulberry32, referenceQuickXorHash } from "../support/referenceAlgorithms";
import { OffsetQuickXorHash, QuickXorHash, quickXorHashBase64 } from "../../functions/onedrive/quickXorHash";
import { xorOfPeriods } from "../../functions/onedrive/quickXorLanes";
import { QUICK_XOR_LANES_WASM_BASE64 } from "../../functions/onedrive/quickXorLanesBinary";
import { assembleQuickXorLanes } from "../support/quickXorLanesAssembly";

/** The vectors of docs/onedrive-upload.md §6 (rclone's quickxorhash_test.go, the PyPI quickxorhash README, derived). */
const VECTORS: { label: string; input: Buffer; expected: string }[] = [
  { label: "empty", input: Buffer.alloc(0), expected: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" },
  { label: "1 byte", input: Buffer.from("Sg==", "base64"), expected: "SgAAAAAAAAAAAAAAAQAAAAAAAAA=" },
  { label: "2 bytes", input: Buffer.from("tbQ=", "base64"), expected: "taAFAAAAAAAAAAAAAgAAAAAAAAA=" },
  { label: "3 bytes", input: Buffer.from("0pZP", "base64"), expected: "0rDEEwAAAAAAAAAAAwAAAAAAAAA=" },
  { label: "16 bytes", input: Buffer.from("2fuxhBJXtpWFe8dOfdGeHw==", "base64"), expected: "O9tHLAghgSvYohKFyMMxnNCHaHg=" },
  { label: "20 bytes", input: Buffer.from("T6LYJIfDh81JrAK309H2JMJTXis=", "base64"), expected: "zBTHrspn3mEcohlJdIUAbjGNaNg=" },
  { label: "hello world", input: Buffer.from("hello world"), expected: "aCgDG9jwBhDc4Q1yawMZAAAAAAA=" },
  { label: "abc", input: Buffer.from("abc"), expected: "YRDDGAAAAAAAAAAAAwAAAAAAAAA=" },
  { label: "quick brown fox", input: Buffer.from("The quick brown fox jumps over the lazy dog"), expected: "bMSlbysmxJL6S75XwfMcQZOpcr4=" },
  { label: "1,000 bytes i mod 256", input: Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256)), expected: "eMTc7ksneLHFfWI8T9W9y23sExM=" },
  { label: "327,680 zero bytes", input: Buffer.alloc(327_680), expected: "AAAAAAAAAAAAAAAAAAAFAAAAAAA=" },
];


function randomBytes(length: number, seed: number): Buffer {
  const next = mulberry32(seed);
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(next() * 256);
  return bytes;
}


function hashInPieces(input: Uint8Array, pieceLengths: () => number): string {
  const hash = new QuickXorHash();
  let offset = 0;
  while (offset < input.length) {
    const length = Math.min(Math.max(1, pieceLengths()), input.length - offset);
    hash.update(input.subarray(offset, offset + length));
    offset += length;
  }
  return hash.digestBase64();
}

describe("QuickXorHash", () => {
  for (const vector of VECTORS) {
    test(`vector ${vector.label}: whole and split at 1, 7, 161 and random cuts`, () => {
      assert.equal(quickXorHashBase64(vector.input), vector.expected);
      assert.equal(referenceQuickXorHash(vector.input), vector.expected, "the test's reference agrees with the vector");
      for (const piece of [1, 7, 161]) {
        assert.equal(hashInPieces(vector.input, () => piece), vector.expected, `pieces of ${piece}`);
      }
      const next = mulberry32(vector.input.length + 1);
      assert.equal(hashInPieces(vector.input, () => Math.floor(next() * 500)), vector.expected, "random cuts");
    });
  }

  test("an input over 64 KiB matches the bitwise reference whole, in odd pieces and at unaligned offsets", () => {
    const backing = randomBytes(300_007 + 3, 42);
    for (const start of [0, 1, 2, 3]) {
      const input = backing.subarray(start, start + 300_007);
      const expected = referenceQuickXorHash(input);
      assert.equal(quickXorHashBase64(input), expected, `whole, byteOffset +${start}`);
      for (const piece of [1, 7, 161, 65_537]) {
        assert.equal(hashInPieces(input, () => piece), expected, `pieces of ${piece}, byteOffset +${start}`);
      }
      const next = mulberry32(start + 7);
      assert.equal(hashInPieces(input, () => Math.floor(next() * 20_000)), expected, `random cuts, byteOffset +${start}`);
    }
  });

  test("length counts bytes and digest can be read midway without disturbing the hash", () => {
    const input = randomBytes(5_000, 3);
    const hash = new QuickXorHash();
    hash.update(input.subarray(0, 1234));
    assert.equal(hash.length, 1234);
    assert.equal(hash.digestBase64(), referenceQuickXorHash(input.subarray(0, 1234)));
    hash.update(input.subarray(1234));
    assert.equal(hash.length, 5000);
    assert.equal(hash.digestBase64(), referenceQuickXorHash(input));
    assert.equal(hash.digest().length, 20);
  });

  test("a state exported midway and imported elsewhere finishes with the same hash", () => {
    const input = randomBytes(70_001, 9);
    const first = new QuickXorHash().update(input.subarray(0, 33_333));
    const checkpoint = first.exportState();
    assert.equal(checkpoint.length, 33_333);
    const resumed = new QuickXorHash().importState(JSON.parse(JSON.stringify(checkpoint)));
    resumed.update(input.subarray(33_333));
    assert.equal(resumed.digestBase64(), referenceQuickXorHash(input));
    assert.throws(() => new QuickXorHash().importState({ state: "garbage", length: 1 }), /unreadable QuickXorHash checkpoint/);
    assert.throws(() => new QuickXorHash().importState({ state: checkpoint.state, length: -1 }), RangeError);
  });
});

describe("OffsetQuickXorHash", () => {
  test("overlapping resends are hashed once", () => {
    const input = randomBytes(1_000_000, 11);
    const hash = new OffsetQuickXorHash();
    hash.updateAt(0, input.subarray(0, 327_680));
    hash.updateAt(0, input.subarray(0, 327_680)); // the whole fragment again
    hash.updateAt(200_001, input.subarray(200_001, 655_360)); // server kept part of the next fragment
    hash.updateAt(655_360, input.subarray(655_360, 700_000));
    hash.updateAt(699_999, input.subarray(699_999, 1_000_000));
    assert.equal(hash.hashedLength, 1_000_000);
    assert.equal(hash.digestBase64(), referenceQuickXorHash(input));
  });

  test("a gap throws instead of producing a wrong hash", () => {
    const hash = new OffsetQuickXorHash();
    hash.updateAt(0, Buffer.alloc(10));
    assert.throws(() => hash.updateAt(11, Buffer.alloc(5)), /hash gap: bytes 10-10 were never hashed/);
    assert.equal(hash.hashedLength, 10);
  });

  test("importState continues from a checkpoint, skipping bytes below it", () => {
    const input = randomBytes(400_000, 5);
    const before = new OffsetQuickXorHash();
    before.updateAt(0, input.subarray(0, 327_680));
    const after = new OffsetQuickXorHash();
    after.importState(before.exportState());
    after.updateAt(300_000, input.subarray(300_000));
    assert.equal(after.digestBase64(), referenceQuickXorHash(input));
  });
});

describe("quickXorLanes (the WebAssembly fold under QuickXorHash)", () => {
  /** XOR of each 160-byte period, byte by byte: what the SIMD module must produce. */
  function plainXorOfPeriods(bytes: Uint8Array): Uint8Array {
    const lanes = new Uint8Array(160);
    for (let index = 0; index < bytes.length; index++) lanes[index % 160] ^= bytes[index];
    return lanes;
  }

  test("matches a byte-by-byte fold for 0 to 1,000,000 bytes, across its 65,280-byte copy blocks, at unaligned offsets", () => {
    const backing = randomBytes(1_000_000 + 3, 11);
    for (const length of [0, 160, 320, 65_120, 65_280, 65_440, 130_560, 1_000_000]) {
      for (const start of [0, 1, 3]) {
        const input = backing.subarray(start, start + length);
        assert.deepEqual(Buffer.from(xorOfPeriods(input)), Buffer.from(plainXorOfPeriods(input)), `${length} bytes at byteOffset +${start}`);
      }
    }
  });

  test("refuses a length that is not whole periods, naming it", () => {
    assert.throws(() => xorOfPeriods(new Uint8Array(161)), (error: unknown) => error instanceof RangeError && /161 bytes/.test(error.message));
  });

  test("the embedded module is exactly quickXorLanes.wat assembled (run `npm run build:wasm` after editing the .wat)", async () => {
    const assembled = await assembleQuickXorLanes();
    assert.equal(QUICK_XOR_LANES_WASM_BASE64, assembled.toString("base64"));
  });
});
