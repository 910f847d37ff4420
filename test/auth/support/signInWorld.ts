import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmulatedUser, IdentityEmulator, MSA_TENANT_ID, startIdentityEmulator } from "../../emulators/identity/identityEmulator";

export const CLIENT_ID = "6f1c2b9e-0d4a-4c55-9a3e-2b7d8c1e0f11";
export const CLIENT_SECRET = "test-client-secret~Q8w.9rT-value";
export const OWNER: EmulatedUser = { username: "owner@outlook.example", name: "Olivia Owner", oid: "00000000-0000-0000-8b2c-4f1e5a6d7c01", tid: MSA_TENANT_ID };
export const STRANGER: EmulatedUser = { username: "stranger@outlook.example", name: "Sam Stranger", oid: "00000000-0000-0000-1d3f-9e8a7b6c5d02", tid: MSA_TENANT_ID };

export interface SignInWorld {
  identity: IdentityEmulator;
  directory: string;
  tokenCacheFile: string;
  /** App settings for the product code under test; overrides win. */
  settings(overrides?: Record<string, string | undefined>): Record<string, string | undefined>;
}

/** An identity emulator with one registered app, and a private directory for the local token cache. */
export async function startSignInWorld(options: { redirectUris: string[]; accessTokenLifetimeSeconds?: number }): Promise<SignInWorld> {
  const identity = await startIdentityEmulator({
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: options.redirectUris }],
    user: OWNER,
    accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds,
  });
  const directory = mkdtempSync(join(tmpdir(), "onedrive-signin-"));
  const tokenCacheFile = join(directory, "cache", "token-cache.json");
  return {
    identity,
    directory,
    tokenCacheFile,
    settings: (overrides = {}) => ({
      CLIENT_ID,
      CLIENT_SECRET,
      TENANT: "consumers",
      AUTHORITY_HOST: identity.origin,
      REDIRECT_URI: options.redirectUris[0],
      EXPECTED_ACCOUNT: OWNER.username,
      TOKEN_CACHE_FILE: tokenCacheFile,
      ...overrides,
    }),
  };
}
