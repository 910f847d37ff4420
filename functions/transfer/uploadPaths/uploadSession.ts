import { checkpointChanges, sessionStartChanges } from "../../storage/ledgerRow";
import { ClaimLostError } from "../../storage/ledger";
import { catchUpHash, createSession, findCommittedItem, resumeRecordedSession, type SessionState } from "../sessionSetup";
import { PermanentUploadError, uploadThroughSession } from "../sessionUpload";
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
        if (blob.size > settings.fragmentSizeBytes) {
          await claimed.update({ ...attemptStart, ...sessionStartChanges(session.uploadUrl, session.offset, session.uploadUrlSeal) });
        }
      }
      await catchUpHash(services, blob, hasher, session.offset);
      const current: SessionState = session;
      const result = await uploadThroughSession({
        uploads, uploadUrl: current.uploadUrl, blob, startOffset: current.offset, reader, hasher,
        fragmentsSoFar: current.fragments, deadline: context.deadline, now: services.now, sleep: services.sleep,
        onConfirmed: (confirmedBytes, fragments, expirationDateTime) => {
          context.onProgress?.(confirmedBytes, blob.size);
          if (services.now() - lastCheckpointAt < CHECKPOINT_INTERVAL_MS) return;
          lastCheckpointAt = services.now();
          const checkpoint = checkpointChanges(confirmedBytes, fragments, hasher.exportState());
          checkpoints = checkpoints.then(() => claimed.update({ ...checkpoint, uploadExpiresAt: expirationDateTime }));
        },
        findCommittedItem: () => findCommittedItem(graph, destination, blob.size, hasher.digestBase64()),
        warn: (message) => services.log.warn(`${blob.name}: ${message}`),
      });
      await checkpoints;
      if (result.kind === "completed") {
        await reader.settle();
        context.signalUploaded();
        return { kind: "uploaded", item: result.item, quickXorHash: hasher.digestBase64(), fragments: result.fragments, answeredBy: "uploadHost" };
      }
      if (result.kind === "outOfTime") return { kind: "incomplete", confirmedBytes: result.confirmedBytes, fragments: result.fragments };
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
  }
}
