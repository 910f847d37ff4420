import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { after, afterEach, before, describe, test } from "node:test";
import { Cookie, HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { callbackHandler } from "../../functions/auth/callbackHandler";
import { loginHandler } from "../../functions/auth/loginHandler";
import { deriveCookieKey, openTransaction, sealTransaction, TRANSACTION_COOKIE_NAME } from "../../functions/auth/transactionCookie";
import { answerConsent } from "../emulators/identity/consentClient";
import { CLIENT_SECRET, OWNER, SignInWorld, startSignInWorld, STRANGER } from "./support/signInWorld";

const APP_ORIGIN = "https://connector.example.test";
const REDIRECT_URI = `${APP_ORIGIN}/api/auth/callback`;

describe("login and callback handlers", () => {
  let world: SignInWorld;
  const logLines: string[] = [];
  const errorMessages: string[] = [];
  const cookieValues: string[] = [];
  const savedEnv = { ...process.env };

  const context = () =>
    new InvocationContext({
      functionName: "test",
      logHandler: (level, ...args) => logLines.push(`${level}: ${args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" ")}`),
    });
  const useSettings = (overrides: Record<string, string | undefined> = {}) => {
    for (const [name, value] of Object.entries(world.settings(overrides))) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  const call = async (handler: typeof loginHandler, url: string, cookie?: string): Promise<HttpResponseInit> => {
    try {
      return await handler(new HttpRequest({ method: "GET", url, headers: cookie ? { cookie } : {} }), context());
    } catch (error) {
      errorMessages.push(String((error as Error).stack));
      throw error;
    }
  };
  const startLogin = async () => {
    const response = await call(loginHandler, `${APP_ORIGIN}/api/auth/login`);
    const cookie = response.cookies?.find((entry) => entry.name === TRANSACTION_COOKIE_NAME) as Cookie;
    cookieValues.push(cookie.value);
    return { response, cookie, authorizeUrl: String((response.headers as Record<string, string>).Location) };
  };
  const callbackWith = (redirect: URL, cookie?: string) => call(callbackHandler, `${APP_ORIGIN}/api/auth/callback${redirect.search}`, cookie ? `${TRANSACTION_COOKIE_NAME}=${cookie}` : undefined);
  const stored = () => (existsSync(world.tokenCacheFile) ? readFileSync(world.tokenCacheFile, "utf8") : undefined);
  const assertCleared = (response: HttpResponseInit) => {
    const cleared = response.cookies?.find((entry) => entry.name === TRANSACTION_COOKIE_NAME);
    assert.equal(cleared?.value, "");
    assert.equal(cleared?.maxAge, 0);
  };

  before(async () => {
    world = await startSignInWorld({ redirectUris: [REDIRECT_URI] });
  });
  afterEach(() => {
    rmSync(world.tokenCacheFile, { force: true });
    world.identity.signInAs(OWNER);
    useSettings();
  });
  after(async () => {
    await world.identity.close();
    // The last check: no token, code, client secret or cookie key reached a log line or an error.
    const key = deriveCookieKey(CLIENT_SECRET);
    const forbidden = [...world.identity.issuedSecrets(), CLIENT_SECRET, key.toString("hex"), key.toString("base64"), key.toString("base64url"), ...cookieValues];
    const captured = [...logLines, ...errorMessages].join("\n");
    for (const secret of forbidden) assert.ok(!captured.includes(secret), `a secret appeared in the captured logs: ${secret.slice(0, 12)}…`);
    assert.ok(logLines.length > 5, "the handlers log their outcomes");
    process.env = savedEnv;
  });

  test("login redirects to the configured authority with S256 PKCE, state, nonce and select_account, and sets a sealed __Host- cookie", async () => {
    useSettings();
    const { response, cookie, authorizeUrl } = await startLogin();
    assert.equal(response.status, 302);
    const url = new URL(authorizeUrl);
    assert.equal(url.origin, world.identity.origin);
    assert.equal(url.pathname, "/consumers/oauth2/v2.0/authorize");
    assert.equal(url.searchParams.get("code_challenge_method"), "S256");
    assert.equal(url.searchParams.get("prompt"), "select_account");
    assert.equal(url.searchParams.get("redirect_uri"), REDIRECT_URI);
    assert.equal(url.searchParams.get("response_mode"), "query");
    assert.match(url.searchParams.get("scope") ?? "", /Files\.ReadWrite/);
    assert.match(url.searchParams.get("scope") ?? "", /offline_access/);
    assert.deepEqual(
      { name: cookie.name, path: cookie.path, secure: cookie.secure, httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, maxAge: cookie.maxAge, domain: cookie.domain },
      { name: "__Host-onedrive-signin", path: "/", secure: true, httpOnly: true, sameSite: "Lax", maxAge: 600, domain: undefined },
    );
    const opened = openTransaction(cookie.value, deriveCookieKey(CLIENT_SECRET));
    assert.ok(opened.ok);
    assert.equal(opened.transaction.state, url.searchParams.get("state"));
    assert.equal(opened.transaction.nonce, url.searchParams.get("nonce"));
    assert.ok(!cookie.value.includes(opened.transaction.codeVerifier));
  });

  test("a complete sign-in stores the cache (mode 0600), clears the cookie and says whom it linked", async () => {
    useSettings();
    const { cookie, authorizeUrl } = await startLogin();
    const response = await callbackWith(await answerConsent(authorizeUrl, "accept"), cookie.value);
    assert.equal(response.status, 200);
    assert.match(String(response.body), /Linked as Olivia Owner \(owner@outlook\.example\)\./);
    assertCleared(response);
    assert.equal(statSync(world.tokenCacheFile).mode & 0o777, 0o600);
    assert.match(stored() ?? "", /owner@outlook\.example/);
  });

  test("a callback without the cookie stores nothing and redeems nothing", async () => {
    useSettings();
    const { authorizeUrl } = await startLogin();
    const redirect = await answerConsent(authorizeUrl, "accept");
    const tokenRequests = world.identity.tokenRequestCount();
    const response = await callbackWith(redirect);
    assert.equal(response.status, 400);
    assert.match(String(response.body), /not started from this browser/);
    assertCleared(response);
    assert.equal(stored(), undefined);
    assert.equal(world.identity.tokenRequestCount(), tokenRequests);
  });

  test("a forged cookie, and a genuine cookie from another sign-in (state mismatch), store nothing", async () => {
    useSettings();
    const { cookie, authorizeUrl } = await startLogin();
    const redirect = await answerConsent(authorizeUrl, "accept");
    const tokenRequests = world.identity.tokenRequestCount();
    const tampered = `${cookie.value.slice(0, -4)}${cookie.value.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    const forged = await callbackWith(redirect, tampered);
    assert.equal(forged.status, 400);
    assert.match(String(forged.body), /does not match/);
    const other = await startLogin();
    const mismatched = await callbackWith(redirect, other.cookie.value);
    assert.equal(mismatched.status, 400);
    assert.match(String(mismatched.body), /does not match/);
    const genuine = openTransaction(cookie.value, deriveCookieKey(CLIENT_SECRET));
    assert.ok(genuine.ok);
    // Knowing every value is not enough without the key derived from the client secret.
    const sealedWithGuessedKey = sealTransaction(genuine.transaction, deriveCookieKey("attacker-guess"));
    assert.equal((await callbackWith(redirect, sealedWithGuessedKey)).status, 400);
    assert.equal(stored(), undefined);
    assert.equal(world.identity.tokenRequestCount(), tokenRequests, "no code was redeemed");
  });

  test("an expired transaction stores nothing", async () => {
    useSettings();
    const { cookie, authorizeUrl } = await startLogin();
    const redirect = await answerConsent(authorizeUrl, "accept");
    const opened = openTransaction(cookie.value, deriveCookieKey(CLIENT_SECRET));
    assert.ok(opened.ok);
    const expired = sealTransaction({ ...opened.transaction, expiresAt: Date.now() - 1 }, deriveCookieKey(CLIENT_SECRET));
    const response = await callbackWith(redirect, expired);
    assert.equal(response.status, 400);
    assert.match(String(response.body), /longer than 10 minutes/);
    assert.equal(stored(), undefined);
  });

  test("denied consent gets its own page and stores nothing", async () => {
    useSettings();
    const { cookie, authorizeUrl } = await startLogin();
    const response = await callbackWith(await answerConsent(authorizeUrl, "deny"), cookie.value);
    assert.equal(response.status, 403);
    assert.match(String(response.body), /Consent declined/);
    assert.match(String(response.body), /AADSTS65004/);
    assertCleared(response);
    assert.equal(stored(), undefined);
  });

  test("a wrong account (not EXPECTED_ACCOUNT) is refused before anything is stored", async () => {
    useSettings();
    world.identity.signInAs(STRANGER);
    const { cookie, authorizeUrl } = await startLogin();
    const response = await callbackWith(await answerConsent(authorizeUrl, "accept"), cookie.value);
    assert.equal(response.status, 403);
    assert.match(String(response.body), /Wrong account/);
    assert.match(String(response.body), /stranger@outlook\.example/);
    assert.equal(stored(), undefined);
  });

  test("without EXPECTED_ACCOUNT the first account wins and another account cannot replace it", async () => {
    useSettings({ EXPECTED_ACCOUNT: undefined });
    const first = await startLogin();
    assert.equal((await callbackWith(await answerConsent(first.authorizeUrl, "accept"), first.cookie.value)).status, 200);
    const linked = stored();
    world.identity.signInAs(STRANGER);
    const second = await startLogin();
    const response = await callbackWith(await answerConsent(second.authorizeUrl, "accept"), second.cookie.value);
    assert.equal(response.status, 403);
    assert.match(String(response.body), /owner@outlook\.example is linked already/);
    assert.equal(stored(), linked);
  });

  test("the linked account relinks after its sign-in name changed: the lock holds on tid + oid, not the name", async () => {
    useSettings();
    const first = await startLogin();
    assert.equal((await callbackWith(await answerConsent(first.authorizeUrl, "accept"), first.cookie.value)).status, 200);
    world.identity.signInAs({ ...OWNER, username: "olivia.renamed@outlook.example" });
    const relink = await startLogin();
    const response = await callbackWith(await answerConsent(relink.authorizeUrl, "accept"), relink.cookie.value);
    assert.equal(response.status, 200, String(response.body));
    assert.match(stored() ?? "", /olivia\.renamed@outlook\.example/);
  });

  test("an ID token carrying another sign-in's nonce is refused and nothing is stored", async () => {
    useSettings();
    const { cookie, authorizeUrl } = await startLogin();
    const redirect = await answerConsent(authorizeUrl, "accept");
    world.identity.substituteNonceOnNextCodeRedemption();
    const response = await callbackWith(redirect, cookie.value);
    assert.equal(response.status, 400);
    assert.match(String(response.body), /did not carry the nonce of this sign-in/);
    assertCleared(response);
    assert.equal(stored(), undefined);
  });

  test("an error answer without this sign-in's state neither ends the sign-in nor clears its cookie", async () => {
    useSettings();
    const { cookie, authorizeUrl } = await startLogin();
    const crossSite = new URL(`${APP_ORIGIN}/api/auth/callback`);
    crossSite.searchParams.set("error", "access_denied");
    crossSite.searchParams.set("error_description", "AADSTS65004: User declined to consent to access the app.");
    for (const state of [undefined, "not-this-sign-in"]) {
      if (state) crossSite.searchParams.set("state", state);
      const refused = await callbackWith(crossSite, cookie.value);
      assert.equal(refused.status, 400, `state ${state}`);
      assert.match(String(refused.body), /does not match/);
      assert.doesNotMatch(String(refused.body), /Consent declined/);
      assert.equal(refused.cookies, undefined, "the sign-in cookie stays for the genuine redirect");
    }
    const withoutCookie = await callbackWith(crossSite);
    assert.equal(withoutCookie.status, 400);
    assert.match(String(withoutCookie.body), /not started from this browser/);
    const genuine = await callbackWith(await answerConsent(authorizeUrl, "accept"), cookie.value);
    assert.equal(genuine.status, 200, String(genuine.body));
    assert.match(stored() ?? "", /owner@outlook\.example/);
  });

  test("a replayed code is refused and leaves the stored cache unchanged", async () => {
    useSettings();
    const { cookie, authorizeUrl } = await startLogin();
    const redirect = await answerConsent(authorizeUrl, "accept");
    assert.equal((await callbackWith(redirect, cookie.value)).status, 200);
    const linked = stored();
    const replay = await callbackWith(redirect, cookie.value);
    assert.equal(replay.status, 400);
    assert.match(String(replay.body), /already used/);
    assert.equal(stored(), linked);
  });

  test("reflected parameters are HTML-escaped", async () => {
    useSettings();
    const { cookie } = await startLogin();
    const opened = openTransaction(cookie.value, deriveCookieKey(CLIENT_SECRET));
    assert.ok(opened.ok);
    const hostile = new URL(`${APP_ORIGIN}/api/auth/callback`);
    hostile.searchParams.set("error", "access_denied");
    hostile.searchParams.set("error_description", `<script>alert("x")</script><img src=x onerror=alert(1)>`);
    hostile.searchParams.set("state", opened.transaction.state);
    const response = await callbackWith(hostile, cookie.value);
    const body = String(response.body);
    assert.ok(!body.includes("<script>alert"));
    assert.ok(!body.includes("<img"));
    assert.ok(body.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert.match(String((response.headers as Record<string, string>)["Content-Security-Policy"]), /default-src 'none'/);
  });

  test("missing settings give a generic page; the log names the settings, never the secret", async () => {
    useSettings({ CLIENT_ID: undefined, TENANT: "bad tenant!" });
    const response = await call(callbackHandler, `${APP_ORIGIN}/api/auth/callback?code=x&state=y`);
    assert.equal(response.status, 500);
    assert.doesNotMatch(String(response.body), /CLIENT_ID|TENANT/);
    assert.match(logLines.join("\n"), /CLIENT_ID is required[\s\S]*TENANT is "bad tenant!"/);
  });
});
