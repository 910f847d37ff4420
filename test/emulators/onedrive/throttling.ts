/**
 * Who has been throttled, and for how long. With scope "service" one Retry-After covers every request to that
 * origin until it runs out, as Graph and SharePoint throttle per app and user rather than per request
 * (learn.microsoft.com/graph/throttling; SharePoint "Avoid getting throttled": wait at least Retry-After).
 */
export type ThrottledOrigin = "graph" | "upload";

export class ThrottleState {
  private readonly counts: Record<ThrottledOrigin, number> = { graph: 0, upload: 0 };
  private readonly windowEnds: Record<ThrottledOrigin, number> = { graph: 0, upload: 0 };

  constructor(
    readonly scope: "request" | "service",
    private readonly now: () => number,
  ) {}

  /** Records a throttle fault's answer; with scope "service" its Retry-After opens the origin's window. */
  noteFault(origin: ThrottledOrigin, retryAfter: string | undefined): void {
    this.counts[origin] += 1;
    if (this.scope !== "service" || retryAfter === undefined) return;
    const end = retryAfterEnd(retryAfter, this.now());
    if (end !== undefined && end > this.windowEnds[origin]) this.windowEnds[origin] = end;
  }

  /**
   * The Retry-After (whole seconds, rounded up, at least 1) for a request arriving while its origin's window is
   * open; undefined when the request may pass. Counts the throttled request.
   */
  retryAfterWithinWindow(origin: ThrottledOrigin): string | undefined {
    const remainingMs = this.windowEnds[origin] - this.now();
    if (remainingMs <= 0) return undefined;
    this.counts[origin] += 1;
    return String(Math.max(1, Math.ceil(remainingMs / 1000)));
  }

  snapshot(): { graph: number; upload: number } {
    return { ...this.counts };
  }
}

/** Retry-After is delay-seconds or an HTTP-date (RFC 9110 §10.2.3); anything else opens no window. */
function retryAfterEnd(retryAfter: string, now: number): number | undefined {
  const trimmed = retryAfter.trim();
  if (/^\d+$/.test(trimmed)) return now + Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : date;
}
