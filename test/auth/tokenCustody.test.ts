import assert from "node:assert/strict";
import { readFileSync, statSync, readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MsalAccessTokenProvider } from "../../functions/auth/accessTokenProvider";
import { loadSignInSettings, type SignInSettings } from "../../functions/auth/authSettings";
import { FileTokenCacheStore } from "../../functions/auth/fileTokenCacheStore";
import { KeyVaultTokenCacheStore } from "../../functions/auth/keyVaultTokenCacheStore";
import { describeLinkState } from "../../functions/auth/linkState";
import { isSubstantiveChange } from "../../functions/auth/persistingCachePlugin";
import { RelinkRequiredError } from "../../functions/auth/relinkRequiredError";
import { beginSignIn, completeSignIn } from "../../functions/auth/signInFlow";
import { TokenCacheStore, TokenStoreError } from "../../functions/auth/tokenCacheStore";
import { answerConsent } from "../emulators/identity/consentClient";
import { KeyVaultEmulator, startKeyVaultEmulator } from "../emulators/keyvault/keyVaultEmulator";
import { emulatorSecretClientOptions } from "../emulators/keyvault/vaultClientOptions";
import { CLIENT_SECRET, OWNER, SignInWorld, startSignInWorld } from "./support/signInWorld";

const REDIRECT_URI = "https://connector.example.test/api/auth/callback";
const SECRET_NAME = "onedrive-token-cache";

async function link(settings: SignInSettings, store: TokenCacheStore) {
  const { authorizeUrl, transaction } = await beginSignIn(settings, settings.redirectUri);
  const redirect = await answerConsent(authorizeUrl, "accept");
  return completeSignIn(settings, store, transaction, { code: redirect.searchParams.get("code") ?? undefined, state: redirect.searchParams.get("state") ?? undefined });
}

function vaultStore(vault: KeyVaultEmulator): KeyVaultTokenCacheStore {
  return new KeyVaultTokenCacheStore({ vaultUrl: vault.vaultUrl, secretName: SECRET_NAME, credential: vault.credential, clientOptions: emulatorSecretClientOptions(vault) });
}

function assertNoSecrets(text: string, world: SignInWorld): void {
  for (const secret of [...world.identity.issuedSecrets(), CLIENT_SECRET]) assert.ok(!text.includes(secret), "a token or the client secret leaked into a message");
}

describe("local file store", () => {
  let world: SignInWorld;
  before(async () => {
    world = await startSignInWorld({ redirectUris: [REDIRECT_URI] });
  });
  after(() => world.identity.close());

  test("a linked cache is written atomically as mode 0600 in a 0700 directory, with no temporary file left", async () => {
    const settings = loadSignInSettings(world.settings());
    const store = new FileTokenCacheStore(world.tokenCacheFile);
    assert.equal(await store.read(), undefined);
    const outcome = await link(settings, store);
    assert.equal(outcome.ok, true);
    assert.equal(statSync(world.tokenCacheFile).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(world.tokenCacheFile)).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(dirname(world.tokenCacheFile)), ["token-cache.json"]);
    const cache = JSON.parse(readFileSync(world.tokenCacheFile, "utf8")) as { Account: Record<string, { username: string }>; RefreshToken: Record<string, unknown> };
    assert.deepEqual(Object.values(cache.Account).map((account) => account.username), [OWNER.username]);
    assert.equal(Object.keys(cache.RefreshToken).length, 1);
  });

  test("the relink marker is recorded beside the file and cleared by the next write", async () => {
    const store = new FileTokenCacheStore(world.tokenCacheFile);
    await store.recordRelinkNeeded("grant revoked");
    assert.equal((await store.read())?.relinkReason, "grant revoked");
    assert.equal(statSync(`${world.tokenCacheFile}.relink-needed`).mode & 0o777, 0o600);
    await store.write((await store.read())!.serialized);
    assert.equal((await store.read())?.relinkReason, undefined);
    assert.equal(existsSync(`${world.tokenCacheFile}.relink-needed`), false);
  });
});

