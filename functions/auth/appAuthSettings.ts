import { SettingsReader, type SettingsSource } from "../config/settings";

export const AUTH_MODES = ["delegated", "app"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
export const APP_CREDENTIALS = ["managed-identity", "certificate", "secret"] as const;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
/** The audience Entra expects on a federated assertion from the public cloud (workload identity federation docs). */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

export type CertificateSource = { kind: "keyVault"; vaultUrl: string; secretName: string } | { kind: "file"; filePath: string };

export type AppCredentialSettings =
  /** The function app's managed identity (AZURE_CLIENT_ID = a user-assigned one; absent = system-assigned). */
  | { kind: "managed-identity"; managedIdentityClientId?: string }
  | { kind: "certificate"; source: CertificateSource }
  | { kind: "secret"; clientSecret: string };

export interface AppAuthSettings {
  clientId: string;
  tenantId: string;
  /** Scheme and host, no trailing slash. */
  authorityHost: string;
  /** `${authorityHost}/${tenantId}`. */
  authority: string;
  /** Graph host the `/.default` scope is requested for, no trailing slash. */
  graphEndpoint: string;
  credential: AppCredentialSettings;
}

/** AUTH_MODE alone; every other setting is read by the loader of that mode. */
export function readAuthMode(source: SettingsSource = process.env): AuthMode {
  const reader = new SettingsReader(source);
  const mode = reader.oneOf("AUTH_MODE", AUTH_MODES);
  reader.finish();
  return mode;
}

function credential(reader: SettingsReader): AppCredentialSettings {
  const kind = reader.oneOf("APP_CREDENTIAL", APP_CREDENTIALS);
  if (kind === "secret") {
    return { kind, clientSecret: reader.required("CLIENT_SECRET", "create a client secret under Certificates & secrets of the app registration, or prefer APP_CREDENTIAL=managed-identity") };
  }
  if (kind === "certificate") {
    const name = reader.raw("CLIENT_CERTIFICATE_NAME");
    const file = reader.raw("CLIENT_CERTIFICATE_FILE");
    if (name !== undefined && file !== undefined) {
      reader.problem("CLIENT_CERTIFICATE_FILE", "is set together with CLIENT_CERTIFICATE_NAME", "keep one: the Key Vault certificate name in Azure, the PEM file on a developer machine");
    }
    if (name !== undefined) {
      if (!SECRET_NAME.test(name)) reader.problem("CLIENT_CERTIFICATE_NAME", `is "${name}", not a valid Key Vault certificate name`, "use 1-127 letters, digits and hyphens");
      const vault = reader.raw("KEY_VAULT_URL");
      if (vault === undefined) reader.problem("KEY_VAULT_URL", "is not set but CLIENT_CERTIFICATE_NAME names a Key Vault certificate", "set KEY_VAULT_URL to the vault holding the certificate");
      return { kind, source: { kind: "keyVault", vaultUrl: vault === undefined ? "https://invalid.invalid" : reader.url("KEY_VAULT_URL", { allowLoopbackHttp: true }), secretName: name } };
    }
    if (file === undefined) {
      reader.problem("CLIENT_CERTIFICATE_NAME", "is not set while APP_CREDENTIAL is certificate", "name the Key Vault certificate (CLIENT_CERTIFICATE_NAME), or give a PEM file (CLIENT_CERTIFICATE_FILE) on a developer machine");
      return { kind, source: { kind: "file", filePath: "" } };
    }
    return { kind, source: { kind: "file", filePath: file } };
  }
  const managedIdentityClientId = reader.raw("AZURE_CLIENT_ID");
  if (managedIdentityClientId !== undefined && !GUID.test(managedIdentityClientId)) {
    reader.problem("AZURE_CLIENT_ID", `is "${managedIdentityClientId}", not a client id (GUID)`, "set it to the client id of the function app's user-assigned managed identity");
  }
  return { kind, managedIdentityClientId };
}

export function readAppAuthSettings(reader: SettingsReader): AppAuthSettings {
  const clientId = reader.required("CLIENT_ID", "copy the Application (client) ID of the app registration");
  if (clientId !== "" && !GUID.test(clientId)) reader.problem("CLIENT_ID", `is "${clientId}", not an application (client) id`, "copy the GUID shown as Application (client) ID");
  const tenant = reader.raw("TENANT") ?? "";
  if (!GUID.test(tenant)) {
    // The client-credentials grant needs the tenant the app acts in, and the federated credential's issuer names it.
    reader.problem("TENANT", tenant === "" ? "is not set while AUTH_MODE is app" : `is "${tenant}" while AUTH_MODE is app`, "set the directory (tenant) id, a GUID, of the organisation whose OneDrive or SharePoint receives the files");
  }
  const authorityHost = reader.url("AUTHORITY_HOST");
  const origin = authorityHost.startsWith("https://") ? new URL(authorityHost).origin : authorityHost;
  return {
    clientId,
    tenantId: tenant.toLowerCase(),
    authorityHost: origin,
    authority: `${origin}/${tenant.toLowerCase()}`,
    graphEndpoint: reader.url("GRAPH_ENDPOINT", { allowLoopbackHttp: true }),
    credential: credential(reader),
  };
}

/** The app-only settings, validated; throws a SettingsError naming every invalid one. */
export function loadAppAuthSettings(source: SettingsSource = process.env): AppAuthSettings {
  const reader = new SettingsReader(source);
  const settings = readAppAuthSettings(reader);
  reader.finish();
  return settings;
}

/** The `/.default` scope of the Graph host: app tokens carry every application permission consented for it. */
export function graphAppScope(graphEndpoint: string): string {
  return `${new URL(graphEndpoint).origin}/.default`;
}

/** "app 1111… via managed identity (federated)": who the status page says uploads the files. */
export function describeAppIdentity(settings: AppAuthSettings): string {
  const how = {
    "managed-identity": "managed identity (federated)",
    certificate: settings.credential.kind === "certificate" && settings.credential.source.kind === "keyVault" ? "certificate from Key Vault" : "certificate file",
    secret: "client secret",
  }[settings.credential.kind];
  return `app ${settings.clientId.slice(0, 4)}… via ${how}`;
}
