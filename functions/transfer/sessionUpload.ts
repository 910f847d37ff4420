import type { DriveItem } from "../onedrive/graphTypes";
import { GraphError, isTransientNetworkError } from "../onedrive/graphError";
import type { OffsetQuickXorHash } from "../onedrive/quickXorHash";
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_RETRY_AFTER_MS, retryDelayMs, THROTTLE_STATUSES } from "../onedrive/retryPolicy";
import { ThrottledError } from "../onedrive/throttle";
import { callContext, timeLeftMs } from "../http/callContext";
import { nextExpectedOffset, type UploadSessionClient } from "../onedrive/uploadSessionClient";
import type { SourceBlob } from "../storage/blobSource";
import type { FragmentReader } from "./fragmentReader";
import { errorText } from "../shared/errorText";

/** Consecutive failed attempts without the server confirming a byte, before the file is given up. */
const MAX_ATTEMPTS_WITHOUT_PROGRESS = 8;
/** How often a 404 on the session is re-checked before the session is taken as gone (it can be transient). */
const NOT_FOUND_RECHECKS = 2;

export type SessionUploadResult =
  | { kind: "completed"; item: DriveItem; fragments: number }
  | { kind: "outOfTime"; confirmedBytes: number; fragments: number }
  /** The session expired, was refused (401/403) or vanished: start a new one from byte 0. */
  | { kind: "sessionLost"; reason: string; fragments: number };

/** The upload cannot succeed by retrying: the session should be cancelled and the file failed. */
export class PermanentUploadError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "PermanentUploadError";
  }
}

/**
 * Fragments kept failing with errors that clear by themselves (network, 5xx, throttling) until this attempt gave
 * up: temporary, so the session and the bytes OneDrive holds are kept for the next attempt.
 */
export class UploadStalledError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "UploadStalledError";
  }
}

export interface SessionUploadInput {
  uploads: UploadSessionClient;
  uploadUrl: string;
  blob: SourceBlob;
  /** The server's next expected byte. */
  startOffset: number;
  reader: FragmentReader;
  /** Already holds bytes [0, startOffset). */
  hasher: OffsetQuickXorHash;
  fragmentsSoFar: number;
  deadline?: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Called after each fragment the server confirmed; checkpoints are written from here. */
  onConfirmed(confirmedBytes: number, fragments: number, expirationDateTime?: string): void;
  /** After the final fragment's answer was lost and the session is gone: the committed item, if it is ours. */
  findCommittedItem(): Promise<DriveItem | undefined>;
  /** Throws to stop before the next fragment (the claim on the row was lost to another worker, say). */
  beforeFragment?(): void;
  warn(message: string): void;
}

/**
 * Sends the blob's remaining bytes into an upload session. After any fault the next offset comes from the server
 * (GET uploadUrl → nextExpectedRanges), never from what this process believes it sent: a failed PUT may have
 * been stored whole or in part.
 */
export async function uploadThroughSession(input: SessionUploadInput): Promise<SessionUploadResult> {
  const { uploads, uploadUrl, blob, reader, hasher } = input;
  let offset = input.startOffset;
  let fragments = input.fragmentsSoFar;
  let failures = 0;

  while (true) {
    if (input.deadline !== undefined && input.now() >= input.deadline) {
      return { kind: "outOfTime", confirmedBytes: offset, fragments };
    }
    input.beforeFragment?.();
    const bytes = await reader.read(offset);
    const fragmentEnd = offset + bytes.length;
    try {
      // The PUT first: between two fragments the upload host waits for this process, while the next read can
      // overlap the PUT.
      const upload = uploads.putFragment(uploadUrl, offset, bytes, blob.size);
      // Handled below; without this a PUT failing while the hash runs would be an unhandled rejection.
      upload.catch(() => undefined);
      reader.readAhead(fragmentEnd);
      await hashWhileSending(hasher, offset, bytes);
      const result = await upload;
      fragments += 1;
      if (result.kind === "completed") return { kind: "completed", item: result.item, fragments };
      const serverOffset = nextExpectedOffset(result.nextExpectedRanges) ?? fragmentEnd;
      if (serverOffset > offset) failures = 0;
      offset = serverOffset;
      input.onConfirmed(offset, fragments, result.expirationDateTime);
      continue;
    } catch (error) {
      failures += 1;
      const isFinalFragment = fragmentEnd === blob.size;
      const recovery = await recover(input, error, failures, isFinalFragment);
      if (recovery.kind === "completed") return { ...recovery, fragments: fragments + 1 };
      if (recovery.kind === "sessionLost") return { ...recovery, fragments };
      if (recovery.offset > offset) failures = 0;
      offset = recovery.offset;
      input.onConfirmed(offset, fragments);
    }
  }
}

