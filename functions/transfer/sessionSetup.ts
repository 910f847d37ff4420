import type { GraphClient } from "../onedrive/graphClient";
import type { DriveItem } from "../onedrive/graphTypes";
import type { OffsetQuickXorHash } from "../onedrive/quickXorHash";
import { nextExpectedOffset } from "../onedrive/uploadSessionClient";
import type { SourceBlob } from "../storage/blobSource";
import type { LedgerRecord } from "../storage/ledger";
import type { Destination } from "./destinationPath";
import { FragmentReader } from "./fragmentReader";
import type { TransferServices } from "./transferTypes";

/** Where an upload session stands: its URL, the server's next expected byte, the fragments sent into it so far. */
export interface SessionState {
  uploadUrl: string;
  offset: number;
  fragments: number;
}

/** A session recorded for this very blob version that OneDrive still holds resumes where the server says. */
export async function resumeRecordedSession(services: TransferServices, record: LedgerRecord, blob: SourceBlob, hasher: OffsetQuickXorHash): Promise<SessionState | undefined> {
  if (!record.uploadUrl) return undefined;
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
  return { uploadUrl: record.uploadUrl, offset, fragments: record.fragments };
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
  return { uploadUrl: info.uploadUrl, offset: nextExpectedOffset(info.nextExpectedRanges) ?? 0, fragments: 0 };
}

export async function findCommittedItem(graph: GraphClient, destination: Destination, size: number, quickXorHash: string): Promise<DriveItem | undefined> {
  const item = await graph.getItemByPath(destination.fullPath);
  return item && item.size === size && item.file?.hashes?.quickXorHash === quickXorHash ? item : undefined;
}

/**
 * A file that fits in one fragment is never checkpointed mid-upload, so when its previous attempt was interrupted the
 * ledger cannot tell whether OneDrive committed it: the item at the destination answers, if it holds these very
 * bytes. Leaves the blob's bytes hashed in `hasher` either way.
 */
export async function findInterruptedUpload(
  services: TransferServices,
  reader: FragmentReader,
  hasher: OffsetQuickXorHash,
  blob: SourceBlob,
  destination: Destination,
): Promise<DriveItem | undefined> {
  if (blob.size === 0) return undefined;
  hasher.updateAt(0, await reader.read(0));
  const committed = await findCommittedItem(services.graph, destination, blob.size, hasher.digestBase64());
  if (committed === undefined) return undefined;
  // A batched file stored just before the interruption may still lack the blob's time (set by a second request).
  const storedTime = Date.parse(committed.fileSystemInfo?.lastModifiedDateTime ?? "");
  if (Math.abs(storedTime - blob.lastModified.getTime()) < 1000) return committed;
  return services.graph.setLastModified(committed.id, blob.lastModified.toISOString());
}
