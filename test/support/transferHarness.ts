import { randomBytes } from "node:crypto";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { loadEngineSettings, type EngineSettings } from "../../functions/config/settings";
import { StaticAccessTokenProvider } from "../../functions/onedrive/accessToken";
import type { TransferLog } from "../../functions/transfer/blobTransfer";
import { TransferEngine, type EngineDependencies } from "../../functions/transfer/transferEngine";
import { startOneDriveEmulator, type OneDriveEmulator, type OneDriveEmulatorOptions } from "../emulators/onedrive";
import type { AzuriteInstance } from "./azurite";

let uniqueCounter = 0;

/** Container and table names unique within one Azurite, so tests sharing it never see each other's blobs. */
export function uniqueName(stem: string): string {
  uniqueCounter += 1;
  return `${stem}${process.pid}x${uniqueCounter}`.toLowerCase().replace(/[^a-z0-9]/g, "");
}

export interface RecordingLog extends TransferLog {
  lines: string[];
}

export function recordingLog(): RecordingLog {
  const lines: string[] = [];
  return {
    lines,
    info: (message) => lines.push(`info: ${message}`),
    warn: (message) => lines.push(`warn: ${message}`),
    error: (message) => lines.push(`error: ${message}`),
  };
}

export interface TransferFixture {
  emulator: OneDriveEmulator;
  container: ContainerClient;
  blobService: BlobServiceClient;
  settingsEnv: Record<string, string>;
  settings: EngineSettings;
  log: RecordingLog;
  /** Delays the engine asked to sleep, in order (the engine's sleep is injected, so tests never wait). */
  sleeps: number[];
  engine(overrides?: Partial<EngineDependencies>): TransferEngine;
  putBlob(name: string, content: Buffer | string): Promise<string>;
  close(): Promise<void>;
}

/**
 * A fresh container, ledger table and OneDrive emulator on a shared Azurite. The engine under test is the real
 * one: only its clock-driven sleep is replaced, so retry delays are recorded instead of waited out.
 */
export async function createTransferFixture(
  azurite: AzuriteInstance,
  env: Record<string, string> = {},
  emulatorOptions: OneDriveEmulatorOptions = {},
): Promise<TransferFixture> {
  const emulator = await startOneDriveEmulator(emulatorOptions);
  const containerName = uniqueName("src");
  const settingsEnv: Record<string, string> = {
    SOURCE_STORAGE: azurite.connectionString,
    SOURCE_CONTAINER: containerName,
    ARCHIVE_CONTAINER: uniqueName("arc"),
    LEDGER_TABLE: uniqueName("ledger"),
    GRAPH_ENDPOINT: emulator.graphEndpoint,
    GRAPH_ACCESS_TOKEN: emulator.accessToken,
    // The drive root, asked for explicitly, so tests name items by the blob's own path.
    DEST_FOLDER: "/",
    ...env,
  };
  const settings = loadEngineSettings(settingsEnv);
  const blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const container = blobService.getContainerClient(settings.sourceContainer);
  await container.createIfNotExists();
  const log = recordingLog();
  const sleeps: number[] = [];
  return {
    emulator,
    container,
    blobService,
    settingsEnv,
    settings,
    log,
    sleeps,
    engine: (overrides = {}) =>
      new TransferEngine(settings, {
        tokenProvider: new StaticAccessTokenProvider(emulator.accessToken),
        log,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
        ...overrides,
      }),
    async putBlob(name, content) {
      const body = typeof content === "string" ? Buffer.from(content) : content;
      const response = await container.getBlockBlobClient(name).uploadData(body);
      return response.etag ?? "";
    },
    close: () => emulator.close(),
  };
}

export function randomContent(size: number): Buffer {
  return randomBytes(size);
}

export const FRAGMENT = 327_680;
