import { errorText } from "../shared/errorText";
import { checkOneDrivePath } from "../onedrive/pathRules";
import { OffsetQuickXorHash } from "../onedrive/quickXorHash";
import { BlobChangedError, BlobNotFoundError, type SourceBlob } from "../storage/blobSource";
import { isClaimHolderGone } from "../storage/claimOwner";
import { ClaimLostError, type ClaimedRow } from "../storage/ledger";
import {
  attemptNumber, attemptStartChanges, CLAIM_LEASE_MS, checkpointChanges, failureChanges, initialRow, isDoneFor,
  failureRecordChanges, refusedNameChanges, temporaryFailureChanges, throttledChanges, type LedgerRecord,
} from "../storage/ledgerRow";
import { RetryTally, withCallContext } from "../http/callContext";
import { GraphError } from "../onedrive/graphError";
import { THROTTLE_STATUSES } from "../onedrive/retryPolicy";
import { ThrottledError } from "../onedrive/throttle";
import { recordVerifiedUpload, verifyUpload } from "./completion";
import { controlCharacterProblem, escapeControlCharacters } from "./blobNameText";
import { destinationFor, type Destination } from "./destinationPath";
import { failureFields, outcomeFailureFields } from "./failureCause";
import { failureKind } from "./failureKind";
import { FragmentReader } from "./fragmentReader";
import type { FileOutcome, TransferOptions, TransferServices } from "./transferTypes";
import { explainQuotaRefusal, isLockedAnswer, LOCK_RETRY_MS, settleOnLibrary } from "./libraryRules";
import { uploadByFirstTakingPath, type UploadContext } from "./uploadPaths";

/** A holder renews its claim this often while it works. */
const CLAIM_RENEWAL_MS = CLAIM_LEASE_MS / 3;
/** A blob overwritten mid-transfer restarts on the new version at most this often in one call. */
const MAX_VERSION_RESTARTS = 3;

export type { FileOutcome, FileStatus, TransferLog, TransferOptions, TransferServices } from "./transferTypes";

/** Sign-in problems stop the whole run: every other blob would fail the same way. */
function isRelinkRequired(error: unknown): boolean {
  return error instanceof Error && (error.name === "RelinkRequiredError" || (error as { code?: string }).code === "RelinkRequired");
}

function outcome(blobName: string, destination: Destination, status: FileOutcome["status"], fields: Partial<FileOutcome> = {}): FileOutcome {
  return { blob: blobName, path: destination.fullPath, status, bytes: 0, fragments: 0, ...fields };
}

/**
 * Transfers one blob end to end: claim → choose the upload path → upload → verify → record → AFTER_TRANSFER →
 * release. A blob that is gone, done for its ETag, or named as OneDrive would refuse stops before the claim's work.
 */
export async function transferBlob(services: TransferServices, blobName: string, options: TransferOptions = {}): Promise<FileOutcome> {
  const startedAt = services.now();
  const tally = new RetryTally();
  let sizeBytes: number | undefined;
  const result = await withCallContext({ tally }, () =>
    transferFoundBlob(services, blobName, options, (blob) => {
      sizeBytes = blob.size;
    }),
  );
  return {
    ...result,
    ...(sizeBytes === undefined ? {} : { sizeBytes }),
    durationMs: services.now() - startedAt,
    retries: tally.retries,
    throttleWaits: tally.throttleWaits,
    throttleWaitMs: tally.throttleWaitMs,
  };
}

async function transferFoundBlob(services: TransferServices, blobName: string, options: TransferOptions, found: (blob: SourceBlob) => void): Promise<FileOutcome> {
  const destination = destinationFor(blobName, services.settings.sourcePrefix, services.settings.destFolder);
  const blob = await lookUpBlob(services, blobName, options);
  if (!blob) return outcome(blobName, destination, "skipped", { warning: "the blob no longer exists" });
  found(blob);
  const row = options.knownRecord === undefined ? await services.ledger.get(blobName) : (options.knownRecord ?? undefined);
  const done = await skipIfDone(blob, row, destination, options);
  if (done) return done;
  // A destination that cannot be used stops here, before the row is claimed or written.
  await services.ensureDestination?.();
  const stopped = await refuseUnstorableName(services, blob, row, destination, options);
  if (stopped) return stopped;
  const claim = await claimBlob(services, blob, destination, options);
  if (claim.kind === "stopped") return claim.outcome;
  return transferUnderClaim(services, claim.claimed, blob, destination, options);
}

/** The blob's properties (from the listing when the caller has them); undefined when it no longer exists. */
async function lookUpBlob(services: TransferServices, blobName: string, options: TransferOptions): Promise<SourceBlob | undefined> {
  try {
    return options.knownBlob ?? (await services.source.getProperties(blobName));
  } catch (error) {
    if (error instanceof BlobNotFoundError) return undefined;
    throw error;
  }
}

