import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AccountInfo } from "@azure/msal-node";
import { decideAccount } from "../../functions/auth/accountPolicy";
import { PERSONAL_ACCOUNTS_TENANT_ID } from "../../functions/auth/authSettings";

const WORK_TENANT = "5c1e7a3b-2f44-4d1a-9e0b-6a8f2d3c4b5e";
const OWNER_OID = "00000000-0000-0000-8b2c-4f1e5a6d7c01";

function account(claims: { tid?: string; oid?: string; username: string }): AccountInfo {
  return {
    homeAccountId: `${claims.oid}.${claims.tid}`,
    environment: "login.example",
    tenantId: claims.tid ?? "",
    localAccountId: claims.oid ?? "",
    username: claims.username,
    idTokenClaims: { tid: claims.tid, oid: claims.oid, preferred_username: claims.username },
  };
}

/** The fields of MSAL's serialized Account entity the lock reads. */
function linkedCache(claims: { tid: string; oid: string; username: string }): string {
  const homeAccountId = `${claims.oid}.${claims.tid}`;
  return JSON.stringify({
    Account: { [`${homeAccountId}-login.example-${claims.tid}`]: { home_account_id: homeAccountId, realm: claims.tid, local_account_id: claims.oid, username: claims.username } },
    RefreshToken: {},
  });
}

describe("account lock on tid + oid", () => {
  const personalLock = { tenantId: PERSONAL_ACCOUNTS_TENANT_ID, expectedAccount: "owner@outlook.example" };

  test("a first link from another tenant than the configured one is refused, even with the expected sign-in name", () => {
    const lookalike = account({ tid: WORK_TENANT, oid: OWNER_OID, username: "owner@outlook.example" });
    assert.deepEqual(decideAccount(lookalike, personalLock, undefined), { allowed: false, reason: "otherTenant" });
    assert.deepEqual(decideAccount(lookalike, { tenantId: PERSONAL_ACCOUNTS_TENANT_ID }, undefined), { allowed: false, reason: "otherTenant" });
  });

  test("a first link from the configured tenant needs the expected sign-in name", () => {
    assert.deepEqual(decideAccount(account({ tid: PERSONAL_ACCOUNTS_TENANT_ID, oid: OWNER_OID, username: "Owner@Outlook.example" }), personalLock, undefined), { allowed: true });
    const stranger = account({ tid: PERSONAL_ACCOUNTS_TENANT_ID, oid: "00000000-0000-0000-1d3f-9e8a7b6c5d02", username: "stranger@outlook.example" });
    assert.deepEqual(decideAccount(stranger, personalLock, undefined), { allowed: false, reason: "notExpectedAccount" });
  });

  test("once linked, the same tid + oid relinks after a rename, and the old sign-in name on another object is refused", () => {
    const stored = linkedCache({ tid: PERSONAL_ACCOUNTS_TENANT_ID, oid: OWNER_OID, username: "owner@outlook.example" });
    const renamed = account({ tid: PERSONAL_ACCOUNTS_TENANT_ID, oid: OWNER_OID, username: "olivia@outlook.example" });
    assert.deepEqual(decideAccount(renamed, personalLock, stored), { allowed: true });
    const nameReused = account({ tid: PERSONAL_ACCOUNTS_TENANT_ID, oid: "00000000-0000-0000-77aa-0123456789ab", username: "owner@outlook.example" });
    assert.deepEqual(decideAccount(nameReused, personalLock, stored), { allowed: false, reason: "differentAccountLinked", linkedUsername: "owner@outlook.example" });
  });

  test("without a configured tenant the first link wins and its tid + oid hold from then on", () => {
    const stored = linkedCache({ tid: WORK_TENANT, oid: OWNER_OID, username: "owner@contoso.example" });
    assert.deepEqual(decideAccount(account({ tid: WORK_TENANT, oid: OWNER_OID, username: "owner@contoso.example" }), {}, undefined), { allowed: true });
    const sameObjectOtherTenant = account({ tid: PERSONAL_ACCOUNTS_TENANT_ID, oid: OWNER_OID, username: "owner@contoso.example" });
    assert.deepEqual(decideAccount(sameObjectOtherTenant, {}, stored), { allowed: false, reason: "differentAccountLinked", linkedUsername: "owner@contoso.example" });
  });

  test("an ID token without tid or oid cannot be pinned and is refused", () => {
    assert.equal(decideAccount(account({ tid: PERSONAL_ACCOUNTS_TENANT_ID, username: "owner@outlook.example" }), personalLock, undefined).allowed, false);
    assert.equal(decideAccount(account({ oid: OWNER_OID, username: "owner@outlook.example" }), {}, undefined).allowed, false);
  });
});
