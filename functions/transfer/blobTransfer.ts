import { BatchUnsupportedError } from "../onedrive/graphBatch";
import type { DriveItem } from "../onedrive/graphTypes";
import { checkOneDrivePath } from "../onedrive/pathRules";
import { OffsetQuickXorHash } from "../onedrive/quickXorHash";
import { BlobChangedError, BlobNotFoundError, type SourceBlob } from "../storage/blobSource";
import { isClaimHolderGone } from "../storage/claimOwner";
import { ClaimLostError, type ClaimedRow, type LedgerChanges, type LedgerRecord } from "../storage/ledger";
import { recordVerifiedUpload } from "./completion";
import { destinationFor, type Destination } from "./destinationPath";
import { FragmentReader } from "./fragmentReader";
import { catchUpHash, createSession, findCommittedItem, findInterruptedUpload, resumeRecordedSession, type SessionState } from "./sessionSetup";
import { PermanentUploadError, uploadThroughSession } from "./sessionUpload";
import type { FileOutcome, TransferOptions, TransferServices } from "./transferTypes";

/** A claim lapses this long after its holder's last write, so a crashed worker's blob is picked up again. */
export const CLAIM_LEASE_MS = 60_000;
/** A holder renews its claim this often while it works. */
const CLAIM_RENEWAL_MS = CLAIM_LEASE_MS / 3;
/**
 * Progress is checkpointed at most this often. Resuming needs only the session URL (written when the session is
 * created): the offset comes from the server, and bytes past the last hash checkpoint are re-read and hashed.
 */
const CHECKPOINT_INTERVAL_MS = 1_000;
/** A blob overwritten mid-transfer restarts on the new version at most this often in one call. */
const MAX_VERSION_RESTARTS = 3;
/** An upload session lost mid-file (expired, refused) is replaced at most this often in one call. */
const MAX_SESSION_RESTARTS = 2;

export type { FileOutcome, FileStatus, TransferLog, TransferOptions, TransferServices } from "./transferTypes";

/** The row a claim creates for a blob the ledger has never seen. */
export function initialRow(blob: SourceBlob, destination: Destination): Omit<LedgerRecord, "blobName"> {
  return { blobEtag: blob.etag, status: "pending", size: blob.size, destinationPath: destination.fullPath, confirmedBytes: 0, fragments: 0, attempts: 0 };
}

