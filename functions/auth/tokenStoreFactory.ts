import type { SecretClientOptions } from "@azure/keyvault-secrets";
import type { TokenCredential } from "@azure/identity";
import { AuthSettings } from "./authSettings";
import { FileTokenCacheStore } from "./fileTokenCacheStore";
import { KeyVaultTokenCacheStore } from "./keyVaultTokenCacheStore";
import { TokenCacheStore } from "./tokenCacheStore";

export interface TokenStoreOptions {
  keyVaultCredential?: TokenCredential;
  keyVaultClientOptions?: SecretClientOptions;
}

export function createTokenCacheStore(settings: AuthSettings, options: TokenStoreOptions = {}): TokenCacheStore {
  const store = settings.tokenStore;
  if (store.kind === "file") return new FileTokenCacheStore(store.filePath);
  return new KeyVaultTokenCacheStore({
    vaultUrl: store.vaultUrl,
    secretName: store.secretName,
    credential: options.keyVaultCredential,
    clientOptions: options.keyVaultClientOptions,
  });
}
