import { BlobServiceClient } from "@azure/storage-blob";
import type { QueueServiceClient } from "@azure/storage-queue";
import { TableClient } from "@azure/data-tables";
import type { TokenCredential } from "@azure/identity";
import type { StorageConnection } from "../config/settings";

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

/** One account serves the source blobs, the transfer queue and the ledger table; built once per process. */
export function createStorageClients(connection: StorageConnection): StorageClients {
  if (connection.kind === "connectionString") {
    const { connectionString } = connection;
    let queueService: QueueServiceClient | undefined;
    return {
      blobService: BlobServiceClient.fromConnectionString(connectionString),
      get queueService() {
        return (queueService ??= queueSdk().QueueServiceClient.fromConnectionString(connectionString));
      },
      tableClient: (tableName) =>
        TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection: isInsecureEndpoint(connectionString) }),
    };
  }
  const credential = identityCredential(connection.clientId);
  let queueService: QueueServiceClient | undefined;
  return {
    blobService: new BlobServiceClient(connection.blobServiceUri, credential),
    get queueService() {
      return (queueService ??= new (queueSdk().QueueServiceClient)(serviceUri(connection.queueServiceUri, connection.blobServiceUri, "queue"), credential));
    },
    tableClient: (tableName) => new TableClient(serviceUri(connection.tableServiceUri, connection.blobServiceUri, "table"), tableName, credential),
  };
}
