import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { after, before, describe, test } from "node:test";
import { isRestError } from "@azure/core-rest-pipeline";
import { SecretClient } from "@azure/keyvault-secrets";
import { KeyVaultEmulator, startKeyVaultEmulator, VAULT_SCOPE } from "./keyVaultEmulator";
import { emulatorSecretClientOptions } from "./vaultClientOptions";

describe("Key Vault emulator, raw protocol", () => {
  let vault: KeyVaultEmulator;
  let token: string;
  before(async () => {
    vault = await startKeyVaultEmulator();
    token = (await vault.credential.getToken(VAULT_SCOPE))!.token;
  });
  after(() => vault.close());

  test("answers 401 with the challenge before reading a body that has not finished arriving", async () => {
    const response = await new Promise<{ status: number; challenge: string; body: string }>((resolve, reject) => {
      const outgoing = httpsRequest(`${vault.origin}/secrets/pending?api-version=2025-07-01`, { method: "PUT", headers: { "Content-Type": "application/json", "Content-Length": "100000" } }, (incoming) => {
        let body = "";
        incoming.on("data", (chunk: Buffer) => (body += chunk.toString()));
        incoming.on("end", () => resolve({ status: incoming.statusCode ?? 0, challenge: String(incoming.headers["www-authenticate"]), body }));
      });
      outgoing.on("error", reject);
      // Only part of the declared body is sent; a server waiting for all of it would never answer.
      outgoing.write('{"value":"');
    });
    assert.equal(response.status, 401);
    assert.equal(response.challenge, `Bearer authorization="https://login.windows.net/${vault.tenantId}", resource="https://vault.azure.net"`);
    assert.equal(JSON.parse(response.body).error.code, "Unauthorized");
    assert.equal(vault.requests.at(-1)?.bodyBytes, 0);
  });

  test("rejects a token issued for another resource", async () => {
    const other = (await vault.credential.getToken("https://storage.azure.com/.default"))!.token;
    const response = await fetch(`${vault.origin}/secrets/x/?api-version=2025-07-01`, { headers: { Authorization: `Bearer ${other}` } });
    assert.equal(response.status, 401);
  });

  test("requires api-version", async () => {
    const response = await fetch(`${vault.origin}/secrets/x/`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, "BadParameter");
  });

  test("PUT creates a new version each time; GET returns the latest or a named version with a full id URL", async () => {
    const put = (value: string) =>
      fetch(`${vault.origin}/secrets/versioned?api-version=2025-07-01`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ value, contentType: "text/plain", attributes: {} }),
      }).then((response) => response.json() as Promise<{ id: string; value: string }>);
    const first = await put("one");
    const second = await put("two");
    assert.match(first.id, /^https:\/\/onedrive-test\.vault\.azure\.net\/secrets\/versioned\/[0-9a-f]{32}$/);
    assert.notEqual(first.id, second.id);
    assert.equal(vault.versions("versioned").length, 2);
    const latest = (await (await fetch(`${vault.origin}/secrets/versioned/?api-version=2025-07-01`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { value: string };
    assert.equal(latest.value, "two");
    const firstVersion = first.id.split("/").at(-1);
    const older = (await (await fetch(`${vault.origin}/secrets/versioned/${firstVersion}?api-version=2025-07-01`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { value: string };
    assert.equal(older.value, "one");
  });

  test("rejects a value over 25 KB and an invalid name", async () => {
    const big = await fetch(`${vault.origin}/secrets/big?api-version=2025-07-01`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ value: "x".repeat(25 * 1024 + 1) }),
    });
    assert.equal(big.status, 400);
    const badName = await fetch(`${vault.origin}/secrets/bad_name?api-version=2025-07-01`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ value: "v" }),
    });
    assert.equal(badName.status, 400);
    assert.equal(vault.versions("big").length, 0);
  });
});

describe("Key Vault emulator with the real SecretClient", () => {
  let vault: KeyVaultEmulator;
  let client: SecretClient;
  before(async () => {
    vault = await startKeyVaultEmulator();
    client = new SecretClient(vault.vaultUrl, vault.credential, emulatorSecretClientOptions(vault));
  });
  after(() => vault.close());

  test("the challenge flow gets a vault-scoped token for the challenged tenant, then set and get work", async () => {
    await client.setSecret("cache", "serialized-cache", { contentType: "application/json" });
    const secret = await client.getSecret("cache");
    assert.equal(secret.value, "serialized-cache");
    assert.equal(secret.properties.vaultUrl, vault.vaultUrl);
    assert.match(secret.properties.version ?? "", /^[0-9a-f]{32}$/);
    assert.deepEqual(vault.credential.calls[0]?.scopes, [VAULT_SCOPE]);
    assert.equal(vault.credential.calls[0]?.tenantId, vault.tenantId);
    const firstPut = vault.requests.find((entry) => entry.method === "PUT");
    assert.equal(firstPut?.authorized, false, "the SDK's first request is the unauthenticated challenge probe");
    assert.equal(firstPut?.bodyBytes, 0);
  });

  test("an unknown secret is a RestError 404 SecretNotFound", async () => {
    const failure = await client.getSecret("never-written").catch((error: unknown) => error);
    assert.ok(isRestError(failure));
    assert.equal(failure.statusCode, 404);
    assert.equal(failure.code, "SecretNotFound");
  });

  test("a read-only role gets 403 ForbiddenByRbac on set", async () => {
    vault.setRole("secretsUser");
    try {
      const failure = await client.setSecret("cache", "other").catch((error: unknown) => error);
      assert.ok(isRestError(failure));
      assert.equal(failure.statusCode, 403);
      assert.match(JSON.stringify(failure.details), /ForbiddenByRbac/);
      assert.equal((await client.getSecret("cache")).value, "serialized-cache");
    } finally {
      vault.setRole("secretsOfficer");
    }
  });

  test("a 429 with Retry-After is retried by the SDK", async () => {
    vault.throttleNext(1, 1);
    const before429 = vault.requests.length;
    const secret = await client.getSecret("cache");
    assert.equal(secret.value, "serialized-cache");
    const statuses = vault.requests.slice(before429).map((entry) => entry.status);
    assert.deepEqual(statuses, [429, 200]);
  });
});
