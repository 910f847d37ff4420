import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ConfidentialClientApplication, CryptoProvider } from "@azure/msal-node";
import { answerConsent } from "./consentClient";
import { EmulatedUser, IdentityEmulator, MSA_TENANT_ID, startIdentityEmulator } from "./identityEmulator";

const CLIENT = { clientId: "11111111-2222-3333-4444-555555555555", clientSecret: "emulator-client-secret-value", redirectUris: ["https://app.example.test/api/auth/callback"] };
const OWNER: EmulatedUser = { username: "owner@outlook.example", name: "Olivia Owner", oid: "00000000-0000-0000-aaaa-000000000001", tid: MSA_TENANT_ID };

interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  id_token?: string;
  client_info?: string;
  scope?: string;
  error?: string;
  error_codes?: number[];
}

describe("identity-platform emulator, raw protocol", () => {
  let identity: IdentityEmulator;
  before(async () => {
    identity = await startIdentityEmulator({ clients: [CLIENT], user: OWNER });
  });
  after(() => identity.close());

  const verifier = () => randomBytes(32).toString("base64url");
  const challengeOf = (value: string) => createHash("sha256").update(value).digest("base64url");
  const authorizeUrl = (parameters: Record<string, string>) =>
    `${identity.origin}/consumers/oauth2/v2.0/authorize?${new URLSearchParams({
      client_id: CLIENT.clientId,
      redirect_uri: CLIENT.redirectUris[0],
      response_type: "code",
      response_mode: "query",
      scope: "Files.ReadWrite openid profile offline_access",
      state: "state-123",
      nonce: "nonce-456",
      code_challenge_method: "S256",
      ...parameters,
    }).toString()}`;
  const redeem = async (form: Record<string, string>) => {
    const response = await fetch(`${identity.origin}/consumers/oauth2/v2.0/token?client-request-id=x`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, scope: "Files.ReadWrite openid profile offline_access", ...form }).toString(),
    });
    return { status: response.status, retryAfter: response.headers.get("retry-after"), body: (await response.json()) as TokenResponse };
  };
  const codeFor = async (codeVerifier: string) => {
    const redirect = await answerConsent(authorizeUrl({ code_challenge: challengeOf(codeVerifier) }), "accept");
    assert.equal(redirect.searchParams.get("state"), "state-123");
    return redirect.searchParams.get("code") ?? "";
  };

  test("serves openid configuration on its own origin", async () => {
    const configuration = (await (await fetch(`${identity.origin}/consumers/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
    assert.equal(configuration.token_endpoint, `${identity.origin}/consumers/oauth2/v2.0/token`);
    assert.equal(configuration.authorization_endpoint, `${identity.origin}/consumers/oauth2/v2.0/authorize`);
    assert.ok(configuration.issuer.startsWith(identity.origin));
  });

  test("an unregistered redirect URI gets an error page, never a redirect", async () => {
    const response = await fetch(authorizeUrl({ code_challenge: challengeOf(verifier()), redirect_uri: "https://evil.example.test/cb" }), { redirect: "manual" });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("location"), null);
    assert.match(await response.text(), /AADSTS50011/);
  });

  test("a request without an S256 challenge is refused", async () => {
    const response = await fetch(authorizeUrl({ code_challenge: "plain-challenge", code_challenge_method: "plain" }), { redirect: "manual" });
    assert.equal(response.status, 302);
    assert.equal(new URL(response.headers.get("location") ?? "").searchParams.get("error"), "invalid_request");
  });

  test("denying consent redirects with access_denied and the state", async () => {
    const redirect = await answerConsent(authorizeUrl({ code_challenge: challengeOf(verifier()) }), "deny");
    assert.equal(redirect.searchParams.get("error"), "access_denied");
    assert.equal(redirect.searchParams.get("state"), "state-123");
    assert.equal(redirect.searchParams.get("code"), null);
  });

  test("the token endpoint checks the client secret", async () => {
    const codeVerifier = verifier();
    const code = await codeFor(codeVerifier);
    const wrong = await redeem({ grant_type: "authorization_code", code, code_verifier: codeVerifier, redirect_uri: CLIENT.redirectUris[0], client_secret: "wrong" });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, "invalid_client");
  });

  test("a wrong PKCE verifier is invalid_grant and consumes the code", async () => {
    const codeVerifier = verifier();
    const code = await codeFor(codeVerifier);
    const wrong = await redeem({ grant_type: "authorization_code", code, code_verifier: verifier(), redirect_uri: CLIENT.redirectUris[0] });
    assert.equal(wrong.status, 400);
    assert.deepEqual([wrong.body.error, wrong.body.error_codes], ["invalid_grant", [501481]]);
    const retried = await redeem({ grant_type: "authorization_code", code, code_verifier: codeVerifier, redirect_uri: CLIENT.redirectUris[0] });
    assert.deepEqual([retried.body.error, retried.body.error_codes], ["invalid_grant", [54005]]);
  });

  test("a different redirect_uri at redemption is invalid_grant", async () => {
    const codeVerifier = verifier();
    const code = await codeFor(codeVerifier);
    const wrong = await redeem({ grant_type: "authorization_code", code, code_verifier: codeVerifier, redirect_uri: "https://app.example.test/other" });
    assert.equal(wrong.body.error, "invalid_grant");
  });

  test("a code redeems once into tokens whose id_token carries the nonce; a replay is invalid_grant", async () => {
    const codeVerifier = verifier();
    const code = await codeFor(codeVerifier);
    const first = await redeem({ grant_type: "authorization_code", code, code_verifier: codeVerifier, redirect_uri: CLIENT.redirectUris[0] });
    assert.equal(first.status, 200);
    assert.equal(first.body.scope, "Files.ReadWrite");
    const claims = JSON.parse(Buffer.from((first.body.id_token ?? "").split(".")[1], "base64url").toString()) as Record<string, string>;
    assert.equal(claims.nonce, "nonce-456");
    assert.equal(claims.preferred_username, OWNER.username);
    assert.deepEqual(JSON.parse(Buffer.from(first.body.client_info ?? "", "base64url").toString()), { uid: OWNER.oid, utid: OWNER.tid });
    const replay = await redeem({ grant_type: "authorization_code", code, code_verifier: codeVerifier, redirect_uri: CLIENT.redirectUris[0] });
    assert.deepEqual([replay.status, replay.body.error, replay.body.error_codes], [400, "invalid_grant", [54005]]);
  });

  test("refresh rotates the refresh token, keeps the old one valid, and revocation ends both", async () => {
    const codeVerifier = verifier();
    const issued = await redeem({ grant_type: "authorization_code", code: await codeFor(codeVerifier), code_verifier: codeVerifier, redirect_uri: CLIENT.redirectUris[0] });
    const original = issued.body.refresh_token ?? "";
    const rotated = await redeem({ grant_type: "refresh_token", refresh_token: original });
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.refresh_token, original);
    assert.equal((await redeem({ grant_type: "refresh_token", refresh_token: original })).status, 200);
    identity.revokeRefreshTokens(OWNER.username);
    for (const token of [original, rotated.body.refresh_token ?? ""]) {
      const refused = await redeem({ grant_type: "refresh_token", refresh_token: token });
      assert.deepEqual([refused.status, refused.body.error, refused.body.error_codes], [400, "invalid_grant", [70000]]);
    }
  });

  test("throttles with 429 and 503 carrying Retry-After", async () => {
    identity.failNextTokenRequests(1, { status: 429, retryAfterSeconds: 7 });
    identity.failNextTokenRequests(1, { status: 503, retryAfterSeconds: 3 });
    const throttled = await redeem({ grant_type: "refresh_token", refresh_token: "anything" });
    const unavailable = await redeem({ grant_type: "refresh_token", refresh_token: "anything" });
    assert.deepEqual([throttled.status, throttled.retryAfter], [429, "7"]);
    assert.deepEqual([unavailable.status, unavailable.retryAfter], [503, "3"]);
  });
});

describe("identity-platform emulator with real MSAL", () => {
  let identity: IdentityEmulator;
  const redirectUri = "http://localhost:53682/";
  before(async () => {
    identity = await startIdentityEmulator({ clients: [{ ...CLIENT, redirectUris: [redirectUri] }], user: OWNER });
  });
  after(() => identity.close());

  test("MSAL trusts it through knownAuthorities and the test CA, and sends nothing elsewhere", async () => {
    const msal = new ConfidentialClientApplication({
      auth: { clientId: CLIENT.clientId, clientSecret: CLIENT.clientSecret, authority: `${identity.origin}/consumers`, knownAuthorities: [identity.authorityHost] },
    });
    const pkce = await new CryptoProvider().generatePkceCodes();
    const url = await msal.getAuthCodeUrl({ scopes: ["Files.ReadWrite"], redirectUri, codeChallenge: pkce.challenge, codeChallengeMethod: "S256", state: "s1", nonce: "n1" });
    assert.ok(url.startsWith(`${identity.origin}/consumers/oauth2/v2.0/authorize?`));
    const redirect = await answerConsent(url, "accept");
    const result = await msal.acquireTokenByCode(
      { code: redirect.searchParams.get("code") ?? "", scopes: ["Files.ReadWrite"], redirectUri, codeVerifier: pkce.verifier, state: "s1", nonce: "n1" },
      { code: redirect.searchParams.get("code") ?? "", state: redirect.searchParams.get("state") ?? "" },
    );
    assert.equal(result.account?.username, OWNER.username);
    assert.equal(result.account?.homeAccountId, `${OWNER.oid}.${OWNER.tid}`);
    const silent = await msal.acquireTokenSilent({ account: result.account!, scopes: ["Files.ReadWrite"] });
    assert.equal(silent.fromCache, true, "the echoed scope matches the requested one, so the cached token is reused");
    const paths = new Set(identity.requests.map((entry) => entry.path));
    assert.deepEqual([...paths].sort(), ["/consumers/oauth2/v2.0/authorize", "/consumers/oauth2/v2.0/consent", "/consumers/oauth2/v2.0/token", "/consumers/v2.0/.well-known/openid-configuration"]);
  });
});
