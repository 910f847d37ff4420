import { readDestinationDrive, type DestinationDriveSetting } from "./destinationDriveSetting";
import { AFTER_TRANSFER_MODES, CONFLICT_BEHAVIORS, settingDefinition } from "./settingsSchema";

export type ConflictBehavior = (typeof CONFLICT_BEHAVIORS)[number];
export type AfterTransferMode = (typeof AFTER_TRANSFER_MODES)[number];
export type SettingsSource = Readonly<Record<string, string | undefined>>;

/** 320 KiB: every upload-session fragment but the last must be a multiple of it. */
export const FRAGMENT_GRANULARITY = 327_680;

export type StorageConnection =
  | { kind: "connectionString"; connectionString: string }
  | { kind: "identity"; blobServiceUri: string; queueServiceUri?: string; tableServiceUri?: string; clientId?: string };

export interface EngineSettings {
  storage: StorageConnection;
  sourceContainer: string;
  sourcePrefix: string;
  /** DEST_DRIVE, parsed; a library URL is resolved to a drive id when the engine first needs it. */
  destDrive: DestinationDriveSetting;
  /** Normalised: no leading or trailing slash; empty means the drive root. */
  destFolder: string;
  fragmentSizeBytes: number;
  conflictBehavior: ConflictBehavior;
  afterTransfer: AfterTransferMode;
  archiveContainer: string;
  transferConcurrency: number;
  /** Graph base URL including /v1.0, no trailing slash. */
  graphBaseUrl: string;
  ledgerTable: string;
}

