import type { AccountInfo } from "@azure/msal-node";
import { summariseCache } from "./tokenCacheStore";

export type AccountDecision = { allowed: true } | { allowed: false; reason: "notExpectedAccount" | "differentAccountLinked"; linkedUsername?: string };

/**
 * Only the owner's account may be linked; otherwise anyone able to finish a sign-in could point the uploads at their
 * own OneDrive. The check runs on the redeemed result BEFORE anything is stored.
 * - EXPECTED_ACCOUNT set: the signed-in user name must equal it (case-insensitive). For work accounts it is a UPN in a
 *   domain the tenant verified; for personal accounts it is the Microsoft account's sign-in email.
 * - Whether or not it is set: once an account is linked, only the same account (immutable homeAccountId = oid.tid) can
 *   relink. Replacing it needs an admin reset: delete the token secret (or file), then link again.
 */
export function decideAccount(account: AccountInfo, expectedAccount: string | undefined, storedCache: string | undefined): AccountDecision {
  if (expectedAccount !== undefined && account.username.toLowerCase() !== expectedAccount) {
    return { allowed: false, reason: "notExpectedAccount" };
  }
  const linked = summariseCache(storedCache).accounts;
  const other = linked.find((entry) => entry.homeAccountId !== account.homeAccountId);
  if (other) return { allowed: false, reason: "differentAccountLinked", linkedUsername: other.username };
  return { allowed: true };
}
