import type { HttpClient } from "@azure/core-rest-pipeline";
import type { EngineSettings } from "../config/settings";
import type { AccessTokenProvider } from "../onedrive/accessToken";
import { destinationDriveKey, type DestinationDriveSetting } from "../config/destinationDriveSetting";
import { configuredDestinationDisplay, destinationDisplay, resolveDestinationDrive, type ResolvedDestination, type ResolvedLibraryCache } from "../onedrive/destinationDrive";
import { GraphClient } from "../onedrive/graphClient";
import { defaultSleep } from "../onedrive/retryPolicy";
import { UploadSessionClient } from "../onedrive/uploadSessionClient";
import { BlobSource } from "../storage/blobSource";
import { newClaimOwner } from "../storage/claimOwner";
import { Ledger } from "../storage/ledger";
import { createStorageClients, type StorageClients } from "../storage/storageClients";
import { tableLibraryCache } from "./destinationCache";
import { transferBlob, type FileOutcome, type TransferLog, type TransferOptions, type TransferServices } from "./blobTransfer";
import { FragmentBufferPool } from "./fragmentBufferPool";
import { SmallFileBatcher } from "./smallFileBatch";
import { processOnlyUploadUrlSeal, type UploadUrlSeal } from "./uploadUrlTrust";
import { sweep, type SweepObserver, type SweepSummary } from "./sweep";
import { withCallContext } from "../http/callContext";

export interface EngineDependencies {
  tokenProvider: AccessTokenProvider;
  /** Defaults to clients built from settings.storage. */
  storage?: StorageClients;
  /** Transport for Graph and upload URLs (tests, proxies). */
  httpClient?: HttpClient;
  log?: TransferLog;
  workerId?: string;
  /** See TransferServices.waitForClaims; off unless set (the function app's behaviour). */
  waitForClaims?: boolean;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Per-attempt ceilings instead of the production ones (tests that stall a service). */
  attemptTimeouts?: AttemptTimeouts;
  /** The deployment's upload-URL seal (uploadUrlSealFor); without one, only this process's own sessions resume. */
  uploadUrlSeal?: UploadUrlSeal;
  /** Where resolved library URLs are remembered; defaults to a row in the ledger table. */
  libraryCache?: ResolvedLibraryCache;
}

/** The destination as the engine reports it: the resolved drive and the text a person reads. */
export interface DestinationReport extends ResolvedDestination {
  /** "Finance › Documents › From Azure". */
  display: string;
}

export interface AttemptTimeouts {
  graphMs: number;
  uploadControlMs: number;
  fragmentMs: (fragmentBytes: number) => number;
  blobReadMs: (bytes: number) => number;
}

export const silentLog: TransferLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The one engine under every trigger and the CLI. */
export class TransferEngine {
  readonly services: TransferServices;
  private readonly libraryCache: ResolvedLibraryCache;
  /** Shared by every invocation view of the engine: the destination is resolved once per process. */
  private readonly destinationState: { resolving?: Promise<DestinationReport> } = {};

