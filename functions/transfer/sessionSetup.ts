import type { GraphClient } from "../onedrive/graphClient";
import type { DriveItem } from "../onedrive/graphTypes";
import type { OffsetQuickXorHash } from "../onedrive/quickXorHash";
import { nextExpectedOffset } from "../onedrive/uploadSessionClient";
import type { SourceBlob } from "../storage/blobSource";
import type { LedgerRecord } from "../storage/ledgerRow";
import type { Destination } from "./destinationPath";
import { FragmentReader } from "./fragmentReader";
import type { TransferServices } from "./transferTypes";

/** Where an upload session stands: its URL, the server's next expected byte, the fragments sent into it so far. */
export interface SessionState {
  uploadUrl: string;
  /** The URL's seal under this deployment's key (uploadUrlTrust.ts), recorded beside it. */
  uploadUrlSeal: string;
  offset: number;
  fragments: number;
}

/**
 * A session recorded for this very blob version that OneDrive still holds resumes where the server says. A recorded
 * URL this deployment did not receive from Graph (its seal does not verify) is never contacted, not even to cancel it.
 */
export async function resumeRecordedSession(services: TransferServices, record: LedgerRecord, blob: SourceBlob, hasher: OffsetQuickXorHash): Promise<SessionState | undefined> {
  if (!record.uploadUrl) return undefined;
  if (!services.uploadUrlSeal.verifies(record.uploadUrl, record.uploadUrlSeal)) {
    services.log.warn(
      `${blob.name}: the upload URL recorded in its ledger row carries no valid seal of this deployment, so it was not contacted; starting a new upload session`,
    );
    return undefined;
  }
  const sameVersion = record.blobEtag === blob.etag && record.status === "uploading";
  const expired = record.uploadExpiresAt !== undefined && Date.parse(record.uploadExpiresAt) <= services.now();
  if (!sameVersion || expired) {
    // Frees the path: OneDrive for Business allows one open session per path.
    await services.uploads.cancel(record.uploadUrl).catch(() => undefined);
    return undefined;
  }
  const status = await services.uploads.getStatus(record.uploadUrl);
  const offset = status === "notFound" ? undefined : nextExpectedOffset(status.nextExpectedRanges);
  if (offset === undefined) return undefined;
  if (record.hashState && record.hashedBytes !== undefined) hasher.importState({ state: record.hashState, length: record.hashedBytes });
  return { uploadUrl: record.uploadUrl, uploadUrlSeal: record.uploadUrlSeal!, offset, fragments: record.fragments };
}

/** Hashes bytes OneDrive already holds but this process has not seen (a resume past the last checkpoint). */
export async function catchUpHash(services: TransferServices, blob: SourceBlob, hasher: OffsetQuickXorHash, upTo: number): Promise<void> {
  if (hasher.hashedLength >= upTo) return;
  const reader = new FragmentReader(services.source, blob, services.fragmentBuffers);
  let offset = hasher.hashedLength;
  while (offset < upTo) {
    const bytes = await reader.read(offset);
    const usable = bytes.subarray(0, Math.min(bytes.length, upTo - offset));
    hasher.updateAt(offset, usable);
    offset += usable.length;
    if (offset < upTo) reader.readAhead(offset);
  }
  await reader.settle();
}

export async function createSession(services: TransferServices, blob: SourceBlob, destination: Destination): Promise<SessionState> {
  const parentId = await services.graph.ensureFolderPath(destination.folderPath);
  const info = await services.graph.createUploadSession(parentId, destination.fileName, {
    conflictBehavior: services.settings.conflictBehavior,
    fileSize: blob.size,
    lastModifiedDateTime: blob.lastModified.toISOString(),
  });
  return {
    uploadUrl: info.uploadUrl, uploadUrlSeal: services.uploadUrlSeal.seal(info.uploadUrl), offset: nextExpectedOffset(info.nextExpectedRanges) ?? 0, fragments: 0,
  };
}

export async function findCommittedItem(graph: GraphClient, destination: Destination, size: number, quickXorHash: string): Promise<DriveItem | undefined> {
  const item = await graph.getItemByPath(destination.fullPath);
  return item && item.size === size && item.file?.hashes?.quickXorHash === quickXorHash ? item : undefined;
}
