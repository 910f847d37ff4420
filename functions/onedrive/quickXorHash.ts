import { xorOfPeriods } from "./quickXorLanes";

/**
 * QuickXorHash, the content hash OneDrive reports on every drive (business and personal).
 *
 * Byte number n of the stream is XORed into a 160-bit register at bit offset (n * 11) mod 160; the 64-bit
 * little-endian byte count is XORed into bytes 12..19 at the end. Because 160 * 11 ≡ 0 (mod 160), every byte whose
 * stream position agrees mod 160 lands on the same bit offset. So hashing reduces to XOR-ing the input, 160 bytes
 * at a time, into a 160-byte accumulator (quickXorLanes: WebAssembly SIMD, 16 bytes an instruction), and the
 * shifted placement into the register happens once, in digest().
 */

const REGISTER_BYTES = 20;
const PERIOD_BYTES = 160;
const LENGTH_OFFSET = 12;
const TWO_POW_32 = 0x1_0000_0000;
/** Names the checkpoint format, so a change to it cannot be misread as valid state. */
const STATE_PREFIX = "qxh1:";

/** A checkpoint: `state` is opaque text, `length` the bytes hashed so far. */
export interface QuickXorHashState {
  state: string;
  length: number;
}

export class QuickXorHash {
  /** accumulator[p] = XOR of every byte at a stream position ≡ p (mod 160). */
  private readonly accumulator = new Uint8Array(PERIOD_BYTES);
  private byteCount = 0;

  get length(): number {
    return this.byteCount;
  }

  update(bytes: Uint8Array): this {
    const total = bytes.length;
    // Whole periods go through the SIMD fold, whose lanes are folded back at the stream position where they began;
    // the remainder (under 160 bytes) is XORed byte by byte.
    const periodBytes = total - (total % PERIOD_BYTES);
    if (periodBytes > 0) {
      this.foldLanes(xorOfPeriods(bytes.subarray(0, periodBytes)), this.byteCount);
      this.byteCount += periodBytes;
    }
    this.xorBytes(bytes, periodBytes, total);
    return this;
  }

  /** The 20-byte hash of everything so far; the hash can keep going afterwards. */
  digest(): Buffer {
    const register = new Uint8Array(REGISTER_BYTES + 1);
    const accumulator = this.accumulator;
    for (let position = 0; position < PERIOD_BYTES; position++) {
      const value = accumulator[position];
      if (value === 0) continue;
      const bitOffset = (position * 11) % PERIOD_BYTES;
      const byteIndex = bitOffset >>> 3;
      const shifted = value << (bitOffset & 7);
      register[byteIndex] ^= shifted & 0xff;
      // The register is cyclic: bits past byte 19 wrap to byte 0.
      register[byteIndex === REGISTER_BYTES - 1 ? 0 : byteIndex + 1] ^= shifted >>> 8;
    }
    const result = Buffer.alloc(REGISTER_BYTES);
    result.set(register.subarray(0, REGISTER_BYTES));
    const low = this.byteCount % TWO_POW_32;
    const high = Math.floor(this.byteCount / TWO_POW_32);
    result.writeUInt32LE((result.readUInt32LE(LENGTH_OFFSET) ^ low) >>> 0, LENGTH_OFFSET);
    result.writeUInt32LE((result.readUInt32LE(LENGTH_OFFSET + 4) ^ high) >>> 0, LENGTH_OFFSET + 4);
    return result;
  }

  digestBase64(): string {
    return this.digest().toString("base64");
  }

  /**
   * The running state as text (for a checkpoint in a table row), so a later process can continue hashing after
   * bytes[0, length) without reading them again.
   */
  exportState(): QuickXorHashState {
    return { state: STATE_PREFIX + Buffer.from(this.accumulator).toString("base64"), length: this.byteCount };
  }

  /** Replaces the state with one from exportState(). */
  importState(checkpoint: QuickXorHashState): this {
    const { state, length } = checkpoint;
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`hash checkpoint length must be a non-negative integer, got ${length}`);
    const bytes = state.startsWith(STATE_PREFIX) ? Buffer.from(state.slice(STATE_PREFIX.length), "base64") : undefined;
    if (!bytes || bytes.length !== PERIOD_BYTES) throw new Error("unreadable QuickXorHash checkpoint (not from exportState of this version)");
    this.accumulator.set(bytes);
    this.byteCount = length;
    return this;
  }

  private xorBytes(bytes: Uint8Array, from: number, to: number): void {
    const accumulator = this.accumulator;
    let position = this.byteCount % PERIOD_BYTES;
    for (let index = from; index < to; index++) {
      accumulator[position] ^= bytes[index];
      if (++position === PERIOD_BYTES) position = 0;
    }
    this.byteCount += to - from;
  }

  /** XORs lane bytes (lane byte k from stream position runStart + k) into the accumulator. */
  private foldLanes(laneBytes: Uint8Array, runStart: number): void {
    const accumulator = this.accumulator;
    let position = runStart % PERIOD_BYTES;
    for (let k = 0; k < PERIOD_BYTES; k++) {
      accumulator[position] ^= laneBytes[k];
      if (++position === PERIOD_BYTES) position = 0;
    }
  }
}

/**
 * A QuickXorHash fed by absolute stream offsets. After a resume the engine may re-read bytes the hash has already
 * seen (the server kept only part of a fragment, or a fragment is resent); those are skipped, and a gap throws
 * because the hash would silently be wrong.
 */
export class OffsetQuickXorHash {
  private readonly hash = new QuickXorHash();

  get hashedLength(): number {
    return this.hash.length;
  }

  updateAt(offset: number, bytes: Uint8Array): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
    const hashedLength = this.hash.length;
    if (offset > hashedLength) {
      throw new RangeError(`hash gap: bytes ${hashedLength}-${offset - 1} were never hashed; updateAt must continue from ${hashedLength}`);
    }
    const alreadyHashed = hashedLength - offset;
    if (alreadyHashed >= bytes.length) return;
    this.hash.update(alreadyHashed === 0 ? bytes : bytes.subarray(alreadyHashed));
  }

  digestBase64(): string {
    return this.hash.digestBase64();
  }

  exportState(): QuickXorHashState {
    return this.hash.exportState();
  }

  /** Continues from a checkpoint; bytes below `length` are then skipped by updateAt. */
  importState(checkpoint: QuickXorHashState): void {
    this.hash.importState(checkpoint);
  }
}

export function quickXorHashBase64(bytes: Uint8Array): string {
  return new QuickXorHash().update(bytes).digestBase64();
}
