import { enableCompileCache } from "./compileCache";
enableCompileCache();

import { randomUUID } from "node:crypto";
import { SettingsError } from "../config/settings";
import { isDestinationError } from "../onedrive/destinationDrive";
import { startCommand } from "./commandStart";
import { createEngine } from "../transfer/engineFactory";
import type { TransferLog } from "../transfer/blobTransfer";
import type { SweepSummary } from "../transfer/sweep";
import type { TransferEngine } from "../transfer/transferEngine";
import { formatHumanSummary } from "./humanSummary";
import { cliSettingsSource } from "./localSettings";
import { createProgressDisplay, waitingLine } from "./progressDisplay";
import { escapeControlCharacters } from "../transfer/blobNameText";

const USAGE = `Usage: npm run transfer [-- --json]

Runs one sweep: every blob in SOURCE_CONTAINER (under SOURCE_PREFIX) not yet in OneDrive for its current version
is uploaded to DEST_FOLDER, verified, and recorded in the ledger.

A file another run is transferring is waited for until that run's claim lapses (at once when the run was a
process of this machine that no longer exists, such as one killed mid-file), then continued where it stopped.

  --json   print exactly one JSON object on stdout:
           {"destination","uploaded","skipped","failed","unfinished","bytes","files":[…]}
  --help   this text

Exit status: 0 every file uploaded or already done, 1 some file failed, 2 configuration or sign-in error (a
DEST_DRIVE that Graph cannot find or this account cannot reach included: then no blob was touched),
3 some file left unfinished because another live run holds it (status "busy"): run again later.`;

export const EXIT_OK = 0;
export const EXIT_FILE_FAILED = 1;
export const EXIT_CONFIGURATION = 2;
export const EXIT_UNFINISHED = 3;

function isSignInError(error: unknown): boolean {
  const name = (error as { name?: string })?.name ?? "";
  return name === "RelinkRequiredError" || name === "SignInError" || name === "AuthConfigurationError";
}

export async function runTransferCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const start = startCommand(argv, USAGE);
  if ("exitCode" in start) return start.exitCode;
  const { json } = start;

  // Log lines go to stderr so stdout carries only the summary (and, with --json, nothing but the JSON).
  const log: TransferLog = {
    info: () => undefined,
    warn: (message) => process.stderr.write(`warning: ${escapeControlCharacters(message)}\n`),
    error: () => undefined,
  };
  const startedAt = Date.now();
  const progress = json ? undefined : createProgressDisplay(process.stderr);
  try {
    const engine = createEngine(cliSettingsSource(env), { log, waitForClaims: true });
    const summary = await engine.sweep(progress ?? { onFileWaiting: (blob, message) => process.stderr.write(waitingLine(blob, message)) });
    progress?.stop();
    await recordRun(engine, summary, startedAt, log);
    const { display, kind, driveId } = await engine.destinationForSummary();
    if (json) {
      const files = summary.files.map((file) => ({
        blob: file.blob, path: file.path, status: file.status, bytes: file.bytes, fragments: file.fragments, error: file.error ?? null,
        // The same counts as the function app's outcome record; a file skipped from the ledger made no call.
        durationMs: file.durationMs ?? null, retries: file.retries ?? 0, throttleWaits: file.throttleWaits ?? 0,
        throttleWaitSeconds: (file.throttleWaitMs ?? 0) / 1000, errorCode: file.errorCode ?? null, graphRequestId: file.graphRequestId ?? null,
      }));
      const { uploaded, skipped, failed, unfinished, bytes } = summary;
      const destination = { display, kind, driveId };
      process.stdout.write(`${JSON.stringify({ destination, uploaded, skipped, failed, unfinished, bytes, files })}\n`);
    } else {
      process.stdout.write(`${formatHumanSummary(summary, Date.now() - startedAt, display)}\n`);
    }
    if (summary.failed > 0) return EXIT_FILE_FAILED;
    return summary.unfinished > 0 ? EXIT_UNFINISHED : EXIT_OK;
  } catch (error) {
    progress?.stop();
    if (error instanceof SettingsError || isSignInError(error) || isDestinationError(error)) {
      process.stderr.write(`${(error as Error).message}\n`);
      return EXIT_CONFIGURATION;
    }
    process.stderr.write(`Transfer run failed: ${(error as Error).message}\n`);
    return EXIT_FILE_FAILED;
  }
}

/**
 * The run joins the sweep history the status page shows, as trigger "cli": it queued nothing (it transferred the
 * files itself), and `listed` counts the blobs it looked at. A history that cannot be written costs a warning only.
 */
async function recordRun(engine: TransferEngine, summary: SweepSummary, startedAt: number, log: TransferLog): Promise<void> {
  const run = { runId: randomUUID(), trigger: "cli", startedAt: new Date(startedAt).toISOString(), finishedAt: new Date().toISOString(), listed: summary.files.length, queued: 0 };
  try {
    await engine.services.ledger.recordSweepRun(run);
  } catch (error) {
    const status = (error as { statusCode?: unknown })?.statusCode;
    log.warn(`this run could not be added to the sweep history the status page shows${typeof status === "number" ? ` (HTTP ${status})` : ""}`);
  }
}

if (require.main === module) {
  // exitCode, not exit(): a piped summary of thousands of files must be flushed before the process ends.
  void runTransferCommand(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

/** The entry the bundled command offers its launcher (launch.ts). */
export const runCommand = runTransferCommand;
