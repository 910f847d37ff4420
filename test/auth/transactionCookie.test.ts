import assert from "node:assert/strict";
import { test } from "node:test";
import { constantTimeEquals, deriveCookieKey, openTransaction, readCookie, sealTransaction, SignInTransaction } from "../../functions/auth/transactionCookie";

const transaction: SignInTransaction = { state: "state-value", nonce: "nonce-value", codeVerifier: "verifier-value", redirectUri: "https://a.example/api/auth/callback", expiresAt: 2_000_000 };

test("the cookie key is derived from the client secret, is 32 bytes, and differs from it and from other secrets' keys", () => {
  const key = deriveCookieKey("client-secret");
  assert.equal(key.length, 32);
  assert.notEqual(key.toString("utf8"), "client-secret");
  assert.notDeepEqual(key, deriveCookieKey("client-secret2"));
  assert.deepEqual(key, deriveCookieKey("client-secret"));
});

test("seal and open round-trip; the sealed text reveals none of the values", () => {
  const key = deriveCookieKey("client-secret");
  const sealed = sealTransaction(transaction, key);
  for (const value of Object.values(transaction)) assert.ok(!sealed.includes(String(value)));
  assert.deepEqual(openTransaction(sealed, key, 1_000_000), { ok: true, transaction });
});

test("tampering, a different key, expiry and absence are each told apart", () => {
  const key = deriveCookieKey("client-secret");
  const sealed = sealTransaction(transaction, key);
  const payload = Buffer.from(sealed.slice(3), "base64url");
  payload[20] ^= 1;
  assert.deepEqual(openTransaction(`v1.${payload.toString("base64url")}`, key, 1_000_000), { ok: false, reason: "forged" });
  assert.deepEqual(openTransaction(sealed, deriveCookieKey("other-secret"), 1_000_000), { ok: false, reason: "forged" });
  assert.deepEqual(openTransaction("v1.short", key, 1_000_000), { ok: false, reason: "forged" });
  assert.deepEqual(openTransaction(sealed, key, 2_000_000), { ok: false, reason: "expired" });
  assert.deepEqual(openTransaction(undefined, key), { ok: false, reason: "missing" });
});

test("constant-time comparison and cookie parsing", () => {
  assert.equal(constantTimeEquals("abc", "abc"), true);
  assert.equal(constantTimeEquals("abc", "abd"), false);
  assert.equal(constantTimeEquals("abc", "abcd"), false);
  assert.equal(readCookie("a=1; __Host-onedrive-signin=v1.xyz; b=2", "__Host-onedrive-signin"), "v1.xyz");
  assert.equal(readCookie("a=1", "__Host-onedrive-signin"), undefined);
});
