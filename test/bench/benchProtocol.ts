/** What the bench orchestrator and its child processes exchange: one mode and its arguments in, one JSON line out. */

export type BenchMode = "engine" | "read" | "put" | "pipe" | "smallLoop" | "hash";

/** The one line a child prints on stdout. Times are for the measured work only, not node start-up. */
export interface ChildResult {
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Peak resident set of the child alone (VmHWM on Linux), not counting the bench it was forked from. */
  maxRssKiB: number;
  /** Minor page faults over the child's life: memory handed back to the system and faulted in again shows here. */
  minorPageFaults: number;
  /** Highest values process.memoryUsage() showed, sampled every 50 ms, in MiB: where the peak RSS comes from. */
  peakMemoryMiB?: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  bytes: number;
  files: number;
  /** Engine runs: the sweep's counts, so a run with failures is not read as a throughput figure. */
  uploaded?: number;
  skipped?: number;
  failed?: number;
  firstError?: string;
}

export interface EngineArgs {
  /** Settings source handed to createEngine, exactly as the CLI would read them. */
  env: Record<string, string>;
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
