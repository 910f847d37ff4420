import { randomUUID } from "node:crypto";
import pLimit from "p-limit";
import type { SourceBlob } from "../storage/blobSource";
import { holdsLiveClaim, isDoneFor, isThrottled, type LedgerRecord } from "../storage/ledgerRow";
import type { TransferServices } from "../transfer/blobTransfer";
import { REQUEUE_WINDOW_MS } from "./hostLimits";
import type { TransferQueue } from "./transferQueue";

/** Messages in flight to the queue at once during a sweep: enough to queue thousands in seconds. */
const ENQUEUE_CONCURRENCY = 16;

export interface SweepRun {
  runId: string;
  listed: number;
  queued: string[];
  /** Blobs left alone, by reason. */
  skipped: { done: number; queued: number; inFlight: number; throttled: number };
}

export type SkipReason = keyof SweepRun["skipped"];

/**
 * Why a blob needs no message now, or undefined when it does: done for its current ETag, already queued for this
 * ETag within the window, claimed by a live worker, or throttled by the service until a recorded time (queuing it
 * would only add load). Failed blobs are queued again (a sweep is their retry).
 */
export function reasonToSkip(blob: SourceBlob, record: LedgerRecord | undefined, now: number, windowMs = REQUEUE_WINDOW_MS): SkipReason | undefined {
  if (!record) return undefined;
  if (isDoneFor(record, blob.etag)) return "done";
  if (holdsLiveClaim(record, now)) return "inFlight";
  if (isThrottled(record, now)) return "throttled";
  if (record.queuedEtag === blob.etag && record.queuedAt && now - Date.parse(record.queuedAt) < windowMs) return "queued";
  return undefined;
}

export function newRunId(): string {
  return randomUUID();
}

/**
 * Lists the container, reads the ledger partition in a few paged queries and queues one message per blob that
 * needs one, marking each in the ledger after its message is on the queue (a crash between the two can at worst
 * queue a blob twice, which the worker's claim and done-check absorb; the other order could lose it for an hour).
 * Records the run for the status endpoint.
 */
export async function runSweep(
  services: Pick<TransferServices, "settings" | "source" | "ledger" | "log">,
  queue: TransferQueue,
  options: { runId?: string; trigger: "timer" | "http"; now?: () => number },
): Promise<SweepRun> {
  const now = options.now ?? Date.now;
  const runId = options.runId ?? newRunId();
  const startedAt = new Date(now());
  const [records, blobs] = await Promise.all([services.ledger.readAll(), collect(services.source.list(services.settings.sourcePrefix))]);
  const run: SweepRun = { runId, listed: blobs.length, queued: [], skipped: { done: 0, queued: 0, inFlight: 0, throttled: 0 } };
  const limit = pLimit(ENQUEUE_CONCURRENCY);
  await Promise.all(
    blobs.map((blob) => {
      const skip = reasonToSkip(blob, records.get(blob.name), startedAt.getTime());
      if (skip) {
        run.skipped[skip] += 1;
        return undefined;
      }
      return limit(async () => {
        await queue.send({ kind: "transfer", blob: blob.name, etag: blob.etag, runId });
        await services.ledger.markQueued(blob.name, blob.etag, new Date(now()));
        run.queued.push(blob.name);
      });
    }),
  );
  try {
    await services.ledger.recordSweepRun({
      runId,
      trigger: options.trigger,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date(now()).toISOString(),
      listed: run.listed,
      queued: run.queued.length,
    });
  } catch (error) {
    // The messages are on the queue and marked: failing now would have the host retry a sweep whose work is done.
    services.log.warn(`sweep ${runId}: the run could not be added to the sweep history the status page shows (${storageFailure(error)}); its messages are queued`);
  }
  services.log.info(
    `sweep ${runId} (${options.trigger}): ${run.listed} blobs listed, ${run.queued.length} queued; left alone: ${run.skipped.done} done, ${run.skipped.queued} already queued, ${run.skipped.inFlight} in flight, ${run.skipped.throttled} throttled`,
  );
  return run;
}

/**
 * A storage failure as status and code only: the service's message and the request's URL are left out, since a
 * SAS connection string puts its signature in the URL.
 */
function storageFailure(error: unknown): string {
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  const parts = [typeof statusCode === "number" ? `HTTP ${statusCode}` : undefined, typeof code === "string" && /^[A-Za-z][A-Za-z0-9_]{0,79}$/.test(code) ? code : undefined];
  const known = parts.filter((part) => part !== undefined).join(" ");
  return known === "" ? "an unexpected error" : known;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}
