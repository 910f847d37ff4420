import type { LinkState } from "../auth/linkState";
import type { SweepRunRecord } from "../storage/ledger";
import { holdsLiveClaim, type FailureCause, type LedgerRecord, type TransferStatus } from "../storage/ledgerRow";
import type { TransferEngine } from "../transfer/transferEngine";
import { errorText } from "../shared/errorText";
import { adviceFor } from "./failureAdvice";

/** Failures listed by the status endpoint, newest first. */
const LAST_FAILURES = 20;
/** The window of the status's totals. */
export const TOTALS_WINDOW_MS = 24 * 3600_000;
/** A rate needs this much elapsed time between the attempt's start and its last write to mean anything. */
const MIN_RATE_WINDOW_MS = 1_000;

/** Whose tokens upload the files: the linked account (delegated) or the app itself (AUTH_MODE=app). */
export interface IdentityReport {
  mode: "delegated" | "app";
  /** As a person reads it: the account's sign-in name, or e.g. "app 1111… via managed identity (federated)". */
  display: string;
}

/**
 * The link as the status endpoint shows it; `error` when the token store itself could not be read. `identity` (app
 * mode) is lifted into the report's own `identity` field; for a delegated link that field names the linked account.
 */
export type LinkReport = (LinkState | { linked: false; relinkNeeded: false; error: string }) & { identity?: IdentityReport };

export interface RowView {
  blob: string;
  status: TransferStatus;
  blobEtag: string;
  destinationPath: string;
  size: number;
  confirmedBytes: number;
  percent: number;
  fragments: number;
  attempts: number;
  /** A live worker holds the claim right now. */
  inFlight: boolean;
  claimExpiresAt?: string;
  queuedAt?: string;
  queuedEtag?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  lastError?: string;
  lastErrorAt?: string;
  lastErrorCause?: FailureCause;
  lastErrorCode?: string;
  lastRequestId?: string;
  warning?: string;
  driveItemId?: string;
  quickXorHash?: string;
  afterTransferDone?: boolean;
  uploadExpiresAt?: string;
  updatedAt?: string;
}

/** A file mid-upload, with its speed when it can be measured. */
export interface InFlightView extends Pick<RowView, "blob" | "destinationPath" | "size" | "confirmedBytes" | "percent" | "inFlight" | "startedAt" | "updatedAt"> {
  /** uploading: a live worker holds it; throttled: waiting out the service's wait; waiting: for its next attempt. */
  state: "uploading" | "throttled" | "waiting";
  /**
   * Average since the attempt started: confirmed bytes over the time from `startedAt` to the row's last write
   * (checkpoints land every second while bytes move). Only for a row a live worker holds; a resumed attempt counts
   * from its first start, so it reads low.
   */
  bytesPerSecond?: number;
  /** The bytes still to send at `bytesPerSecond`. */
  secondsLeft?: number;
  throttledUntil?: string;
}

/** A failed (or unfinished) row: its message, its cause in plain words, what to do, and the ids support needs. */
export interface FailureView {
  blob: string;
  status: TransferStatus;
  error: string;
  at?: string;
  attempts: number;
  cause?: FailureCause;
  /** The cause in plain words. */
  summary: string;
  /** What to do about it. */
  action: string;
  code?: string;
  requestId?: string;
}

export interface TransferStatusReport {
  container: string;
  generatedAt: string;
  counts: Record<TransferStatus, number> & { total: number };
  /** Rows mid-upload: held by a live worker, or checkpointed and waiting for their continuation message. */
  inFlight: InFlightView[];
  lastFailures: FailureView[];
  link: LinkReport;
  /** The destination as a person reads it, e.g. "Finance › Documents › From Azure". */
  destination?: { display: string; kind: "me" | "drive" | "user" | "library"; driveId?: string };
  identity?: IdentityReport;
  lastSweep?: SweepRunRecord;
  /** The latest sweeps, newest first. */
  recentSweeps: SweepRunRecord[];
  queue: { name: string; approximateMessages?: number; poisonQueue?: string; poisonMessages?: number };
  /**
   * Files recorded done in the window, and their bytes. The ledger keeps each blob's latest outcome only, so a blob
   * transferred twice in the window counts once.
   */
  last24Hours: { since: string; files: number; bytes: number };
}

/**
 * The destination for the status report: resolved once per process by the engine; when it cannot be resolved the
 * display says why (the same text the transfers log), so the status page shows what to fix.
 */
export async function statusDestination(engine: Pick<TransferEngine, "destination" | "settings">): Promise<NonNullable<TransferStatusReport["destination"]>> {
  try {
    const { display, kind, driveId } = await engine.destination();
    return { display, kind, driveId };
  } catch (error) {
    return { display: `not reachable: ${errorText(error)}`, kind: engine.settings.destDrive.kind };
  }
}

function percentOf(record: LedgerRecord): number {
  if (record.status === "done") return 100;
  return record.size > 0 ? Math.floor((record.confirmedBytes / record.size) * 1000) / 10 : 0;
}

/**
 * A row as the HTTP API shows it. Built field by field, never by spreading the record: the row holds the upload
 * session URL, which is itself a credential for the OneDrive file, and that must never leave the ledger.
 */
