import { checkOneDrivePath } from "../onedrive/pathRules";
import type { SourceBlob } from "../storage/blobSource";
import type { ClaimedRow, GuardedRowWriter, LedgerRecord } from "../storage/ledger";
import { claimRowsTogether, LedgerWriteBatcher } from "../storage/ledgerBatch";
import { destinationFor } from "./destinationPath";
import { CLAIM_LEASE_MS, initialRow, transferBlob, type FileOutcome, type TransferServices } from "./blobTransfer";

export interface SweepSummary {
  uploaded: number;
  skipped: number;
  failed: number;
  /** Bytes uploaded in this run. */
  bytes: number;
  files: FileOutcome[];
}

export interface SweepObserver {
  /** A file is about to be transferred (not called for files skipped from the ledger). */
  onFileStart?(blob: SourceBlob, destinationPath: string): void;
  onFileProgress?(blob: SourceBlob, confirmedBytes: number): void;
  onFileDone?(outcome: FileOutcome, blob: SourceBlob): void;
}

export function summarise(files: FileOutcome[]): SweepSummary {
  const summary: SweepSummary = { uploaded: 0, skipped: 0, failed: 0, bytes: 0, files };
  for (const file of files) {
    if (file.status === "uploaded") {
      summary.uploaded += 1;
      summary.bytes += file.bytes;
    } else if (file.status === "failed") summary.failed += 1;
    else summary.skipped += 1;
  }
  return summary;
}

/** A row's outcome waits this long for others to be recorded with it in one transaction. */
const RECORD_LINGER_MS = 250;

/**
 * One pass over the container: lists the blobs under the prefix and reads the whole ledger partition in a few
 * paged requests, skips every blob already done for its current ETag without any Graph call, and transfers the
 * rest TRANSFER_CONCURRENCY at a time.
 *
 * Files that fit in one fragment cost little more than their ledger writes, so their rows are claimed in batches
 * ahead of the workers and their outcomes recorded in batches: a worker moves on to its next file as soon as
 * OneDrive has committed one, while the record of the last joins a transaction. A crash in that short window leaves
 * the row claimed; the next attempt finds the committed file in OneDrive instead of uploading it again.
 */
export async function sweep(services: TransferServices, observer: SweepObserver = {}): Promise<SweepSummary> {
  const { settings } = services;
  const [blobs, records] = await Promise.all([collect(services.source.list(settings.sourcePrefix)), services.ledger.readAll()]);
  const outcomes: Promise<FileOutcome>[] = new Array(blobs.length);
  const pending: { blob: SourceBlob; index: number }[] = [];
  blobs.forEach((blob, index) => {
    const record = records.get(blob.name);
    if (record?.status === "done" && record.blobEtag === blob.etag) {
      const outcome: FileOutcome = { blob: blob.name, path: record.destinationPath, status: "skipped", bytes: blob.size, chunks: 0 };
      observer.onFileDone?.(outcome, blob);
      outcomes[index] = Promise.resolve(outcome);
    } else pending.push({ blob, index });
  });

  const recorder = new LedgerWriteBatcher(services.ledger, { lingerMs: RECORD_LINGER_MS });
  const oneFragment = new BatchClaims(
    services,
    pending
      .map(({ blob }) => blob)
      .filter((blob) => blob.size <= settings.chunkSizeBytes && !checkOneDrivePath(destinationFor(blob.name, settings.sourcePrefix, settings.destFolder).fullPath)),
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
        return transferBlob(services, blob.name, {
          knownBlob: blob,
          knownRecord: records.get(blob.name) ?? null,
          claimed,
          onUploaded: uploaded,
          onProgress: (confirmedBytes) => observer.onFileProgress?.(blob, confirmedBytes),
        });
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
 * Claims the rows of one-fragment files a batch at a time, in listing order, the next batch while the workers are
 * still on the current one.
 */
class BatchClaims {
  private readonly positions = new Map<string, number>();
  private readonly batches = new Map<number, Promise<(ClaimedRow | undefined)[]>>();

  constructor(
    private readonly services: TransferServices,
    private readonly blobs: SourceBlob[],
    private readonly records: Map<string, LedgerRecord>,
    private readonly writer: GuardedRowWriter,
  ) {
    blobs.forEach((blob, position) => this.positions.set(blob.name, position));
  }

  has(blob: SourceBlob): boolean {
    return this.positions.has(blob.name);
  }

  async claimFor(blob: SourceBlob): Promise<ClaimedRow | null> {
    const position = this.positions.get(blob.name)!;
    const batch = Math.floor(position / CLAIM_BATCH_ROWS);
    if (position % CLAIM_BATCH_ROWS >= CLAIM_BATCH_ROWS / 2) this.start(batch + 1);
    const rows = await this.start(batch);
    const row = rows[position % CLAIM_BATCH_ROWS];
    // Handed out once: the batch keeps no reference, so a long sweep does not hold every claimed row to its end.
    rows[position % CLAIM_BATCH_ROWS] = undefined;
    return row ?? null;
  }

  /** Rows claimed ahead that no worker took (every row handed out is cleared from its batch). */
  async releaseUnused(): Promise<void> {
    const batches = await Promise.all([...this.batches.values()].map((rows) => rows.catch(() => [])));
    await Promise.all(batches.flat().map((row) => row?.release({}).catch(() => undefined)));
  }


  private start(batch: number): Promise<(ClaimedRow | undefined)[]> {
    let rows = this.batches.get(batch);
    if (!rows) {
      const { settings } = this.services;
      const requests = this.blobs.slice(batch * CLAIM_BATCH_ROWS, (batch + 1) * CLAIM_BATCH_ROWS).map((blob) => ({
        blobName: blob.name,
        initial: initialRow(blob, destinationFor(blob.name, settings.sourcePrefix, settings.destFolder)),
        known: this.records.get(blob.name) ?? null,
      }));
      rows = claimRowsTogether(this.services.ledger, requests, { owner: this.services.workerId, leaseMs: CLAIM_LEASE_MS, now: this.services.now }, this.writer);
      // A batch claimed ahead may fail before any worker awaits it; the worker that does will see the error.
      rows.catch(() => undefined);
      this.batches.set(batch, rows);
    }
    return rows;
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}
