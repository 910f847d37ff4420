import { QUICK_XOR_LANES_WASM_BASE64 } from "./quickXorLanesBinary";

/** Where the lanes and the input copy live in the module's one page of memory (see quickXorLanes.wat). */
const LANES_BYTES = 160;
const INPUT_OFFSET = 256;
/** Whole periods that fit between INPUT_OFFSET and the end of the page: 408 × 160 = 65,280 bytes a copy. */
const INPUT_CAPACITY = Math.floor((65_536 - INPUT_OFFSET) / LANES_BYTES) * LANES_BYTES;

interface LanesModule {
  memory: Uint8Array;
  xorPeriods(from: number, periods: number): void;
}

/** The part of the WebAssembly API used here (Node has it globally; the project's type libraries do not declare it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: { memory: { buffer: ArrayBuffer }; xorPeriods(from: number, periods: number): void } };
};

let instance: LanesModule | undefined;

/** Compiled on first use, once per thread (a 377-byte module: about 2 ms, measured cold). */
function lanesModule(): LanesModule {
  if (!instance) {
    const compiled = new WebAssembly.Module(Buffer.from(QUICK_XOR_LANES_WASM_BASE64, "base64"));
    const { exports } = new WebAssembly.Instance(compiled, {});
    // The memory has a fixed size (one page, no growth), so this view never goes stale.
    instance = { memory: new Uint8Array(exports.memory.buffer), xorPeriods: exports.xorPeriods };
  }
  return instance;
}

/**
 * XOR of every 160-byte period of `bytes` (its length a multiple of 160): byte k of the result is the XOR of bytes
 * k, k + 160, k + 320, ... The result is a view into the module's memory, valid until the next call.
 */
export function xorOfPeriods(bytes: Uint8Array): Uint8Array {
  if (bytes.length % LANES_BYTES !== 0) throw new RangeError(`xorOfPeriods takes whole 160-byte periods, got ${bytes.length} bytes`);
  const { memory, xorPeriods } = lanesModule();
  memory.fill(0, 0, LANES_BYTES);
  // The input is copied in (WebAssembly reads only its own memory); the copy runs at memory speed and leaves the
  // block in cache for the XOR that follows.
  for (let start = 0; start < bytes.length; start += INPUT_CAPACITY) {
    const block = bytes.subarray(start, Math.min(bytes.length, start + INPUT_CAPACITY));
    memory.set(block, INPUT_OFFSET);
    xorPeriods(INPUT_OFFSET, block.length / LANES_BYTES);
  }
  return memory.subarray(0, LANES_BYTES);
}
