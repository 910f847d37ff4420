import { errorText } from "../shared/errorText";
import type { Ledger } from "../storage/ledger";
import type { TransferQueue } from "./transferQueue";
import { buildStatusReport, type LinkReport, type TransferStatusReport } from "./transferStatus";

/** Where a status report is read from: the ledger, the sign-in state and (in the app) the transfer queue. */
export interface StatusSources {
  container: string;
  ledger: Ledger;
  linkState(): Promise<LinkReport>;
  /** Absent for a CLI run configured without TRANSFER_QUEUE. */
  queue?: Pick<TransferQueue, "name" | "poisonQueueName" | "approximateDepth" | "approximatePoisonDepth">;
  /** The destination and identity as a person reads them, when the caller knows them (or is finding out). */
  destination?: TransferStatusReport["destination"] | Promise<TransferStatusReport["destination"]>;
  identity?: TransferStatusReport["identity"];
  now: number;
}

/**
 * The ledger's state, the link's health, the latest sweeps and the queues, read in parallel. A link or queue that
 * cannot be read is reported as such instead of failing the whole report: the rest is what an operator needs then.
 */
export async function readStatusReport(sources: StatusSources): Promise<TransferStatusReport> {
  const { ledger, queue } = sources;
  const [records, lastSweep, recentSweeps, link, approximateMessages, poisonMessages, destination] = await Promise.all([
    ledger.readAll(),
    ledger.lastSweepRun(),
    ledger.recentSweepRuns(),
    sources.linkState().catch((error: unknown): LinkReport => ({ linked: false, relinkNeeded: false, error: `could not read the sign-in state: ${errorText(error)}` })),
    queue?.approximateDepth().catch(() => undefined),
    queue?.approximatePoisonDepth().catch(() => undefined),
    sources.destination,
  ]);
  return buildStatusReport({
    container: sources.container,
    records: records.values(),
    link,
    lastSweep,
    // A deployment whose sweeps ran before the history existed still has its last one.
    recentSweeps: recentSweeps.length > 0 ? recentSweeps : lastSweep ? [lastSweep] : [],
    queue: queue
      ? { name: queue.name, approximateMessages, poisonQueue: queue.poisonQueueName, ...(poisonMessages === undefined ? {} : { poisonMessages }) }
      : { name: "" },
    ...(destination ? { destination } : {}),
    ...(sources.identity ? { identity: sources.identity } : {}),
    now: sources.now,
  });
}