/** Hashing in slices, yielding before each, lets the PUT's socket writes go out while the fragment is hashed. */
const HASH_SLICE_BYTES = 1024 * 1024;

/**
 * Hashes a fragment while its PUT is on the wire rather than before it starts, in slices, so even the hash of a
 * 60 MiB fragment never holds back the PUT's first socket writes.
 */
async function hashWhileSending(hasher: OffsetQuickXorHash, offset: number, bytes: Uint8Array): Promise<void> {
  for (let start = 0; start < bytes.length; start += HASH_SLICE_BYTES) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    hasher.updateAt(offset + start, bytes.subarray(start, Math.min(bytes.length, start + HASH_SLICE_BYTES)));
  }
}

type Recovery = { kind: "resume"; offset: number } | { kind: "completed"; item: DriveItem } | { kind: "sessionLost"; reason: string };

async function recover(input: SessionUploadInput, error: unknown, failures: number, isFinalFragment: boolean): Promise<Recovery> {
  const status = error instanceof GraphError ? error.status : undefined;
  if (status === 401 || status === 403) {
    return { kind: "sessionLost", reason: `the upload session refused the fragment (${errorText(error)})` };
  }
  // The service asked for a longer wait than this attempt makes, or than the invocation has left: the attempt ends
  // with the session kept, and the pipeline hands the file over to an attempt after the wait.
  if (error instanceof ThrottledError) throw error;
  const waitAllowedMs = Math.min(DEFAULT_MAX_RETRY_AFTER_MS, timeLeftMs(input.now()));
  if (error instanceof GraphError && error.retryAfterMs !== undefined && error.retryAfterMs > waitAllowedMs) throw error;
  // Asked of the kind of error, not of this attempt's number: past the retry policy's attempts a 503 is still one
  // that clears by itself (UploadStalledError below), never a reason to throw the session away.
  const transient = status === 416 || status === 404 || isTransientNetworkError(error) || retryDelayMs(error, 1) !== undefined;
  if (!transient) throw new PermanentUploadError(errorText(error), error);
  if (failures > MAX_ATTEMPTS_WITHOUT_PROGRESS) {
    throw new UploadStalledError(`gave up after ${failures - 1} attempts without progress: ${errorText(error)}`, error);
  }
  input.warn(`fragment failed (${errorText(error)}); asking OneDrive where to resume`);
  const delay = status === 416 ? 0 : (retryDelayMs(error, Math.min(failures, DEFAULT_MAX_ATTEMPTS - 1)) ?? 0);
  if (delay > waitAllowedMs) throw error;
  // Fragment PUTs are retried here, not by the pipeline's retry policy, so they are counted here.
  const tally = callContext().tally;
  tally?.noteRetry();
  if (delay > 0 && status !== undefined && THROTTLE_STATUSES.has(status)) tally?.noteThrottleWait(delay);
  if (delay > 0) await input.sleep(delay);

  for (let check = 0; ; check += 1) {
    const sessionStatus = await input.uploads.getStatus(input.uploadUrl);
    if (sessionStatus !== "notFound") {
      const offset = nextExpectedOffset(sessionStatus.nextExpectedRanges);
      if (offset !== undefined) return { kind: "resume", offset };
    }
    if (isFinalFragment) {
      // A final fragment stored but answered with an error (or not at all) commits the file and ends the session.
      const item = await input.findCommittedItem();
      if (item) return { kind: "completed", item };
    }
    if (sessionStatus !== "notFound") return { kind: "sessionLost", reason: "the upload session holds every byte but did not create the file" };
    if (check >= NOT_FOUND_RECHECKS) return { kind: "sessionLost", reason: "the upload session is gone (expired or cancelled)" };
    await input.sleep(retryDelayMs(error, check + 1) ?? 1000);
  }
}
