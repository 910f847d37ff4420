import type { SourceBlob } from "./blobSource";

/**
 * The ledger row and its rules: what a row holds, when it says a blob version is done, when a claim on it is live,
 * and every set of changes the engine writes to it. The ledger, the claims, the write batcher, the sweeps and the
 * status endpoint all read rows through these, so a rule is written once.
 */

export type TransferStatus = "pending" | "uploading" | "done" | "failed";

/** One row per source blob: what the last transfer of which version reached, so any process can resume it. */
export interface LedgerRecord {
  blobName: string;
  /** Normalised ETag of the blob version this row describes ("etag" itself is the table row's own ETag). */
  blobEtag: string;
  status: TransferStatus;
  size: number;
  destinationPath: string;
  /** Upload session URL (carries its own credential: never log it). */
  uploadUrl?: string;
  /** HMAC of uploadUrl under this deployment's key (uploadUrlTrust.ts): a URL without a valid one is never contacted. */
  uploadUrlSeal?: string;
  uploadExpiresAt?: string;
  /** Bytes OneDrive confirmed at the last checkpoint. */
  confirmedBytes: number;
  /** QuickXorHash state covering bytes [0, hashedBytes), so a resumed transfer need not re-read what it hashed. */
  hashState?: string;
  hashedBytes?: number;
  fragments: number;
  attempts: number;
  lastError?: string;
  lastErrorAt?: string;
  /** What kind of failure `lastError` describes (see FailureCause); written with it, cleared with it. */
  lastErrorCause?: FailureCause;
  /** The service's error code (Graph's innermost code, a network error code, or "HTTP <status>"). */
  lastErrorCode?: string;
  /** The Graph request id of the failed answer, for Microsoft support. */
  lastRequestId?: string;
  warning?: string;
  driveItemId?: string;
  quickXorHash?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  updatedAt?: string;
  /** Set when a message for this ETag was put on the transfer queue, so sweeps do not queue it twice. */
  queuedAt?: string;
  queuedEtag?: string;
  claimOwner?: string;
  claimExpiresAt?: string;
  afterTransferDone?: boolean;
  /**
   * Recorded done, and AFTER_TRANSFER (delete, archive) was about to run: a row still saying so lost its process in
   * between, and is not done until an attempt has applied it.
   */
  afterTransferPending?: boolean;
  /** The service asked to wait until then: no run sends this blob's bytes (nor queues it) before. */
  throttledUntil?: string;
}

/**
 * Why the last attempt failed, as a closed list a person can act on (functions/app/failureAdvice.ts says what to
 * do for each): the blob's name, a conflicting item, quota, throttling, the sign-in, permissions, a refused or
 * unverifiable upload, the blob changing, the network or the service, the ledger or blob storage, the poison queue.
 */
export type FailureCause =
  | "refusedName"
  | "nameConflict"
  | "quota"
  | "throttled"
  | "relinkNeeded"
  | "signInRefused"
  | "accessDenied"
  | "refusedByOneDrive"
  | "uploadRejected"
  | "blobChanged"
  | "network"
  | "serviceError"
  | "storage"
  | "poisoned"
  | "unexpected";

/** The structured fields of a failure; codes and ids only, never a URL or a token. */
export interface FailureFields {
  lastErrorCause: FailureCause;
  lastErrorCode?: string;
  lastRequestId?: string;
}

/** Every failure field, cleared: an attempt that starts or succeeds leaves none of the last failure behind. */
const NO_FAILURE: LedgerChanges = { lastError: undefined, lastErrorCause: undefined, lastErrorCode: undefined, lastRequestId: undefined };

/** A failure's message and its structured fields, all written together so they never describe different failures. */
export function failureRecordChanges(message: string, fields: FailureFields, now: number): LedgerChanges {
  return { lastError: message, lastErrorAt: new Date(now).toISOString(), lastErrorCause: fields.lastErrorCause, lastErrorCode: fields.lastErrorCode, lastRequestId: fields.lastRequestId };
}

export type LedgerChanges = Partial<Omit<LedgerRecord, "blobName">>;

/** A claim lapses this long after its holder's last write, so a crashed worker's blob is picked up again. */
export const CLAIM_LEASE_MS = 60_000;

