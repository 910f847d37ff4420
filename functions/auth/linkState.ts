import { AuthSettings } from "./authSettings";
import { summariseCache, TokenCacheStore } from "./tokenCacheStore";
import { createTokenCacheStore } from "./tokenStoreFactory";

export interface LinkState {
  linked: boolean;
  account?: string;
  relinkNeeded: boolean;
  reason?: string;
}

/** What the status endpoint shows about the OneDrive link. Reads only the token store: no identity-platform call. */
export async function describeLinkState(settings: AuthSettings, store: TokenCacheStore = createTokenCacheStore(settings)): Promise<LinkState> {
  const stored = await store.read();
  const summary = summariseCache(stored?.serialized);
  const account = summary.accounts[0]?.username;
  if (!stored || !account) {
    return { linked: false, relinkNeeded: true, reason: "No OneDrive account is linked yet: open /api/auth/login (or run `npm run login`)." };
  }
  if (stored.relinkReason) {
    return { linked: false, account, relinkNeeded: true, reason: `${stored.relinkReason}. Open /api/auth/login (or run \`npm run login\`) to link again.` };
  }
  if (summary.refreshTokenCount === 0) {
    return { linked: false, account, relinkNeeded: true, reason: "The stored sign-in has no refresh token: open /api/auth/login to link again." };
  }
  return { linked: true, account, relinkNeeded: false };
}
