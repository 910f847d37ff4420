import { fixedGraphAccessToken, loadEngineSettings, SettingsReader, type SettingsSource } from "../config/settings";
import { StaticAccessTokenProvider, type AccessTokenProvider } from "../onedrive/accessToken";
import type * as DelegatedTokens from "../auth/accessTokenProvider";
import { collectWithoutIncrementalMarking } from "./collectorSettings";
import { TransferEngine, type EngineDependencies } from "./transferEngine";
import { uploadUrlSealFor } from "./uploadUrlTrust";

/**
 * Production wiring shared by the CLI and the function handlers: validated settings, tokens from the sign-in cache
 * (or GRAPH_ACCESS_TOKEN, for the local emulator and tests only).
 */
export function tokenProviderFor(source: SettingsSource): AccessTokenProvider {
  const reader = new SettingsReader(source);
  const fixedToken = fixedGraphAccessToken(reader);
  reader.finish();
  if (fixedToken) return new StaticAccessTokenProvider(fixedToken);
  // MSAL (and the token store's SDKs) load only for a signed-in run: about 40 ms of start-up the emulator's fixed
  // token does not need.
  const { createAccessTokenProvider } = require("../auth/accessTokenProvider") as typeof DelegatedTokens;
  return createAccessTokenProvider(source);
}

export function createEngine(source: SettingsSource, overrides: Partial<EngineDependencies> = {}): TransferEngine {
  const settings = loadEngineSettings(source);
  collectWithoutIncrementalMarking();
  return new TransferEngine(settings, { tokenProvider: overrides.tokenProvider ?? tokenProviderFor(source), uploadUrlSeal: uploadUrlSealFor(source), ...overrides });
}
