import type { DriveItem } from "../../onedrive/graphTypes";
import { findCommittedItem } from "../sessionSetup";
import type { UploadContext, UploadPath } from "./uploadPath";

/**
 * A file that fits in one fragment is never checkpointed mid-upload, so when its previous attempt was interrupted
 * (the row was still claimed) the ledger cannot tell whether OneDrive committed it: the item at the destination
 * answers, if it holds these very bytes. Then it is recorded without uploading again, so CONFLICT_BEHAVIOR=rename
 * makes no duplicate and fail no false failure. Otherwise the file falls through to the other paths, its bytes
 * already read and hashed.
 */
export const interruptedRecovery: UploadPath = {
  name: "recovery of an interrupted upload",
  accepts: ({ services, claimed, row, blob }) =>
    claimed.interruptedBefore && blob.size > 0 && blob.size <= services.settings.fragmentSizeBytes && !row.uploadUrl,
  async upload(context) {
    const committed = await findInterruptedUpload(context);
    if (!committed) return { kind: "notApplicable" };
    const { services, blob, reader, hasher, signalUploaded } = context;
    services.log.warn(`${blob.name}: an interrupted earlier attempt had already stored this file in OneDrive; recording it without uploading again`);
    await reader.settle();
    signalUploaded();
    return { kind: "uploaded", item: committed, quickXorHash: hasher.digestBase64(), fragments: 0, answeredBy: "graph" };
  },
};

/** The committed item holding the blob's bytes, with the blob's time set on it; leaves the bytes hashed either way. */
async function findInterruptedUpload({ services, reader, hasher, blob, destination }: UploadContext): Promise<DriveItem | undefined> {
  hasher.updateAt(0, await reader.read(0));
  const committed = await findCommittedItem(services.graph, destination, blob.size, hasher.digestBase64());
  if (committed === undefined) return undefined;
  // A batched file stored just before the interruption may still lack the blob's time (set by a second request).
  const storedTime = Date.parse(committed.fileSystemInfo?.lastModifiedDateTime ?? "");
  if (Math.abs(storedTime - blob.lastModified.getTime()) < 1000) return committed;
  return services.graph.setLastModified(committed.id, blob.lastModified.toISOString());
}
