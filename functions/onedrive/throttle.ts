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

export class ThrottleGate {
  private openAt = 0;
  private cause = "";

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
   * Waits while the gate is closed, writing one line for the wait. A wait that would outlast the invocation's
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
      await this.clock.sleep(waitMs, linkedSignal(abortSignal as AbortSignal | undefined));
      waitedUntil = until;
      // The window this wait sat out is over, whatever the clock says (an injected sleep may not move it).
      if (this.openAt === until) this.openAt = 0;
    }
  }

  /** Closes the gate when a response is a throttling answer with a requested wait. */
  observe(response: PipelineResponse, cause: string): void {
    if (!THROTTLE_STATUSES.has(response.status)) return;
    const waitMs = parseRetryAfterMs(response.headers, this.clock.now());
    if (waitMs !== undefined && waitMs > 0) this.close(waitMs, cause);
  }
}

/** Every attempt passes the gate first; every throttling answer closes it for all. Goes inside the retry loop. */
export function throttlePolicy(gate: ThrottleGate, describe: (response: PipelineResponse) => string): PipelinePolicy {
  return {
    name: "onedriveThrottle",
    async sendRequest(request, next) {
      await gate.pass(`${request.method} ${new URL(request.url).pathname}`, request.abortSignal);
      const response = await next(request);
      gate.observe(response, describe(response));
      return response;
    },
  };
}
