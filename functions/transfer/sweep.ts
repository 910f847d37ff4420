import pLimit from "p-limit";
import type { SourceBlob } from "../storage/blobSource";
import { destinationFor } from "./destinationPath";
import { transferBlob, type FileOutcome, type TransferServices } from "./blobTransfer";

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

/**
 * One pass over the container: lists the blobs under the prefix and reads the whole ledger partition in a few
 * paged requests, skips every blob already done for its current ETag without any Graph call, and transfers the
 * rest TRANSFER_CONCURRENCY at a time.
 */
export async function sweep(services: TransferServices, observer: SweepObserver = {}): Promise<SweepSummary> {
  const { settings } = services;
  const [blobs, records] = await Promise.all([collect(services.source.list(settings.sourcePrefix)), services.ledger.readAll()]);
  const limit = pLimit(settings.transferConcurrency);
  const outcomes = await Promise.all(
    blobs.map((blob) => {
      const record = records.get(blob.name) ?? null;
      if (record?.status === "done" && record.blobEtag === blob.etag) {
        const outcome: FileOutcome = { blob: blob.name, path: record.destinationPath, status: "skipped", bytes: blob.size, chunks: 0 };
        observer.onFileDone?.(outcome, blob);
        return outcome;
      }
      return limit(async () => {
        observer.onFileStart?.(blob, destinationFor(blob.name, settings.sourcePrefix, settings.destFolder).fullPath);
        const outcome = await transferBlob(services, blob.name, {
          knownBlob: blob,
          knownRecord: record,
          onProgress: (confirmedBytes) => observer.onFileProgress?.(blob, confirmedBytes),
        });
        observer.onFileDone?.(outcome, blob);
        return outcome;
      });
    }),
  );
  return summarise(outcomes);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}
