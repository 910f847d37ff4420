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
  const attempt = boundedAttempt(timeoutMs, callerSignal);
  const ownTimeout = request.timeout;
  request.abortSignal = attempt.signal;
  request.timeout = 0;
  try {
    return await send(request);
  } catch (error) {
    if (attempt.timedOut()) throw new RestError(`no complete response within ${timeoutMs} ms`, { code: "ETIMEDOUT", request });
    throw error;
  } finally {
    attempt.dispose();
    request.abortSignal = ownSignal;
    request.timeout = ownTimeout;
  }
}

export interface BoundedAttempt {
  /** Aborts after the timeout or with the caller's signal, whichever comes first. */
  signal: AbortSignal;
  /** The timeout, not the caller, ended the attempt. */
  timedOut(): boolean;
  /** Stops the timer and the caller's listener: call when the attempt is over. */
  dispose(): void;
}

/**
 * One attempt's signal: the caller's, plus a timer. Cheaper than AbortSignal.any with AbortSignal.timeout (about 3 µs
 * against 18 µs on Node 20, and no timer left pending for the rest of the timeout), which matters on paths taken
 * once per small file. A timeout of 0 or less sets no timer.
 */
export function boundedAttempt(timeoutMs: number, callerSignal: AbortSignal | undefined): BoundedAttempt {
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
  return {
    signal: attempt.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      callerSignal?.removeEventListener("abort", onCallerAbort);
    },
  };
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