  constructor(readonly settings: EngineSettings, dependencies: EngineDependencies) {
    const storage = dependencies.storage ?? createStorageClients(settings.storage);
    // One clock and one sleep for every wait the engine makes, so tests record delays instead of waiting them out.
    // Settings admit http:// only for a loopback Graph endpoint (a local emulator); its upload URLs may be http too.
    const allowInsecureConnection = settings.graphBaseUrl.startsWith("http://");
    const retry = {
      ...(dependencies.sleep ? { sleep: dependencies.sleep } : {}),
      ...(dependencies.now ? { now: dependencies.now } : {}),
    };
    const timeouts = dependencies.attemptTimeouts;
    const graph = new GraphClient({
      baseUrl: settings.graphBaseUrl, tokenProvider: dependencies.tokenProvider, httpClient: dependencies.httpClient, retry, allowInsecureConnection,
      requestTimeoutMs: timeouts?.graphMs,
      // Any other drive is only addressed once destination() has resolved it.
      drivePath: settings.destDrive.kind === "me" ? "/me/drive" : null,
    });
    const ledgerTable = storage.tableClient(settings.ledgerTable);
    this.libraryCache = dependencies.libraryCache ?? tableLibraryCache(ledgerTable, (message) => this.services.log.warn(message));
    const now = dependencies.now ?? Date.now;
    const sleep = dependencies.sleep ?? defaultSleep;
    this.services = {
      settings,
      source: new BlobSource(storage.blobService.getContainerClient(settings.sourceContainer), timeouts?.blobReadMs),
      archive: storage.blobService.getContainerClient(settings.archiveContainer),
      fragmentBuffers: FragmentBufferPool.forTransfers(settings.fragmentSizeBytes, settings.transferConcurrency),
      ledger: new Ledger(ledgerTable, settings.sourceContainer, { transport: storage.tableTransport }),
      graph,
      smallFiles: new SmallFileBatcher(graph, { retry, now, sleep }),
      uploads: new UploadSessionClient({
        httpClient: dependencies.httpClient, retry, allowInsecureConnection,
        controlTimeoutMs: timeouts?.uploadControlMs, fragmentTimeoutMs: timeouts?.fragmentMs,
      }),
      uploadUrlSeal: dependencies.uploadUrlSeal ?? processOnlyUploadUrlSeal(),
      workerId: dependencies.workerId ?? newClaimOwner(),
      waitForClaims: dependencies.waitForClaims ?? false,
      now,
      sleep,
      log: dependencies.log ?? silentLog,
      ensureDestination: () => this.destination(),
    };
    // SharePoint counts Graph calls and uploads against one resource-unit budget per app.
    this.services.graph.throttle.shareBudgetWith(this.services.uploads.throttle);
  }

  /**
   * The same clients, caches and connections under another log and claim owner: one engine per process, one view
   * per invocation, so two invocations in a process never share a claim and the folder-id cache is not rebuilt
   * for every message.
   */
  forInvocation(log: TransferLog): TransferEngine {
    const view: TransferEngine = Object.create(TransferEngine.prototype);
    Object.assign(view, {
      settings: this.settings,
      services: { ...this.services, log, workerId: newClaimOwner(), ensureDestination: () => view.destination() },
      libraryCache: this.libraryCache,
      destinationState: this.destinationState,
    });
    return view;
  }

  /**
   * DEST_DRIVE resolved to a drive (once per process; a failed attempt is tried again next time) and the Graph
   * client pointed at it. Throws a DestinationError when the drive is missing or out of reach.
   */
  destination(): Promise<DestinationReport> {
    if (this.destinationState.resolving === undefined) {
      const { settings, graph, log } = this.services;
      const resolving = resolveDestinationDrive(settings.destDrive, graph, { key: destinationDriveKey(settings.destDrive), store: this.libraryCache }).then((resolved) => {
        graph.useDrive(resolved.address);
        const report = { ...resolved, display: destinationDisplay(resolved, settings.destFolder) };
        log.info(`Files go to ${report.display} (drive ${report.driveId}${report.driveType ? `, ${report.driveType}` : ""})`);
        return report;
      });
      this.destinationState.resolving = resolving;
      resolving.catch(() => {
        if (this.destinationState.resolving === resolving) this.destinationState.resolving = undefined;
      });
    }
    return this.destinationState.resolving;
  }

  /**
   * The destination as a summary shows it: resolved if this run looked it up, otherwise as configured, without a
   * Graph request (a sweep over finished blobs makes none).
   */
  async destinationForSummary(): Promise<{ display: string; kind: DestinationDriveSetting["kind"]; driveId?: string }> {
    const { settings } = this.services;
    if (this.destinationState.resolving === undefined) return { display: configuredDestinationDisplay(settings.destDrive, settings.destFolder), kind: settings.destDrive.kind };
    const { display, kind, driveId } = await this.destinationState.resolving;
    return { display, kind, driveId };
  }

  /** One blob; its calls and waits end by `options.deadline` and with `options.abortSignal`. */
  transferBlob(blobName: string, options: TransferOptions = {}): Promise<FileOutcome> {
    return withCallContext({ log: this.retryLog(), deadline: options.deadline, signal: options.abortSignal }, () => transferBlob(this.services, blobName, options));
  }

  sweep(observer?: SweepObserver, abortSignal?: AbortSignal): Promise<SweepSummary> {
    return withCallContext({ log: this.retryLog(), signal: abortSignal }, () => sweep(this.services, observer));
  }

  /** Retry and throttle lines go to the invocation's log (the clients are shared by every invocation of a process). */
  private retryLog(): (line: string) => void {
    const log = this.services.log;
    return (line) => log.warn(line);
  }
}
