import type { ContainerClient } from "@azure/storage-blob";
import type { EngineSettings } from "../config/settings";
import type { GraphClient } from "../onedrive/graphClient";
import type { UploadSessionClient } from "../onedrive/uploadSessionClient";
import type { BlobSource, SourceBlob } from "../storage/blobSource";
import type { ClaimedRow, Ledger } from "../storage/ledger";
import type { LedgerRecord } from "../storage/ledgerRow";
import type { FragmentBufferPool } from "./fragmentBufferPool";
import type { SmallFileBatcher } from "./smallFileBatch";
import type { UploadUrlSeal } from "./uploadUrlTrust";

export interface TransferLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface TransferServices {
  /**
   * Resolves DEST_DRIVE (once per process) and points the Graph client at it; called when a blob needs work, before
   * its row is claimed or its name checked, so a run with nothing to do asks Graph nothing.
   */
  ensureDestination?: () => Promise<{ driveId: string; driveType?: string }>;
  settings: EngineSettings;
  source: BlobSource;
  archive: ContainerClient;
  ledger: Ledger;
  /** Shared by every transfer of the process: bounds fragment memory however many files run at once. */
  fragmentBuffers: FragmentBufferPool;
  graph: GraphClient;
  uploads: UploadSessionClient;
  /** Seals the upload URLs this deployment receives from Graph; a recorded URL is resumed only with a valid seal. */
  uploadUrlSeal: UploadUrlSeal;
  /** Small files go to OneDrive in JSON batches; absent, every file takes an upload session. */
  smallFiles?: SmallFileBatcher;
  /** This process's claim owner (claimOwner.ts). */
  workerId: string;
  /**
   * A run that must finish what it finds (the CLI): takes over claims whose holder is provably gone and waits out
   * other claims' lapse instead of reporting the file busy. The function app leaves a live claim to its holder.
   */
  waitForClaims: boolean;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  log: TransferLog;
}

export type FileStatus = "uploaded" | "skipped" | "failed" | "incomplete" | "busy";

export interface FileOutcome {
  blob: string;
  path: string;
  status: FileStatus;
  bytes: number;
  fragments: number;
  error?: string;
  warning?: string;
  driveItemId?: string;
  /** incomplete because the service throttled: continue no sooner than this. */
  resumeAfterMs?: number;
  /** The blob's size, when it was found. */
  sizeBytes?: number;
  /** From the lookup to the outcome, this call only (a continuation reports its own). */
  durationMs?: number;
  /** Requests sent again in this call (retryPolicy.ts), and waits for throttling (throttle.ts) with their length. */
  retries?: number;
  throttleWaits?: number;
  throttleWaitMs?: number;
  /** failed: the failure is temporary; the row keeps its upload session, and another attempt resumes it. */
  temporary?: boolean;
  /** failed: what failed, as a short code (Graph's error code, or the kind of failure). */
  errorCode?: string;
  /** failed: Graph's request id, for Microsoft support. */
  graphRequestId?: string;
}

export interface TransferOptions {
  /** Epoch ms: stop before the next fragment after it, checkpoint and report "incomplete"; no wait outlasts it. */
  deadline?: number;
  /** Ends every call and wait at once (the host stopping the invocation). */
  abortSignal?: AbortSignal;
  /** From a listing, to spare a properties request. */
  knownBlob?: SourceBlob;
  /** From a bulk ledger read; null means "known to have no row". */
  knownRecord?: LedgerRecord | null;
  onProgress?: (confirmedBytes: number, totalBytes: number) => void;
  /** Taken beforehand (a sweep claims rows in batches); null means another worker holds the row. */
  claimed?: ClaimedRow | null;
  /**
   * The worker may take its next file: OneDrive has committed this one's bytes, or (a small file) they are queued for
   * the next JSON batch. What remains is OneDrive's answers, verification, the ledger record and AFTER_TRANSFER.
   */
  onUploaded?: () => void;
}

