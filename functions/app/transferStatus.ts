import type { LinkState } from "../auth/linkState";
import type { SweepRunRecord } from "../storage/ledger";
import { holdsLiveClaim, type LedgerRecord, type TransferStatus } from "../storage/ledgerRow";

/** Failures listed by the status endpoint, newest first. */
const LAST_FAILURES = 20;

/** The link as the status endpoint shows it; `error` when the token store itself could not be read. */
export type LinkReport = LinkState | { linked: false; relinkNeeded: false; error: string };

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
  warning?: string;
  driveItemId?: string;
  quickXorHash?: string;
  afterTransferDone?: boolean;
  uploadExpiresAt?: string;
  updatedAt?: string;
}

export interface TransferStatusReport {
  container: string;
  generatedAt: string;
  counts: Record<TransferStatus, number> & { total: number };
  /** Rows mid-upload: held by a live worker, or checkpointed and waiting for their continuation message. */
  inFlight: Array<Pick<RowView, "blob" | "destinationPath" | "size" | "confirmedBytes" | "percent" | "inFlight" | "startedAt" | "updatedAt">>;
  lastFailures: Array<{ blob: string; status: TransferStatus; error: string; at?: string; attempts: number }>;
  link: LinkReport;
  lastSweep?: SweepRunRecord;
  queue: { name: string; approximateMessages?: number };
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
    "warning", "driveItemId", "quickXorHash", "afterTransferDone", "uploadExpiresAt", "updatedAt",
  ] as const;
  for (const key of optional) {
    if (record[key] !== undefined) (view as unknown as Record<string, unknown>)[key] = record[key];
  }
  if (!view.inFlight) delete view.claimExpiresAt;
  return view;
}

export function buildStatusReport(input: {
  container: string;
  records: Iterable<LedgerRecord>;
  link: LinkReport;
  lastSweep: SweepRunRecord | undefined;
  queue: { name: string; approximateMessages?: number };
  now: number;
}): TransferStatusReport {
  const counts = { pending: 0, uploading: 0, done: 0, failed: 0, total: 0 };
  const inFlight: TransferStatusReport["inFlight"] = [];
  const failures: LedgerRecord[] = [];
  for (const record of input.records) {
    counts[record.status] = (counts[record.status] ?? 0) + 1;
    counts.total += 1;
    if (record.status === "uploading" || holdsLiveClaim(record, input.now)) {
      const view = rowView(record, input.now);
      inFlight.push({
        blob: view.blob, destinationPath: view.destinationPath, size: view.size, confirmedBytes: view.confirmedBytes,
        percent: view.percent, inFlight: view.inFlight, startedAt: view.startedAt, updatedAt: view.updatedAt,
      });
    }
    if (record.lastError && record.status !== "done") failures.push(record);
  }
  failures.sort((a, b) => (b.lastErrorAt ?? "").localeCompare(a.lastErrorAt ?? ""));
  return {
    container: input.container,
    generatedAt: new Date(input.now).toISOString(),
    counts,
    inFlight: inFlight.sort((a, b) => a.blob.localeCompare(b.blob)),
    lastFailures: failures.slice(0, LAST_FAILURES).map((record) => ({
      blob: record.blobName, status: record.status, error: record.lastError ?? "", at: record.lastErrorAt, attempts: record.attempts,
    })),
    link: input.link,
    ...(input.lastSweep ? { lastSweep: input.lastSweep } : {}),
    queue: input.queue,
  };
}