async function skipIfDone(blob: SourceBlob, row: LedgerRecord | undefined, destination: Destination, options: TransferOptions): Promise<FileOutcome | undefined> {
  if (!isDoneFor(row, blob.etag)) return undefined;
  await options.claimed?.release({});
  return outcome(blob.name, destination, "skipped", { bytes: blob.size });
}

/**
 * A name OneDrive would refuse, or one holding control characters (which OneDrive would take but which can forge log
 * lines and fool a reader), fails that file before any request, naming the blob and the rule.
 */
async function refuseUnstorableName(
  services: TransferServices,
  blob: SourceBlob,
  row: LedgerRecord | undefined,
  destination: Destination,
  options: TransferOptions,
): Promise<FileOutcome | undefined> {
  const controlProblem = controlCharacterProblem(blob.name);
  const pathProblem = controlProblem ?? checkOneDrivePath(destination.fullPath, services.graph.driveLocationPath);
  if (!pathProblem) return undefined;
  const message = controlProblem
    ? `Blob "${escapeControlCharacters(blob.name)}" was refused: ${controlProblem}. Rename the blob; nothing was uploaded.`
    : `Blob "${blob.name}" cannot be stored in OneDrive as "${destination.fullPath}": ${pathProblem}. Rename the blob; nothing was uploaded.`;
  const failure = refusedNameChanges(blob, destination.fullPath, row, message, services.now());
  // A row claimed beforehand is written through its claim (an unguarded merge would move its ETag under it).
  if (options.claimed) await options.claimed.release(failure);
  else await services.ledger.merge(blob.name, failure);
  services.log.error(message);
  return outcome(blob.name, destination, "failed", { error: message, errorCode: REFUSED_NAME_CODE });
}

/** The error code of a name refused before any request. */
export const REFUSED_NAME_CODE = "refusedName";

type Claim = { kind: "claimed"; claimed: ClaimedRow } | { kind: "stopped"; outcome: FileOutcome };

/**
 * The row's claim: taken now, or taken beforehand by a sweep (then renewed if it waited long). Busy when another
 * worker holds it; skipped when the row turned out done for this ETag as it was claimed.
 */
async function claimBlob(services: TransferServices, blob: SourceBlob, destination: Destination, options: TransferOptions): Promise<Claim> {
  const busy = (error?: unknown): Claim => ({ kind: "stopped", outcome: outcome(blob.name, destination, "busy", error === undefined ? {} : { error: errorText(error) }) });
  const claimed =
    options.claimed !== undefined
      ? options.claimed
      : await services.ledger.claim(blob.name, initialRow(blob, destination.fullPath), {
          owner: services.workerId,
          leaseMs: CLAIM_LEASE_MS,
          now: services.now,
          known: options.knownRecord,
          takeOver: services.waitForClaims ? (held) => isClaimHolderGone(held.claimOwner) : undefined,
        });
  if (!claimed) return busy();
  if (isDoneFor(claimed.record, blob.etag)) {
    await claimed.release({});
    return { kind: "stopped", outcome: outcome(blob.name, destination, "skipped", { bytes: blob.size }) };
  }
  if (options.claimed) {
    try {
      await claimed.ensureLease(CLAIM_LEASE_MS - CLAIM_RENEWAL_MS);
    } catch (error) {
      if (error instanceof ClaimLostError) return busy(error);
      throw error;
    }
  }
  return { kind: "claimed", claimed };
}

/**
 * The claim's life: renewed while the work runs; the outcome is recorded and the claim released whatever happens.
 * A blob overwritten mid-transfer is started again on its new version.
 */
