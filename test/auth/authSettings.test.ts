import assert from "node:assert/strict";
import { test } from "node:test";
import { loadAuthSettings, loadSignInSettings, PERSONAL_ACCOUNTS_TENANT_ID } from "../../functions/auth/authSettings";
import { SettingsError } from "../../functions/config/settings";

const BASE = { CLIENT_ID: "app-id", CLIENT_SECRET: "s3cret-value", WEBSITE_HOSTNAME: "myapp.azurewebsites.net" };

test("defaults: common tenant, public authority, redirect URI from WEBSITE_HOSTNAME, local file store", () => {
  const settings = loadSignInSettings(BASE);
  assert.equal(settings.authority, "https://login.microsoftonline.com/common");
  assert.equal(settings.redirectUri, "https://myapp.azurewebsites.net/api/auth/callback");
  assert.deepEqual(settings.tokenStore, { kind: "file", filePath: ".onedrive/token-cache.json" });
  assert.equal(settings.expectedAccount, undefined);
});

test("a vault URL selects the Key Vault store with the default secret name; EXPECTED_ACCOUNT is lower-cased", () => {
  const settings = loadAuthSettings({ ...BASE, TENANT: "consumers", KEY_VAULT_URL: "https://kv.vault.azure.net/", EXPECTED_ACCOUNT: "Owner@Outlook.com" });
  assert.deepEqual(settings.tokenStore, { kind: "keyVault", vaultUrl: "https://kv.vault.azure.net", secretName: "onedrive-token-cache" });
  assert.equal(settings.expectedAccount, "owner@outlook.com");
});

test("in Azure without KEY_VAULT_URL it refuses to start", () => {
  assert.throws(() => loadAuthSettings({ ...BASE, WEBSITE_INSTANCE_ID: "abc123" }), (error: unknown) => {
    assert.ok(error instanceof SettingsError);
    assert.match(error.message, /KEY_VAULT_URL is not set/);
    return true;
  });
});

test("every problem is reported at once, and the client secret's value never appears", () => {
  assert.throws(
    () => loadSignInSettings({ CLIENT_SECRET: "do-not-print-me", TENANT: "not a tenant!", AUTHORITY_HOST: "http://login.example", TOKEN_SECRET_NAME: "bad_name", EXPECTED_ACCOUNT: "nobody" }),
    (error: unknown) => {
      assert.ok(error instanceof SettingsError);
      const names = error.problems.map((problem) => problem.split(" ")[0]);
      assert.deepEqual(names.sort(), ["AUTHORITY_HOST", "CLIENT_ID", "EXPECTED_ACCOUNT", "REDIRECT_URI", "TENANT", "TOKEN_SECRET_NAME"]);
      assert.doesNotMatch(error.message, /do-not-print-me/);
      return true;
    },
  );
});

test("REDIRECT_URI may be http only for the loopback host", () => {
  assert.equal(loadSignInSettings({ ...BASE, REDIRECT_URI: "http://localhost:53682/" }).redirectUri, "http://localhost:53682");
  assert.throws(() => loadSignInSettings({ ...BASE, REDIRECT_URI: "http://myapp.example/api/auth/callback" }), /REDIRECT_URI/);
});

test("acquiring a token silently needs no redirect URI: only the sign-in does", () => {
  const transferSettings = { CLIENT_ID: "app-id", CLIENT_SECRET: "s3cret-value" };
  const settings = loadAuthSettings(transferSettings);
  assert.equal("redirectUri" in settings, false);
  assert.throws(() => loadSignInSettings(transferSettings), /REDIRECT_URI is not set and WEBSITE_HOSTNAME/);
});

test("a Key Vault reference the platform did not resolve names the cause and the remedy, not a failed sign-in", () => {
  const unresolved = "@Microsoft.KeyVault(VaultName=kv-abc;SecretName=onedrive-client-secret)";
  assert.throws(() => loadAuthSettings({ ...BASE, CLIENT_SECRET: unresolved }), (error: unknown) => {
    assert.ok(error instanceof SettingsError);
    assert.deepEqual(error.problems.map((problem) => problem.split(" ")[0]), ["CLIENT_SECRET"]);
    assert.match(error.message, /still holds its Key Vault reference/);
    assert.match(error.message, /role is not effective yet/);
    assert.match(error.message, /az functionapp restart/);
    assert.doesNotMatch(error.message, /kv-abc|onedrive-client-secret/, "the reference itself is not echoed");
    return true;
  });
});

test("EXPECTED_ACCOUNT is accepted only with a TENANT that names one tenant, whose id the first link must carry", () => {
  assert.equal(loadAuthSettings({ ...BASE, TENANT: "consumers", EXPECTED_ACCOUNT: "owner@outlook.com" }).tenantId, PERSONAL_ACCOUNTS_TENANT_ID);
  const tenantGuid = "72F988BF-86F1-41AF-91AB-2D7CD011DB47";
  assert.equal(loadAuthSettings({ ...BASE, TENANT: tenantGuid, EXPECTED_ACCOUNT: "owner@contoso.com" }).tenantId, tenantGuid.toLowerCase());
  assert.equal(loadAuthSettings({ ...BASE, TENANT: tenantGuid }).tenantId, tenantGuid.toLowerCase(), "the tenant is enforced without EXPECTED_ACCOUNT too");
  for (const tenant of [undefined, "common", "organizations", "contoso.onmicrosoft.com"]) {
    assert.throws(() => loadAuthSettings({ ...BASE, TENANT: tenant, EXPECTED_ACCOUNT: "owner@contoso.com" }), (error: unknown) => {
      assert.ok(error instanceof SettingsError);
      assert.deepEqual(error.problems.map((problem) => problem.split(" ")[0]), ["EXPECTED_ACCOUNT"], `TENANT ${tenant}`);
      assert.match(error.message, /admits accounts of more than one tenant/);
      assert.match(error.message, /consumers .*tenant id \(GUID\)/);
      return true;
    });
  }
});
