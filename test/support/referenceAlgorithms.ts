/**
 * Small reference algorithms the tests and emulators share. Each is written straight from its specification and is
 * independent of the product's code, so checking the product (or an emulator) against it means something.
 */

/** mulberry32: a tiny seeded PRNG, so random cuts, data and fault runs are reproducible from their seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** QuickXorHash bit by bit from the algorithm text: byte n at bit offset (n × 11) mod 160, length in bytes 12-19. */
export function referenceQuickXorHash(input: Uint8Array): string {
  const register = new Uint8Array(20);
  for (let n = 0; n < input.length; n++) {
    const bitOffset = (n * 11) % 160;
    for (let bit = 0; bit < 8; bit++) {
      if ((input[n] >> bit) & 1) {
        const target = (bitOffset + bit) % 160;
        register[target >> 3] ^= 1 << (target & 7);
      }
    }
  }
  let length = input.length;
  for (let i = 12; i < 20; i++) {
    register[i] ^= length % 256;
    length = Math.floor(length / 256);
  }
  return Buffer.from(register).toString("base64");
}
