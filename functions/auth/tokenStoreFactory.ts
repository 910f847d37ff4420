import type { SecretClientOptions } from "@azure/keyvault-secrets";
import type { TokenCredential } from "@azure/identity";
import { AuthSettings } from "./authSettings";
import { FileTokenCacheStore } from "./fileTokenCacheStore";
import type { KeyVaultTokenCacheStore as KeyVaultStore } from "./keyVaultTokenCacheStore";
import { TokenCacheStore } from "./tokenCacheStore";

export interface TokenStoreOptions {
  keyVaultCredential?: TokenCredential;
  keyVaultClientOptions?: SecretClientOptions;
}

export function createTokenCacheStore(settings: AuthSettings, options: TokenStoreOptions = {}): TokenCacheStore {
  const store = settings.tokenStore;
  if (store.kind === "file") return new FileTokenCacheStore(store.filePath);
  // Loaded only when a vault is configured: the Key Vault and identity SDKs weigh ~6 MB in a CLI run that never
  // touches them.
  const { KeyVaultTokenCacheStore } = require("./keyVaultTokenCacheStore") as { KeyVaultTokenCacheStore: typeof KeyVaultStore };
  return new KeyVaultTokenCacheStore({
    vaultUrl: store.vaultUrl,
    secretName: store.secretName,
    credential: options.keyVaultCredential,
    clientOptions: options.keyVaultClientOptions,
  });
}
