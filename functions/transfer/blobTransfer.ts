import type { ContainerClient } from "@azure/storage-blob";
import type { EngineSettings } from "../config/settings";
import type { GraphClient } from "../onedrive/graphClient";
import type { DriveItem } from "../onedrive/graphTypes";
import { checkOneDrivePath } from "../onedrive/pathRules";
import { OffsetQuickXorHash } from "../onedrive/quickXorHash";
import { nextExpectedOffset, type UploadSessionClient } from "../onedrive/uploadSessionClient";
import { BlobChangedError, BlobNotFoundError, type BlobSource, type SourceBlob } from "../storage/blobSource";
import { ClaimLostError, type ClaimedRow, type Ledger, type LedgerChanges, type LedgerRecord } from "../storage/ledger";
import { applyAfterTransfer } from "./afterTransfer";
import { destinationFor, type Destination } from "./destinationPath";
import { FragmentReader } from "./fragmentReader";
import { PermanentUploadError, uploadThroughSession } from "./sessionUpload";
import { verifyStoredItem } from "./verification";

/** A claim lapses this long after its holder's last write, so a crashed worker's blob is picked up again. */
export const CLAIM_LEASE_MS = 60_000;
/**
 * Progress is checkpointed at most this often. Resuming needs only the session URL (written when the session is
 * created): the offset comes from the server, and bytes past the last hash checkpoint are re-read and hashed.
 */
const CHECKPOINT_INTERVAL_MS = 1_000;
/** A blob overwritten mid-transfer restarts on the new version at most this often in one call. */
const MAX_VERSION_RESTARTS = 3;
/** An upload session lost mid-file (expired, refused) is replaced at most this often in one call. */
const MAX_SESSION_RESTARTS = 2;

export interface TransferLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface TransferServices {
  settings: EngineSettings;
  source: BlobSource;
  archive: ContainerClient;
  ledger: Ledger;
  graph: GraphClient;
  uploads: UploadSessionClient;
  workerId: string;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  log: TransferLog;
}

export type FileStatus = "uploaded" | "skipped" | "failed" | "incomplete" | "busy";

export interface FileOutcome {
  blob: string;
  path: string;
  status: FileStatus;
  bytes: number;
  chunks: number;
  error?: string;
  warning?: string;
  driveItemId?: string;
}

