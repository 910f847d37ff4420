import { InvocationContext } from "@azure/functions";
import { QueueServiceClient, type QueueClient } from "@azure/storage-queue";
import { TransferQueue } from "../../../functions/app/transferQueue";
import { createTransferWorker, type QueueHandler, type WorkerDependencies } from "../../../functions/app/transferWorker";
import type { HttpDependencies } from "../../../functions/app/transfersHttp";
import type { LinkReport } from "../../../functions/app/transferStatus";
import type { EngineDependencies } from "../../../functions/transfer/transferEngine";
import type { AzuriteInstance } from "../../support/azurite";
import { createTransferFixture, uniqueName, type TransferFixture } from "../../support/transferHarness";
import type { OneDriveEmulatorOptions } from "../../emulators/onedrive";

export interface LoggedLine {
  level: string;
  text: string;
}

/** An InvocationContext like the host's, whose log lines are kept for assertions instead of printed. */
export function invocation(lines: LoggedLine[], triggerMetadata: Record<string, unknown> = {}, functionName = "transferWorker"): InvocationContext {
  return new InvocationContext({
    functionName,
    triggerMetadata,
    logHandler: (level, ...args) => lines.push({ level, text: args.map(String).join(" ") }),
  });
}

/** What @azure/functions hands a queue handler for a message's text: the parsed JSON when it parses, else the text. */
export function hostEntry(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface ReceivedMessage {
  text: string;
  messageId: string;
  popReceipt: string;
  dequeueCount: number;
}

export interface AppWorld {
  fixture: TransferFixture;
  queueClient: QueueClient;
  queue: TransferQueue;
  lines: LoggedLine[];
  worker(options?: { engine?: Partial<EngineDependencies>; now?: () => number; budgetMs?: number }): QueueHandler;
  workerDependencies(options?: { engine?: Partial<EngineDependencies>; now?: () => number; budgetMs?: number }): WorkerDependencies;
  /** As in production: one engine (one process) behind every request, one view of it per request. */
  httpDependencies(linkState?: () => Promise<LinkReport>): HttpDependencies;
  /** Every message now visible on the queue, removed from it. */
  drain(): Promise<ReceivedMessage[]>;
  /** Hands one message to the worker as the host would, with its real dequeue count, and deletes it on success. */
  deliver(handler: QueueHandler, message: ReceivedMessage): Promise<void>;
}

/** A transfer fixture (container, ledger, OneDrive emulator) plus its own transfer queue on the same Azurite. */
export async function createAppWorld(azurite: AzuriteInstance, env: Record<string, string> = {}, emulatorOptions: OneDriveEmulatorOptions = {}): Promise<AppWorld> {
  const fixture = await createTransferFixture(azurite, env, emulatorOptions);
  const queueService = QueueServiceClient.fromConnectionString(azurite.connectionString);
  const queueClient = queueService.getQueueClient(uniqueName("q"));
  const queue = new TransferQueue(queueClient, queueService.getQueueClient(`${queueClient.name}-poison`));
  await queue.ensureQueue();
  const lines: LoggedLine[] = [];
  // As in production: one engine per worker process, one view of it (own log and claim owner) per invocation.
  const workerDependencies: AppWorld["workerDependencies"] = (options = {}) => {
    const engine = fixture.engine({ ...options.engine });
    return { engineFor: (log) => engine.forInvocation(log), queue, now: options.now, budgetMs: options.budgetMs };
  };
  return {
    fixture,
    queueClient,
    queue,
    lines,
    workerDependencies,
    worker: (options = {}) => createTransferWorker(workerDependencies(options)),
    httpDependencies: (linkState = async () => ({ linked: true, relinkNeeded: false })) => {
      const engine = fixture.engine();
      return { engineFor: (log) => engine.forInvocation(log), queue, linkState };
    },
    async drain() {
      const drained: ReceivedMessage[] = [];
      for (;;) {
        const batch = await queueClient.receiveMessages({ numberOfMessages: 32 });
        if (batch.receivedMessageItems.length === 0) return drained;
        for (const item of batch.receivedMessageItems) {
          drained.push({ text: item.messageText, messageId: item.messageId, popReceipt: item.popReceipt, dequeueCount: item.dequeueCount });
          await queueClient.deleteMessage(item.messageId, item.popReceipt);
        }
      }
    },
    async deliver(handler, message) {
      await handler(hostEntry(message.text), invocation(lines, { id: message.messageId, dequeueCount: message.dequeueCount }));
    },
  };
}

/** A BlobCreated event as Event Grid writes it to a storage queue (EventGridSchema). */
export function blobCreatedEvent(accountUrl: string, container: string, blobName: string, etag = "0x8DCAFE"): Record<string, unknown> {
  const encodedPath = blobName.split("/").map(encodeURIComponent).join("/");
  return {
    topic: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/account",
    subject: `/blobServices/default/containers/${container}/blobs/${blobName}`,
    eventType: "Microsoft.Storage.BlobCreated",
    id: "831e1650-001e-001b-66ab-eeb76e069631",
    data: {
      api: "PutBlob",
      clientRequestId: "6d79dbfb-0e37-4fc4-981f-442c9ca65760",
      requestId: "831e1650-001e-001b-66ab-eeb76e000000",
      eTag: etag,
      contentType: "application/octet-stream",
      contentLength: 524288,
      blobType: "BlockBlob",
      url: `${accountUrl}/${container}/${encodedPath}`,
      sequencer: "00000000000004420000000000028963",
      storageDiagnostics: { batchId: "b68529f3-68cd-4744-baa4-3c0498ec19f0" },
    },
    dataVersion: "",
    metadataVersion: "1",
    eventTime: "2026-11-27T12:00:00.0000000Z",
  };
}
