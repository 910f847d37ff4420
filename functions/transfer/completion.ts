import { errorText } from "../shared/errorText";
import type { DriveItem } from "../onedrive/graphTypes";
import type { SourceBlob } from "../storage/blobSource";
import type { ClaimedRow } from "../storage/ledger";
import { doneChanges, type LedgerChanges } from "../storage/ledgerRow";
import { applyAfterTransfer } from "./afterTransfer";
import type { Destination } from "./destinationPath";
import { PermanentUploadError } from "./sessionUpload";
import type { FileOutcome, TransferServices } from "./transferTypes";
import { verifyStoredItem } from "./verification";

/** An upload whose stored size and hash match the blob's (or differ as SharePoint's rewrite of the type allows). */
export interface VerifiedUpload {
  item: DriveItem;
  quickXorHash: string;
  fragments: number;
  warning?: string;
}

/**
 * Checks the size and hash OneDrive reports against the blob; throws PermanentUploadError when they do not match,
 * so the blob is left untouched and the row records a failure.
 */
export async function verifyUpload(
  services: TransferServices,
  blob: SourceBlob,
  destination: Destination,
  uploaded: { item: DriveItem; quickXorHash: string; fragments: number },
): Promise<VerifiedUpload> {
  // Hashes can appear on the item a little after the upload completes.
  const item = uploaded.item.file?.hashes?.quickXorHash || blob.size === 0 ? uploaded.item : await services.graph.getItem(uploaded.item.id);
  const verification = verifyStoredItem(item, { size: blob.size, quickXorHash: uploaded.quickXorHash, fileName: destination.fileName });
  if (!verification.ok) {
    throw new PermanentUploadError(`OneDrive's copy of "${destination.fullPath}" does not match the blob: ${verification.problem}. The blob was left untouched.`);
  }
  if (verification.warning) services.log.warn(`${blob.name}: ${verification.warning}`);
  return { item, quickXorHash: uploaded.quickXorHash, fragments: uploaded.fragments, warning: verification.warning };
}

/**
 * Records a verified upload in the ledger, only then applies AFTER_TRANSFER (a failure there is a warning, never a
 * failed transfer), and releases the claim.
 */
export async function recordVerifiedUpload(
  services: TransferServices,
  claimed: ClaimedRow,
  blob: SourceBlob,
  destination: Destination,
  verified: VerifiedUpload,
  startedAt: number,
  attemptStart: LedgerChanges,
): Promise<FileOutcome> {
  const { afterTransfer } = services.settings;
  const done: LedgerChanges = {
    ...attemptStart,
    ...doneChanges({
      driveItemId: verified.item.id, quickXorHash: verified.quickXorHash, size: blob.size, fragments: verified.fragments,
      startedAt, finishedAt: services.now(), warning: verified.warning, afterTransferDone: afterTransfer === "keep",
    }),
  };
  let warning = verified.warning;
  if (afterTransfer === "keep") {
    await claimed.release(done);
  } else {
    await claimed.update(done);
    const note = await applyAfterTransfer(afterTransfer, blob, services.source.container, services.archive).catch(
      (error: unknown) => `AFTER_TRANSFER=${afterTransfer} failed (${errorText(error)}); the blob was left in place`,
    );
    if (note) {
      warning = warning ? `${warning}; ${note}` : note;
      services.log.warn(`${blob.name}: ${note}`);
    }
    await claimed.release({ afterTransferDone: note === undefined, warning });
  }
  const { fragments } = verified;
  services.log.info(`${blob.name} → ${destination.fullPath}: ${blob.size} bytes in ${fragments} fragment${fragments === 1 ? "" : "s"}, verified`);
  return { blob: blob.name, path: destination.fullPath, status: "uploaded", bytes: blob.size, fragments, warning, driveItemId: verified.item.id };
}
