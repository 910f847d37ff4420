import { randomFillSync } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { QuickXorHash, quickXorHashBase64 } from "../emulators/onedrive";

const SEED_BLOCK_BYTES = 16 * 1024 * 1024;
const STAGE_CONCURRENCY = 4;
const SMALL_BLOB_CONCURRENCY = 16;

async function inParallel(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * A large blob staged as 16 MiB blocks cut from one random buffer, each stamped with its index so no two blocks
 * are equal. Only one block of memory is needed here whatever the size (Azurite keeps the blob in its own memory).
 * Returns the blob's QuickXorHash (the emulator's own implementation), so a copy can be checked against the source.
 */
export async function seedLargeBlob(container: ContainerClient, name: string, totalBytes: number): Promise<string> {
  const pattern = randomFillSync(Buffer.allocUnsafe(SEED_BLOCK_BYTES));
  const blob = container.getBlockBlobClient(name);
  const blockCount = Math.ceil(totalBytes / SEED_BLOCK_BYTES);
  const blockIds = Array.from({ length: blockCount }, (_, index) => Buffer.from(`block-${String(index).padStart(6, "0")}`).toString("base64"));
  const blockBytes = (index: number): Buffer => {
    const length = Math.min(SEED_BLOCK_BYTES, totalBytes - index * SEED_BLOCK_BYTES);
    const block = Buffer.allocUnsafe(length);
    pattern.copy(block, 0, 0, length);
    block.writeUInt32LE(index, 0);
    block.writeUInt32LE((index ^ 0x9e3779b9) >>> 0, length - 4);
    return block;
  };
  await inParallel(blockCount, STAGE_CONCURRENCY, async (index) => {
    const block = blockBytes(index);
    await blob.stageBlock(blockIds[index], block, block.length);
  });
  await blob.commitBlockList(blockIds);
  // The blocks are staged out of order; the hash needs them in order, so they are cut again, one at a time.
  const hash = new QuickXorHash();
  for (let index = 0; index < blockCount; index++) hash.update(blockBytes(index));
  return hash.digestBase64();
}

/**
 * `count` distinct random blobs of `size` bytes named f000000.bin…, at the container root. Returns each name's
 * QuickXorHash.
 */
export async function seedSmallBlobs(container: ContainerClient, count: number, size: number): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  await inParallel(count, SMALL_BLOB_CONCURRENCY, async (index) => {
    const name = `f${String(index).padStart(6, "0")}.bin`;
    const content = randomFillSync(Buffer.allocUnsafe(size));
    hashes.set(name, quickXorHashBase64(content));
    await container.getBlockBlobClient(name).uploadData(content);
  });
  return hashes;
}
