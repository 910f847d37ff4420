import { RestError, type HttpClient, type PipelineRequest, type PipelineResponse } from "@azure/core-rest-pipeline";
import { linkedSignal } from "./callContext";

/**
 * One attempt of `send`, bounded: it fails after `timeoutMs` as a retryable network error (code ETIMEDOUT, which
 * every Azure SDK retry policy and ours retry), and ends at once when the caller's or the invocation's signal aborts
 * (an AbortError, which nobody retries). The stock transports give a timeout as an AbortError, indistinguishable
 * from a cancel, and stop their timer when the headers arrive, so a body that never comes would hang.
 */
export async function sendWithinAttemptTimeout(
  request: PipelineRequest,
  timeoutMs: number,
  send: (request: PipelineRequest) => Promise<PipelineResponse>,
): Promise<PipelineResponse> {
  const ownSignal = request.abortSignal as AbortSignal | undefined;
  const callerSignal = linkedSignal(ownSignal);
  if (!(timeoutMs > 0) && callerSignal === ownSignal) return send(request);
  const attempt = new AbortController();
  const onCallerAbort = (): void => attempt.abort(callerSignal?.reason);
  if (callerSignal?.aborted) attempt.abort(callerSignal.reason);
  else callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
  let timedOut = false;
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          attempt.abort();
        }, timeoutMs)
      : undefined;
  const ownTimeout = request.timeout;
  request.abortSignal = attempt.signal;
  request.timeout = 0;
  try {
    return await send(request);
  } catch (error) {
    if (timedOut) throw new RestError(`no complete response within ${timeoutMs} ms`, { code: "ETIMEDOUT", request });
    throw error;
  } finally {
    clearTimeout(timer);
    callerSignal?.removeEventListener("abort", onCallerAbort);
    request.abortSignal = ownSignal;
    request.timeout = ownTimeout;
  }
}

/**
 * A transport for the Azure SDK clients (blob, table, queue, Key Vault) whose every attempt is bounded and follows
 * the invocation's signal: their own pipelines set no per-attempt timeout by default, and a server that accepts a
 * connection and never answers would otherwise hold the worker until the host kills it.
 */
export function boundedHttpClient(inner: HttpClient, attemptTimeoutMs: number): HttpClient {
  return {
    sendRequest: (request) => sendWithinAttemptTimeout(request, request.timeout > 0 ? Math.min(request.timeout, attemptTimeoutMs) : attemptTimeoutMs, (bounded) => inner.sendRequest(bounded)),
  };
}
