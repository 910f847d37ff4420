/**
 * QuickXorHash as the OneDrive service computes it, written for the emulator only (the product has its own).
 *
 * Byte n of the stream is XORed into a 160-bit register at bit offset (n * 11) mod 160. Because 160 * 11 is a
 * multiple of 160, bytes whose positions agree mod 160 land on the same offset, so the stream is first XORed
 * cyclically into a 160-byte accumulator (40 little-endian 32-bit lanes, which is what makes it fast) and the
 * accumulator is folded into the register once, at digest time.
 */
const CYCLE_BYTES = 160;
const CYCLE_WORDS = CYCLE_BYTES / 4;
const RESULT_BYTES = 20;
/** Scratch for input that does not sit on a 4-byte boundary in memory (typed-array views need alignment). */
const SCRATCH_BYTES = 64 * 1024;

export class QuickXorHash {
  private readonly accumulatorWords = new Uint32Array(CYCLE_WORDS);
  private readonly accumulatorBytes = new Uint8Array(this.accumulatorWords.buffer);
  /** Position of the next byte inside the 160-byte cycle. */
  private cyclePosition = 0;
  private totalLength = 0;
  private static scratch: Buffer | undefined;

  get length(): number {
    return this.totalLength;
  }

  clone(): QuickXorHash {
    const copy = new QuickXorHash();
    copy.accumulatorWords.set(this.accumulatorWords);
    copy.cyclePosition = this.cyclePosition;
    copy.totalLength = this.totalLength;
    return copy;
  }

  update(data: Uint8Array): this {
    const accumulatorBytes = this.accumulatorBytes;
    let position = this.cyclePosition;
    let index = 0;
    const end = data.length;
    while (index < end && (position & 3) !== 0) {
      accumulatorBytes[position] ^= data[index++];
      position = position + 1 === CYCLE_BYTES ? 0 : position + 1;
    }
    const wholeWords = (end - index) >>> 2;
    if (wholeWords > 0) {
      position = this.xorWords(data, index, wholeWords, position);
      index += wholeWords * 4;
    }
    while (index < end) {
      accumulatorBytes[position] ^= data[index++];
      position = position + 1 === CYCLE_BYTES ? 0 : position + 1;
    }
    this.cyclePosition = position;
    this.totalLength += data.length;
    return this;
  }

  /** XORs wordCount 32-bit words of data (from byte `start`) into the accumulator; position is 4-aligned. */
  private xorWords(data: Uint8Array, start: number, wordCount: number, position: number): number {
    const accumulator = this.accumulatorWords;
    let word = position >>> 2;
    const absoluteStart = data.byteOffset + start;
    if ((absoluteStart & 3) === 0) {
      const words = new Uint32Array(data.buffer, absoluteStart, wordCount);
      for (let k = 0; k < wordCount; k++) {
        accumulator[word] ^= words[k];
        if (++word === CYCLE_WORDS) word = 0;
      }
      return (word << 2) % CYCLE_BYTES;
    }
    const scratch = (QuickXorHash.scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES));
    const scratchWords = new Uint32Array(scratch.buffer, scratch.byteOffset, SCRATCH_BYTES / 4);
    let remainingWords = wordCount;
    let offset = start;
    while (remainingWords > 0) {
      const batchWords = Math.min(remainingWords, SCRATCH_BYTES / 4);
      scratch.set(data.subarray(offset, offset + batchWords * 4));
      for (let k = 0; k < batchWords; k++) {
        accumulator[word] ^= scratchWords[k];
        if (++word === CYCLE_WORDS) word = 0;
      }
      remainingWords -= batchWords;
      offset += batchWords * 4;
    }
    return (word << 2) % CYCLE_BYTES;
  }

  digest(): Buffer {
    // One spare byte catches the bits that run past the 160-bit end; they wrap to byte 0.
    const register = new Uint8Array(RESULT_BYTES + 1);
    for (let i = 0; i < CYCLE_BYTES; i++) {
      const bitOffset = (i * 11) % 160;
      const shifted = this.accumulatorBytes[i] << (bitOffset & 7);
      const byteIndex = bitOffset >>> 3;
      register[byteIndex] ^= shifted & 0xff;
      register[byteIndex + 1] ^= shifted >>> 8;
    }
    register[0] ^= register[RESULT_BYTES];
    const result = Buffer.from(register.subarray(0, RESULT_BYTES));
    // The length goes in as a 64-bit little-endian integer over bytes 12..19.
    let length = this.totalLength;
    for (let i = 12; i < RESULT_BYTES; i++) {
      result[i] ^= length % 256;
      length = Math.floor(length / 256);
    }
    return result;
  }

  digestBase64(): string {
    return this.digest().toString("base64");
  }
}

export function quickXorHashBase64(...parts: Uint8Array[]): string {
  const hash = new QuickXorHash();
  for (const part of parts) hash.update(part);
  return hash.digestBase64();
}
