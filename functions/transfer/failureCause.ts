import { BlobChangedError, BlobReadTimeoutError } from "../storage/blobSource";
import { GraphError, GraphNetworkError, isTransientNetworkError } from "../onedrive/graphError";
import { ThrottledError } from "../onedrive/throttle";
import type { FailureCause, FailureFields } from "../storage/ledgerRow";
import { PermanentUploadError, UploadStalledError } from "./sessionUpload";
import type { FileOutcome } from "./transferTypes";

/** How deep a wrapped error (`cause`) is searched for the service's answer. */
const MAX_CAUSE_DEPTH = 5;

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current !== undefined && current !== null; depth++) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function graphCause(error: GraphError): FailureCause {
  const has = (code: string): boolean => error.hasCode(code);
  if (has("invalidPath") || has("pathIsTooLong")) return "refusedName";
  if (has("nameAlreadyExists")) return "nameConflict";
  if (has("quotaLimitReached") || error.status === 507) return "quota";
  if (error.status === 429 || error.status === 503 || error.retryAfterMs !== undefined) return "throttled";
  if (error.status === 401) return "signInRefused";
  if (error.status === 403) return "accessDenied";
  if (error.status >= 500) return "serviceError";
  return "refusedByOneDrive";
}

/**
 * The structured part of a failure the ledger row records beside its message: a cause from a closed list (what a
 * person can do about it follows from that), the service's error code and the Graph request id support asks for.
 * Only codes and ids: never a URL, a token or a service message, which the row's `lastError` already carries scrubbed.
 */
export function failureFields(error: unknown): FailureFields {
  const chain = causes(error);
  const graph = chain.find((candidate): candidate is GraphError => candidate instanceof GraphError);
  const requestId = graph?.requestId && SAFE_REQUEST_ID.test(graph.requestId) ? { lastRequestId: graph.requestId } : {};
  if (chain.some((candidate) => (candidate as { name?: unknown })?.name === "RelinkRequiredError" || (candidate as { code?: unknown })?.code === "RelinkRequired")) {
    return { lastErrorCause: "relinkNeeded", lastErrorCode: "RelinkRequired" };
  }
  if (chain.some((candidate) => candidate instanceof ThrottledError)) return { lastErrorCause: "throttled", ...(graph ? { lastErrorCode: graphCode(graph) } : {}), ...requestId };
  if (chain.some((candidate) => candidate instanceof BlobChangedError)) return { lastErrorCause: "blobChanged", ...requestId };
  if (graph) return { lastErrorCause: graphCause(graph), lastErrorCode: graphCode(graph), ...requestId };
  const network = chain.find((candidate): candidate is GraphNetworkError => candidate instanceof GraphNetworkError);
  if (network) return { lastErrorCause: "network", lastErrorCode: network.code };
  if (chain.some((candidate) => candidate instanceof UploadStalledError)) return { lastErrorCause: "network", lastErrorCode: "UploadStalled" };
  // OneDrive has not reported the hash of an item an earlier attempt may have stored (interruptedRecovery.ts): the
  // service's side, and the next attempt asks again. By name: that module sits above this one.
  if (chain.some((candidate) => (candidate as { name?: unknown })?.name === "EarlierUploadUnconfirmedError")) return { lastErrorCause: "serviceError", lastErrorCode: "HashNotReported" };
  if (chain.some((candidate) => candidate instanceof PermanentUploadError)) return { lastErrorCause: "uploadRejected" };
  if (chain.some((candidate) => candidate instanceof BlobReadTimeoutError)) return { lastErrorCause: "storage", lastErrorCode: "BlobReadTimeout" };
  if (isTransientNetworkError(error)) return { lastErrorCause: "network", ...networkCode(chain) };
  return { lastErrorCause: "unexpected" };
}

/**
 * A failure as a file's outcome (and so its telemetry record and the CLI's JSON) reports it: the ledger row's code
 * and request id, so all of them name a failure alike and nothing but identifiers leaves the process. A failure
 * without a code reports its cause, which is one of a closed list.
 */
export function outcomeFailureFields(error: unknown): Pick<FileOutcome, "errorCode" | "graphRequestId"> {
  const { lastErrorCause, lastErrorCode, lastRequestId } = failureFields(error);
  return { errorCode: lastErrorCode ?? lastErrorCause, ...(lastRequestId === undefined ? {} : { graphRequestId: lastRequestId }) };
}

/** Service codes are identifiers; anything else a body put there (a URL, a sentence) is not kept. */
const SAFE_CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,79}$/;
/** Request ids are GUIDs or similar tokens of letters, digits and hyphens. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9-]{1,80}$/;

/** The most specific code the service gave, or the HTTP status when its body named none (or none worth keeping). */
function graphCode(error: GraphError): string {
  const code = [...error.innerCodes].reverse().find((candidate) => SAFE_CODE.test(candidate)) ?? (SAFE_CODE.test(error.code) ? error.code : undefined);
  return code ?? `HTTP ${error.status}`;
}

function networkCode(chain: unknown[]): { lastErrorCode?: string } {
  for (const candidate of chain) {
    const code = (candidate as { code?: unknown })?.code;
    if (typeof code === "string" && /^[A-Z][A-Z0-9_]{2,39}$/.test(code)) return { lastErrorCode: code };
  }
  return {};
}