export function rowView(record: LedgerRecord, now: number): RowView {
  const view: RowView = {
    blob: record.blobName,
    status: record.status,
    blobEtag: record.blobEtag,
    destinationPath: record.destinationPath,
    size: record.size,
    confirmedBytes: record.confirmedBytes,
    percent: percentOf(record),
    fragments: record.fragments,
    attempts: record.attempts,
    inFlight: holdsLiveClaim(record, now),
  };
  const optional = [
    "claimExpiresAt", "queuedAt", "queuedEtag", "startedAt", "finishedAt", "durationMs", "lastError", "lastErrorAt",
    "lastErrorCause", "lastErrorCode", "lastRequestId", "warning", "driveItemId", "quickXorHash", "afterTransferDone", "uploadExpiresAt", "updatedAt",
  ] as const;
  for (const key of optional) {
    if (record[key] !== undefined) (view as unknown as Record<string, unknown>)[key] = record[key];
  }
  if (!view.inFlight) delete view.claimExpiresAt;
  return view;
}

function inFlightView(record: LedgerRecord, now: number): InFlightView {
  const view = rowView(record, now);
  const entry: InFlightView = {
    blob: view.blob, destinationPath: view.destinationPath, size: view.size, confirmedBytes: view.confirmedBytes,
    percent: view.percent, inFlight: view.inFlight, startedAt: view.startedAt, updatedAt: view.updatedAt,
    state: view.inFlight ? "uploading" : Date.parse(record.throttledUntil ?? "") > now ? "throttled" : "waiting",
  };
  if (entry.state === "throttled") entry.throttledUntil = record.throttledUntil;
  const elapsedMs = Date.parse(record.updatedAt ?? "") - Date.parse(record.startedAt ?? "");
  if (view.inFlight && elapsedMs >= MIN_RATE_WINDOW_MS && record.confirmedBytes > 0) {
    entry.bytesPerSecond = Math.round(record.confirmedBytes / (elapsedMs / 1000));
    entry.secondsLeft = Math.ceil(Math.max(0, record.size - record.confirmedBytes) / entry.bytesPerSecond);
  }
  return entry;
}

function failureView(record: LedgerRecord): FailureView {
  const advice = adviceFor(record.lastErrorCause, record.status);
  return {
    blob: record.blobName, status: record.status, error: record.lastError ?? "", at: record.lastErrorAt, attempts: record.attempts,
    ...(record.lastErrorCause ? { cause: record.lastErrorCause } : {}),
    summary: advice.cause, action: advice.action,
    ...(record.lastErrorCode ? { code: record.lastErrorCode } : {}),
    ...(record.lastRequestId ? { requestId: record.lastRequestId } : {}),
  };
}

export function buildStatusReport(input: {
  container: string;
  records: Iterable<LedgerRecord>;
  link: LinkReport;
  lastSweep: SweepRunRecord | undefined;
  recentSweeps?: SweepRunRecord[];
  queue: TransferStatusReport["queue"];
  destination?: TransferStatusReport["destination"];
  identity?: TransferStatusReport["identity"];
  now: number;
}): TransferStatusReport {
  const counts = { pending: 0, uploading: 0, done: 0, failed: 0, total: 0 };
  const inFlight: InFlightView[] = [];
  const failures: LedgerRecord[] = [];
  const windowStart = input.now - TOTALS_WINDOW_MS;
  const last24Hours = { since: new Date(windowStart).toISOString(), files: 0, bytes: 0 };
  for (const record of input.records) {
    counts[record.status] = (counts[record.status] ?? 0) + 1;
    counts.total += 1;
    if (record.status === "uploading" || holdsLiveClaim(record, input.now)) inFlight.push(inFlightView(record, input.now));
    if (record.lastError && record.status !== "done") failures.push(record);
    if (record.status === "done" && Date.parse(record.finishedAt ?? "") >= windowStart) {
      last24Hours.files += 1;
      last24Hours.bytes += record.size;
    }
  }
  failures.sort((a, b) => (b.lastErrorAt ?? "").localeCompare(a.lastErrorAt ?? ""));
  const { identity: appIdentity, ...link } = input.link;
  // Delegated: the identity is the linked account, whether or not its grant still works.
  const identity: IdentityReport | undefined = appIdentity ?? ("account" in link && link.account ? { mode: "delegated", display: link.account } : undefined);
  return {
    container: input.container,
    generatedAt: new Date(input.now).toISOString(),
    counts,
    inFlight: inFlight.sort((a, b) => a.blob.localeCompare(b.blob)),
    lastFailures: failures.slice(0, LAST_FAILURES).map(failureView),
    link,
    ...(input.destination ? { destination: input.destination } : {}),
    ...((input.identity ?? identity) ? { identity: input.identity ?? identity } : {}),
    ...(input.lastSweep ? { lastSweep: input.lastSweep } : {}),
    recentSweeps: input.recentSweeps ?? (input.lastSweep ? [input.lastSweep] : []),
    queue: input.queue,
    last24Hours,
  };
}
