import { errorText } from "../shared/errorText";
import { GraphError } from "../onedrive/graphError";
import type { DriveItem } from "../onedrive/graphTypes";
import type { SourceBlob } from "../storage/blobSource";
import type { ClaimedRow } from "../storage/ledger";
import { doneChanges, type LedgerChanges } from "../storage/ledgerRow";
import { applyAfterTransfer } from "./afterTransfer";
import { isSharePointDestination } from "./libraryRules";
import type { Destination } from "./destinationPath";
import { PermanentUploadError } from "./sessionUpload";
import type { FileOutcome, TransferServices } from "./transferTypes";
import { awaitReportedHash, verifyStoredItem } from "./verification";

/**
 * An upload OneDrive holds at the destination: verified byte for byte, or accepted with a warning (then keepBlob:
 * AFTER_TRANSFER leaves the blob alone).
 */
export interface VerifiedUpload {
  item: DriveItem;
  quickXorHash: string;
  fragments: number;
  warning?: string;
  keepBlob: boolean;
}

/**
 * Reads the committed item back through Graph by the id the upload host answered with (never trusting that answer
 * itself), then checks its place, size and hash against the blob; throws PermanentUploadError when they do
 * not match, so the blob is left untouched and the row records a failure.
 */
export async function verifyUpload(
  services: TransferServices,
  blob: SourceBlob,
  destination: Destination,
  uploaded: { item: DriveItem; quickXorHash: string; fragments: number; answeredBy: "graph" | "uploadHost" },
): Promise<VerifiedUpload> {
  // An item the Graph API itself answered with (simple and batched PUTs, a lookup) needs no second GET unless it
  // lacks its hash; the upload host's answer is never taken as it is.
  const answeredByGraph = uploaded.answeredBy === "graph" && (uploaded.item.file?.hashes?.quickXorHash || blob.size === 0);
  // On a SharePoint-backed drive the read-back also asks whether the library left the file checked out (libraryRules.ts).
  const item = answeredByGraph
    ? uploaded.item
    : await readBackCommittedItem(services, blob, destination, uploaded.item.id, await isSharePointDestination(services));
  const verification = verifyStoredItem(item, {
    size: blob.size, quickXorHash: uploaded.quickXorHash, destination, conflictBehavior: services.settings.conflictBehavior,
  });
  if (verification.kind === "failed") {
    throw new PermanentUploadError(`OneDrive's copy of "${destination.fullPath}" does not match the blob: ${verification.problem}. The blob was left untouched.`);
  }
  const warning = verification.kind === "unconfirmed" ? verification.warning : undefined;
  if (warning) services.log.warn(`${blob.name}: ${warning}`);
  return { item, quickXorHash: uploaded.quickXorHash, fragments: uploaded.fragments, warning, keepBlob: warning !== undefined };
}

/** GET /items/{id} through the Graph client, asked again (bounded) while a non-empty file has no hash yet. */
async function readBackCommittedItem(services: TransferServices, blob: SourceBlob, destination: Destination, itemId: string, withPublication: boolean): Promise<DriveItem> {
  const read = (): Promise<DriveItem> => getCommittedItem(services, destination, itemId, withPublication);
  const first = await read();
  return blob.size === 0 ? first : awaitReportedHash(first, read, services);
}

async function getCommittedItem(services: TransferServices, destination: Destination, itemId: string, withPublication: boolean): Promise<DriveItem> {
  if (!itemId) throw new PermanentUploadError(`the upload of "${destination.fullPath}" was answered without an item id. The blob was left untouched.`);
  try {
    return await services.graph.getItem(itemId, { withPublication });
  } catch (error) {
    if (error instanceof GraphError && error.status === 404) {
      throw new PermanentUploadError(
        `the upload of "${destination.fullPath}" was answered with item ${itemId}, which OneDrive does not hold. The blob was left untouched.`,
        error,
      );
    }
    throw error;
  }
}

/**
 * Records a verified upload in the ledger, only then applies AFTER_TRANSFER (a failure there is a warning, never a
 * failed transfer), and releases the claim. A file accepted with a warning keeps its blob whatever AFTER_TRANSFER
 * says, and its row says so (afterTransferDone false, the warning).
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
  const keptUnverified = verified.keepBlob && afterTransfer !== "keep";
  let warning = keptUnverified ? `${verified.warning}; AFTER_TRANSFER=${afterTransfer} was not applied` : verified.warning;
  const done: LedgerChanges = {
    ...attemptStart,
    ...doneChanges({
      driveItemId: verified.item.id, quickXorHash: verified.quickXorHash, size: blob.size, fragments: verified.fragments,
      startedAt, finishedAt: services.now(), warning, afterTransferDone: afterTransfer === "keep",
    }),
  };
  if (afterTransfer === "keep" || keptUnverified) {
    await claimed.release(done);
    if (keptUnverified) services.log.warn(`${blob.name} → ${destination.fullPath}: uploaded but not verified byte for byte; the blob was kept`);
  } else {
    await claimed.update({ ...done, afterTransferPending: true });
    const note = await applyAfterTransfer(afterTransfer, blob, services.source.container, services.archive).catch(
      (error: unknown) => `AFTER_TRANSFER=${afterTransfer} failed (${errorText(error)}); the blob was left in place`,
    );
    if (note) {
      warning = warning ? `${warning}; ${note}` : note;
      services.log.warn(`${blob.name}: ${note}`);
    }
    await claimed.release({ afterTransferDone: note === undefined, afterTransferPending: undefined, warning });
  }
  const { fragments } = verified;
  services.log.info(`${blob.name} → ${destination.fullPath}: ${blob.size} bytes in ${fragments} fragment${fragments === 1 ? "" : "s"}${keptUnverified ? "" : ", verified"}`);
  return { blob: blob.name, path: destination.fullPath, status: "uploaded", bytes: blob.size, fragments, warning, driveItemId: verified.item.id };
}
