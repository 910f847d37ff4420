import { AuthError, ConfidentialClientApplication, InteractionRequiredAuthError } from "@azure/msal-node";
import type { SettingsSource } from "../config/settings";
import type { AccessTokenProvider } from "../onedrive/accessToken";
import { AppAccessTokenProvider } from "./appAccessTokenProvider";
import { loadAppAuthSettings, readAuthMode } from "./appAuthSettings";
import { AuthSettings, loadAuthSettings } from "./authSettings";
import { graphFilesScope } from "./graphScope";
import { createConfidentialClient } from "./msalClient";
import { CachePluginOptions, PersistingCachePlugin } from "./persistingCachePlugin";
import { RelinkRequiredError } from "./relinkRequiredError";
import { describeAuthError } from "./signInFlow";
import { TokenCacheStore } from "./tokenCacheStore";
import { createTokenCacheStore, TokenStoreOptions } from "./tokenStoreFactory";

export type { AccessTokenProvider };

/** MSAL error codes that mean the stored grant can never yield a token again without a person signing in. */
const GRANT_GONE_CODES = new Set(["invalid_grant", "interaction_required", "consent_required", "login_required", "no_tokens_found", "bad_token", "refresh_token_expired"]);

export interface MsalAccessTokenProviderOptions {
  cachePlugin?: CachePluginOptions;
  log?: (message: string) => void;
}

/**
 * Delegated Graph tokens for the engine, silently from the linked account's cache. Never prompts: when the grant is
 * gone it records that in the store (for the status endpoint) and throws RelinkRequiredError.
 */
export class MsalAccessTokenProvider implements AccessTokenProvider {
  private readonly client: ConfidentialClientApplication;
  private readonly scope: string;

  constructor(
    settings: AuthSettings,
    private readonly store: TokenCacheStore,
    options: MsalAccessTokenProviderOptions = {},
  ) {
    this.scope = graphFilesScope(settings.graphEndpoint);
    this.client = createConfidentialClient(settings, { cachePlugin: new PersistingCachePlugin(store, options.cachePlugin), log: options.log });
  }

  async getAccessToken(): Promise<string> {
    const accounts = await this.client.getTokenCache().getAllAccounts();
    const account = accounts[0];
    if (!account) throw await this.relinkRequired(`no OneDrive account is linked in the ${this.store.description}`);
    try {
      const result = await this.client.acquireTokenSilent({ account, scopes: [this.scope] });
      if (!result?.accessToken) throw await this.relinkRequired("the identity platform returned no access token for the linked account");
      return result.accessToken;
    } catch (error) {
      if (error instanceof RelinkRequiredError) throw error;
      if (error instanceof InteractionRequiredAuthError || (error instanceof AuthError && GRANT_GONE_CODES.has(error.errorCode))) {
        throw await this.relinkRequired(`the sign-in of ${account.username} is no longer valid (${describeAuthError(error)})`);
      }
      throw new Error(`Could not get a OneDrive access token for ${account.username}: ${describeAuthError(error)}. This is usually transient (throttling or a network failure); the next run retries.`);
    }
  }

  private async relinkRequired(reason: string): Promise<RelinkRequiredError> {
    try {
      await this.store.recordRelinkNeeded(reason);
    } catch (error) {
      return new RelinkRequiredError(`${reason}; recording this for the status page also failed: ${(error as Error).message}`);
    }
    return new RelinkRequiredError(reason);
  }
}

/**
 * Production wiring for the queue worker, the timer and the CLI transfer command: the linked account's tokens, or
 * with AUTH_MODE=app the app's own.
 */
export function createAccessTokenProvider(env: SettingsSource = process.env, storeOptions: TokenStoreOptions = {}): AccessTokenProvider {
  if (readAuthMode(env) === "app") return new AppAccessTokenProvider(loadAppAuthSettings(env), storeOptions);
  const settings = loadAuthSettings(env);
  return new MsalAccessTokenProvider(settings, createTokenCacheStore(settings, storeOptions));
}