async function transferUnderClaim(
  services: TransferServices,
  claimed: ClaimedRow,
  firstVersion: SourceBlob,
  destination: Destination,
  options: TransferOptions,
): Promise<FileOutcome> {
  // The row as claimed: its attempt count is the one before this attempt, whatever this attempt writes later.
  const rowAtClaim = claimed.record;
  holdBackWhileThrottled(services, rowAtClaim);
  const renewal = setInterval(() => claimed.renewUnlessWriting().catch(() => undefined), CLAIM_RENEWAL_MS);
  renewal.unref();
  claimed.watchLapse();
  let blob = firstVersion;
  const stored: StoredItem = {};
  try {
    for (let restart = 0; ; restart += 1) {
      try {
        // Every call and wait of the work follows the claim: it stops when the claim can no longer be trusted.
        return await withCallContext({ signal: claimed.signal }, () => transferVersion(services, claimed, blob, destination, options, stored));
      } catch (error) {
        if (!(error instanceof BlobChangedError) || restart >= MAX_VERSION_RESTARTS) throw error;
        services.log.warn(`${blob.name}: the blob was overwritten during its transfer; starting again on the new version`);
        const newVersion = await lookUpBlob(services, blob.name, {});
        if (!newVersion) {
          await claimed.release({ status: "pending", uploadUrl: undefined, lastError: "the blob was deleted during its transfer" });
          return outcome(blob.name, destination, "skipped", { warning: "the blob was deleted during its transfer" });
        }
        blob = newVersion;
      }
    }
  } catch (error) {
    if (isLockedAnswer(error) && !claimed.signal.aborted) return await handOverWhileLocked(services, claimed, rowAtClaim, blob, destination, error, stored.itemId);
    const throttled = throttleWait(error);
    if (throttled !== undefined && !claimed.signal.aborted) return await handOverWhileThrottled(services, claimed, blob, destination, throttled, error);
    return await recordFailure(services, claimed, rowAtClaim, blob, destination, error, stored.itemId);
  } finally {
    clearInterval(renewal);
    claimed.stopWatchingLapse();
  }
}

/** How long the service asked to wait, when the failure is throttling the engine did not wait out in-process. */
function throttleWait(error: unknown): number | undefined {
  if (error instanceof ThrottledError) return error.retryAfterMs;
  if (error instanceof GraphError && error.retryAfterMs !== undefined && THROTTLE_STATUSES.has(error.status)) return error.retryAfterMs;
  return undefined;
}

/**
 * The service asked for a wait longer than this invocation has (or than the engine waits in-process): the row keeps
 * its session and checkpoint, records until when the service is throttling, and the caller continues after that
 * (a continuation message that becomes visible then; a CLI run reports the file unfinished).
 */
async function handOverWhileThrottled(
  services: TransferServices,
  claimed: ClaimedRow,
  blob: SourceBlob,
  destination: Destination,
  retryAfterMs: number,
  error: unknown,
): Promise<FileOutcome> {
  const message = `throttled for ${Math.ceil(retryAfterMs / 1000)} s; continues after that (${errorText(error)})`;
  services.log.warn(`${blob.name}: ${message}`);
  const { lastErrorCode, lastRequestId } = failureFields(error);
  await claimed.release(throttledChanges(retryAfterMs, message, { lastErrorCode, lastRequestId }, services.now())).catch(() => undefined);
  return outcome(blob.name, destination, "incomplete", { bytes: claimed.record.confirmedBytes, fragments: claimed.record.fragments, error: message, resumeAfterMs: retryAfterMs });
}

/**
 * OneDrive answered 423 Locked: someone has the file open. Not a failure of the file: the row keeps its session
 * and checkpoint as after any temporary failure, and the caller comes back after LOCK_RETRY_MS (a continuation
 * message that becomes visible then; a CLI run reports the file unfinished).
 */
async function handOverWhileLocked(
  services: TransferServices,
  claimed: ClaimedRow,
  rowAtClaim: LedgerRecord,
  blob: SourceBlob,
  destination: Destination,
  error: unknown,
  storedItemId: string | undefined,
): Promise<FileOutcome> {
  const message = `OneDrive reports "${destination.fullPath}" locked (someone has it open); trying again in ${LOCK_RETRY_MS / 1000} s (${errorText(error)})`;
  services.log.warn(`${blob.name}: ${message}`);
  const attempts = attemptNumber(rowAtClaim, blob.etag);
  await claimed.release(temporaryFailureChanges(claimed.record, blob, attempts, message, failureFields(error), services.now(), storedItemId)).catch(() => undefined);
  return outcome(blob.name, destination, "incomplete", { bytes: claimed.record.confirmedBytes, fragments: claimed.record.fragments, error: message, resumeAfterMs: LOCK_RETRY_MS });
}

/** A wait another run recorded (throttledChanges) holds this process's Graph requests back too, as its own would. */
function holdBackWhileThrottled(services: TransferServices, row: LedgerRecord): void {
  const remainingMs = Date.parse(row.throttledUntil ?? "") - services.now();
  if (remainingMs <= 0) return;
  // The row does not say which service throttled: both wait (a transfer needs both).
  for (const gate of [services.graph.throttle, services.uploads.throttle]) gate.close(remainingMs, `recorded by an earlier run of ${row.blobName}`);
}

/**
 * The item OneDrive holds for the version being transferred, once verified: a failure after that (the library's
 * check-in, the time) names it on the row, so no later attempt sends the same bytes again.
 */
interface StoredItem {
  itemId?: string;
}

