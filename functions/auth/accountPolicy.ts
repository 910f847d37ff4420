import type { AccountInfo } from "@azure/msal-node";
import { summariseCache } from "./tokenCacheStore";

export type AccountRefusal = "otherTenant" | "notExpectedAccount" | "differentAccountLinked";
export type AccountDecision = { allowed: true } | { allowed: false; reason: AccountRefusal; linkedUsername?: string };

export interface AccountLock {
  /** The one tenant id a link may come from; undefined when the TENANT setting admits several. */
  tenantId?: string;
  /** Lower-cased sign-in name the first link must carry; only ever set together with tenantId. */
  expectedAccount?: string;
}

/**
 * Only the owner's account may be linked; otherwise anyone able to finish a sign-in could point the uploads at their
 * own OneDrive. The check runs on the redeemed result BEFORE anything is stored, and rests on the ID token's `tid`
 * and `oid`: immutable, and issued by the tenant itself. `preferred_username` is mutable and, across tenants, not
 * unique (Microsoft documents it as unfit for authorization), so it is trusted only for the first link and only
 * inside the one configured tenant, where the tenant's own administrators own the names.
 * - A configured tenant id: every link must come from that tenant.
 * - An account already linked: only the same `tid` + `oid` may relink, whatever its sign-in name is now. Replacing it
 *   needs an admin reset: delete the token secret (or file), then link again.
 * - Nothing linked yet and EXPECTED_ACCOUNT set: the sign-in name must equal it (case-insensitive).
 */
export function decideAccount(account: AccountInfo, lock: AccountLock, storedCache: string | undefined): AccountDecision {
  const tenantId = String(account.idTokenClaims?.tid ?? "").toLowerCase();
  const objectId = String(account.idTokenClaims?.oid ?? "").toLowerCase();
  // Without both claims the account cannot be pinned, so it cannot be told apart from anyone else.
  if (tenantId === "" || objectId === "") return { allowed: false, reason: "notExpectedAccount" };
  if (lock.tenantId !== undefined && tenantId !== lock.tenantId) return { allowed: false, reason: "otherTenant" };
  const linked = summariseCache(storedCache).accounts;
  const other = linked.find((entry) => entry.tenantId !== tenantId || entry.objectId !== objectId);
  if (other) return { allowed: false, reason: "differentAccountLinked", linkedUsername: other.username };
  if (linked.length > 0) return { allowed: true };
  if (lock.expectedAccount !== undefined && account.username.toLowerCase() !== lock.expectedAccount) {
    return { allowed: false, reason: "notExpectedAccount" };
  }
  return { allowed: true };
}
