import { enableCompileCache } from "./compileCache";
enableCompileCache();

import { linkReportFor, transferQueueName } from "../app/productionDependencies";
import { readStatusReport } from "../app/statusSnapshot";
import { displayText, formatAgo, formatBytes, formatDuration, formatRate, formatTime, plural } from "../app/statusFormat";
import { TransferQueue } from "../app/transferQueue";
import type { TransferStatusReport } from "../app/transferStatus";
import { loadEngineSettings, SettingsError, type SettingsSource } from "../config/settings";
import { Ledger } from "../storage/ledger";
import { createStorageClients } from "../storage/storageClients";
import { errorText } from "../shared/errorText";
import { startCommand } from "./commandStart";
import { cliSettingsSource } from "./localSettings";

const USAGE = `Usage: npm run status [-- --json]

Prints what the ledger says about the transfers of SOURCE_CONTAINER: the OneDrive link, counts by status, the
files in flight with their progress, the last failures with what to do, the queue and the last sweeps, and the
totals of the last 24 hours. Reads the same settings as \`npm run transfer\` (local.settings.json, then the
environment); against a deployed account, SOURCE_STORAGE__blobServiceUri (and __tableServiceUri, __queueServiceUri)
with your own sign-in (az login). The queue is shown when TRANSFER_QUEUE is set.

  --json   print exactly one JSON object on stdout (the report GET /api/transfers answers)
  --help   this text

Exit status: 0 the status was read, 1 the ledger could not be read, 2 configuration error.`;

export const EXIT_OK = 0;
export const EXIT_UNREADABLE = 1;
export const EXIT_CONFIGURATION = 2;

/** One line of ledger text (a name, a service message), safe for a terminal. */
const t = (value: string | number): string => displayText(String(value));

function linkLines(report: TransferStatusReport): string[] {
  const lines: string[] = [];
  if (report.identity?.mode === "app") {
    lines.push(`OneDrive: uploads as ${t(report.identity.display)} (app permission)`);
  } else if ("error" in report.link) {
    lines.push(`OneDrive link: UNKNOWN (${t(report.link.error)})`);
  } else if (report.link.linked) {
    lines.push(`OneDrive link: linked as ${t(report.identity?.display ?? report.link.account ?? "the configured account")}${report.link.reason ? ` (${t(report.link.reason)})` : ""}`);
  } else if (report.link.relinkNeeded) {
    lines.push(`OneDrive link: RELINK NEEDED${report.link.account ? ` for ${t(report.link.account)}` : ""}: ${t(report.link.reason ?? "no account is linked")}`);
    lines.push("  run `npm run login`, or open the login route with its own key (README: Link OneDrive)");
  } else {
    lines.push("OneDrive link: not linked");
  }
  if (report.destination) lines.push(`Destination: ${t(report.destination.display)}`);
  return lines;
}

/** The report as a person reads it in a terminal, every ledger value on one escaped line. */
export function formatStatus(report: TransferStatusReport): string {
  const now = Date.parse(report.generatedAt);
  const { counts } = report;
  const lines = [
    `Transfers from ${t(report.container)} to OneDrive, ${formatTime(report.generatedAt)}`,
    ...linkLines(report),
    `Files: ${counts.pending} pending, ${counts.uploading} uploading, ${counts.done} done, ${counts.failed} failed (${plural(counts.total, "row")} in the ledger)`,
    `Last 24 hours: ${plural(report.last24Hours.files, "file")} done, ${formatBytes(report.last24Hours.bytes)}`,
  ];
  lines.push(report.inFlight.length === 0 ? "In flight: none" : `In flight (${report.inFlight.length}):`);
  for (const entry of report.inFlight) {
    const progress = `${formatBytes(entry.confirmedBytes)} of ${formatBytes(entry.size)} (${entry.percent}%)`;
    const speed =
      entry.state === "throttled" ? `throttled until ${formatTime(entry.throttledUntil)}`
      : entry.state === "waiting" ? "waiting for its next attempt"
      : entry.bytesPerSecond !== undefined ? `${formatRate(entry.bytesPerSecond)}, ${formatDuration(entry.secondsLeft ?? 0)} left`
      : "measuring";
    lines.push(`  ${t(entry.blob)}  ${progress}  ${speed}`);
  }
  lines.push(report.lastFailures.length === 0 ? "Last failures: none" : `Last failures (${report.lastFailures.length}, newest first):`);
  for (const failure of report.lastFailures) {
    const ids = [failure.code ? `code ${t(failure.code)}` : "", failure.requestId ? `request-id ${t(failure.requestId)}` : "", plural(failure.attempts, "attempt"), failure.at ? formatAgo(failure.at, now) : ""];
    lines.push(`  ${t(failure.blob)}: ${t(failure.summary)} (${ids.filter((part) => part !== "").join(", ")})`);
    lines.push(`    what to do: ${t(failure.action)}`);
    lines.push(`    message: ${t(failure.error)}`);
  }
  const { queue } = report;
  if (queue.name) {
    const depth = queue.approximateMessages === undefined ? "depth unknown" : `${plural(queue.approximateMessages, "message")} waiting`;
    const poison = queue.poisonQueue ? `; poison queue ${t(queue.poisonQueue)}: ${queue.poisonMessages === undefined ? "unknown" : plural(queue.poisonMessages, "message")}` : "";
    lines.push(`Queue ${t(queue.name)}: ${depth}${poison}`);
  }
  lines.push(report.recentSweeps.length === 0 ? "Sweeps: none recorded yet" : `Last sweeps (${report.recentSweeps.length}, newest first):`);
  for (const run of report.recentSweeps) {
    const took = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
    lines.push(`  ${formatTime(run.startedAt)}  ${t(run.trigger)}  listed ${run.listed}, queued ${run.queued}${Number.isFinite(took) ? `, took ${formatDuration(took)}` : ""}`);
  }
  return lines.join("\n");
}

function queueFor(source: SettingsSource, storage: ReturnType<typeof createStorageClients>): TransferQueue | undefined {
  if (!source.TRANSFER_QUEUE) return undefined;
  const name = transferQueueName(source);
  return new TransferQueue(storage.queueService.getQueueClient(name), storage.queueService.getQueueClient(`${name}-poison`));
}

export async function runStatusCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const start = startCommand(argv, USAGE);
  if ("exitCode" in start) return start.exitCode;
  const { json } = start;
  let report: TransferStatusReport;
  let source: SettingsSource;
  try {
    source = cliSettingsSource(env);
  } catch (error) {
    process.stderr.write(`${errorText(error)}\n`);
    return EXIT_CONFIGURATION;
  }
  try {
    const settings = loadEngineSettings(source);
    const storage = createStorageClients(settings.storage);
    report = await readStatusReport({
      container: settings.sourceContainer,
      ledger: new Ledger(storage.tableClient(settings.ledgerTable), settings.sourceContainer, { readOnly: true, transport: storage.tableTransport }),
      linkState: () => linkReportFor(source),
      queue: queueFor(source, storage),
      now: Date.now(),
    });
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT_CONFIGURATION;
    }
    process.stderr.write(`Could not read the status: ${displayText(errorText(error))}\n`);
    return EXIT_UNREADABLE;
  }
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${formatStatus(report)}\n`);
  return EXIT_OK;
}

if (require.main === module) {
  void runStatusCommand(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

/** The entry the bundled command offers its launcher (launch.ts). */
export const runCommand = runStatusCommand;
