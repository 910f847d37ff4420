import {
  retryPolicy as coreRetryPolicy,
  type PipelinePolicy,
  type PipelineRequest,
  type RetryStrategy,
} from "@azure/core-rest-pipeline";
import { callContext, linkedSignal, timeLeftMs } from "../http/callContext";
import { isTransientNetworkError } from "./graphError";

/**
 * The one place that decides whether a failed Graph or upload-URL request is tried again, and when.
 * - 429/503 (and 509) with Retry-After, retry-after-ms or x-ms-retry-after-ms: wait exactly that (it may be minutes;
 *   SharePoint blocks apps that retry early). A wait beyond `maxRetryAfterMs` is not retried in-process: the error
 *   carries `retryAfterMs` so the caller can reschedule the work instead of holding a function instance.
 * - 429/503/509 without those headers, 408, 500, 502, 504 and network failures: exponential backoff with full
 *   jitter (random in [0, min(cap, base·2^(attempt-1))]) so parallel transfers do not retry in lockstep.
 * - Everything else (other 4xx, 501, 505): not retried.
 * - No wait outlasts the invocation's deadline (callContext): a retry that could only start after it is not made,
 *   and the failure (with its Retry-After) goes back to the caller, which hands the work over.
 * - Each retry writes one line to the invocation's log: what, status, code, request id and the wait, and counts in
 *   the context's tally (a throttling answer's wait as a throttle wait too).
 */

export interface RetryOptions {
  /** Attempts in all, the first included. Default 8. */
  maxAttempts?: number;
  /** Default 1,000 ms. */
  baseDelayMs?: number;
  /** Ceiling of one exponential wait. Default 60,000 ms. */
  maxDelayMs?: number;
  /** Longest Retry-After honoured in-process. Default 10 minutes. */
  maxRetryAfterMs?: number;
  /** [0, 1); tests fix it. Default Math.random. */
  random?: () => number;
  /** Epoch ms, for Retry-After HTTP dates. Default Date.now. */
  now?: () => number;
  /** The wait itself; tests inject one that resolves at once and records the delay. */
  sleep?: (delayMs: number, abortSignal?: AbortSignalLike) => Promise<void>;
}

/** What a wait can be cancelled by: a DOM AbortSignal or core-rest-pipeline's request.abortSignal. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export const DEFAULT_MAX_ATTEMPTS = 8;
export const DEFAULT_BASE_DELAY_MS = 1_000;
export const DEFAULT_MAX_DELAY_MS = 60_000;
export const DEFAULT_MAX_RETRY_AFTER_MS = 10 * 60_000;

/** The answers a service throttles with (509: SharePoint's bandwidth limit). */
export const THROTTLE_STATUSES: ReadonlySet<number> = new Set([429, 503, 509]);
const BACKOFF_STATUSES = new Set([408, 429, 500, 502, 503, 504, 509]);

interface HeaderSource {
  get(name: string): string | undefined;
}

/** What retryDelayMs can judge: a pipeline response, a GraphError, a RestError or a plain network error. */
export type RetryCandidate = unknown;

/**
 * Milliseconds to wait before attempt `attempt + 1`, or undefined when the failure must not be retried (or the
 * attempts are used up). `attempt` counts the attempts made so far, starting at 1.
 */
export function retryDelayMs(errorOrResponse: RetryCandidate, attempt: number, options: RetryOptions = {}): number | undefined {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (attempt >= maxAttempts) return undefined;
  const { status, headers, retryAfterMs: knownRetryAfterMs } = describe(errorOrResponse);

  if (status === undefined) {
    return isTransientNetworkError(errorOrResponse) ? backoffDelayMs(attempt, options) : undefined;
  }
  if (THROTTLE_STATUSES.has(status)) {
    const retryAfterMs = knownRetryAfterMs ?? (headers ? parseRetryAfterMs(headers, options.now?.() ?? Date.now()) : undefined);
    if (retryAfterMs !== undefined) {
      return retryAfterMs <= (options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS) ? retryAfterMs : undefined;
    }
  }
  return BACKOFF_STATUSES.has(status) ? backoffDelayMs(attempt, options) : undefined;
}

/**
 * The service's requested wait: retry-after-ms, x-ms-retry-after-ms (milliseconds), or Retry-After as delta
 * seconds or an HTTP date. Undefined when none is present or parseable.
 */
export function parseRetryAfterMs(headers: HeaderSource, nowMs: number = Date.now()): number | undefined {
  for (const name of ["retry-after-ms", "x-ms-retry-after-ms"]) {
    const value = headers.get(name)?.trim();
    if (value && /^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value));
  }
  const retryAfter = headers.get("retry-after")?.trim();
  if (!retryAfter) return undefined;
  if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
  const date = Date.parse(retryAfter);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : undefined;
}

/** Full-jitter exponential backoff for attempt n (1-based). */
export function backoffDelayMs(attempt: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const cap = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt - 1, 30));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

function describe(candidate: unknown): { status?: number; headers?: HeaderSource; retryAfterMs?: number } {
  if (candidate === null || typeof candidate !== "object") return {};
  const value = candidate as {
    status?: unknown;
    statusCode?: unknown;
    headers?: unknown;
    retryAfterMs?: unknown;
    response?: { status?: unknown; headers?: unknown };
  };
  const status =
    typeof value.status === "number" ? value.status
    : typeof value.statusCode === "number" ? value.statusCode
    : typeof value.response?.status === "number" ? value.response.status
    : undefined;
  const headers = asHeaderSource(value.headers) ?? asHeaderSource(value.response?.headers);
  const retryAfterMs = typeof value.retryAfterMs === "number" ? value.retryAfterMs : undefined;
  return { status, headers, retryAfterMs };
}