/** This attempt's number for this blob version (the row counts attempts per version). */
function attemptNumber(record: LedgerRecord, blob: SourceBlob): number {
  return (record.blobEtag === blob.etag ? record.attempts : 0) + 1;
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
    await options.claimed?.release({});
    return { ...base, status: "skipped", bytes: blob.size, chunks: 0 };
  }

  const pathProblem = checkOneDrivePath(destination.fullPath);
  if (pathProblem) {
    const message = `Blob "${blobName}" cannot be stored in OneDrive as "${destination.fullPath}": ${pathProblem}. Rename the blob; nothing was uploaded.`;
    const failure: LedgerChanges = { blobEtag: blob.etag, status: "failed", size: blob.size, destinationPath: destination.fullPath, lastError: message, lastErrorAt: new Date(services.now()).toISOString(), attempts: (record?.attempts ?? 0) + 1 };
    // A row claimed beforehand is written through its claim (an unguarded merge would move its ETag under it).
    if (options.claimed) await options.claimed.release(failure);
    else await ledger.merge(blobName, failure);
    services.log.error(message);
    return { ...base, status: "failed", bytes: 0, chunks: 0, error: message };
  }

  const claimed =
    options.claimed !== undefined
      ? options.claimed
      : await ledger.claim(blobName, initialRow(blob, destination), {
          owner: services.workerId,
          leaseMs: CLAIM_LEASE_MS,
          now: services.now,
          known: options.knownRecord,
          takeOver: services.waitForClaims ? (held) => isClaimHolderGone(held.claimOwner) : undefined,
        });
  if (!claimed) return { ...base, status: "busy", bytes: 0, chunks: 0 };
  if (claimed.record.status === "done" && claimed.record.blobEtag === blob.etag) {
    await claimed.release({});
    return { ...base, status: "skipped", bytes: blob.size, chunks: 0 };
  }
  if (options.claimed) {
    try {
      await claimed.ensureLease(CLAIM_LEASE_MS - CLAIM_RENEWAL_MS);
    } catch (error) {
      if (error instanceof ClaimLostError) return { ...base, status: "busy", bytes: 0, chunks: 0, error: describe(error) };
      throw error;
    }
  }

  // The row as claimed: its attempt count is the one before this attempt, whatever this attempt writes later.
  const rowAtClaim = claimed.record;
  const renewal = setInterval(() => claimed.renew().catch(() => undefined), CLAIM_RENEWAL_MS);
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
      .release({ status: "failed", blobEtag: blob.etag, size: blob.size, attempts: attemptNumber(rowAtClaim, blob), lastError: message, lastErrorAt: new Date(services.now()).toISOString(), uploadUrl: undefined, uploadExpiresAt: undefined, queuedAt: undefined, queuedEtag: undefined })
      .catch(() => undefined);
    return { ...base, status: "failed", bytes: 0, chunks: 0, error: message };
  } finally {
    clearInterval(renewal);
  }
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
  const attempts = attemptNumber(record, blob);
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
    options.onUploaded?.();
    return recordVerifiedUpload(services, claimed, blob, destination, item, new OffsetQuickXorHash().digestBase64(), 1, startedAt, fresh);
  }

  const hasher = new OffsetQuickXorHash();
  const reader = new FragmentReader(services.source, blob, services.fragmentBuffers);
  if (claimed.interruptedBefore && blob.size <= settings.chunkSizeBytes && !record.uploadUrl) {
    const committed = await findInterruptedUpload(services, reader, hasher, blob, destination);
    if (committed) {
      services.log.warn(`${blob.name}: an interrupted earlier attempt had already stored this file in OneDrive; recording it without uploading again`);
      await reader.settle();
      options.onUploaded?.();
      return recordVerifiedUpload(services, claimed, blob, destination, committed, hasher.digestBase64(), 0, startedAt, fresh);
    }
  }
  const batcher = services.smallFiles;
  if (batcher?.accepts(blob.size, settings.conflictBehavior) && blob.size <= settings.chunkSizeBytes) {
    const item = await uploadInBatch(services, batcher, reader, hasher, blob, destination, options);
    if (item) {
      await reader.settle();
      return recordVerifiedUpload(services, claimed, blob, destination, item, hasher.digestBase64(), 1, startedAt, fresh);
    }
  }
  let session = await resumeRecordedSession(services, record, blob, hasher);
  if (session) services.log.info(`${blob.name}: resuming the recorded upload session at byte ${session.offset} of ${blob.size}`);
  let checkpoints: Promise<void> = Promise.resolve();
  let lastCheckpointAt = services.now();
  try {
    for (let sessionRestart = 0; ; sessionRestart += 1) {
      if (!session) {
        // The first fragment is read while OneDrive creates the session.
        reader.readAhead(0);
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
        await reader.settle();
        options.onUploaded?.();
        return recordVerifiedUpload(services, claimed, blob, destination, result.item, hasher.digestBase64(), result.fragments, startedAt, fresh);
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

/**
 * A small file through a JSON batch (simple PUT, then its time). Undefined when the Graph endpoint does not batch,
 * before anything was stored: the caller then takes the upload-session path.
 */
async function uploadInBatch(
  services: TransferServices,
  batcher: NonNullable<TransferServices["smallFiles"]>,
  reader: FragmentReader,
  hasher: OffsetQuickXorHash,
  blob: SourceBlob,
  destination: Destination,
  options: TransferOptions,
): Promise<DriveItem | undefined> {
  const content = await reader.read(0);
  hasher.updateAt(0, content);
  const parentId = await services.graph.ensureFolderPath(destination.folderPath);
  try {
    return await batcher.upload({
      parentId,
      name: destination.fileName,
      content,
      conflictBehavior: services.settings.conflictBehavior,
      lastModifiedDateTime: blob.lastModified.toISOString(),
      onQueued: () => options.onUploaded?.(),
    });
  } catch (error) {
    if (!(error instanceof BatchUnsupportedError)) throw error;
    return undefined;
  }
}
