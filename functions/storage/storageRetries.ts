import type { Pipeline, PipelinePolicy } from "@azure/core-rest-pipeline";
import { sendWithinAttemptTimeout } from "../http/attemptTimeout";
import { retryPipelinePolicies } from "../onedrive/retryPolicy";

/** Attempts in all for one storage request, as the storage SDKs' own default. */
const STORAGE_MAX_ATTEMPTS = 4;

export type StorageService = "Blob storage" | "Queue storage" | "Table storage";

const ATTEMPT_TIMEOUT_POLICY = "storageAttemptTimeout";

/**
 * Puts the project's retries (retryPolicy.ts) in place of the SDK's in a storage client's pipeline, so a storage
 * request that is tried again writes the same one line to the invocation's log as a Graph request does (what, status,
 * code, request id, the wait), counts toward the file's retries, and never waits past the invocation's deadline.
 * The SDKs' own retry policies log only to the Azure SDK logger and wait whatever their schedule says.
 *
 * `attemptTimeoutMs` bounds each attempt inside the loop (a request that never answers is given up on and tried
 * again), for clients whose transport is not bounded already. A streamed answer (a ranged read, a listing page)
 * is left to its caller's own bound, which also covers its body: this one would end with the headers.
 *
 * Safe to call again on the same pipeline (the blob clients of one account share theirs).
 */
export function useProjectRetries(pipeline: Pipeline, service: StorageService, attemptTimeoutMs?: number): Pipeline {
  pipeline.removePolicy({ phase: "Retry" });
  pipeline.removePolicy({ name: ATTEMPT_TIMEOUT_POLICY });
  for (const policy of retryPipelinePolicies({ service, maxAttempts: STORAGE_MAX_ATTEMPTS })) pipeline.addPolicy(policy, { phase: "Retry" });
  if (attemptTimeoutMs !== undefined) pipeline.addPolicy(attemptTimeoutPolicy(attemptTimeoutMs), { afterPhase: "Retry" });
  return pipeline;
}

function attemptTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: ATTEMPT_TIMEOUT_POLICY,
    sendRequest: (request, next) => (request.streamResponseStatusCodes?.size ? next(request) : sendWithinAttemptTimeout(request, timeoutMs, next)),
  };
}

/** The pipeline every client of a storage SDK service client sends through (the SDKs keep it protected). */
export function storageClientPipeline(client: object): Pipeline {
  return (client as { storageClientContext: { pipeline: Pipeline } }).storageClientContext.pipeline;
}
