import type { ICachePlugin, TokenCacheContext } from "@azure/msal-node";
import { summariseCache, TokenCacheStore } from "./tokenCacheStore";

const FIVE_MINUTES_MS = 5 * 60 * 1000;
const ONE_DAY_MS = 24 * 60 * 60 * 1000;

export interface CachePluginOptions {
  now?: () => number;
  /** How long the in-process copy is trusted before the store is read again (picks up a relink made elsewhere). */
  memoryTrustMs?: number;
  /** A rotated refresh token is written only once the stored one is at least this old. */
  refreshTokenRewriteAgeMs?: number;
}

/**
 * Decides whether a changed cache is worth a store write. Each Key Vault write is a new secret version (and counts
 * against the 300-per-10-s create limit), while an access-token refresh happens hourly. Old refresh tokens stay
 * valid after rotation, so saving a rotated one at most daily keeps the chain alive (90-day lifetime) at a fraction
 * of the writes. A new, changed or removed account, or a refresh token where there was none, is always written.
 */
export function isSubstantiveChange(stored: string | undefined, next: string, storedAgeMs: number, rewriteAgeMs: number = ONE_DAY_MS): boolean {
  if (stored === undefined) return true;
  const before = summariseCache(stored);
  const after = summariseCache(next);
  const accountsBefore = before.accounts.map((account) => account.homeAccountId).sort().join("\n");
  const accountsAfter = after.accounts.map((account) => account.homeAccountId).sort().join("\n");
  if (accountsBefore !== accountsAfter) return true;
  if (before.refreshTokenCount !== after.refreshTokenCount) return true;
  return refreshTokenSecrets(stored) !== refreshTokenSecrets(next) && storedAgeMs >= rewriteAgeMs;
}

function refreshTokenSecrets(serialized: string): string {
  const parsed = JSON.parse(serialized) as { RefreshToken?: Record<string, { secret?: string }> };
  return Object.entries(parsed.RefreshToken ?? {})
    .map(([key, entry]) => `${key}=${entry.secret ?? ""}`)
    .sort()
    .join("\n");
}

/**
 * MSAL cache plugin over a TokenCacheStore. Keeps the newest cache in memory so a silent token call does not read
 * the vault each time, and writes through only on a substantive change (see isSubstantiveChange).
 */
export class PersistingCachePlugin implements ICachePlugin {
  private readonly now: () => number;
  private readonly memoryTrustMs: number;
  private readonly rewriteAgeMs: number;
  /** Newest cache this process knows, including access tokens that were deliberately not persisted. */
  private current: string | undefined;
  /** What the store holds as far as this process knows, and when it was written. */
  private persisted: { serialized: string; writtenAt: number } | undefined;
  private loadedAt: number | undefined;

  constructor(
    private readonly store: TokenCacheStore,
    options: CachePluginOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.memoryTrustMs = options.memoryTrustMs ?? FIVE_MINUTES_MS;
    this.rewriteAgeMs = options.refreshTokenRewriteAgeMs ?? ONE_DAY_MS;
  }

  async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
    if (this.loadedAt === undefined || this.now() - this.loadedAt >= this.memoryTrustMs) await this.reloadFromStore();
    if (this.current !== undefined) context.tokenCache.deserialize(this.current);
  }

  async afterCacheAccess(context: TokenCacheContext): Promise<void> {
    if (!context.cacheHasChanged) return;
    const next = context.tokenCache.serialize();
    const storedAgeMs = this.persisted ? this.now() - this.persisted.writtenAt : Number.POSITIVE_INFINITY;
    if (isSubstantiveChange(this.persisted?.serialized, next, storedAgeMs, this.rewriteAgeMs)) {
      await this.store.write(next);
      this.persisted = { serialized: next, writtenAt: this.now() };
    }
    this.current = next;
  }

  private async reloadFromStore(): Promise<void> {
    const stored = await this.store.read();
    this.loadedAt = this.now();
    if (stored === undefined) {
      this.current = undefined;
      this.persisted = undefined;
      return;
    }
    // Unchanged store: keep the in-memory copy, whose access token and refresh token are newer than the stored ones.
    if (this.persisted?.serialized !== stored.serialized) this.current = stored.serialized;
    this.persisted = { serialized: stored.serialized, writtenAt: stored.writtenAt.getTime() };
  }
}
