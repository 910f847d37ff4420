import { createDefaultHttpClient, isRestError } from "@azure/core-rest-pipeline";
import { boundedHttpClient } from "../http/attemptTimeout";
import { DefaultAzureCredential, TokenCredential } from "@azure/identity";
import { SecretClient, SecretClientOptions } from "@azure/keyvault-secrets";
import { StoredTokenCache, TokenCacheStore, TokenStoreError } from "./tokenCacheStore";

/** Key Vault's documented ceiling for one secret value. */
export const KEY_VAULT_SECRET_MAX_BYTES = 25 * 1024;
const RELINK_TAG = "relink-needed";
/** A secret read or write is one small request; the default pipeline sets no per-attempt ceiling. */
const VAULT_ATTEMPT_TIMEOUT_MS = 30_000;
const TAG_VALUE_MAX = 256;

export interface KeyVaultStoreOptions {
  vaultUrl: string;
  secretName: string;
  /** Defaults to DefaultAzureCredential: the app's managed identity in Azure (AZURE_CLIENT_ID picks a user-assigned one). */
  credential?: TokenCredential;
  clientOptions?: SecretClientOptions;
}

/**
 * The production store: the whole MSAL cache as one secret. Every set creates a new secret version, which is why
 * the cache plugin writes only on a substantive change. Set Secret has no ETag, so concurrent writers race and the
 * last write wins; that is harmless because the identity platform keeps older refresh tokens valid after rotation.
 */
export class KeyVaultTokenCacheStore implements TokenCacheStore {
  readonly description: string;
  private readonly client: SecretClient;
  private readonly secretName: string;

  constructor(options: KeyVaultStoreOptions) {
    this.secretName = options.secretName;
    this.description = `Key Vault secret "${options.secretName}" in ${options.vaultUrl}`;
    this.client = new SecretClient(options.vaultUrl, options.credential ?? new DefaultAzureCredential(), {
      ...options.clientOptions,
      httpClient: boundedHttpClient(options.clientOptions?.httpClient ?? createDefaultHttpClient(), VAULT_ATTEMPT_TIMEOUT_MS),
    });
  }

  async read(): Promise<StoredTokenCache | undefined> {
    try {
      const secret = await this.client.getSecret(this.secretName);
      if (secret.value === undefined) return undefined;
      return {
        serialized: secret.value,
        writtenAt: secret.properties.updatedOn ?? secret.properties.createdOn ?? new Date(0),
        relinkReason: secret.properties.tags?.[RELINK_TAG],
      };
    } catch (error) {
      if (isRestError(error) && error.statusCode === 404 && error.code === "SecretNotFound") return undefined;
      throw this.failure("read", error);
    }
  }

  async write(serialized: string): Promise<void> {
    await this.setSecret(serialized, {});
  }

  async recordRelinkNeeded(reason: string): Promise<void> {
    const current = await this.read();
    if (!current || current.relinkReason !== undefined) return;
    await this.setSecret(current.serialized, { [RELINK_TAG]: reason.slice(0, TAG_VALUE_MAX) });
  }

  private async setSecret(value: string, tags: Record<string, string>): Promise<void> {
    const size = Buffer.byteLength(value, "utf8");
    if (size > KEY_VAULT_SECRET_MAX_BYTES) {
      throw new TokenStoreError(
        `The token cache is ${size} bytes, over Key Vault's ${KEY_VAULT_SECRET_MAX_BYTES}-byte secret limit, so it was not stored in the ${this.description}: relink with a single account.`,
        { code: "CacheTooLarge" },
      );
    }
    try {
      await this.client.setSecret(this.secretName, value, { contentType: "application/json", tags });
    } catch (error) {
      throw this.failure("write", error);
    }
  }

  private failure(action: "read" | "write", error: unknown): TokenStoreError {
    if (!isRestError(error)) {
      return new TokenStoreError(`Could not ${action} the ${this.description}: ${(error as Error).message}. Check KEY_VAULT_URL and the network path to the vault.`);
    }
    const requestId = error.response?.headers.get("x-ms-request-id") ?? undefined;
    const innerCode = innerErrorCode(error.details);
    const status = error.statusCode;
    const code = innerCode ?? error.code;
    const where = `(HTTP ${status ?? "?"}, ${code ?? "no error code"}${requestId ? `, request id ${requestId}` : ""})`;
    const fix =
      status === 403
        ? "give the app's managed identity the Key Vault Secrets Officer role on this vault (Secrets User can only read)"
        : status === 401
          ? "check that the app's managed identity exists and AZURE_CLIENT_ID names it"
          : status === 429
            ? "the vault is throttling; this retries on the next run"
            : "check KEY_VAULT_URL and TOKEN_SECRET_NAME";
    return new TokenStoreError(`Could not ${action} the ${this.description} ${where}: ${fix}.`, { status, code, requestId });
  }
}

/** The SDK deserializes Key Vault's error body into `details`: {error: {code, message, innerError: {code}}}. */
function innerErrorCode(details: unknown): string | undefined {
  const error = (details as { error?: { innerError?: { code?: unknown }; innererror?: { code?: unknown } } } | undefined)?.error;
  const code = error?.innerError?.code ?? error?.innererror?.code;
  return typeof code === "string" ? code : undefined;
}
