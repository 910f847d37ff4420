/** Where the serialized MSAL cache lives between processes: one Key Vault secret, or one local file. */
export interface StoredTokenCache {
  /** The MSAL cache JSON exactly as `TokenCache.serialize()` produced it. */
  serialized: string;
  /** When this copy was written; decides whether a rotated refresh token is old enough to be worth a write. */
  writtenAt: Date;
  /** Set when token acquisition found the grant unusable; cleared by the next write. */
  relinkReason?: string;
}

export interface TokenCacheStore {
  /** Human description for messages, e.g. `Key Vault secret "x" in https://v.vault.azure.net`. Never a secret. */
  readonly description: string;
  /** undefined when nothing was ever stored ("not linked yet"). */
  read(): Promise<StoredTokenCache | undefined>;
  write(serialized: string): Promise<void>;
  /** Marks the stored cache as needing a relink, so the status endpoint can say so without calling the identity platform. */
  recordRelinkNeeded(reason: string): Promise<void>;
}

/** A store could not be read or written. Carries the service's status, code and request id when there are some. */
export class TokenStoreError extends Error {
  constructor(
    message: string,
    readonly details: { status?: number; code?: string; requestId?: string } = {},
  ) {
    super(message);
    this.name = "TokenStoreError";
  }
}

export interface CacheSummary {
  /** tenantId and objectId are the account's `realm` and `local_account_id`, MSAL's copies of `tid` and `oid`. */
  accounts: Array<{ homeAccountId: string; username: string; name?: string; tenantId: string; objectId: string }>;
  refreshTokenCount: number;
}

/** Reads account names out of a serialized cache without MSAL (no token call, no plugin). */
export function summariseCache(serialized: string | undefined): CacheSummary {
  if (!serialized) return { accounts: [], refreshTokenCount: 0 };
  let parsed: {
    Account?: Record<string, { home_account_id?: string; username?: string; name?: string; realm?: string; local_account_id?: string }>;
    RefreshToken?: Record<string, unknown>;
  };
  try {
    parsed = JSON.parse(serialized) as typeof parsed;
  } catch {
    return { accounts: [], refreshTokenCount: 0 };
  }
  const accounts = Object.values(parsed.Account ?? {}).map((account) => ({
    homeAccountId: String(account.home_account_id ?? ""),
    username: String(account.username ?? ""),
    name: account.name,
    tenantId: String(account.realm ?? "").toLowerCase(),
    objectId: String(account.local_account_id ?? "").toLowerCase(),
  }));
  return { accounts, refreshTokenCount: Object.keys(parsed.RefreshToken ?? {}).length };
}