/** The row records a verified transfer of this very blob version (ETags normalised, as the blob source gives them). */
export function isDoneFor(row: LedgerRecord | undefined, blobEtag: string): row is LedgerRecord & { status: "done" } {
  return row?.status === "done" && row.blobEtag === blobEtag && !row.afterTransferPending;
}

/** Some worker holds an unexpired claim on the row. */
export function holdsLiveClaim(row: LedgerRecord, now: number): boolean {
  return Boolean(row.claimOwner) && Date.parse(row.claimExpiresAt ?? "") > now;
}

/** A worker other than `owner` holds an unexpired claim on the row. */
export function isLiveClaimOfOther(row: LedgerRecord, owner: string, now: number): boolean {
  return holdsLiveClaim(row, now) && row.claimOwner !== owner;
}

/** The fields a claim writes: who holds the row and until when. */
export function claimFields(owner: string, leaseMs: number, now: number): LedgerChanges {
  return { claimOwner: owner, claimExpiresAt: new Date(now + leaseMs).toISOString(), updatedAt: new Date(now).toISOString() };
}

/** The fields a release writes: nobody holds the row. */
export function releasedClaimFields(now: number): LedgerChanges {
  return { claimOwner: undefined, claimExpiresAt: undefined, updatedAt: new Date(now).toISOString() };
}

/** The row a claim creates for a blob the ledger has never seen. */
export function initialRow(blob: Pick<SourceBlob, "etag" | "size">, destinationPath: string): Omit<LedgerRecord, "blobName"> {
  return { blobEtag: blob.etag, status: "pending", size: blob.size, destinationPath, confirmedBytes: 0, fragments: 0, attempts: 0 };
}

/** This attempt's number for this blob version (the row counts attempts per version). */
export function attemptNumber(row: LedgerRecord, blobEtag: string): number {
  return (row.blobEtag === blobEtag ? row.attempts : 0) + 1;
}

/** What an attempt writes as it starts on a blob version (and repeats in its final record). */
export function attemptStartChanges(blob: Pick<SourceBlob, "etag" | "size">, destinationPath: string, attempts: number, startedAt: number): LedgerChanges {
  return {
    blobEtag: blob.etag, size: blob.size, destinationPath, attempts,
    startedAt: new Date(startedAt).toISOString(), finishedAt: undefined, ...NO_FAILURE, warning: undefined, throttledUntil: undefined,
  };
}

/** A blob whose name OneDrive would refuse: failed before any request, nothing to clear. */
export function refusedNameChanges(blob: Pick<SourceBlob, "etag" | "size">, destinationPath: string, row: LedgerRecord | undefined, message: string, now: number): LedgerChanges {
  return { blobEtag: blob.etag, status: "failed", size: blob.size, destinationPath, ...failureRecordChanges(message, { lastErrorCause: "refusedName" }, now), attempts: (row?.attempts ?? 0) + 1 };
}

/** An attempt on this blob version started and has not finished: OneDrive may hold some or all of its bytes. */
export function hasUnfinishedAttempt(row: LedgerRecord, blobEtag: string): boolean {
  return row.status === "uploading" && row.blobEtag === blobEtag;
}

/**
 * A permanently failed attempt (see functions/transfer/failureKind.ts): the session is dropped (it was cancelled)
 * and the queue mark cleared, so the next sweep tries again. `storedItemId`: OneDrive already holds this version's
 * bytes, verified, as that item (the failure came after, in the library's check-in or the time): the row names it,
 * so the next attempt settles that item instead of uploading the bytes again.
 */
export function failureChanges(
  blob: Pick<SourceBlob, "etag" | "size">,
  attempts: number,
  message: string,
  fields: FailureFields,
  now: number,
  storedItemId?: string,
): LedgerChanges {
  return {
    status: "failed", blobEtag: blob.etag, size: blob.size, attempts, ...failureRecordChanges(message, fields, now),
    uploadUrl: undefined, uploadUrlSeal: undefined, uploadExpiresAt: undefined, queuedAt: undefined, queuedEtag: undefined,
    ...storedItemChanges(storedItemId),
  };
}

