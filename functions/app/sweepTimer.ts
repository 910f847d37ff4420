import type { InvocationContext, Timer } from "@azure/functions";
import type { TransferLog } from "../transfer/blobTransfer";
import type { TransferEngine } from "../transfer/transferEngine";
import { invocationLog } from "./invocationLog";
import { runSweep, type SweepRun } from "./sweepPlanner";
import type { TransferQueue } from "./transferQueue";

export interface SweepDependencies {
  engineFor(log: TransferLog): TransferEngine;
  queue: TransferQueue;
  now?: () => number;
}

/** The timer only queues: the transfers themselves run in the queue worker, where they scale and retry. */
export function createSweepTimer(dependencies: SweepDependencies): (timer: Timer, context: InvocationContext) => Promise<SweepRun> {
  return async (timer, context) => {
    const log = invocationLog(context);
    if (timer.isPastDue) log.warn("The sweep is running late (the host was down or busy at its scheduled time)");
    const engine = dependencies.engineFor(log);
    return runSweep(engine.services, dependencies.queue, { trigger: "timer", now: dependencies.now });
  };
}
