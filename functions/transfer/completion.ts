import type { DriveItem } from "../onedrive/graphTypes";
import type { SourceBlob } from "../storage/blobSource";
import type { ClaimedRow, LedgerChanges } from "../storage/ledger";
import { applyAfterTransfer } from "./afterTransfer";
import type { Destination } from "./destinationPath";
import { PermanentUploadError } from "./sessionUpload";
import type { FileOutcome, TransferServices } from "./transferTypes";
import { verifyStoredItem } from "./verification";

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The end of a transfer: checks the size and hash OneDrive reports against the blob, records the verified upload
 * in the ledger, and only then applies AFTER_TRANSFER.
 */
export async function recordVerifiedUpload(
  services: TransferServices,
  claimed: ClaimedRow,
  blob: SourceBlob,
  destination: Destination,
  uploaded: DriveItem,
  quickXorHash: string,
  fragments: number,
  startedAt: number,
  fresh: LedgerChanges,
): Promise<FileOutcome> {
  const base = { blob: blob.name, path: destination.fullPath };
  // Hashes can appear on the item a little after the upload completes.
  const item = uploaded.file?.hashes?.quickXorHash || blob.size === 0 ? uploaded : await services.graph.getItem(uploaded.id);
  const verification = verifyStoredItem(item, { size: blob.size, quickXorHash, fileName: destination.fileName });
  const finishedAt = services.now();
  if (!verification.ok) {
    throw new PermanentUploadError(`OneDrive's copy of "${destination.fullPath}" does not match the blob: ${verification.problem}. The blob was left untouched.`);
  }
  if (verification.warning) services.log.warn(`${blob.name}: ${verification.warning}`);
  const done: LedgerChanges = {
    ...fresh, status: "done", driveItemId: item.id, quickXorHash, confirmedBytes: blob.size, fragments,
    uploadUrl: undefined, uploadExpiresAt: undefined, hashState: undefined, hashedBytes: undefined, finishedAt: new Date(finishedAt).toISOString(),
    durationMs: finishedAt - startedAt, warning: verification.warning, lastError: undefined, queuedAt: undefined, queuedEtag: undefined,
    afterTransferDone: services.settings.afterTransfer === "keep",
  };
  let warning = verification.warning;
  if (services.settings.afterTransfer === "keep") {
    await claimed.release(done);
  } else {
    await claimed.update(done);
    // The upload is verified and recorded: a failure from here on is a warning, never a failed transfer.
    const note = await applyAfterTransfer(services.settings.afterTransfer, blob, services.source.container, services.archive).catch(
      (error: unknown) => `AFTER_TRANSFER=${services.settings.afterTransfer} failed (${describe(error)}); the blob was left in place`,
    );
    if (note) {
      warning = warning ? `${warning}; ${note}` : note;
      services.log.warn(`${blob.name}: ${note}`);
    }
    await claimed.release({ afterTransferDone: note === undefined, warning });
  }
  services.log.info(`${blob.name} → ${destination.fullPath}: ${blob.size} bytes in ${fragments} fragment${fragments === 1 ? "" : "s"}, verified`);
  return { ...base, status: "uploaded", bytes: blob.size, chunks: fragments, warning, driveItemId: item.id };
}
