import type { InvocationContext } from "@azure/functions";
import { isRelinkRequiredError } from "../auth/relinkRequiredError";
import { isDestinationError } from "../onedrive/destinationDrive";
import { noTelemetry, type Telemetry } from "../telemetry/telemetry";
import { METRICS } from "../telemetry/telemetryNames";
import { destinationFor } from "../transfer/destinationPath";
import type { TransferLog } from "../transfer/blobTransfer";
import type { TransferEngine } from "../transfer/transferEngine";
import { FUNCTION_TIMEOUT_MS, HARD_STOP_MARGIN_MS, MAX_DEQUEUE_COUNT, WORKER_BUDGET_MS } from "./hostLimits";
import { errorText } from "../shared/errorText";
import { failureRecordChanges } from "../storage/ledgerRow";
import { failureFields, outcomeFailureFields } from "../transfer/failureCause";
import { invocationLog } from "./invocationLog";
import { MalformedMessageError, parseQueueMessage } from "./queueMessages";
import { runSweep } from "./sweepPlanner";
import type { TransferQueue } from "./transferQueue";

export interface WorkerDependencies {
  /**
   * A fresh engine per invocation: its worker id is the ledger claim's owner (two invocations in one process must
   * not share one, or both would think they hold the claim) and its log is the invocation's.
   */
  engineFor(log: TransferLog): TransferEngine;
  queue: TransferQueue;
  now?: () => number;
  /** Time one invocation transfers before it checkpoints and queues a continuation. */
  budgetMs?: number;
  /** Must equal host.json's maxDequeueCount: on that attempt a failure is recorded before the host poisons the message. */
  maxDequeueCount?: number;
  /** Each file's outcome record and metrics; flushed before the invocation returns. */
  telemetry?: Telemetry;
}

export type QueueHandler = (entry: unknown, context: InvocationContext) => Promise<void>;

/**
 * The one queue-triggered worker behind every way in. Returns normally for every outcome the ledger records
 * (uploaded, skipped, failed, busy, out of time) and for messages it cannot use; throws only for unexpected
 * errors, so the host retries those and finally moves the message to the poison queue.
 */
