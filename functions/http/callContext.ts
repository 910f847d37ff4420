import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What every network call and wait made on behalf of one invocation (a queue message, a sweep, a CLI run) must know
 * without each signature carrying it: where its retry and throttle lines go, and when it must stop. The clients are
 * shared by every invocation of a process, so this travels with the asynchronous call chain instead.
 */
export interface CallContext {
  /** One line per retry and per throttle wait (what, status, code, request id, how long). */
  log?: (line: string) => void;
  /** Aborted when the invocation must stop: its deadline passed, its claim was lost, the host is shutting down. */
  signal?: AbortSignal;
  /** Epoch ms: no wait may end after it (a longer one is handed back to the caller instead). */
  deadline?: number;
  /** Counts the retries and throttle waits made for one file, so its outcome record can say what it cost. */
  tally?: RetryTally;
}

/** Retries and throttle waits made under one context (one file's transfer). */
export class RetryTally {
  retries = 0;
  throttleWaits = 0;
  throttleWaitMs = 0;

  noteRetry(): void {
    this.retries += 1;
  }

  noteThrottleWait(waitMs: number): void {
    this.throttleWaits += 1;
    this.throttleWaitMs += waitMs;
  }
}

const contexts = new AsyncLocalStorage<CallContext>();

/** Runs `work` under `context`, inheriting whatever the surrounding context sets and `context` leaves out. */
export function withCallContext<T>(context: CallContext, work: () => T): T {
  const outer = contexts.getStore() ?? {};
  const signals = [outer.signal, context.signal].filter((signal): signal is AbortSignal => signal !== undefined);
  const deadlines = [outer.deadline, context.deadline].filter((deadline): deadline is number => deadline !== undefined);
  return contexts.run(
    {
      log: context.log ?? outer.log,
      signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      deadline: deadlines.length > 0 ? Math.min(...deadlines) : undefined,
      tally: context.tally ?? outer.tally,
    },
    work,
  );
}

/**
 * Runs `work` under `context` alone, inheriting nothing: for work shared by several invocations (a JSON batch carrying
 * several files' requests), which no single invocation's signal or deadline may stop.
 */
export function withSharedCallContext<T>(context: CallContext, work: () => T): T {
  return contexts.run(context, work);
}

export function callContext(): CallContext {
  return contexts.getStore() ?? {};
}

/** Milliseconds left before the context's deadline; Infinity without one. */
export function timeLeftMs(now: number = Date.now()): number {
  const { deadline } = callContext();
  return deadline === undefined ? Infinity : Math.max(0, deadline - now);
}

/** The caller's signal and the context's, as one (either aborting aborts it). */
export function linkedSignal(own: AbortSignal | undefined): AbortSignal | undefined {
  const contextSignal = callContext().signal;
  if (!own) return contextSignal;
  if (!contextSignal || contextSignal === own) return own;
  return AbortSignal.any([own, contextSignal]);
}

/** The caller's and the invocation's signals, plus a ceiling for the whole call, its retries included. */
export function signalWithin(timeoutMs: number, own?: AbortSignal): AbortSignal {
  const linked = linkedSignal(own);
  const timeout = AbortSignal.timeout(timeoutMs);
  return linked ? AbortSignal.any([linked, timeout]) : timeout;
}
