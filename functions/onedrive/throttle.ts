import type { PipelinePolicy, PipelineResponse } from "@azure/core-rest-pipeline";
import { callContext, linkedSignal, timeLeftMs } from "../http/callContext";
import { parseRetryAfterMs, THROTTLE_STATUSES } from "./retryPolicy";
import type { AbortSignalLike } from "./retryPolicy";

/*
 * A throttling answer (429, 503 or 509 with Retry-After) describes the service's view of this app or user, not of
 * one request: Graph and SharePoint count every request of the caller. So one such answer holds back every request
 * of the process to that service until the wait is over, as rclone's pacer does, instead of letting the other
 * transfers run into the same limit (which SharePoint punishes by throttling longer).
 */

/** The service asked to wait longer than the invocation has left: hand the work over instead of sleeping. */
export class ThrottledError extends Error {
  override readonly name = "ThrottledError";
  constructor(
    readonly service: string,
    readonly retryAfterMs: number,
    readonly throttleCause: string,
  ) {
    super(`${service} is throttling this app (${throttleCause}) for another ${Math.ceil(retryAfterMs / 1000)} s, longer than this run has left`);
  }
}

export interface ThrottleClock {
  now: () => number;
  sleep: (delayMs: number, abortSignal?: AbortSignalLike) => Promise<void>;
}

/**
 * SharePoint's RateLimit headers (IETF draft-03, sent best effort to app-only callers once 80 % of the app's
 * resource units for the minute are used): when fewer than this share of the budget remains, requests wait for
 * RateLimit-Reset instead of running into a 429, which still counts against the budget and stops everything.
 */
export const RATE_LIMIT_LOW_SHARE = 0.1;

export class ThrottleGate {
  private openAt = 0;
  private cause = "";
  /** Gates of the other services that draw on the same resource-unit budget (Graph and the upload host). */
  private readonly budgetPeers = new Set<ThrottleGate>();

  constructor(
    readonly service: string,
    private readonly clock: ThrottleClock,
  ) {}

  /** Every request through this gate waits until `waitMs` from now; the latest end of all waits asked for wins. */
  close(waitMs: number, cause: string): void {
    const until = this.clock.now() + waitMs;
    if (until > this.openAt) {
      this.openAt = until;
      this.cause = cause;
    }
  }

  remainingMs(): number {
    return Math.max(0, this.openAt - this.clock.now());
  }

  /**
   * Waits while the gate is closed, writing one line for the wait and counting it in the context's tally. A wait that would outlast the invocation's
   * deadline is not started: ThrottledError tells the caller how long, so it can hand the work over.
   */
  async pass(what: string, abortSignal?: AbortSignalLike): Promise<void> {
    // Each wait is for the gate's end as it stood; another only when the gate was closed further meanwhile.
    for (let waitedUntil = 0; this.openAt > waitedUntil; ) {
      const until = this.openAt;
      const waitMs = until - this.clock.now();
      if (waitMs <= 0) return;
      if (waitMs > timeLeftMs(this.clock.now())) throw new ThrottledError(this.service, waitMs, this.cause);
      callContext().log?.(`${this.service} ${what}: held back ${(waitMs / 1000).toFixed(1)} s by throttling (${this.cause})`);
      callContext().tally?.noteThrottleWait(waitMs);
      await this.clock.sleep(waitMs, linkedSignal(abortSignal as AbortSignal | undefined));
      waitedUntil = until;
      // The window this wait sat out is over, whatever the clock says (an injected sleep may not move it).
      if (this.openAt === until) this.openAt = 0;
    }
  }

  /** This gate and `other` spend one budget: a nearly spent budget seen by either holds both back. */
  shareBudgetWith(other: ThrottleGate): void {
    if (other === this) return;
    this.budgetPeers.add(other);
    other.budgetPeers.add(this);
  }

  /**
   * Closes the gate when a response is a throttling answer with a requested wait, or when its RateLimit headers say
   * the budget is nearly spent (then the gates sharing the budget close too, until RateLimit-Reset).
   */
  observe(response: PipelineResponse, describe: (response: PipelineResponse) => string): void {
    const budget = nearlySpentBudget(response.headers);
    if (budget !== undefined) {
      const budgetCause = `RateLimit-Remaining ${budget.remaining} of ${budget.limit}`;
      for (const gate of [this, ...this.budgetPeers]) gate.close(budget.resetMs, budgetCause);
    }
    if (!THROTTLE_STATUSES.has(response.status)) return;
    const waitMs = parseRetryAfterMs(response.headers, this.clock.now());
    // Described only here: reading a success's body for an error code would parse every batch answer twice.
    if (waitMs !== undefined && waitMs > 0) this.close(waitMs, describe(response));
  }
}

/**
 * RateLimit-Limit, -Remaining and -Reset (delta seconds) when all three are whole numbers and what remains is below
 * RATE_LIMIT_LOW_SHARE of the limit; undefined otherwise (absent, malformed, or plenty left).
 */
function nearlySpentBudget(headers: { get(name: string): string | undefined }): { limit: number; remaining: number; resetMs: number } | undefined {
  const read = (name: string): number | undefined => {
    const value = headers.get(name)?.trim();
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
  };
  const limit = read("ratelimit-limit");
  const remaining = read("ratelimit-remaining");
  const resetSeconds = read("ratelimit-reset");
  if (limit === undefined || remaining === undefined || resetSeconds === undefined || limit === 0 || resetSeconds === 0) return undefined;
  return remaining < limit * RATE_LIMIT_LOW_SHARE ? { limit, remaining, resetMs: resetSeconds * 1000 } : undefined;
}

/** Every attempt passes the gate first; every throttling answer closes it for all. Goes inside the retry loop. */
export function throttlePolicy(gate: ThrottleGate, describe: (response: PipelineResponse) => string): PipelinePolicy {
  return {
    name: "onedriveThrottle",
    async sendRequest(request, next) {
      await gate.pass(`${request.method} ${new URL(request.url).pathname}`, request.abortSignal);
      const response = await next(request);
      gate.observe(response, describe);
      return response;
    },
  };
}
