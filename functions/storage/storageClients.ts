import { BlobServiceClient } from "@azure/storage-blob";
import type { QueueServiceClient } from "@azure/storage-queue";
import { TableClient } from "@azure/data-tables";
import type { TokenCredential } from "@azure/identity";
import { createDefaultHttpClient, type HttpClient } from "@azure/core-rest-pipeline";
import type { StorageConnection } from "../config/settings";
import { boundedHttpClient } from "../http/attemptTimeout";
import { withoutFormDataPolicy } from "./formDataPolicy";
import { storageClientPipeline, useProjectRetries } from "./storageRetries";

/**
 * Per-attempt ceilings (the SDKs set none by default). A table or queue request carries one small entity or message,
 * and a ledger write must fail over well inside a claim's 60 s lease; a blob request is metadata (a ranged read has
 * its own bound in blobSource).
 */
export const STORAGE_ATTEMPT_TIMEOUTS_MS = { blob: 60_000, table: 15_000, queue: 30_000 } as const;

export interface StorageClientOptions {
  /** Replaces the network under the table client (tests). */
  transport?: HttpClient;
  /** Per-attempt ceilings; tests shorten them. */
  attemptTimeoutsMs?: { blob: number; table: number; queue: number };
}

/*
 * The queue and identity SDKs are loaded when first needed: a CLI sweep with a connection string uses neither, and
 * they weigh several MB of a process whose memory is bounded.
 */
function queueSdk(): typeof import("@azure/storage-queue") {
  return require("@azure/storage-queue") as typeof import("@azure/storage-queue");
}

export interface StorageClients {
  blobService: BlobServiceClient;
  queueService: QueueServiceClient;
  tableClient(tableName: string): TableClient;
  /** The table clients' transport: a Ledger sends its transactions through it (tableTransaction.ts). */
  tableTransport: HttpClient;
}

function isInsecureEndpoint(connectionString: string): boolean {
  return connectionString === "UseDevelopmentStorage=true" || /Endpoint=http:\/\//i.test(connectionString);
}

function identityCredential(clientId: string | undefined): TokenCredential {
  const { DefaultAzureCredential, ManagedIdentityCredential } = require("@azure/identity") as typeof import("@azure/identity");
  return clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
}

function serviceUri(explicit: string | undefined, blobServiceUri: string, service: "queue" | "table"): string {
  return explicit ?? blobServiceUri.replace(".blob.", `.${service}.`);
}

/**
 * One account serves the source blobs, the transfer queue and the ledger table; built once per process. Every
 * attempt of every client is bounded and follows the invocation's signal (attemptTimeout.ts), and every retry goes
 * through the project's retry policy, which logs it (storageRetries.ts).
 */
export function createStorageClients(connection: StorageConnection, options: StorageClientOptions = {}): StorageClients {
  const timeouts = options.attemptTimeoutsMs ?? STORAGE_ATTEMPT_TIMEOUTS_MS;
  // The storage SDKs take the older transport interface: their attempts are bounded inside the pipeline instead
  // (storageRetries.ts), the table client's by its transport, which its transactions share.
  const withBlobRetries = (client: BlobServiceClient): BlobServiceClient => {
    useProjectRetries(storageClientPipeline(client), "Blob storage", timeouts.blob);
    return client;
  };
  const withQueueRetries = (client: QueueServiceClient): QueueServiceClient => {
    useProjectRetries(storageClientPipeline(client), "Queue storage", timeouts.queue);
    return client;
  };
  const withTableRetries = (client: TableClient): TableClient => {
    useProjectRetries(client.pipeline, "Table storage");
    return withoutFormDataPolicy(client);
  };
  const tableTransport = boundedHttpClient(options.transport ?? createDefaultHttpClient(), timeouts.table);
  const tableOptions = { httpClient: tableTransport };
  if (connection.kind === "connectionString") {
    const { connectionString } = connection;
    let queueService: QueueServiceClient | undefined;
    return {
      blobService: withBlobRetries(BlobServiceClient.fromConnectionString(connectionString)),
      get queueService() {
        return (queueService ??= withQueueRetries(queueSdk().QueueServiceClient.fromConnectionString(connectionString)));
      },
      tableClient: (tableName) =>
        withTableRetries(TableClient.fromConnectionString(connectionString, tableName, { ...tableOptions, allowInsecureConnection: isInsecureEndpoint(connectionString) })),
      tableTransport,
    };
  }
  const credential = identityCredential(connection.clientId);
  let queueService: QueueServiceClient | undefined;
  return {
    blobService: withBlobRetries(new BlobServiceClient(connection.blobServiceUri, credential)),
    get queueService() {
      return (queueService ??= withQueueRetries(new (queueSdk().QueueServiceClient)(serviceUri(connection.queueServiceUri, connection.blobServiceUri, "queue"), credential)));
    },
    tableClient: (tableName) => withTableRetries(new TableClient(serviceUri(connection.tableServiceUri, connection.blobServiceUri, "table"), tableName, credential, tableOptions)),
    tableTransport,
  };
}
