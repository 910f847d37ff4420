/**
 * Every app setting the code reads, in one table. The loaders in settings.ts parse from it, the README's settings
 * table mirrors it, and the infrastructure test checks that the Bicep app settings name exactly these, so the
 * deployed app and the code cannot drift apart.
 */

export type SettingGroup = "engine" | "auth" | "functions";

export interface SettingDefinition {
  name: string;
  group: SettingGroup;
  description: string;
  /** Shown in errors and the README; undefined means required (or optional when `optional` is set). */
  defaultValue?: string;
  optional?: boolean;
  /** Environment names that configure the same thing through an identity-based connection (`NAME__suffix`). */
  identitySuffixes?: readonly string[];
  /** Deployed from Key Vault or similar: the infrastructure must set it, never with a literal value. */
  secret?: boolean;
}

export const CONFLICT_BEHAVIORS = ["replace", "rename", "fail"] as const;
export const AFTER_TRANSFER_MODES = ["keep", "delete", "archive"] as const;

export const SETTINGS: readonly SettingDefinition[] = [
  {
    name: "SOURCE_STORAGE",
    group: "engine",
    description: "Storage connection string, or SOURCE_STORAGE__blobServiceUri / __queueServiceUri / __tableServiceUri (+ __credential, __clientId) for a managed identity",
    defaultValue: "UseDevelopmentStorage=true",
    identitySuffixes: ["blobServiceUri", "queueServiceUri", "tableServiceUri", "credential", "clientId"],
  },
  { name: "SOURCE_CONTAINER", group: "engine", description: "Blob container read", defaultValue: "outbox" },
  { name: "SOURCE_PREFIX", group: "engine", description: "Only blobs under this prefix; it is cut from the name to give the relative path", defaultValue: "" },
  {
    name: "DEST_DRIVE",
    group: "engine",
    description: "Drive the files go to: me (the signed-in account's OneDrive), drive:<drive id>, user:<UPN or object id>, or a SharePoint document library URL as the browser shows it",
    defaultValue: "me",
  },
  { name: "DEST_FOLDER", group: "engine", description: "OneDrive folder the relative paths land under; / for the drive root itself", defaultValue: "From Azure" },
  { name: "FRAGMENT_SIZE_MB", group: "engine", description: "Fragment size in MiB (what rclone calls chunk size), 1..60, rounded down to a multiple of 320 KiB", defaultValue: "10" },
  { name: "CONFLICT_BEHAVIOR", group: "engine", description: "When the OneDrive file exists: replace, rename or fail", defaultValue: "replace" },
  { name: "AFTER_TRANSFER", group: "engine", description: "What happens to the blob after a verified upload: keep, delete or archive", defaultValue: "keep" },
  { name: "ARCHIVE_CONTAINER", group: "engine", description: "Container that AFTER_TRANSFER=archive moves blobs to", defaultValue: "archive" },
  { name: "TRANSFER_CONCURRENCY", group: "engine", description: "Files transferred at once per process, 1..64", defaultValue: "4" },
  { name: "GRAPH_ENDPOINT", group: "engine", description: "Microsoft Graph host (national clouds, the local emulator); /v1.0 is appended", defaultValue: "https://graph.microsoft.com" },
  {
    name: "GRAPH_ACCESS_TOKEN",
    group: "engine",
    description: "A fixed bearer token for the local OneDrive emulator and tests only (refused in Azure); normally tokens come from the sign-in cache",
    optional: true,
    secret: true,
  },
  { name: "LEDGER_TABLE", group: "engine", description: "Table holding the transfer ledger", defaultValue: "onedrivetransfers" },

  { name: "AUTH_MODE", group: "auth", description: "delegated: a person links their OneDrive by signing in; app: the app's own identity (client credentials), no sign-in and no refresh token", defaultValue: "delegated" },
  { name: "CLIENT_ID", group: "auth", description: "Application (client) id of the app registration (Web platform)" },
  {
    name: "APP_CREDENTIAL",
    group: "auth",
    description: "With AUTH_MODE=app, how the app proves itself: managed-identity (federated credential, no secret; recommended in Azure), certificate, or secret (last resort)",
    defaultValue: "managed-identity",
  },
  {
    name: "CLIENT_SECRET",
    group: "auth",
    description: "Client secret of the app registration (delegated sign-in, or APP_CREDENTIAL=secret); in Azure a Key Vault reference",
    secret: true,
  },
  { name: "CLIENT_CERTIFICATE_NAME", group: "auth", description: "APP_CREDENTIAL=certificate: Key Vault certificate whose PEM (key and certificate) is read as the secret of the same name from KEY_VAULT_URL", optional: true },
  { name: "CLIENT_CERTIFICATE_FILE", group: "auth", description: "APP_CREDENTIAL=certificate on a developer machine: a PEM file holding the private key and the certificate", optional: true },
  { name: "TENANT", group: "auth", description: "Consumers (personal accounts) or a tenant id (GUID) pins every link to that tenant; common or organizations admit any. AUTH_MODE=app needs the tenant id", defaultValue: "common" },
  { name: "AUTHORITY_HOST", group: "auth", description: "Identity platform host; with it set no identity request goes anywhere else", defaultValue: "https://login.microsoftonline.com" },
  { name: "REDIRECT_URI", group: "auth", description: "Public URL of the auth callback function; read only by the sign-in (login and callback), never by transfers", defaultValue: "https://$WEBSITE_HOSTNAME/api/auth/callback" },
  { name: "EXPECTED_ACCOUNT", group: "auth", description: "UPN or email the first link must carry; needs TENANT consumers or a tenant id; every link is then locked to that account's tid and oid", optional: true },
  {
    name: "UPLOAD_URL_SEAL_KEY",
    group: "auth",
    description: "Key that seals the upload URLs recorded in the ledger when there is no CLIENT_SECRET to derive it from (AUTH_MODE=app); in Azure a Key Vault reference. Unset: CLIENT_SECRET, else a key for this process only",
    optional: true,
    secret: true,
  },
  { name: "KEY_VAULT_URL", group: "auth", description: "Key Vault holding the token cache; unset = a local file (refused in Azure)", optional: true },
  { name: "TOKEN_SECRET_NAME", group: "auth", description: "Key Vault secret name of the token cache", defaultValue: "onedrive-token-cache" },
  { name: "TOKEN_CACHE_FILE", group: "auth", description: "Local token cache file (mode 0600, git-ignored) when no vault is set", defaultValue: ".onedrive/token-cache.json" },

  { name: "TRANSFER_SCHEDULE", group: "functions", description: "NCRONTAB schedule of the sweep (six fields, UTC)", defaultValue: "0 */15 * * * *" },
  { name: "TRANSFER_QUEUE", group: "functions", description: "Storage queue feeding the transfer worker (Event Grid, sweep, HTTP)", defaultValue: "onedrive-transfers" },
];

