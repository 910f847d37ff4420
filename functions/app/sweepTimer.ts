import type { InvocationContext, Timer } from "@azure/functions";
import { errorText } from "../shared/errorText";
import { noTelemetry, type Telemetry } from "../telemetry/telemetry";
import { METRICS } from "../telemetry/telemetryNames";
import type { TransferLog } from "../transfer/blobTransfer";
import type { TransferEngine } from "../transfer/transferEngine";
import { invocationLog } from "./invocationLog";
import { runSweep, type SweepRun } from "./sweepPlanner";
import type { TransferQueue } from "./transferQueue";
import type { LinkReport } from "./transferStatus";

export interface SweepDependencies {
  engineFor(log: TransferLog): TransferEngine;
  queue: TransferQueue;
  now?: () => number;
  /** The queue's and the link's state go to metrics after each sweep (the alerts read them). */
  telemetry?: Telemetry;
  linkState?: () => Promise<LinkReport>;
}

/** The timer only queues: the transfers themselves run in the queue worker, where they scale and retry. */
export function createSweepTimer(dependencies: SweepDependencies): (timer: Timer, context: InvocationContext) => Promise<SweepRun> {
  return async (timer, context) => {
    const log = invocationLog(context);
    if (timer.isPastDue) log.warn("The sweep is running late (the host was down or busy at its scheduled time)");
    const engine = dependencies.engineFor(log);
    const telemetry = dependencies.telemetry ?? noTelemetry;
    try {
      const run = await runSweep(engine.services, dependencies.queue, { trigger: "timer", now: dependencies.now });
      telemetry.recordMetric(METRICS.pendingBlobs, run.listed - run.skipped.done);
      await recordQueueAndLink(dependencies, telemetry, log);
      return run;
    } finally {
      await telemetry.flush();
    }
  };
}

/** Metrics only: a failure to read them is logged and leaves the sweep's outcome alone. */
async function recordQueueAndLink(dependencies: SweepDependencies, telemetry: Telemetry, log: TransferLog): Promise<void> {
  if (telemetry === noTelemetry) return;
  const now = (dependencies.now ?? Date.now)();
  await Promise.all([
    dependencies.queue.read(now).then(
      (reading) => {
        telemetry.recordMetric(METRICS.queueDepth, reading.depth);
        telemetry.recordMetric(METRICS.oldestQueuedMessageAgeSeconds, reading.oldestAgeSeconds);
        telemetry.recordMetric(METRICS.poisonQueueDepth, reading.poisonDepth);
      },
      (error: unknown) => log.warn(`Could not read the transfer queue's depth for the metrics: ${errorText(error)}`),
    ),
    dependencies.linkState?.().then(
      (link) => telemetry.recordMetric(METRICS.relinkNeeded, link.relinkNeeded ? 1 : 0),
      (error: unknown) => log.warn(`Could not read the link state for the metrics: ${errorText(error)}`),
    ),
  ]);
}