describe("write only on substantive change", () => {
  const cache = (accounts: string[], refreshSecret?: string) =>
    JSON.stringify({
      Account: Object.fromEntries(accounts.map((id) => [id, { home_account_id: id, username: `${id}@x` }])),
      RefreshToken: refreshSecret ? { rt: { secret: refreshSecret } } : {},
      AccessToken: {},
    });
  const day = 24 * 3600 * 1000;

  test("decides per the documented rules", () => {
    assert.equal(isSubstantiveChange(undefined, cache(["a"], "r1"), 0), true, "first write");
    assert.equal(isSubstantiveChange(cache(["a"], "r1"), cache(["b"], "r1"), 0), true, "other account");
    assert.equal(isSubstantiveChange(cache(["a"], "r1"), cache([], undefined), 0), true, "account removed");
    assert.equal(isSubstantiveChange(cache(["a"]), cache(["a"], "r1"), 0), true, "refresh token where there was none");
    assert.equal(isSubstantiveChange(cache(["a"], "r1"), cache(["a"], "r2"), day - 1), false, "rotated refresh token, stored one younger than a day");
    assert.equal(isSubstantiveChange(cache(["a"], "r1"), cache(["a"], "r2"), day), true, "rotated refresh token, stored one a day old");
    assert.equal(isSubstantiveChange(cache(["a"], "r1"), cache(["a"], "r1"), 10 * day), false, "only the access token changed");
  });
});

