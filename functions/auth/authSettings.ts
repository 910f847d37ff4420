import { isRunningInAzure, SettingsReader, SettingsSource } from "../config/settings";

/** Tenant segments the identity platform accepts besides a tenant id (GUID) or a verified domain name. */
const TENANT_ALIASES = ["common", "consumers", "organizations"] as const;
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TENANT_DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
/** The fixed tenant id every personal Microsoft account carries in `tid`. */
export const PERSONAL_ACCOUNTS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad";

export type TokenStoreSettings =
  | { kind: "keyVault"; vaultUrl: string; secretName: string }
  | { kind: "file"; filePath: string };

export interface AuthSettings {
  clientId: string;
  clientSecret: string;
  tenant: string;
  /** Scheme and host (and port) only, no trailing slash. */
  authorityHost: string;
  /** `${authorityHost}/${tenant}`. */
  authority: string;
  /**
   * The one tenant (`tid`) a first link must come from: the TENANT GUID, or the personal-accounts tenant for
   * `consumers`. Undefined when TENANT admits several tenants (common, organizations) or is a domain name.
   */
  tenantId?: string;
  /** Lower-cased; checked on the first link only, and only with a tenantId. Undefined means "first link wins". */
  expectedAccount?: string;
  tokenStore: TokenStoreSettings;
  /** Graph host the delegated scope is requested for, no trailing slash. */
  graphEndpoint: string;
}

/** Sign-in (the login and callback functions) also needs the public URL the identity platform redirects to. */
export interface SignInSettings extends AuthSettings {
  redirectUri: string;
}

/** What App Service leaves in a setting whose Key Vault reference it could not resolve. */
const UNRESOLVED_KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\(/i;

function redirectUri(reader: SettingsReader): string {
  if (reader.raw("REDIRECT_URI") !== undefined) {
    // http is allowed only for the loopback host, which the identity platform itself permits for redirect URIs.
    return reader.url("REDIRECT_URI", { allowLoopbackHttp: true });
  }
  const hostname = reader.raw("WEBSITE_HOSTNAME");
  if (!hostname) {
    reader.problem(
      "REDIRECT_URI",
      "is not set and WEBSITE_HOSTNAME is not available to derive it",
      "set REDIRECT_URI to the public URL of the callback, e.g. https://<app>.azurewebsites.net/api/auth/callback",
    );
    return "https://invalid.invalid/api/auth/callback";
  }
  return `https://${hostname}/api/auth/callback`;
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function tenant(reader: SettingsReader): string {
  const value = reader.string("TENANT");
  const lower = value.toLowerCase();
  if ((TENANT_ALIASES as readonly string[]).includes(lower)) return lower;
  if (TENANT_ID.test(value) || TENANT_DOMAIN.test(value)) return value;
  reader.problem("TENANT", `is "${value}"`, `use ${TENANT_ALIASES.join(", ")}, a tenant id (GUID) or the tenant's domain name`);
  return "common";
}

function singleTenantId(tenantSegment: string): string | undefined {
  if (tenantSegment === "consumers") return PERSONAL_ACCOUNTS_TENANT_ID;
  return TENANT_ID.test(tenantSegment) ? tenantSegment.toLowerCase() : undefined;
}

function authorityHost(reader: SettingsReader): string {
  const value = reader.url("AUTHORITY_HOST");
  const parsed = safeUrl(value);
  if (parsed && (parsed.pathname !== "/" || parsed.search !== "")) {
    reader.problem("AUTHORITY_HOST", `is "${value}", which has a path`, "give only the scheme and host, e.g. https://login.microsoftonline.com");
  }
  return parsed ? parsed.origin : value;
}

function tokenStore(reader: SettingsReader): TokenStoreSettings {
  const secretName = reader.string("TOKEN_SECRET_NAME");
  if (!SECRET_NAME.test(secretName)) {
    reader.problem("TOKEN_SECRET_NAME", `is "${secretName}", not a valid Key Vault secret name`, "use 1-127 letters, digits and hyphens");
  }
  if (reader.raw("KEY_VAULT_URL") !== undefined) {
    return { kind: "keyVault", vaultUrl: reader.url("KEY_VAULT_URL"), secretName };
  }
  if (isRunningInAzure(reader)) {
    reader.problem(
      "KEY_VAULT_URL",
      "is not set, and a local token cache file is refused in Azure (it would be lost and is readable by anyone with the file share)",
      "set KEY_VAULT_URL to the vault that holds the token cache, e.g. https://<vault>.vault.azure.net",
    );
  }
  return { kind: "file", filePath: reader.string("TOKEN_CACHE_FILE") };
}

export function readAuthSettings(reader: SettingsReader): AuthSettings {
  const clientId = reader.required("CLIENT_ID", "copy the Application (client) ID of the app registration");
  const clientSecret = reader.required("CLIENT_SECRET", "create a client secret under Certificates & secrets of the app registration");
  if (UNRESOLVED_KEY_VAULT_REFERENCE.test(clientSecret)) {
    reader.problem(
      "CLIENT_SECRET",
      "still holds its Key Vault reference (@Microsoft.KeyVault(...)) instead of the secret: the platform could not resolve it, usually because the app's identity was granted its Key Vault role minutes ago and the role is not effective yet",
      "wait a few minutes, then restart the function app (az functionapp restart -g <resource group> -n <app>) so the reference is resolved again; if it persists, check the vault and secret names in the reference and the identity's role on the vault",
    );
  }
  const tenantSegment = tenant(reader);
  const host = authorityHost(reader);
  const tenantId = singleTenantId(tenantSegment);
  const expected = reader.raw("EXPECTED_ACCOUNT");
  if (expected !== undefined && !expected.includes("@")) {
    reader.problem("EXPECTED_ACCOUNT", `is "${expected}", not a user principal name or email`, "use the sign-in name of the OneDrive account, e.g. owner@outlook.com");
  } else if (expected !== undefined && tenantId === undefined) {
    // A sign-in name is unique, and owned by the account, only inside one tenant: with `common` anyone can create a
    // tenant whose user carries the same name (the "nOAuth" pattern).
    reader.problem(
      "EXPECTED_ACCOUNT",
      `is set while TENANT is "${tenantSegment}", which admits accounts of more than one tenant, so the name alone cannot identify the account`,
      "set TENANT to consumers for a personal Microsoft account, or to the tenant id (GUID) of the account's directory",
    );
  }
  return {
    clientId,
    clientSecret,
    tenant: tenantSegment,
    tenantId,
    authorityHost: host,
    authority: `${host}/${tenantSegment}`,
    expectedAccount: expected?.toLowerCase(),
    tokenStore: tokenStore(reader),
    graphEndpoint: reader.url("GRAPH_ENDPOINT"),
  };
}

/** What acquiring a token silently needs (transfers, status); throws a SettingsError naming every invalid setting. */
export function loadAuthSettings(env: SettingsSource = process.env): AuthSettings {
  const reader = new SettingsReader(env);
  const settings = readAuthSettings(reader);
  reader.finish();
  return settings;
}

/** Everything the login and callback functions need, the redirect URI included. */
export function loadSignInSettings(env: SettingsSource = process.env): SignInSettings {
  const reader = new SettingsReader(env);
  const settings: SignInSettings = { ...readAuthSettings(reader), redirectUri: redirectUri(reader) };
  reader.finish();
  return settings;
}
