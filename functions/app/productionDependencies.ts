import { describeAppIdentity, loadAppAuthSettings, readAuthMode } from "../auth/appAuthSettings";
import { loadAuthSettings } from "../auth/authSettings";
import { describeLinkState } from "../auth/linkState";
import { fixedGraphAccessToken, SettingsReader, loadEngineSettings, type SettingsSource } from "../config/settings";
import { createStorageClients } from "../storage/storageClients";
import { collectWithoutIncrementalMarking } from "../transfer/collectorSettings";
import { tokenProviderFor } from "../transfer/engineFactory";
import { TransferEngine } from "../transfer/transferEngine";
import { uploadUrlSealFor } from "../transfer/uploadUrlTrust";
import type { HttpDependencies } from "./transfersHttp";
import type { LinkReport } from "./transferStatus";
import { telemetryFromSettings } from "../telemetry/telemetryFromSettings";
import { TransferQueue } from "./transferQueue";
import type { WorkerDependencies } from "./transferWorker";
import type { SweepDependencies } from "./sweepTimer";

const QUEUE_NAME = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export type AppDependencies = WorkerDependencies & HttpDependencies & SweepDependencies;

/** The queue the worker's binding reads (%TRANSFER_QUEUE%), which every producer must write to. */
export function transferQueueName(source: SettingsSource): string {
  const reader = new SettingsReader(source);
  const name = reader.string("TRANSFER_QUEUE");
  if (!QUEUE_NAME.test(name)) {
    reader.problem("TRANSFER_QUEUE", `is "${name}", not a valid queue name`, "use 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit");
  }
  reader.finish();
  return name;
}

/**
 * What GET /api/transfers says about the OneDrive link and whose identity uploads; reads the token store only (and in
 * app mode nothing at all: there is no stored grant that could lapse).
 */
export async function linkReportFor(source: SettingsSource): Promise<LinkReport> {
  const reader = new SettingsReader(source);
  const fixedToken = fixedGraphAccessToken(reader);
  reader.finish();
  if (fixedToken) {
    return { linked: true, relinkNeeded: false, reason: "GRAPH_ACCESS_TOKEN is set: a fixed token for the local emulator replaces the sign-in" };
  }
  if (readAuthMode(source) === "app") {
    const display = describeAppIdentity(loadAppAuthSettings(source));
    return {
      linked: true,
      account: display,
      relinkNeeded: false,
      reason: "AUTH_MODE=app: the app's own identity gets every token (client credentials); there is no sign-in to renew",
      identity: { mode: "app", display },
    };
  }
  return describeLinkState(loadAuthSettings(source));
}

/** Builds everything the handlers need from app settings. Settings errors throw here, naming every bad setting. */
export function buildDependencies(source: SettingsSource): AppDependencies {
  const settings = loadEngineSettings(source);
  const storage = createStorageClients(settings.storage);
  const queueName = transferQueueName(source);
  const queue = new TransferQueue(storage.queueService.getQueueClient(queueName), storage.queueService.getQueueClient(`${queueName}-poison`));
  const engine = new TransferEngine(settings, { tokenProvider: tokenProviderFor(source), storage, uploadUrlSeal: uploadUrlSealFor(source) });
  collectWithoutIncrementalMarking();
  return {
    engineFor: (log) => engine.forInvocation(log),
    queue,
    linkState: () => linkReportFor(source),
    telemetry: telemetryFromSettings(source),
  };
}

let cached: AppDependencies | undefined;

/**
 * Built on the first invocation, not at load: a settings mistake then fails invocations with a message naming the
 * setting, instead of stopping the worker from starting (which the host reports far less clearly). Once per process,
 * so the token cache and HTTP connections are shared by every invocation.
 */
export function productionDependencies(): AppDependencies {
  cached ??= buildDependencies(process.env);
  return cached;
}
