import { checkOneDrivePath } from "../onedrive/pathRules";
import type { SourceBlob } from "../storage/blobSource";
import { ledgerShardOf, type ClaimedRow, type GuardedRowWriter } from "../storage/ledger";
import { CLAIM_LEASE_MS, initialRow, isDoneFor, type LedgerRecord } from "../storage/ledgerRow";
import { claimRowsTogether, LedgerWriteBatcher } from "../storage/ledgerBatch";
import { destinationFor } from "./destinationPath";
import { transferBlob, type FileOutcome, type TransferOptions, type TransferServices } from "./blobTransfer";
import { waitForClaimToLapse } from "./claimWait";

export interface SweepSummary {
  uploaded: number;
  /** Already in OneDrive for their current version (or gone from the container). */
  skipped: number;
  failed: number;
  /** Left unfinished: another run holds them ("busy"), or the time budget ran out ("incomplete"). */
  unfinished: number;
  /** Bytes uploaded in this run. */
  bytes: number;
  files: FileOutcome[];
}

export interface SweepObserver {
  /** A file is about to be transferred (not called for files skipped from the ledger). */
  onFileStart?(blob: SourceBlob, destinationPath: string): void;
  onFileProgress?(blob: SourceBlob, confirmedBytes: number): void;
  /** The file waits for another run's claim on it to lapse (waitForClaims). */
  onFileWaiting?(blob: SourceBlob, message: string): void;
  onFileDone?(outcome: FileOutcome, blob: SourceBlob): void;
}

export function summarise(files: FileOutcome[]): SweepSummary {
  const summary: SweepSummary = { uploaded: 0, skipped: 0, failed: 0, unfinished: 0, bytes: 0, files };
  for (const file of files) {
    if (file.status === "uploaded") {
      summary.uploaded += 1;
      summary.bytes += file.bytes;
    } else if (file.status === "failed") summary.failed += 1;
    else if (file.status === "skipped") summary.skipped += 1;
    else summary.unfinished += 1;
  }
  return summary;
}

/** A row's outcome waits this long for others to be recorded with it in one transaction. */
const RECORD_LINGER_MS = 250;

/**
 * One pass over the container: lists the blobs under the prefix, reads their ledger rows (a few paged requests for
 * the whole container, or one each when there are only a few), skips every blob already done for its current ETag
 * without any Graph call, and transfers the rest TRANSFER_CONCURRENCY at a time.
 *
 * Files that fit in one fragment cost little more than their ledger writes, so their rows are claimed in batches
 * ahead of the workers and their outcomes recorded in batches: a worker moves on to its next file as soon as
 * OneDrive has committed one, while the record of the last joins a transaction. A crash in that short window leaves
 * the row claimed; the next attempt finds the committed file in OneDrive instead of uploading it again.
 */
export async function sweep(services: TransferServices, observer: SweepObserver = {}): Promise<SweepSummary> {
  const { settings } = services;
  const blobs = await collect(services.source.list(settings.sourcePrefix));
  const records = await services.ledger.readRowsOf(blobs.map((blob) => blob.name));
  const outcomes: Promise<FileOutcome>[] = new Array(blobs.length);
  const pending: { blob: SourceBlob; index: number; shard: string }[] = [];
  blobs.forEach((blob, index) => {
    const record = records.get(blob.name);
    if (isDoneFor(record, blob.etag)) {
      const outcome: FileOutcome = { blob: blob.name, path: record.destinationPath, status: "skipped", bytes: blob.size, fragments: 0 };
      observer.onFileDone?.(outcome, blob);
      outcomes[index] = Promise.resolve(outcome);
    } else pending.push({ blob, index, shard: ledgerShardOf(blob.name) });
  });
  // Files go in ledger-partition order (listing order within one), so the rows claimed and recorded together are
  // mostly of one partition: a table transaction cannot span two. The summary keeps listing order.
  pending.sort((a, b) => (a.shard === b.shard ? a.index - b.index : a.shard < b.shard ? -1 : 1));

  // Only once some blob needs work, and before any row is claimed: a run with nothing to do asks Graph nothing.
  if (pending.length > 0) await services.ensureDestination?.();
  const recorder = new LedgerWriteBatcher(services.ledger, { lingerMs: RECORD_LINGER_MS });
  const oneFragment = new BatchClaims(
    services,
    pending.filter(({ blob }) => blob.size <= settings.fragmentSizeBytes && !checkOneDrivePath(destinationFor(blob.name, settings.sourcePrefix, settings.destFolder).fullPath, services.graph.driveLocationPath)),
    records,
    recorder,
  );
  let nextPending = 0;
  let stopError: { error: unknown } | undefined;
  const worker = async () => {
    while (nextPending < pending.length && !stopError) {
      const { blob, index } = pending[nextPending++];
      observer.onFileStart?.(blob, destinationFor(blob.name, settings.sourcePrefix, settings.destFolder).fullPath);
      let uploaded!: () => void;
      const uploadFinished = new Promise<void>((resolve) => (uploaded = resolve));
      const outcome = (async () => {
        const claimed = oneFragment.has(blob) ? await oneFragment.claimFor(blob) : undefined;
        const options: TransferOptions = { knownBlob: blob, onUploaded: uploaded, onProgress: (confirmedBytes) => observer.onFileProgress?.(blob, confirmedBytes) };
        const first = await transferBlob(services, blob.name, { ...options, knownRecord: records.get(blob.name) ?? null, claimed });
        if (first.status !== "busy" || !services.waitForClaims) return first;
        const wait = await waitForClaimToLapse(services, blob.name, (message) => observer.onFileWaiting?.(blob, message));
        if (!wait.free) return { ...first, error: wait.reason };
        return transferBlob(services, blob.name, options);
      })();
      outcomes[index] = outcome.then((done) => {
        observer.onFileDone?.(done, blob);
        return done;
      });
      // A sign-in failure stops the run: every other file would fail the same way. Noted here at once (an outcome
      // rejected with no handler until the end of the run would be an unhandled rejection); thrown after the run.
      outcomes[index].catch((error: unknown) => (stopError ??= { error }));
      await Promise.race([uploadFinished, outcome.then(() => undefined, () => undefined)]);
    }
  };
  await Promise.all(Array.from({ length: settings.transferConcurrency }, worker));
  // A run stopped early leaves rows claimed ahead that no worker took: let them go now rather than at lease expiry.
  const released = oneFragment.releaseUnused();
  // No more uploads will start: records still waiting for company go out now.
  recorder.drain();
  await released;
  const settled = await Promise.allSettled(outcomes.filter((outcome) => outcome !== undefined));
  if (stopError) throw stopError.error;
  return summarise(settled.map((result) => (result as PromiseFulfilledResult<FileOutcome>).value));
}