export class SettingsError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}`);
    this.name = "SettingsError";
    this.problems = problems;
  }
}

/**
 * Collects every problem instead of stopping at the first, so a user fixes their settings in one pass.
 * Reader methods return a usable fallback after recording a problem; `finish` throws if any were recorded.
 */
export class SettingsReader {
  private readonly problems: string[] = [];
  constructor(private readonly source: SettingsSource) {}

  raw(name: string): string | undefined {
    const value = this.source[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  }

  string(name: string): string {
    return this.raw(name) ?? settingDefinition(name).defaultValue ?? "";
  }

  required(name: string, hint: string): string {
    const value = this.raw(name);
    if (value === undefined) this.problem(name, "is required but not set", hint);
    return value ?? "";
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const value = this.string(name).toLowerCase();
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problem(name, `is "${this.raw(name)}"`, `use one of: ${allowed.join(", ")}`);
    return allowed[0];
  }

  integer(name: string, min: number, max: number): number {
    const text = this.string(name);
    const value = Number(text);
    if (/^\d+$/.test(text) && value >= min && value <= max) return value;
    this.problem(name, `is "${text}", not a whole number from ${min} to ${max}`, `set a whole number from ${min} to ${max}`);
    return min;
  }

  /** https only; `allowLoopbackHttp` also admits http:// on this machine (local emulators: nothing leaves the host). */
  url(name: string, options: { allowLoopbackHttp?: boolean } = {}): string {
    const text = this.string(name);
    try {
      const parsed = new URL(text);
      const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(parsed.hostname);
      if (parsed.protocol === "https:" || (options.allowLoopbackHttp && loopback && parsed.protocol === "http:")) return text.replace(/\/+$/, "");
      this.problem(name, `is "${text}", which is not an https URL`, "use an https:// URL (http:// only for localhost)");
    } catch {
      this.problem(name, `is "${text}", which is not a URL`, "use an absolute https:// URL");
    }
    return "https://invalid.invalid";
  }

  problem(name: string, what: string, fix: string): void {
    this.problems.push(`${name} ${what}: ${fix}.`);
  }

  finish(): void {
    if (this.problems.length > 0) throw new SettingsError(this.problems);
  }
}

/** Azure App Service / Functions set these on every instance; a developer machine does not. */
export function isRunningInAzure(reader: SettingsReader): boolean {
  return reader.raw("WEBSITE_INSTANCE_ID") !== undefined || reader.raw("WEBSITE_SITE_NAME") !== undefined;
}

const CONTAINER_NAME = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;

function containerName(reader: SettingsReader, name: string): string {
  const value = reader.string(name);
  if (!CONTAINER_NAME.test(value)) {
    reader.problem(name, `is "${value}", not a valid container name`, "use 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit");
  }
  return value;
}

function storageConnection(reader: SettingsReader): StorageConnection {
  const connectionString = reader.raw("SOURCE_STORAGE");
  const blobServiceUri = reader.raw("SOURCE_STORAGE__blobServiceUri") ?? reader.raw("SOURCE_STORAGE__serviceUri");
  if (connectionString !== undefined || blobServiceUri === undefined) {
    const value = connectionString ?? "UseDevelopmentStorage=true";
    if (value !== "UseDevelopmentStorage=true" && !/(^|;)\s*(AccountName|BlobEndpoint)=/i.test(value)) {
      reader.problem("SOURCE_STORAGE", "is not a storage connection string", "paste the account's connection string, or set SOURCE_STORAGE__blobServiceUri for a managed identity");
    }
    return { kind: "connectionString", connectionString: value };
  }
  return {
    kind: "identity",
    blobServiceUri,
    queueServiceUri: reader.raw("SOURCE_STORAGE__queueServiceUri"),
    tableServiceUri: reader.raw("SOURCE_STORAGE__tableServiceUri"),
    clientId: reader.raw("SOURCE_STORAGE__clientId"),
  };
}

/** FRAGMENT_SIZE_MB MiB rounded down to a multiple of 320 KiB: 10 → 10,485,760; 60 → 62,586,880 (under 60 MiB). */
export function fragmentSizeBytes(fragmentSizeMiB: number): number {
  const requested = fragmentSizeMiB === 60 ? 60 * 1024 * 1024 - 1 : fragmentSizeMiB * 1024 * 1024;
  return Math.floor(requested / FRAGMENT_GRANULARITY) * FRAGMENT_GRANULARITY;
}

/** The setting's former name: a value left under it is refused rather than silently ignored. */
const FORMER_FRAGMENT_SIZE_SETTING = "CHUNK_SIZE_MB";

function refuseFormerFragmentSizeName(reader: SettingsReader): void {
  if (reader.raw(FORMER_FRAGMENT_SIZE_SETTING) === undefined || reader.raw("FRAGMENT_SIZE_MB") !== undefined) return;
  reader.problem(FORMER_FRAGMENT_SIZE_SETTING, "is set, but the setting is now called FRAGMENT_SIZE_MB", "rename it to FRAGMENT_SIZE_MB (same value, same meaning)");
}

function normaliseFolder(path: string): string {
  return path.split("/").filter((segment) => segment.length > 0).join("/");
}

/**
 * GRAPH_ACCESS_TOKEN replaces the sign-in (and with it EXPECTED_ACCOUNT) with a bearer token in plain text: meant for
 * the local emulator and tests, never for an app whose settings anyone with portal access can read.
 */
export function fixedGraphAccessToken(reader: SettingsReader): string | undefined {
  const token = reader.raw("GRAPH_ACCESS_TOKEN");
  if (token !== undefined && isRunningInAzure(reader)) {
    reader.problem("GRAPH_ACCESS_TOKEN", "is set in Azure, where it would bypass the sign-in and EXPECTED_ACCOUNT", "remove the app setting and link OneDrive through /api/auth/login instead");
    return undefined;
  }
  return token;
}

export function readEngineSettings(reader: SettingsReader): EngineSettings {
  fixedGraphAccessToken(reader);
  refuseFormerFragmentSizeName(reader);
  const graphEndpoint = reader.url("GRAPH_ENDPOINT", { allowLoopbackHttp: true });
  const ledgerTable = reader.string("LEDGER_TABLE");
  if (!TABLE_NAME.test(ledgerTable)) {
    reader.problem("LEDGER_TABLE", `is "${ledgerTable}", not a valid table name`, "use 3-63 letters and digits, starting with a letter");
  }
  const settings: EngineSettings = {
    storage: storageConnection(reader),
    sourceContainer: containerName(reader, "SOURCE_CONTAINER"),
    sourcePrefix: reader.string("SOURCE_PREFIX").replace(/^\/+/, ""),
    destDrive: readDestinationDrive(reader),
    destFolder: normaliseFolder(reader.string("DEST_FOLDER")),
    fragmentSizeBytes: fragmentSizeBytes(reader.integer("FRAGMENT_SIZE_MB", 1, 60)),
    conflictBehavior: reader.oneOf("CONFLICT_BEHAVIOR", CONFLICT_BEHAVIORS),
    afterTransfer: reader.oneOf("AFTER_TRANSFER", AFTER_TRANSFER_MODES),
    archiveContainer: containerName(reader, "ARCHIVE_CONTAINER"),
    transferConcurrency: reader.integer("TRANSFER_CONCURRENCY", 1, 64),
    graphBaseUrl: `${graphEndpoint}/v1.0`,
    ledgerTable,
  };
  if (settings.afterTransfer === "archive" && settings.archiveContainer === settings.sourceContainer) {
    reader.problem("ARCHIVE_CONTAINER", `equals SOURCE_CONTAINER ("${settings.sourceContainer}")`, "choose a different container for archived blobs");
  }
  return settings;
}

/** Validates the engine's settings once; throws a SettingsError naming every invalid one. */
export function loadEngineSettings(source: SettingsSource = process.env): EngineSettings {
  const reader = new SettingsReader(source);
  const settings = readEngineSettings(reader);
  reader.finish();
  return settings;
}
