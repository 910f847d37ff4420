import { BlobServiceClient } from "@azure/storage-blob";
import { QueueServiceClient } from "@azure/storage-queue";
import { TableClient } from "@azure/data-tables";
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import type { StorageConnection } from "../config/settings";

export interface StorageClients {
  blobService: BlobServiceClient;
  queueService: QueueServiceClient;
  tableClient(tableName: string): TableClient;
}

function isInsecureEndpoint(connectionString: string): boolean {
  return connectionString === "UseDevelopmentStorage=true" || /Endpoint=http:\/\//i.test(connectionString);
}

function identityCredential(clientId: string | undefined): TokenCredential {
  return clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
}

function serviceUri(explicit: string | undefined, blobServiceUri: string, service: "queue" | "table"): string {
  return explicit ?? blobServiceUri.replace(".blob.", `.${service}.`);
}

/** One account serves the source blobs, the transfer queue and the ledger table; built once per process. */
export function createStorageClients(connection: StorageConnection): StorageClients {
  if (connection.kind === "connectionString") {
    const { connectionString } = connection;
    return {
      blobService: BlobServiceClient.fromConnectionString(connectionString),
      queueService: QueueServiceClient.fromConnectionString(connectionString),
      tableClient: (tableName) =>
        TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection: isInsecureEndpoint(connectionString) }),
    };
  }
  const credential = identityCredential(connection.clientId);
  return {
    blobService: new BlobServiceClient(connection.blobServiceUri, credential),
    queueService: new QueueServiceClient(serviceUri(connection.queueServiceUri, connection.blobServiceUri, "queue"), credential),
    tableClient: (tableName) => new TableClient(serviceUri(connection.tableServiceUri, connection.blobServiceUri, "table"), tableName, credential),
  };
}
