/**
 * Values the handlers must agree with host.json on. A test reads host.json and fails if the two drift apart.
 */

/** host.json `functionTimeout`: the host kills a worker invocation after this long. */
export const FUNCTION_TIMEOUT_MS = 30 * 60 * 1000;

/**
 * How long one worker invocation transfers before it checkpoints and queues a continuation. Five minutes below the
 * timeout leave room for the last fragment in flight (a 60 MiB fragment on a slow link), the checkpoint write and
 * the continuation message.
 */
export const WORKER_BUDGET_MS = 25 * 60 * 1000;

/** Every call and wait of an invocation is aborted this long before the host's timeout would kill the process. */
export const HARD_STOP_MARGIN_MS = 60 * 1000;

/** host.json `extensions.queues.maxDequeueCount`: the attempt after which the host moves a message to `<queue>-poison`. */
export const MAX_DEQUEUE_COUNT = 5;

/**
 * A blob queued for its current ETag less than this long ago is not queued again by a sweep. Longer than one
 * invocation's budget plus a deep backlog's wait, so a busy queue does not fill with duplicates; short enough that
 * a message that vanished (deleted by hand, queue recreated) is re-queued within a few sweeps.
 */
export const REQUEUE_WINDOW_MS = 60 * 60 * 1000;