describe("Key Vault store with MSAL, through the real SecretClient", () => {
  let world: SignInWorld;
  let vault: KeyVaultEmulator;
  let settings: SignInSettings;
  before(async () => {
    // 60 s access tokens are inside MSAL's 5-minute renewal window, so every silent call redeems the refresh token.
    world = await startSignInWorld({ redirectUris: [REDIRECT_URI], accessTokenLifetimeSeconds: 60 });
    vault = await startKeyVaultEmulator();
    settings = loadSignInSettings(world.settings({ KEY_VAULT_URL: vault.vaultUrl, TOKEN_CACHE_FILE: undefined }));
  });
  after(async () => {
    await world.identity.close();
    await vault.close();
  });

  test("not linked yet: the status reads the vault (404 SecretNotFound) and the provider asks for a relink", async () => {
    const store = vaultStore(vault);
    assert.deepEqual(await describeLinkState(settings, store), { linked: false, relinkNeeded: true, reason: "No OneDrive account is linked yet: open /api/auth/login (or run `npm run login`)." });
    const failure = await new MsalAccessTokenProvider(settings, store).getAccessToken().catch((error: unknown) => error);
    assert.ok(failure instanceof RelinkRequiredError);
    assert.equal(failure.code, "RelinkRequired");
    assert.match(failure.message, /^OneDrive link needs renewing: open \/api\/auth\/login \(or run `npm run login`\)/);
    assert.equal(vault.versions(SECRET_NAME).length, 0, "nothing to flag when nothing is stored");
  });

  test("linking stores one secret version holding the serialized MSAL cache", async () => {
    const outcome = await link(settings, vaultStore(vault));
    assert.deepEqual(outcome.ok && outcome.username, OWNER.username);
    assert.equal(vault.versions(SECRET_NAME).length, 1);
    assert.equal(vault.versions(SECRET_NAME)[0].contentType, "application/json");
    assert.ok(JSON.parse(vault.latestValue(SECRET_NAME) ?? "{}").RefreshToken);
    assert.deepEqual(await describeLinkState(settings, vaultStore(vault)), { linked: true, account: OWNER.username, relinkNeeded: false });
  });

  test("silent tokens: the vault is read once, a rotated refresh token is not written within a day, and is written after one", async () => {
    let now = Date.now();
    const provider = new MsalAccessTokenProvider(settings, vaultStore(vault), { cachePlugin: { now: () => now } });
    const readsBefore = vault.requests.filter((entry) => entry.method === "GET" && entry.status === 200).length;
    const refreshesBefore = world.identity.tokenRequestCount("refresh_token");
    const first = await provider.getAccessToken();
    const second = await provider.getAccessToken();
    assert.match(first, /^emu-at\./);
    assert.notEqual(first, second, "each call refreshed, because the emulator's tokens are inside the renewal window");
    assert.equal(world.identity.tokenRequestCount("refresh_token") - refreshesBefore, 2);
    assert.equal(vault.requests.filter((entry) => entry.method === "GET" && entry.status === 200).length - readsBefore, 1, "one vault read, then the in-memory copy");
    assert.equal(vault.versions(SECRET_NAME).length, 1, "rotation within a day writes nothing");

    now += 25 * 3600 * 1000;
    await provider.getAccessToken();
    assert.equal(vault.versions(SECRET_NAME).length, 2, "a day later the rotated refresh token is saved");
    const stored = JSON.parse(vault.latestValue(SECRET_NAME) ?? "{}") as { RefreshToken: Record<string, { secret: string }> };
    assert.ok(world.identity.issuedSecrets().includes(Object.values(stored.RefreshToken)[0].secret));
  });

  test("a transient token-endpoint failure is an ordinary error, not a relink, and records nothing", async () => {
    world.identity.failNextTokenRequests(1, { status: 503, retryAfterSeconds: 1 });
    const versions = vault.versions(SECRET_NAME).length;
    const failure = await new MsalAccessTokenProvider(settings, vaultStore(vault)).getAccessToken().catch((error: unknown) => error);
    assert.ok(failure instanceof Error);
    assert.ok(!(failure instanceof RelinkRequiredError));
    assert.match(failure.message, /Could not get a OneDrive access token for owner@outlook\.example/);
    assertNoSecrets(failure.message, world);
    assert.equal(vault.versions(SECRET_NAME).length, versions);
    assert.equal((await describeLinkState(settings, vaultStore(vault))).linked, true);
  });

  test("a revoked grant is RelinkRequired, recorded in the vault for the status endpoint, and relinking clears it", async () => {
    world.identity.revokeRefreshTokens(OWNER.username);
    const failure = await new MsalAccessTokenProvider(settings, vaultStore(vault)).getAccessToken().catch((error: unknown) => error);
    assert.ok(failure instanceof RelinkRequiredError);
    assert.match(failure.reason, /invalid_grant/);
    assertNoSecrets(failure.message, world);
    const state = await describeLinkState(settings, vaultStore(vault));
    assert.equal(state.linked, false);
    assert.equal(state.relinkNeeded, true);
    assert.equal(state.account, OWNER.username);
    assert.match(state.reason ?? "", /invalid_grant.*Open \/api\/auth\/login/);

    const relinked = await link(settings, vaultStore(vault));
    assert.equal(relinked.ok, true);
    assert.deepEqual(await describeLinkState(settings, vaultStore(vault)), { linked: true, account: OWNER.username, relinkNeeded: false });
    assert.match(await new MsalAccessTokenProvider(settings, vaultStore(vault)).getAccessToken(), /^emu-at\./);
  });

  test("a 403 from RBAC becomes a configuration error naming the role, with status, code and request id", async () => {
    vault.setRole("secretsUser");
    try {
      const failure = await vaultStore(vault).write('{"Account":{}}').catch((error: unknown) => error);
      assert.ok(failure instanceof TokenStoreError);
      assert.equal(failure.details.status, 403);
      assert.equal(failure.details.code, "ForbiddenByRbac");
      assert.match(failure.message, /Key Vault Secrets Officer/);
      assert.match(failure.message, /request id [0-9a-f-]{36}/);
      assert.doesNotMatch(failure.message, /Account/);
    } finally {
      vault.setRole("secretsOfficer");
    }
  });

  test("a cache over 25 KB is refused before it is sent", async () => {
    const versions = vault.versions(SECRET_NAME).length;
    const failure = await vaultStore(vault).write("x".repeat(26 * 1024)).catch((error: unknown) => error);
    assert.ok(failure instanceof TokenStoreError);
    assert.match(failure.message, /over Key Vault's 25600-byte secret limit/);
    assert.equal(vault.versions(SECRET_NAME).length, versions);
  });
});

describe("file store gives the same provider behaviour", () => {
  let world: SignInWorld;
  before(async () => {
    world = await startSignInWorld({ redirectUris: [REDIRECT_URI] });
  });
  after(() => world.identity.close());

  test("a fresh access token is served from the cache without a token request or a write", async () => {
    const settings = loadSignInSettings(world.settings({ TOKEN_CACHE_FILE: join(world.directory, "fresh.json") }));
    const store = new FileTokenCacheStore(join(world.directory, "fresh.json"));
    assert.equal((await link(settings, store)).ok, true);
    const writtenAt = statSync(join(world.directory, "fresh.json")).mtimeMs;
    const requests = world.identity.tokenRequestCount();
    const token = await new MsalAccessTokenProvider(settings, store).getAccessToken();
    assert.ok(world.identity.issuedSecrets().includes(token));
    assert.equal(world.identity.tokenRequestCount(), requests, "the scope echo matches, so the cached token is used");
    assert.equal(statSync(join(world.directory, "fresh.json")).mtimeMs, writtenAt);
  });
});
