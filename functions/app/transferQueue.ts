import type { QueueClient } from "@azure/storage-queue";
import { transferMessageText, type SweepMessage, type TransferMessage } from "./queueMessages";

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
    await this.client.sendMessage(transferMessageText(message));
  }

  /** Approximate: the service counts asynchronously. */
  async approximateDepth(): Promise<number | undefined> {
    await this.ensureQueue();
    return (await this.client.getProperties()).approximateMessagesCount;
  }

  ensureQueue(): Promise<void> {
    this.ready ??= this.client.createIfNotExists().then(
      () => undefined,
      (error: unknown) => {
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
  }
}