/**
 * glibc's allocator tuning for a process that moves large files (read by glibc when node starts, so they must be in
 * the environment beforehand: app settings in Azure, the shell for the CLI). By default glibc hands memory freed
 * after each fragment back to the system and faults it in again for the next, which makes a large transfer's CPU
 * time several times noisier and higher. Keeping freed memory (trim threshold 1 GiB) and serving fragment-sized
 * blocks from the heap (mmap threshold 32 MiB, 64 MiB top pad) avoids that; peak RSS stays where the fragment pool
 * sets it.
 */
export const MEMORY_ALLOCATOR_SETTINGS: Readonly<Record<string, string>> = {
  MALLOC_TRIM_THRESHOLD_: "1073741824",
  MALLOC_MMAP_THRESHOLD_: "33554432",
  MALLOC_TOP_PAD_: "67108864",
};

/** Settings the Azure Functions host and Azure SDKs read, which the infrastructure sets but the schema does not parse. */
export const PLATFORM_SETTINGS: readonly string[] = [
  "AzureWebJobsStorage__credential",
  "AzureWebJobsStorage__clientId",
  "AzureWebJobsStorage__blobServiceUri",
  "AzureWebJobsStorage__queueServiceUri",
  "AzureWebJobsStorage__tableServiceUri",
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
  "AZURE_CLIENT_ID",
  ...Object.keys(MEMORY_ALLOCATOR_SETTINGS),
];

export function settingDefinition(name: string): SettingDefinition {
  const definition = SETTINGS.find((setting) => setting.name === name);
  if (!definition) throw new Error(`Unknown setting ${name}`);
  return definition;
}
