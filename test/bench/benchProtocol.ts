/**
 * What the bench orchestrator and its processes exchange: a baseline child gets one mode and its arguments and prints
 * one JSON line; a timed `npm run transfer` prints the CLI's --json summary, and each of its node processes leaves a
 * ProcessRecord.
 */

/** The baselines and figures a bench child (benchChild.ts) runs; the engine runs as `npm run transfer` instead. */
export type BenchMode = "read" | "put" | "pipe" | "smallLoop" | "hash";

/**
 * One run's result. A bench child prints it on stdout, with times for the measured work only (not node start-up);
 * for a `npm run transfer` run the bench assembles it, with the wall time from spawn to exit, as cron sees it.
 */
export interface ChildResult {
  wallMs: number;
  /** A transfer run: the CPU of the CLI's node process (npm's is launcherCpuMs). */
  cpuUserMs: number;
  cpuSystemMs: number;
  /**
   * Peak resident set of the child alone (VmHWM on Linux), not counting the bench it was forked from; for a transfer
   * run, that of its largest node process.
   */
  maxRssKiB: number;
  /** Minor page faults over the child's life: memory handed back to the system and faulted in again shows here. */
  minorPageFaults: number;
  /** Highest values process.memoryUsage() showed, sampled every 50 ms, in MiB: where the peak RSS comes from. */
  peakMemoryMiB?: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  bytes: number;
  files: number;
  /** Transfer runs: the sweep's counts, so a run with failures is not read as a throughput figure. */
  uploaded?: number;
  skipped?: number;
  failed?: number;
  firstError?: string;
  /** Transfer runs: from the CLI's node start to its exit; wallMs minus this is npm's and sh's share. */
  commandUptimeMs?: number;
  /** Transfer runs: CPU of the node processes other than the CLI's (npm's own). */
  launcherCpuMs?: number;
  /** Transfer runs: the highest VmHWM among the node processes other than the CLI's. */
  launcherPeakRssKiB?: number;
}

/** What processExitRecord.ts appends for each node process of a timed command when it exits. */
export interface ProcessRecord {
  pid: number;
  ppid: number;
  argv: string[];
  exitCode: number;
  /** From node's start, as process.uptime() counts it, to the exit event. */
  uptimeMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** VmHWM on Linux. */
  peakRssKiB: number;
  minorPageFaults: number;
  /** The CPU profile this process wrote, when the bench asked for one. */
  cpuProfile?: string;
}

export interface BlobArgs {
  connectionString: string;
  container: string;
  blob: string;
  fragmentBytes: number;
}

export interface UploadArgs {
  graphEndpoint: string;
  /** The emulator's fixed test token, not a credential. */
  accessToken: string;
  /** Destination file name under the drive root. */
  name: string;
  fragmentBytes: number;
}

export type ReadArgs = BlobArgs;
export type PutArgs = UploadArgs & { totalBytes: number };
export type PipeArgs = BlobArgs & UploadArgs;

export interface SmallLoopArgs {
  connectionString: string;
  container: string;
  graphEndpoint: string;
  accessToken: string;
  folder: string;
  concurrency: number;
}

export interface HashArgs {
  totalBytes: number;
  updateBytes: number;
}