/**
 * How many one-fragment rows one transaction claims. The next batch is claimed when the workers are half-way
 * through this one, so a row waits for at most one and a half batches of files: well inside its lease even when
 * OneDrive takes seconds a file (and a row that waited long is renewed before its transfer starts).
 */
const CLAIM_BATCH_ROWS = 50;

/**
 * Claims the rows of one-fragment files a batch at a time, in the order the workers take them, the next batch while
 * the workers are still on the current one. A batch holds rows of one ledger partition only, so it is one
 * transaction.
 */
class BatchClaims {
  /** Each file's batch and place in it. */
  private readonly slots = new Map<string, { batch: number; slot: number }>();
  private readonly members: SourceBlob[][] = [];
  private readonly batches = new Map<number, Promise<(ClaimedRow | undefined)[]>>();

  constructor(
    private readonly services: TransferServices,
    blobs: { blob: SourceBlob; shard: string }[],
    private readonly records: Map<string, LedgerRecord>,
    private readonly writer: GuardedRowWriter,
  ) {
    let current: SourceBlob[] = [];
    let currentShard: string | undefined;
    for (const { blob, shard } of blobs) {
      if (current.length === 0 || current.length === CLAIM_BATCH_ROWS || shard !== currentShard) {
        current = [];
        currentShard = shard;
        this.members.push(current);
      }
      this.slots.set(blob.name, { batch: this.members.length - 1, slot: current.length });
      current.push(blob);
    }
  }

  has(blob: SourceBlob): boolean {
    return this.slots.has(blob.name);
  }

  async claimFor(blob: SourceBlob): Promise<ClaimedRow | null> {
    const { batch, slot } = this.slots.get(blob.name)!;
    if (slot >= this.members[batch].length / 2) this.start(batch + 1);
    const rows = await this.start(batch);
    const row = rows[slot];
    // Handed out once: the batch keeps no reference, so a long sweep does not hold every claimed row to its end.
    rows[slot] = undefined;
    return row ?? null;
  }

  /** Rows claimed ahead that no worker took (every row handed out is cleared from its batch). */
  async releaseUnused(): Promise<void> {
    const batches = await Promise.all([...this.batches.values()].map((rows) => rows.catch(() => [])));
    await Promise.all(batches.flat().map((row) => row?.release({}).catch(() => undefined)));
  }

  private start(batch: number): Promise<(ClaimedRow | undefined)[]> {
    let rows = this.batches.get(batch);
    if (!rows && batch < this.members.length) {
      const { settings } = this.services;
      const requests = this.members[batch].map((blob) => ({
        blobName: blob.name,
        initial: initialRow(blob, destinationFor(blob.name, settings.sourcePrefix, settings.destFolder).fullPath),
        known: this.records.get(blob.name) ?? null,
      }));
      rows = claimRowsTogether(this.services.ledger, requests, { owner: this.services.workerId, leaseMs: CLAIM_LEASE_MS, now: this.services.now }, this.writer);
      // A batch claimed ahead may fail before any worker awaits it; the worker that does will see the error.
      rows.catch(() => undefined);
      this.batches.set(batch, rows);
    }
    return rows ?? Promise.resolve([]);
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}