function asHeaderSource(headers: unknown): HeaderSource | undefined {
  return headers !== null && typeof headers === "object" && typeof (headers as HeaderSource).get === "function"
    ? (headers as HeaderSource)
    : undefined;
}

/** A real, abortable wait. */
export function defaultSleep(delayMs: number, abortSignal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (abortSignal?.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      abortSignal?.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    abortSignal?.addEventListener("abort", onAbort, { once: true });
  });
}

function abortError(): Error {
  const error = new Error("The operation was aborted while waiting to retry.");
  error.name = "AbortError";
  return error;
}

/**
 * Pipeline policies applying retryDelayMs: core-rest-pipeline's retryPolicy runs the loop (attempt count, abort
 * checks, returning the last response or error), with a strategy that asks retryDelayMs. The stock loop's own
 * wait cannot be replaced, so the strategy asks it for 0 ms and the companion policy below it performs the real
 * wait through `sleep`, which keeps tests free of real minutes-long waits. Add both, in the returned order.
 */
export interface RetryPipelineOptions extends RetryOptions {
  /** Names the service in log lines. */
  service?: string;
  /**
   * A throttle gate (throttle.ts) sits inside the loop: it holds the retry of a throttling answer with Retry-After
   * (and every other request) until the wait is over and writes that wait's line, so the loop does not wait again.
   */
  throttleGateInside?: boolean;
  /** Requests that are not sent again when they got no answer at all (they may have taken effect). */
  notRetriedWithoutAnswer?: WeakSet<object>;
}

export function retryPipelinePolicies(options: RetryPipelineOptions = {}): PipelinePolicy[] {
  const pendingWaits = new WeakMap<PipelineRequest, number>();
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const strategy: RetryStrategy = {
    name: "onedriveRetryStrategy",
    retry({ retryCount, response, responseError }) {
      const timeLeft = timeLeftMs(now());
      const maxRetryAfterMs = Math.min(options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS, timeLeft);
      const delay = retryDelayMs(responseError ?? response, retryCount + 1, { ...options, maxRetryAfterMs });
      if (delay === undefined || delay > timeLeft) return { skipStrategy: true };
      const request = response?.request ?? responseError?.request;
      if (request && !response && options.notRetriedWithoutAnswer?.has(request)) return { skipStrategy: true };
      const tally = callContext().tally;
      tally?.noteRetry();
      if (request && response && options.throttleGateInside && isThrottleAnswerWithWait(response, now())) {
        // The gate performs (and counts) this wait.
        pendingWaits.set(request, 0);
        return { retryAfterInMs: 0 };
      }
      if (response && THROTTLE_STATUSES.has(response.status)) tally?.noteThrottleWait(delay);
      if (request) {
        const what = `${options.service ?? "Graph"} ${request.method} ${new URL(request.url).pathname}`;
        const why = response ? describeResponse(response) : describeNetworkFailure(responseError);
        callContext().log?.(`${what}: ${why}; retrying in ${(delay / 1000).toFixed(1)} s (attempt ${retryCount + 2} of ${maxAttempts})`);
      }
      if (!request) return { retryAfterInMs: delay };
      pendingWaits.set(request, delay);
      return { retryAfterInMs: 0 };
    },
  };
  const waitPolicy: PipelinePolicy = {
    name: "onedriveRetryWait",
    async sendRequest(request, next) {
      const delay = pendingWaits.get(request);
      if (delay !== undefined) {
        pendingWaits.delete(request);
        if (delay > 0) await sleep(delay, linkedSignal(request.abortSignal as AbortSignal | undefined));
      }
      return next(request);
    },
  };
  return [coreRetryPolicy([strategy], { maxRetries: Math.max(0, maxAttempts - 1) }), waitPolicy];
}

function isThrottleAnswerWithWait(response: { status: number; headers: HeaderSource }, nowMs: number): boolean {
  return THROTTLE_STATUSES.has(response.status) && parseRetryAfterMs(response.headers, nowMs) !== undefined;
}

/**
 * "503 serviceNotAvailable (request id …)": a failed answer as a log line or a throttle cause names it. Graph gives
 * its code in the JSON body, the storage services in x-ms-error-code.
 */
export function describeResponse(response: { status: number; headers: HeaderSource; bodyAsText?: string | null }): string {
  const requestId = response.headers.get("request-id") ?? response.headers.get("x-ms-request-id") ?? response.headers.get("sprequestguid");
  const code = response.headers.get("x-ms-error-code") ?? errorCodeOf(response.bodyAsText);
  return `${response.status}${code ? ` ${code}` : ""}${requestId ? ` (request id ${requestId})` : ""}`;
}

function describeNetworkFailure(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return `no answer (${typeof code === "string" && code !== "" ? code : "network error"})`;
}

/** The Graph error body's `error.code`, when the body is one. */
function errorCodeOf(bodyText: string | null | undefined): string | undefined {
  if (!bodyText || bodyText[0] !== "{") return undefined;
  try {
    const code = (JSON.parse(bodyText) as { error?: { code?: unknown } }).error?.code;
    return typeof code === "string" && code !== "" ? code : undefined;
  } catch {
    return undefined;
  }
}
