import type { QueueClient } from "@azure/storage-queue";
import { signalWithin } from "../http/callContext";
import { transferMessageText, type SweepMessage, type TransferMessage } from "./queueMessages";

/** One small message or property read (the SDK's own per-try timeout only asks the server to give up). */
const QUEUE_CALL_TIMEOUT_MS = 30_000;
/** Put Message accepts a visibility delay of at most 7 days. */
const MAX_VISIBILITY_DELAY_S = 7 * 24 * 3600;

/**
 * The producer side of the transfer queue. Messages go as plain JSON text, matching host.json
 * `messageEncoding: "none"`; the queue is created on first use so a fresh account works without a deploy step.
 */
export interface QueueReading {
  /** Approximate messages on the queue (visible or not). */
  depth: number;
  /** Seconds since the oldest visible message was put on the queue; 0 when none is visible. */
  oldestAgeSeconds: number;
  /** Approximate messages on the poison queue; 0 when the host has not created it. */
  poisonDepth: number;
}

export class TransferQueue {
  private ready?: Promise<void>;

  /** `poison`: the queue the host moves a message to after maxDequeueCount failed attempts (`<queue>-poison`). */
  constructor(
    readonly client: QueueClient,
    readonly poison?: QueueClient,
  ) {}

  get name(): string {
    return this.client.name;
  }

  /** `visibleAfterMs`: the message stays invisible that long (a continuation that must wait out throttling). */
  async send(message: TransferMessage | SweepMessage, options: { visibleAfterMs?: number } = {}): Promise<void> {
    await this.ensureQueue();
    const visibilityTimeout = options.visibleAfterMs === undefined ? undefined : Math.min(MAX_VISIBILITY_DELAY_S, Math.ceil(options.visibleAfterMs / 1000));
    await this.client.sendMessage(transferMessageText(message), { abortSignal: signalWithin(QUEUE_CALL_TIMEOUT_MS), ...(visibilityTimeout ? { visibilityTimeout } : {}) });
  }

  /** Approximate: the service counts asynchronously. A queue nobody has sent to yet holds nothing (and is not made). */
  async approximateDepth(): Promise<number | undefined> {
    return depthOf(this.client);
  }

  get poisonQueueName(): string {
    return `${this.client.name}-poison`;
  }

  /**
   * Messages the host gave up on (approximate); undefined when no poison queue client was given. Read, never
   * created: the host makes the poison queue when it first needs it, so none yet means nothing was poisoned.
   */
  async approximatePoisonDepth(): Promise<number | undefined> {
    return this.poison ? depthOf(this.poison) : undefined;
  }

  /**
   * Depth, age and poison count for the operator's metrics. Peeking does not change the message. A message that is
   * invisible (a continuation waiting out throttling, one in work) is not seen by a peek, so the age is that of the
   * oldest message waiting for a worker.
   */
  async read(now: number = Date.now()): Promise<QueueReading> {
    const [depth, peeked, poisonDepth] = await Promise.all([
      this.approximateDepth(),
      // A queue nobody has sent to yet does not exist: nothing waits in it.
      this.client.peekMessages({ numberOfMessages: 1, abortSignal: signalWithin(QUEUE_CALL_TIMEOUT_MS) }).catch((error: unknown) => {
        if ((error as { statusCode?: number }).statusCode === 404) return { peekedMessageItems: [] as { insertedOn?: Date }[] };
        throw error;
      }),
      this.approximatePoisonDepth(),
    ]);
    const insertedOn = peeked.peekedMessageItems[0]?.insertedOn;
    const oldestAgeSeconds = insertedOn ? Math.max(0, Math.round((now - insertedOn.getTime()) / 1000)) : 0;
    return { depth: depth ?? 0, oldestAgeSeconds, poisonDepth: poisonDepth ?? 0 };
  }

  ensureQueue(): Promise<void> {
    this.ready ??= this.client.createIfNotExists({ abortSignal: signalWithin(QUEUE_CALL_TIMEOUT_MS) }).then(
      () => undefined,
      (error: unknown) => {
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
  }
}

/** Read only: a status reader may hold a role that can read but not create queues. */
async function depthOf(client: QueueClient): Promise<number> {
  try {
    return (await client.getProperties({ abortSignal: signalWithin(QUEUE_CALL_TIMEOUT_MS) })).approximateMessagesCount ?? 0;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return 0;
    throw error;
  }
}
