import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { performance } from "node:perf_hooks";
import type { ChildResult, ProcessRecord } from "./benchProtocol";

/**
 * One timed `npm run --silent transfer -- --json`, started the way a cron line starts it: npm found on PATH, in the
 * repository, with the settings in the environment. The clock runs from spawn to the exit of npm, which exits after
 * its script; every node process in between records itself on exit (processExitRecord.ts).
 */

/** The command a cron line runs, in the repository. */
export const TRANSFER_COMMAND = ["npm", "run", "--silent", "transfer", "--", "--json"] as const;

/** The CLI's entry point as package.json's transfer script names it: the process whose CPU is the engine's. */
const CLI_SCRIPT = "launch.js";

export interface TransferRunOptions {
  cwd: string;
  env: Record<string, string>;
  /** ProcessRecord lines land here; must not exist yet. */
  recordFile: string;
  /** The seeding: a run whose counts differ did not do the work being timed, so it is an error, not a figure. */
  expected: { uploaded: number; skipped: number };
  timeLimitMs: number;
  /** Called with a function that ends the whole process tree; the returned function is called once it has ended. */
  track: (kill: () => void) => () => void;
}

interface CliSummary {
  uploaded: number;
  skipped: number;
  failed: number;
  bytes: number;
  files: { error: string | null }[];
}

function firstLines(text: string, count: number): string {
  return text.trim().split("\n").slice(0, count).join(" | ").slice(0, 300);
}

function readRecords(file: string): ProcessRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as ProcessRecord);
}

function isCli(record: ProcessRecord): boolean {
  return basename(record.argv[1] ?? "") === CLI_SCRIPT;
}

function parseSummary(stdout: string): CliSummary | undefined {
  // --silent leaves the CLI's one JSON line as npm's whole output; anything else there is a finding in itself.
  const line = stdout.trim();
  if (!line.startsWith("{") || line.includes("\n")) return undefined;
  try {
    return JSON.parse(line) as CliSummary;
  } catch {
    return undefined;
  }
}

function countsProblem(summary: CliSummary, expected: TransferRunOptions["expected"]): string | undefined {
  if (summary.failed > 0) return undefined; // reported with the first error by the caller
  if (summary.uploaded !== expected.uploaded || summary.skipped !== expected.skipped) {
    return `uploaded ${summary.uploaded}, skipped ${summary.skipped}; expected ${expected.uploaded} and ${expected.skipped}`;
  }
  return undefined;
}

export function runTransfer(options: TransferRunOptions): Promise<{ result?: ChildResult; problem?: string }> {
  const [command, ...args] = TRANSFER_COMMAND;
  const env = { ...options.env, BENCH_PROCESS_RECORDS: options.recordFile };
  const startedAt = performance.now();
  // Its own process group, so a run that hangs is ended with the node processes npm started, not npm alone.
  const child = spawn(command, args, { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const killTree = () => {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  const untrack = options.track(killTree);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    let timedOut = false;
    let exitedAt = 0;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killTree();
    }, options.timeLimitMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      untrack();
      resolve({ problem: `could not start ${command}: ${error.message}` });
    });
    // The clock stops at exit, as cron's would; the output is read once the pipes have closed.
    child.once("exit", (code, signal) => {
      exitedAt = performance.now();
      exit = { code, signal };
    });
    child.once("close", () => {
      clearTimeout(timer);
      untrack();
      if (timedOut) return resolve({ problem: `killed after ${options.timeLimitMs / 1000} s` });
      const summary = parseSummary(stdout);
      // Exit 1 with a summary means files failed: the caller reports them with the first error.
      const filesFailed = exit?.code === 1 && summary !== undefined && summary.failed > 0;
      if (exit?.code !== 0 && !filesFailed) return resolve({ problem: `exit ${exit?.code ?? exit?.signal}: ${firstLines(stderr, 3)}` });
      if (!summary) return resolve({ problem: `no JSON summary on stdout: ${firstLines(stdout, 2)}` });
      const records = readRecords(options.recordFile);
      const cli = records.find(isCli);
      if (!cli) return resolve({ problem: `no exit record from the CLI's node process (${records.length} record(s)); was NODE_OPTIONS honoured?` });
      const launchers = records.filter((record) => record !== cli);
      const firstError = summary.files.find((file) => file.error)?.error ?? undefined;
      const result: ChildResult = {
        wallMs: Math.round((exitedAt - startedAt) * 10) / 10,
        cpuUserMs: cli.cpuUserMs,
        cpuSystemMs: cli.cpuSystemMs,
        maxRssKiB: Math.max(...records.map((record) => record.peakRssKiB)),
        minorPageFaults: cli.minorPageFaults,
        bytes: summary.bytes,
        files: summary.files.length,
        uploaded: summary.uploaded,
        skipped: summary.skipped,
        failed: summary.failed,
        ...(firstError ? { firstError } : {}),
        commandUptimeMs: cli.uptimeMs,
        launcherCpuMs: launchers.length > 0 ? launchers.reduce((sum, record) => sum + record.cpuUserMs + record.cpuSystemMs, 0) : undefined,
        launcherPeakRssKiB: launchers.length > 0 ? Math.max(...launchers.map((record) => record.peakRssKiB)) : undefined,
      };
      resolve({ result, problem: countsProblem(summary, options.expected) });
    });
  });
}