export function createTransferWorker(dependencies: WorkerDependencies): QueueHandler {
  const now = dependencies.now ?? Date.now;
  const budgetMs = dependencies.budgetMs ?? WORKER_BUDGET_MS;
  const hardStopMs = Math.max(budgetMs, FUNCTION_TIMEOUT_MS - HARD_STOP_MARGIN_MS);
  const maxDequeueCount = dependencies.maxDequeueCount ?? MAX_DEQUEUE_COUNT;
  const telemetry = dependencies.telemetry ?? noTelemetry;

  return async (entry, context) => {
    try {
      await handle(entry, context);
    } finally {
      await telemetry.flush();
    }
  };

  async function handle(entry: unknown, context: InvocationContext): Promise<void> {
    const log = invocationLog(context);
    let message;
    try {
      message = parseQueueMessage(entry);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      log.error(`Dropped queue message ${String(context.triggerMetadata?.id ?? "")}: ${error.message}. It is not retried.`);
      return;
    }
    const engine = dependencies.engineFor(log);
    const { settings } = engine.services;

    if (message.kind === "otherEvent") {
      log.info(`Ignored a ${message.eventType} event (${message.subject ?? "no subject"}): only Microsoft.Storage.BlobCreated starts a transfer`);
      return;
    }
    if (message.kind === "sweep") {
      await runSweep(engine.services, dependencies.queue, { runId: message.runId, trigger: "http", now });
      return;
    }
    if (message.kind === "blobCreated" && message.container !== settings.sourceContainer) {
      log.info(`Ignored BlobCreated for "${message.blob}" in container "${message.container}": this app reads "${settings.sourceContainer}"`);
      return;
    }
    if (!message.blob.startsWith(settings.sourcePrefix)) {
      log.info(`Ignored "${message.blob}": it is outside SOURCE_PREFIX "${settings.sourcePrefix}"`);
      return;
    }
    const runId = message.kind === "transfer" ? message.runId : message.eventId;
    const continuation = message.kind === "transfer" && message.continuation === true;
    await transferOne(engine, message.blob, { runId, continuation }, context, log);
  }

  async function transferOne(
    engine: TransferEngine,
    blob: string,
    { runId, continuation }: { runId: string | undefined; continuation: boolean },
    context: InvocationContext,
    log: TransferLog,
  ): Promise<void> {
    const { ledger, settings } = engine.services;
    let outcome;
    try {
      // The budget ends the work (checkpoint and continue); the hard stop ends every call and wait before the host
      // kills the invocation, whatever is in flight.
      const startedAt = now();
      outcome = await engine.transferBlob(blob, { deadline: startedAt + budgetMs, abortSignal: AbortSignal.timeout(hardStopMs) });
    } catch (error) {
      if (isRelinkRequiredError(error) || isDestinationError(error)) {
        // Retrying cannot help until a person signs in again or fixes DEST_DRIVE (the status endpoint shows both).
        // The queue mark goes so the first sweep after the relink queues the blob again.
        log.error(`${blob}: not transferred. ${errorText(error)}`);
        // A DEST_DRIVE to fix is not a relink: the metric (and its alert) speak of the sign-in only.
        if (isRelinkRequiredError(error)) telemetry.recordMetric(METRICS.relinkNeeded, 1);
        await ledger.clearQueued(blob).catch(() => undefined);
        return;
      }
      // The host retries this message; each failed attempt is a record, so a file that ends in the poison queue
      // shows why in every attempt.
      const path = destinationFor(blob, settings.sourcePrefix, settings.destFolder).fullPath;
      telemetry.recordTransferOutcome({ blob, path, status: "failed", bytes: 0, fragments: 0, ...outcomeFailureFields(error) }, { source: "worker", continuation, invocationId: context.invocationId });
      await noteFailedAttempt(engine, blob, error, attemptOf(context), log);
      throw error;
    }
    telemetry.recordTransferOutcome(outcome, { source: "worker", continuation, invocationId: context.invocationId });
    switch (outcome.status) {
      case "uploaded":
      case "skipped":
        log.info(`${blob} → ${outcome.path}: ${outcome.status}${outcome.warning ? ` (${outcome.warning})` : ""}`);
        return;
      case "failed":
        if (outcome.temporary) {
          // The row keeps its session and checkpoint: the host's redelivery (after its visibility timeout) resumes it,
          // rather than the next sweep. The last attempt's failure moves the message to the poison queue, noted in
          // the row like any thrown failure.
          const failure = new Error(outcome.error ?? "a temporary failure");
          await noteFailedAttempt(engine, blob, failure, attemptOf(context), log);
          throw failure;
        }
        // The engine recorded the error in the ledger row; a retry would fail the same way until someone acts.
        log.error(`${blob}: failed: ${outcome.error ?? "unknown error"}`);
        return;
      case "busy":
        // The holder finishes or queues its own continuation; a sweep re-queues the blob if its claim lapses.
        log.info(`${blob}: another worker holds its claim; leaving it to that worker`);
        return;
      case "incomplete": {
        const row = await ledger.get(blob);
        const message = { kind: "transfer" as const, blob, ...(row?.blobEtag ? { etag: row.blobEtag } : {}), ...(runId ? { runId } : {}), continuation: true as const };
        // A continuation of a throttled file becomes visible when the service's wait is over, not before.
        await dependencies.queue.send(message, outcome.resumeAfterMs === undefined ? {} : { visibleAfterMs: outcome.resumeAfterMs });
        if (row?.blobEtag) await ledger.markQueued(blob, row.blobEtag, new Date(now()));
        const why = outcome.resumeAfterMs === undefined ? "out of time" : `throttled for ${Math.ceil(outcome.resumeAfterMs / 1000)} s`;
        log.info(`${blob}: ${why} after ${outcome.bytes} of ${row?.size ?? "?"} bytes; checkpointed and queued a continuation`);
        return;
      }
    }
  }

  /** On the last attempt the ledger row learns why, because the poison queue itself says nothing about the blob. */
  async function noteFailedAttempt(engine: TransferEngine, blob: string, error: unknown, attempt: number, log: TransferLog): Promise<void> {
    if (attempt < maxDequeueCount) {
      log.warn(`${blob}: attempt ${attempt} of ${maxDequeueCount} failed (${errorText(error)}); the host retries it`);
      return;
    }
    const { ledger } = engine.services;
    const lastError = `moved to the poison queue after ${attempt} attempts: ${errorText(error)}`;
    try {
      const row = await ledger.get(blob);
      // A row mid-upload keeps its status, so the next attempt resumes its upload session instead of starting over.
      const status = row?.status === "uploading" ? {} : { status: "failed" as const };
      // The cause says "poisoned" (what to do is about the queue), the code and request id are the last error's.
      const { lastErrorCode, lastRequestId } = failureFields(error);
      await ledger.merge(blob, { ...status, ...failureRecordChanges(lastError, { lastErrorCause: "poisoned", lastErrorCode, lastRequestId }, now()), queuedAt: undefined, queuedEtag: undefined });
    } catch (recordError) {
      log.error(`${blob}: could not record the poison-queue move in the ledger either: ${errorText(recordError)}`);
    }
    log.error(`${blob}: ${lastError}`);
  }
}

function attemptOf(context: InvocationContext): number {
  const count = Number(context.triggerMetadata?.dequeueCount ?? 1);
  return Number.isFinite(count) && count > 0 ? count : 1;
}
