import type { DriveItem } from "../../onedrive/graphTypes";
import { hasUnfinishedAttempt } from "../../storage/ledgerRow";
import { catchUpHash, findCommittedItem } from "../sessionSetup";
import type { UploadContext, UploadPath, UploadResult } from "./uploadPath";

/**
 * An earlier attempt on this file may have had OneDrive commit it without the ledger learning so: its holder stopped
 * without releasing the claim (a crash, a killed host) or it ended in a temporary failure, possibly after the commit.
 * Uploading again would then make a second copy under CONFLICT_BEHAVIOR=rename and a false conflict under fail, so
 * the item at the destination answers first, if it holds these very bytes. A row that recorded an upload session
 * asks the session first (the upload session path does, and comes here only when the session is gone).
 */
export const interruptedRecovery: UploadPath = {
  name: "recovery of an interrupted upload",
  accepts: ({ claimed, row, blob }) => !row.uploadUrl && (claimed.interruptedBefore || hasUnfinishedAttempt(row, blob.etag)),
  async upload(context) {
    const stored = await findEarlierUpload(context);
    return stored ? recordedWithoutUpload(context, stored) : { kind: "notApplicable" };
  },
};

/** The earlier attempt's committed item, reported as uploaded: verification and the record are the pipeline's. */
export async function recordedWithoutUpload(context: UploadContext, item: DriveItem): Promise<UploadResult> {
  const { services, blob, reader, hasher, signalUploaded } = context;
  services.log.warn(`${blob.name}: an interrupted earlier attempt had already stored this file in OneDrive; recording it without uploading again`);
  await reader.settle();
  signalUploaded();
  return { kind: "uploaded", item, quickXorHash: hasher.digestBase64(), fragments: 0, answeredBy: "graph" };
}

/**
 * The item at the destination if it holds the blob's very size and QuickXorHash, with the blob's time set on it.
 * A file that fits in one fragment is read and hashed first: the path that uploads it needs those bytes anyway. A
 * larger one is hashed only when an item of its size is there, from the row's hash checkpoint on, so a file that
 * is not there costs one request. Either way the bytes stay hashed for whichever path uploads the file.
 */
export async function findEarlierUpload(context: UploadContext): Promise<DriveItem | undefined> {
  const { services, row, reader, hasher, blob, destination } = context;
  let committed: DriveItem | undefined;
  if (blob.size === 0) {
    // No bytes to compare: an empty file at the destination holds exactly the blob's content.
    const item = await services.graph.getItemByPath(destination.fullPath);
    committed = item && !item.folder && item.size === 0 ? item : undefined;
  } else if (blob.size <= services.settings.fragmentSizeBytes) {
    hasher.updateAt(0, await reader.read(0));
    committed = await findCommittedItem(services.graph, destination, blob.size, hasher.digestBase64());
  } else {
    const item = await services.graph.getItemByPath(destination.fullPath);
    if (!item || item.size !== blob.size || !item.file?.hashes?.quickXorHash) return undefined;
    if (hasher.hashedLength === 0 && row.blobEtag === blob.etag && row.hashState && row.hashedBytes !== undefined) {
      hasher.importState({ state: row.hashState, length: row.hashedBytes });
    }
    await catchUpHash(services, blob, hasher, blob.size);
    committed = item.file.hashes.quickXorHash === hasher.digestBase64() ? item : undefined;
  }
  if (committed === undefined) return undefined;
  // A batched file stored just before the interruption may still lack the blob's time (set by a second request).
  const storedTime = Date.parse(committed.fileSystemInfo?.lastModifiedDateTime ?? "");
  if (Math.abs(storedTime - blob.lastModified.getTime()) < 1000) return committed;
  return services.graph.setLastModified(committed.id, blob.lastModified.toISOString());
}