export interface TransferOptions {
  /** Epoch ms: stop before the next fragment after it, checkpoint and report "incomplete". */
  deadline?: number;
  /** From a listing, to spare a properties request. */
  knownBlob?: SourceBlob;
  /** From a bulk ledger read; null means "known to have no row". */
  knownRecord?: LedgerRecord | null;
  onProgress?: (confirmedBytes: number, totalBytes: number) => void;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Sign-in problems stop the whole run: every other blob would fail the same way. */
function isRelinkRequired(error: unknown): boolean {
  return error instanceof Error && (error.name === "RelinkRequiredError" || (error as { code?: string }).code === "RelinkRequired");
}

/**
 * Transfers one blob end to end under its ledger claim: skip if done for this ETag, resume a recorded session,
 * upload, verify what OneDrive stored, record, then apply AFTER_TRANSFER.
 */
export async function transferBlob(services: TransferServices, blobName: string, options: TransferOptions = {}): Promise<FileOutcome> {
  const { settings, ledger } = services;
  let blob: SourceBlob;
  try {
    blob = options.knownBlob ?? (await services.source.getProperties(blobName));
  } catch (error) {
    if (!(error instanceof BlobNotFoundError)) throw error;
    const destination = destinationFor(blobName, settings.sourcePrefix, settings.destFolder);
    return { blob: blobName, path: destination.fullPath, status: "skipped", bytes: 0, chunks: 0, warning: "the blob no longer exists" };
  }
  const destination = destinationFor(blobName, settings.sourcePrefix, settings.destFolder);
  const base = { blob: blobName, path: destination.fullPath };
  const record = options.knownRecord === undefined ? await ledger.get(blobName) : (options.knownRecord ?? undefined);
  if (record?.status === "done" && record.blobEtag === blob.etag) {
    return { ...base, status: "skipped", bytes: blob.size, chunks: 0 };
  }

  const pathProblem = checkOneDrivePath(destination.fullPath);
  if (pathProblem) {
    const message = `Blob "${blobName}" cannot be stored in OneDrive as "${destination.fullPath}": ${pathProblem}. Rename the blob; nothing was uploaded.`;
    await ledger.merge(blobName, { blobEtag: blob.etag, status: "failed", size: blob.size, destinationPath: destination.fullPath, lastError: message, lastErrorAt: new Date(services.now()).toISOString(), attempts: (record?.attempts ?? 0) + 1 });
    services.log.error(message);
    return { ...base, status: "failed", bytes: 0, chunks: 0, error: message };
  }

  const claimed = await ledger.claim(
    blobName,
    { blobEtag: blob.etag, status: "pending", size: blob.size, destinationPath: destination.fullPath, confirmedBytes: 0, fragments: 0, attempts: 0 },
    { owner: services.workerId, leaseMs: CLAIM_LEASE_MS, now: services.now, known: options.knownRecord },
  );
  if (!claimed) return { ...base, status: "busy", bytes: 0, chunks: 0 };
  if (claimed.record.status === "done" && claimed.record.blobEtag === blob.etag) {
    await claimed.release({});
    return { ...base, status: "skipped", bytes: blob.size, chunks: 0 };
  }

  const renewal = setInterval(() => claimed.renew().catch(() => undefined), CLAIM_LEASE_MS / 3);
  renewal.unref();
  try {
    for (let restart = 0; ; restart += 1) {
      try {
        return await transferVersion(services, claimed, blob, destination, options);
      } catch (error) {
        if (!(error instanceof BlobChangedError) || restart >= MAX_VERSION_RESTARTS) throw error;
        services.log.warn(`${blobName}: the blob was overwritten during its transfer; starting again on the new version`);
        try {
          blob = await services.source.getProperties(blobName);
        } catch (propertiesError) {
          if (!(propertiesError instanceof BlobNotFoundError)) throw propertiesError;
          await claimed.release({ status: "pending", uploadUrl: undefined, lastError: "the blob was deleted during its transfer" });
          return { ...base, status: "skipped", bytes: 0, chunks: 0, warning: "the blob was deleted during its transfer" };
        }
      }
    }
  } catch (error) {
    if (error instanceof ClaimLostError) return { ...base, status: "busy", bytes: 0, chunks: 0, error: describe(error) };
    const message = describe(error);
    if (isRelinkRequired(error)) {
      await claimed.release({ lastError: message, lastErrorAt: new Date(services.now()).toISOString() }).catch(() => undefined);
      throw error;
    }
    services.log.error(`${blobName}: ${message}`);
    await claimed
      .release({ status: "failed", lastError: message, lastErrorAt: new Date(services.now()).toISOString(), uploadUrl: undefined, uploadExpiresAt: undefined, queuedAt: undefined, queuedEtag: undefined })
      .catch(() => undefined);
    return { ...base, status: "failed", bytes: 0, chunks: 0, error: message };
  } finally {
    clearInterval(renewal);
  }
}

interface SessionState {
  uploadUrl: string;
  offset: number;
  fragments: number;
}

async function transferVersion(
  services: TransferServices,
  claimed: ClaimedRow,
  blob: SourceBlob,
  destination: Destination,
  options: TransferOptions,
): Promise<FileOutcome> {
  const { settings, graph, uploads } = services;
  const record = claimed.record;
  const attempts = (record.blobEtag === blob.etag ? record.attempts : 0) + 1;
  const startedAt = services.now();
  const base = { blob: blob.name, path: destination.fullPath };
  const fresh: LedgerChanges = {
    blobEtag: blob.etag, size: blob.size, destinationPath: destination.fullPath, attempts,
    startedAt: new Date(startedAt).toISOString(), finishedAt: undefined, lastError: undefined, warning: undefined,
  };

  if (blob.size === 0) {
    // Upload sessions cannot carry an empty file; a simple PUT can, and a PATCH keeps the blob's time.
    await claimed.update({ ...fresh, status: "uploading", uploadUrl: undefined, confirmedBytes: 0, fragments: 0 });
    const parentId = await graph.ensureFolderPath(destination.folderPath);
    const created = await graph.uploadSmallFile(parentId, destination.fileName, new Uint8Array(0), { conflictBehavior: settings.conflictBehavior });
    const item = await graph.setLastModified(created.id, blob.lastModified.toISOString());
    return finish(services, claimed, blob, destination, item, new OffsetQuickXorHash().digestBase64(), 1, startedAt, fresh);
  }

  const hasher = new OffsetQuickXorHash();
  let session = await resumeRecordedSession(services, record, blob, hasher);
  if (session) services.log.info(`${blob.name}: resuming the recorded upload session at byte ${session.offset} of ${blob.size}`);
  const reader = new FragmentReader(services.source, blob, settings.chunkSizeBytes);
  let checkpoints: Promise<void> = Promise.resolve();
  let lastCheckpointAt = services.now();
  try {
    for (let sessionRestart = 0; ; sessionRestart += 1) {
      if (!session) {
        session = await createSession(services, blob, destination);
        // Recorded at once so a process killed mid-file resumes this session. A file that fits in one fragment has
        // nothing to resume, so it spares the write (a small file's cost is mostly its ledger round trips).
        if (blob.size > settings.chunkSizeBytes) {
          await claimed.update({ ...fresh, status: "uploading", uploadUrl: session.uploadUrl, confirmedBytes: session.offset, fragments: 0, hashState: undefined, hashedBytes: 0 });
        }
      }
      await catchUpHash(services, blob, hasher, session.offset);
      const current: SessionState = session;
      const result = await uploadThroughSession({
        uploads, uploadUrl: current.uploadUrl, blob, startOffset: current.offset, reader, hasher,
        fragmentsSoFar: current.fragments, deadline: options.deadline, now: services.now, sleep: services.sleep,
        onConfirmed: (confirmedBytes, fragments, expirationDateTime) => {
          options.onProgress?.(confirmedBytes, blob.size);
          if (services.now() - lastCheckpointAt < CHECKPOINT_INTERVAL_MS) return;
          lastCheckpointAt = services.now();
          const hashCheckpoint = hasher.exportState();
          checkpoints = checkpoints.then(() =>
            claimed.update({ confirmedBytes, fragments, hashState: hashCheckpoint.state, hashedBytes: hashCheckpoint.length, uploadExpiresAt: expirationDateTime }),
          );
        },
        findCommittedItem: () => findCommittedItem(graph, destination, blob.size, hasher.digestBase64()),
        warn: (message) => services.log.warn(`${blob.name}: ${message}`),
      });
      await checkpoints;
      if (result.kind === "completed") {
        return finish(services, claimed, blob, destination, result.item, hasher.digestBase64(), result.fragments, startedAt, fresh);
      }
      if (result.kind === "outOfTime") {
        const checkpoint = hasher.exportState();
        await claimed.release({ confirmedBytes: result.confirmedBytes, fragments: result.fragments, hashState: checkpoint.state, hashedBytes: checkpoint.length });
        return { ...base, status: "incomplete", bytes: result.confirmedBytes, chunks: result.fragments };
      }
      services.log.warn(`${blob.name}: ${result.reason}; starting a new upload session`);
      await uploads.cancel(current.uploadUrl).catch(() => undefined);
      session = undefined;
      if (sessionRestart >= MAX_SESSION_RESTARTS) throw new PermanentUploadError(`upload session lost ${sessionRestart + 1} times: ${result.reason}`);
    }
  } catch (error) {
    await checkpoints.catch(() => undefined);
    if (session) {
      await uploads.cancel(session.uploadUrl).catch(() => undefined);
      if (!(error instanceof ClaimLostError)) await claimed.update({ uploadUrl: undefined, uploadExpiresAt: undefined }).catch(() => undefined);
    }
    throw error;
  } finally {
    await reader.settle();
  }
}

/** A session recorded for this very blob version that OneDrive still holds resumes where the server says. */
async function resumeRecordedSession(services: TransferServices, record: LedgerRecord, blob: SourceBlob, hasher: OffsetQuickXorHash): Promise<SessionState | undefined> {
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
async function catchUpHash(services: TransferServices, blob: SourceBlob, hasher: OffsetQuickXorHash, upTo: number): Promise<void> {
  if (hasher.hashedLength >= upTo) return;
  const reader = new FragmentReader(services.source, blob, services.settings.chunkSizeBytes);
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

async function createSession(services: TransferServices, blob: SourceBlob, destination: Destination): Promise<SessionState> {
  const parentId = await services.graph.ensureFolderPath(destination.folderPath);
  const info = await services.graph.createUploadSession(parentId, destination.fileName, {
    conflictBehavior: services.settings.conflictBehavior,
    fileSize: blob.size,
    lastModifiedDateTime: blob.lastModified.toISOString(),
  });
  return { uploadUrl: info.uploadUrl, offset: nextExpectedOffset(info.nextExpectedRanges) ?? 0, fragments: 0 };
}

async function findCommittedItem(graph: GraphClient, destination: Destination, size: number, quickXorHash: string): Promise<DriveItem | undefined> {
  const item = await graph.getItemByPath(destination.fullPath);
  return item && item.size === size && item.file?.hashes?.quickXorHash === quickXorHash ? item : undefined;
}

async function finish(
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
