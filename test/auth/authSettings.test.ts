import assert from "node:assert/strict";
import { test } from "node:test";
import { loadAuthSettings } from "../../functions/auth/authSettings";
import { SettingsError } from "../../functions/config/settings";

const BASE = { CLIENT_ID: "app-id", CLIENT_SECRET: "s3cret-value", WEBSITE_HOSTNAME: "myapp.azurewebsites.net" };

test("defaults: common tenant, public authority, redirect URI from WEBSITE_HOSTNAME, local file store", () => {
  const settings = loadAuthSettings(BASE);
  assert.equal(settings.authority, "https://login.microsoftonline.com/common");
  assert.equal(settings.redirectUri, "https://myapp.azurewebsites.net/api/auth/callback");
  assert.deepEqual(settings.tokenStore, { kind: "file", filePath: ".onedrive/token-cache.json" });
  assert.equal(settings.expectedAccount, undefined);
});

test("a vault URL selects the Key Vault store with the default secret name; EXPECTED_ACCOUNT is lower-cased", () => {
  const settings = loadAuthSettings({ ...BASE, KEY_VAULT_URL: "https://kv.vault.azure.net/", EXPECTED_ACCOUNT: "Owner@Outlook.com" });
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
    () => loadAuthSettings({ CLIENT_SECRET: "do-not-print-me", TENANT: "not a tenant!", AUTHORITY_HOST: "http://login.example", TOKEN_SECRET_NAME: "bad_name", EXPECTED_ACCOUNT: "nobody" }),
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
  assert.equal(loadAuthSettings({ ...BASE, REDIRECT_URI: "http://localhost:53682/" }).redirectUri, "http://localhost:53682");
  assert.throws(() => loadAuthSettings({ ...BASE, REDIRECT_URI: "http://myapp.example/api/auth/callback" }), /REDIRECT_URI/);
});
