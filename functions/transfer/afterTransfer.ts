import { RestError } from "@azure/core-rest-pipeline";
import type { ContainerClient } from "@azure/storage-blob";
import type { AfterTransferMode } from "../config/settings";
import { callContext } from "../http/callContext";
import type { SourceBlob } from "../storage/blobSource";

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : (error as { statusCode?: number })?.statusCode;
}

/**
 * Runs only after the verified upload is recorded in the ledger. Every step is pinned to the transferred ETag, so a
 * version written after the transfer began is never deleted or archived in its place. Returns a note when the blob
 * was left alone for that reason.
 */
export async function applyAfterTransfer(
  mode: AfterTransferMode,
  blob: SourceBlob,
  source: ContainerClient,
  archive: ContainerClient,
): Promise<string | undefined> {
  if (mode === "keep") return undefined;
  const sourceBlob = source.getBlobClient(blob.name);
  const pinned = { ifMatch: `"${blob.etag}"` };
  try {
    if (mode === "archive") {
      await archive.createIfNotExists();
      // Each request is bounded in the blob pipeline (storageRetries.ts); the copy's polling ends with the invocation.
      const poller = await archive.getBlobClient(blob.name).beginCopyFromURL(sourceBlob.url, { sourceConditions: pinned, abortSignal: callContext().signal });
      await poller.pollUntilDone();
    }
    await sourceBlob.delete({ conditions: pinned });
    return undefined;
  } catch (error) {
    const status = statusOf(error);
    if (status === 412 || status === 404) return `blob changed or vanished after its upload; ${mode} skipped, the newer version is left in place`;
    throw error;
  }
}