/**
 * Only a failure that knows of a stored item writes one: an attempt that failed before it reached the item keeps
 * what an earlier attempt recorded.
 */
function storedItemChanges(storedItemId: string | undefined): LedgerChanges {
  return storedItemId === undefined ? {} : { driveItemId: storedItemId };
}

/**
 * The row names an item an earlier attempt on this blob version may have left in OneDrive without finishing (not
 * done). Only a candidate: the item is compared with the blob's bytes before anything is recorded, since an item id
 * written for an earlier version stays on the row until this version is done.
 */
export function namesUnsettledItem(row: LedgerRecord, blobEtag: string): row is LedgerRecord & { driveItemId: string } {
  return row.status !== "done" && row.blobEtag === blobEtag && Boolean(row.driveItemId);
}

/**
 * A temporarily failed attempt: unfinished rather than failed. The row keeps status "uploading", the upload session
 * and the checkpoint of this blob version, so the next attempt resumes at the server's offset, or finds the file
 * OneDrive committed. The queue mark is cleared, so the next sweep queues the blob again. A session of another
 * version (`row` is the row as this attempt last wrote it) is dropped: nothing can resume it. `storedItemId` as
 * for failureChanges.
 */
export function temporaryFailureChanges(
  row: LedgerRecord,
  blob: Pick<SourceBlob, "etag" | "size">,
  attempts: number,
  message: string,
  fields: FailureFields,
  now: number,
  storedItemId?: string,
): LedgerChanges {
  const otherVersion: LedgerChanges =
    row.blobEtag === blob.etag ? {} : { uploadUrl: undefined, uploadExpiresAt: undefined, confirmedBytes: 0, fragments: 0, hashState: undefined, hashedBytes: undefined };
  return {
    status: "uploading", blobEtag: blob.etag, size: blob.size, attempts, ...failureRecordChanges(message, fields, now),
    queuedAt: undefined, queuedEtag: undefined, ...otherVersion, ...storedItemChanges(storedItemId),
  };
}

/** An upload session was just created: recorded at once, so a process killed mid-file resumes it. */
export function sessionStartChanges(uploadUrl: string, confirmedBytes: number, uploadUrlSeal: string): LedgerChanges {
  return { status: "uploading", uploadUrl, uploadUrlSeal, confirmedBytes, fragments: 0, hashState: undefined, hashedBytes: 0 };
}

/** Progress through an upload session: the bytes OneDrive confirmed and the hash state covering them. */
export function checkpointChanges(confirmedBytes: number, fragments: number, hash: { state: string; length: number }): LedgerChanges {
  return { confirmedBytes, fragments, hashState: hash.state, hashedBytes: hash.length };
}

/** A verified upload: the item OneDrive holds, the session and checkpoint gone, the queue mark cleared. */
export function doneChanges(input: {
  driveItemId: string;
  quickXorHash: string;
  size: number;
  fragments: number;
  startedAt: number;
  finishedAt: number;
  warning: string | undefined;
  afterTransferDone: boolean;
}): LedgerChanges {
  return {
    status: "done", driveItemId: input.driveItemId, quickXorHash: input.quickXorHash, confirmedBytes: input.size, fragments: input.fragments,
    uploadUrl: undefined, uploadUrlSeal: undefined, uploadExpiresAt: undefined, hashState: undefined, hashedBytes: undefined, finishedAt: new Date(input.finishedAt).toISOString(),
    durationMs: input.finishedAt - input.startedAt, warning: input.warning, ...NO_FAILURE, queuedAt: undefined, queuedEtag: undefined,
    afterTransferDone: input.afterTransferDone,
  };
}

/** Throttled past what the run could wait: session and checkpoint stay, and every run waits until the given time. */
export function throttledChanges(retryAfterMs: number, message: string, fields: Omit<FailureFields, "lastErrorCause">, now: number): LedgerChanges {
  return { throttledUntil: new Date(now + retryAfterMs).toISOString(), ...failureRecordChanges(message, { ...fields, lastErrorCause: "throttled" }, now) };
}

/** The service's recorded wait is still running. */
export function isThrottled(row: LedgerRecord | undefined, now: number): boolean {
  return Date.parse(row?.throttledUntil ?? "") > now;
}
