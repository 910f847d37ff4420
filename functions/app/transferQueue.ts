import type { QueueClient } from "@azure/storage-queue";
import { signalWithin } from "../http/callContext";
import { transferMessageText, type SweepMessage, type TransferMessage } from "./queueMessages";

/** One small message or property read (the SDK's own per-try timeout only asks the server to give up). */
const QUEUE_CALL_TIMEOUT_MS = 30_000;

/**
 * The producer side of the transfer queue. Messages go as plain JSON text, matching host.json
 * `messageEncoding: "none"`; the queue is created on first use so a fresh account works without a deploy step.
 */
export class TransferQueue {
  private ready?: Promise<void>;

  constructor(readonly client: QueueClient) {}

  get name(): string {
    return this.client.name;
  }

  async send(message: TransferMessage | SweepMessage): Promise<void> {
    await this.ensureQueue();
    await this.client.sendMessage(transferMessageText(message), { abortSignal: signalWithin(QUEUE_CALL_TIMEOUT_MS) });
  }

  /** Approximate: the service counts asynchronously. */
  async approximateDepth(): Promise<number | undefined> {
    await this.ensureQueue();
    return (await this.client.getProperties({ abortSignal: signalWithin(QUEUE_CALL_TIMEOUT_MS) })).approximateMessagesCount;
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
