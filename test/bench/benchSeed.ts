import { randomFillSync } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";

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
 */
export async function seedLargeBlob(container: ContainerClient, name: string, totalBytes: number): Promise<void> {
  const pattern = randomFillSync(Buffer.allocUnsafe(SEED_BLOCK_BYTES));
  const blob = container.getBlockBlobClient(name);
  const blockCount = Math.ceil(totalBytes / SEED_BLOCK_BYTES);
  const blockIds = Array.from({ length: blockCount }, (_, index) => Buffer.from(`block-${String(index).padStart(6, "0")}`).toString("base64"));
  await inParallel(blockCount, STAGE_CONCURRENCY, async (index) => {
    const length = Math.min(SEED_BLOCK_BYTES, totalBytes - index * SEED_BLOCK_BYTES);
    const block = Buffer.allocUnsafe(length);
    pattern.copy(block, 0, 0, length);
    block.writeUInt32LE(index, 0);
    block.writeUInt32LE((index ^ 0x9e3779b9) >>> 0, length - 4);
    await blob.stageBlock(blockIds[index], block, length);
  });
  await blob.commitBlockList(blockIds);
}

/** `count` distinct random blobs of `size` bytes named f000000.bin…, at the container root. */
export async function seedSmallBlobs(container: ContainerClient, count: number, size: number): Promise<void> {
  await inParallel(count, SMALL_BLOB_CONCURRENCY, async (index) => {
    const name = `f${String(index).padStart(6, "0")}.bin`;
    await container.getBlockBlobClient(name).uploadData(randomFillSync(Buffer.allocUnsafe(size)));
  });
}
