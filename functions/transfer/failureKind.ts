import { BlobChangedError } from "../storage/blobSource";
import { GraphError } from "../onedrive/graphError";
import { retryDelayMs } from "../onedrive/retryPolicy";
import { PermanentUploadError } from "./sessionUpload";

/**
 * Whether a failed attempt should give up its upload session. Retrying a permanent failure the same way cannot
 * succeed, so its session is cancelled and the next attempt starts from byte 0; a temporary one keeps the session
 * and the checkpoint, and the next attempt resumes at the server's offset.
 *
 * Permanent is a closed list, and everything else is temporary: a failed row is tried again by every sweep either
 * way, so calling an unknown failure temporary costs nothing but an open session until it expires, while calling a
 * temporary one permanent throws away every byte sent (19 of 20 GB).
 */
export type FailureKind = "permanent" | "temporary";

export function failureKind(error: unknown): FailureKind {
  // What OneDrive stored does not match, the session was lost over and over, or a fragment was refused outright.
  if (error instanceof PermanentUploadError) return "permanent";
  // The blob changed under the transfer: bytes already sent belong to another version.
  if (error instanceof BlobChangedError) return "permanent";
  // 423 Locked: someone has the file open; it clears when they close it.
  if (error instanceof GraphError) return isRetryableAnswer(error) || error.status === 423 ? "temporary" : "permanent";
  return "temporary";
}

/**
 * A Graph answer worth asking again later: the retry policy retries it (5xx, 408, 429, throttling) or the service
 * named a wait. Other 4xx (409 nameAlreadyExists under fail, 507 quota, 400 invalid path, 403) answer the same
 * until someone acts.
 */
function isRetryableAnswer(error: GraphError): boolean {
  return error.retryAfterMs !== undefined || retryDelayMs(error, 1) !== undefined;
}
