import { GraphError } from "../../onedrive/graphError";
import type { DriveItem } from "../../onedrive/graphTypes";
import { hasUnfinishedAttempt, namesUnsettledItem } from "../../storage/ledgerRow";
import { catchUpHash } from "../sessionSetup";
import { awaitReportedHash, verifyStoredItem } from "../verification";
import type { UploadContext, UploadPath, UploadResult } from "./uploadPath";

/**
 * An earlier attempt on this file may have had OneDrive store it without the ledger recording it done: its holder
 * stopped without releasing the claim (a crash, a killed host), it ended in a temporary failure, possibly after the
 * commit, or it failed after OneDrive held the verified file (a library refusing the check-in; the row then names
 * the item). Uploading again would then make a second copy under CONFLICT_BEHAVIOR=rename and a false conflict under
 * fail, so the item OneDrive holds answers first, if it holds these very bytes. A row that recorded an upload
 * session asks the session first (the upload session path does, and comes here only when the session is gone).
 */
export const interruptedRecovery: UploadPath = {
  name: "recovery of an interrupted upload",
  accepts: ({ claimed, row, blob }) =>
    !row.uploadUrl && (claimed.interruptedBefore || hasUnfinishedAttempt(row, blob.etag) || namesUnsettledItem(row, blob.etag)),
  async upload(context) {
    const stored = await findEarlierUpload(context);
    return stored ? recordedWithoutUpload(context, stored) : { kind: "notApplicable" };
  },
};

/**
 * The earlier attempt's item, reported as uploaded: verification, the library's time and check-in (libraryRules.ts)
 * and the record are the pipeline's.
 */
export async function recordedWithoutUpload(context: UploadContext, item: DriveItem): Promise<UploadResult> {
  const { services, blob, reader, hasher, signalUploaded } = context;
  services.log.warn(`${blob.name}: an earlier attempt had already stored this file in OneDrive; recording it without uploading again`);
  await reader.settle();
  signalUploaded();
  return { kind: "uploaded", item, quickXorHash: hasher.digestBase64(), fragments: 0, answeredBy: "graph" };
}

/**
 * OneDrive holds an item of the blob's size that an earlier attempt may have stored, but reported no quickXorHash
 * within the wait: neither recognised nor uploaded again (a second copy, or a false conflict). A temporary failure:
 * the next attempt asks again.
 */
export class EarlierUploadUnconfirmedError extends Error {
  override readonly name = "EarlierUploadUnconfirmedError";
}

/**
 * The item an earlier attempt stored, if it holds the blob's very size and QuickXorHash at the destination (under
 * rename, possibly as OneDrive's "name n.ext"): the item the row names, else the one at the destination path. The
 * blob is hashed only when an item of its size is there (a file that fits in one fragment through the attempt's
 * reader, whose bytes the path that uploads it needs anyway; a larger one from the row's hash checkpoint on), so a
 * file that is not there costs one or two requests. The bytes stay hashed for whichever path uploads the file.
 */
export async function findEarlierUpload(context: UploadContext): Promise<DriveItem | undefined> {
  const { services, blob, destination } = context;
  const candidate = (await itemNamedByRow(context)) ?? (await services.graph.getItemByPath(destination.fullPath));
  if (candidate === undefined || candidate.folder || candidate.size !== blob.size) return undefined;
  const item = await awaitReportedHash(candidate, () => services.graph.getItem(candidate.id), services);
  if (blob.size > 0 && !item.file?.hashes?.quickXorHash) {
    // Under replace an upload writes over this very item: no second copy, and only a verified upload is recorded.
    if (services.settings.conflictBehavior === "replace") return undefined;
    throw new EarlierUploadUnconfirmedError(
      `OneDrive holds "${destination.fullPath}" (item ${item.id}) with the blob's size, perhaps from an earlier attempt, but reported no quickXorHash to compare, so it was neither recorded nor uploaded again; the next attempt asks again. The blob was left untouched.`,
    );
  }
  await hashWholeBlob(context);
  const expected = { size: blob.size, quickXorHash: context.hasher.digestBase64(), destination, conflictBehavior: services.settings.conflictBehavior };
  return verifyStoredItem(item, expected).kind === "verified" ? item : undefined;
}

/** The item the row names for this blob version (see namesUnsettledItem); undefined when OneDrive no longer has it. */
async function itemNamedByRow({ services, row, blob }: UploadContext): Promise<DriveItem | undefined> {
  if (!namesUnsettledItem(row, blob.etag)) return undefined;
  try {
    return await services.graph.getItem(row.driveItemId);
  } catch (error) {
    if (error instanceof GraphError && error.status === 404) return undefined;
    throw error;
  }
}

async function hashWholeBlob({ services, row, reader, hasher, blob }: UploadContext): Promise<void> {
  if (blob.size === 0) return;
  if (blob.size <= services.settings.fragmentSizeBytes) {
    hasher.updateAt(0, await reader.read(0));
    return;
  }
  if (hasher.hashedLength === 0 && row.blobEtag === blob.etag && row.hashState && row.hashedBytes !== undefined) {
    hasher.importState({ state: row.hashState, length: row.hashedBytes });
  }
  await catchUpHash(services, blob, hasher, blob.size);
}
