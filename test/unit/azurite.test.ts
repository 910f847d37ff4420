import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite } from "../support/azurite";

test("Azurite starts on ephemeral ports and serves blobs", async () => {
  const azurite = await startAzurite();
  try {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const container = service.getContainerClient("smoke");
    await container.create();
    await container.getBlockBlobClient("a.txt").upload("hi", 2);
    const downloaded = await container.getBlobClient("a.txt").downloadToBuffer();
    assert.equal(downloaded.toString(), "hi");
  } finally {
    await azurite.stop();
  }
});
