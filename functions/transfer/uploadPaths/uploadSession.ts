import { errorText } from "../../shared/errorText";
import { checkpointChanges, hasUnfinishedAttempt, sessionStartChanges } from "../../storage/ledgerRow";
import { ClaimLostError } from "../../storage/ledger";
import { failureKind } from "../failureKind";
import { catchUpHash, createSession, findCommittedItem, resumeRecordedSession, type SessionState } from "../sessionSetup";
import { PermanentUploadError, uploadThroughSession } from "../sessionUpload";
import { findEarlierUpload, recordedWithoutUpload } from "./interruptedRecovery";
import type { UploadContext, UploadPath, UploadResult } from "./uploadPath";

/**
 * Progress is checkpointed at most this often. Resuming needs only the session URL (written when the session is
 * created): the offset comes from the server, and bytes past the last hash checkpoint are re-read and hashed.
 */
const CHECKPOINT_INTERVAL_MS = 1_000;
/** An upload session lost mid-file (expired, refused) is replaced at most this often in one call. */
const MAX_SESSION_RESTARTS = 2;

/**
 * Any file through a Graph upload session, fragment by fragment: a session recorded for this blob version is
 * resumed where the server says, otherwise a new one is created. Accepts every file, so it is the path of last resort.
 */
export const uploadSession: UploadPath = {
  name: "upload session",
  accepts: () => true,
  upload: uploadThroughSessions,
};