/** One blob version: upload through the first path that takes it, then verify, record and apply AFTER_TRANSFER. */
async function transferVersion(
  services: TransferServices,
  claimed: ClaimedRow,
  blob: SourceBlob,
  destination: Destination,
  options: TransferOptions,
  stored: StoredItem,
): Promise<FileOutcome> {
  stored.itemId = undefined;
  const startedAt = services.now();
  const row = claimed.record;
  const attemptStart = attemptStartChanges(blob, destination.fullPath, attemptNumber(row, blob.etag), startedAt);
  let uploadedSignalled = false;
  const context: UploadContext = {
    services, claimed, row, blob, destination, attemptStart,
    reader: new FragmentReader(services.source, blob, services.fragmentBuffers),
    hasher: new OffsetQuickXorHash(),
    deadline: options.deadline,
    onProgress: options.onProgress,
    signalUploaded: () => {
      if (uploadedSignalled) return;
      uploadedSignalled = true;
      options.onUploaded?.();
    },
  };
  try {
    const result = await uploadByFirstTakingPath(context);
    if (result.kind === "incomplete") {
      await claimed.release(checkpointChanges(result.confirmedBytes, result.fragments, context.hasher.exportState()));
      return outcome(blob.name, destination, "incomplete", { bytes: result.confirmedBytes, fragments: result.fragments });
    }
    await context.reader.settle();
    const verified = await verifyUpload(services, blob, destination, result);
    stored.itemId = verified.item.id;
    verified.item = await settleOnLibrary(services, blob, destination, verified.item);
    return await recordVerifiedUpload(services, claimed, blob, destination, verified, startedAt, attemptStart);
  } finally {
    await context.reader.settle();
  }
}

/**
 * A failed transfer: the row records the failure and the claim is released. A lost claim is the new holder's
 * business (busy); a sign-in failure is rethrown, since every other blob would fail the same way. A temporary
 * failure (failureKind.ts) keeps the upload session and its checkpoint, and the row stays "uploading", so the next
 * attempt (the host's redelivery, the next sweep, a CLI rerun) resumes it; the outcome is still "failed", saying so.
 */
async function recordFailure(
  services: TransferServices,
  claimed: ClaimedRow,
  rowAtClaim: LedgerRecord,
  blob: SourceBlob,
  destination: Destination,
  error: unknown,
  storedItemId: string | undefined,
): Promise<FileOutcome> {
  // A claim lost or lapsed belongs to the next holder now: nothing more is written or cancelled here.
  if (error instanceof ClaimLostError || claimed.signal.aborted) return outcome(blob.name, destination, "busy", { error: errorText(claimed.signal.aborted ? claimed.signal.reason : error) });
  error = await explainQuotaRefusal(services, blob, error);
  const message = errorText(error);
  if (isRelinkRequired(error)) {
    await claimed.release(failureRecordChanges(message, failureFields(error), services.now())).catch(() => undefined);
    throw error;
  }
  if (isDoneFor(claimed.record, blob.etag)) {
    // The verified upload is recorded; only a later write failed (the claim's release): the row lapses by itself.
    services.log.warn(`${blob.name}: uploaded and recorded, but the claim could not be released: ${message}`);
    await claimed.release({}).catch(() => undefined);
    return outcome(blob.name, destination, "uploaded", { bytes: blob.size, fragments: claimed.record.fragments, driveItemId: claimed.record.driveItemId, warning: `the claim could not be released: ${message}` });
  }
  const attempts = attemptNumber(rowAtClaim, blob.etag);
  if (failureKind(error) === "temporary") {
    const kept = claimed.record.uploadUrl !== undefined && claimed.record.blobEtag === blob.etag;
    const resumeNote = kept
      ? `a temporary failure: the upload session is kept and the next attempt resumes it (OneDrive had confirmed ${claimed.record.confirmedBytes} of ${blob.size} bytes)`
      : "a temporary failure: the next attempt tries again";
    const temporaryMessage = `${message} (${resumeNote})`;
    services.log.error(`${blob.name}: ${temporaryMessage}`);
    await claimed.release(temporaryFailureChanges(claimed.record, blob, attempts, temporaryMessage, failureFields(error), services.now(), storedItemId)).catch(() => undefined);
    return outcome(blob.name, destination, "failed", { error: temporaryMessage, temporary: true, bytes: kept ? claimed.record.confirmedBytes : 0, ...outcomeFailureFields(error) });
  }
  services.log.error(`${blob.name}: ${message}`);
  await claimed.release(failureChanges(blob, attempts, message, failureFields(error), services.now(), storedItemId)).catch(() => undefined);
  return outcome(blob.name, destination, "failed", { error: message, ...outcomeFailureFields(error) });
}