async function uploadThroughSessions(context: UploadContext): Promise<UploadResult> {
  const { services, claimed, row, blob, destination, attemptStart, reader, hasher } = context;
  const { settings, graph, uploads } = services;
  let session = await resumeRecordedSession(services, row, blob, hasher);
  if (session) services.log.info(`${blob.name}: resuming the recorded upload session at byte ${session.offset} of ${blob.size}`);
  else if (row.uploadUrl && hasUnfinishedAttempt(row, blob.etag)) {
    // The recorded session is gone: expired, or OneDrive committed the file and the outcome never reached the ledger.
    const stored = await findEarlierUpload(context);
    if (stored) return recordedWithoutUpload(context, stored);
  }
  // Sessions of files larger than a fragment are recorded in the row, so another attempt can resume them.
  const recordsSessions = blob.size > settings.fragmentSizeBytes;
  let checkpoints: Promise<void> = Promise.resolve();
  let lastCheckpointAt = services.now();
  let confirmed = { bytes: session?.offset ?? 0, fragments: session?.fragments ?? 0, expiresAt: row.uploadExpiresAt };
  // Set when a checkpoint found the row claimed by another worker: the upload stops before its next fragment.
  let claimLost: ClaimLostError | undefined;
  // Whether the row holds the current session, so that whoever holds the row next can resume it.
  let sessionInRow = session !== undefined;
  try {
    for (let sessionRestart = 0; ; sessionRestart += 1) {
      if (!session) {
        // The first fragment is read while OneDrive creates the session.
        reader.readAhead(0);
        session = await createSession(services, blob, destination);
        confirmed = { bytes: session.offset, fragments: 0, expiresAt: undefined };
        // Recorded at once so a process killed mid-file resumes this session. A file that fits in one fragment has
        // nothing to resume, so it spares the write (a small file's cost is mostly its ledger round trips).
        if (recordsSessions) {
          await claimed.update({ ...attemptStart, ...sessionStartChanges(session.uploadUrl, session.offset, session.uploadUrlSeal) });
          sessionInRow = true;
        }
      }
      await catchUpHash(services, blob, hasher, session.offset);
      const current: SessionState = session;
      const result = await uploadThroughSession({
        uploads, uploadUrl: current.uploadUrl, blob, startOffset: current.offset, reader, hasher,
        fragmentsSoFar: current.fragments, deadline: context.deadline, now: services.now, sleep: services.sleep,
        onConfirmed: (confirmedBytes, fragments, expirationDateTime) => {
          confirmed = { bytes: confirmedBytes, fragments, expiresAt: expirationDateTime ?? confirmed.expiresAt };
          context.onProgress?.(confirmedBytes, blob.size);
          if (services.now() - lastCheckpointAt < CHECKPOINT_INTERVAL_MS) return;
          lastCheckpointAt = services.now();
          const checkpoint = checkpointChanges(confirmedBytes, fragments, hasher.exportState());
          // A checkpoint that cannot be written costs a resume some re-reading, never the upload: only a lost claim stops it.
          checkpoints = checkpoints
            .then(() => claimed.update({ ...checkpoint, uploadExpiresAt: expirationDateTime }))
            .catch((error: unknown) => {
              if (error instanceof ClaimLostError) claimLost ??= error;
              else services.log.warn(`${blob.name}: a checkpoint could not be written (${errorText(error)}); the upload goes on`);
            });
        },
        beforeFragment: () => {
          if (claimLost) throw claimLost;
        },
        findCommittedItem: () => findCommittedItem(graph, destination, blob.size, hasher.digestBase64()),
        warn: (message) => services.log.warn(`${blob.name}: ${message}`),
      });
      await checkpoints;
      if (claimLost) throw claimLost;
      if (result.kind === "completed") {
        await reader.settle();
        context.signalUploaded();
        return { kind: "uploaded", item: result.item, quickXorHash: hasher.digestBase64(), fragments: result.fragments, answeredBy: "uploadHost" };
      }
      if (result.kind === "outOfTime") return { kind: "incomplete", confirmedBytes: result.confirmedBytes, fragments: result.fragments };
      services.log.warn(`${blob.name}: ${result.reason}; starting a new upload session`);
      await uploads.cancel(current.uploadUrl).catch(() => undefined);
      session = undefined;
      sessionInRow = false;
      if (sessionRestart >= MAX_SESSION_RESTARTS) throw new PermanentUploadError(`upload session lost ${sessionRestart + 1} times: ${result.reason}`);
    }
  } catch (error) {
    await checkpoints;
    // A lost claim: the new holder owns the row and resumes the session the row holds, so nothing is cancelled and
    // nothing written. Only a session the row never held (nobody else can find it) is cancelled, to free the path.
    // A claim that lapsed (its signal aborted the work) is lost too: its reason is the ClaimLostError.
    const lapsed = claimed.signal.aborted && claimed.signal.reason instanceof ClaimLostError ? claimed.signal.reason : undefined;
    const lost = error instanceof ClaimLostError ? error : (claimLost ?? lapsed);
    if (session && !(lost ? sessionInRow : await keptForResume(context, session, error, confirmed, recordsSessions))) {
      await uploads.cancel(session.uploadUrl).catch(() => undefined);
      if (!lost) await claimed.update({ uploadUrl: undefined, uploadExpiresAt: undefined }).catch(() => undefined);
    }
    throw lost ?? error;
  }
}

/**
 * After a temporary failure the session stays open with its checkpoint (the bytes OneDrive confirmed, the hash
 * state), so the next attempt resumes where the server stands. Only a session the row holds is kept: one that
 * nobody could find again would, on OneDrive for Business, refuse every new session for the path until it expires.
 * A file that fits in one fragment has nothing to resume, so its session is cancelled whatever the failure.
 */
async function keptForResume(
  { claimed, attemptStart, hasher }: UploadContext,
  session: SessionState,
  error: unknown,
  confirmed: { bytes: number; fragments: number; expiresAt?: string },
  recordsSessions: boolean,
): Promise<boolean> {
  if (!recordsSessions || failureKind(error) === "permanent") return false;
  try {
    await claimed.update({
      ...attemptStart,
      ...sessionStartChanges(session.uploadUrl, confirmed.bytes, session.uploadUrlSeal),
      ...checkpointChanges(confirmed.bytes, confirmed.fragments, hasher.exportState()),
      uploadExpiresAt: confirmed.expiresAt,
    });
  } catch {
    // Best effort: the row has held the session since it started (a ledger write failing now is often the failure).
  }
  return claimed.record.uploadUrl === session.uploadUrl;
}
