import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { HttpRequest, InvocationContext, type HttpResponseInit } from "@azure/functions";
import { SecretClient } from "@azure/keyvault-secrets";
import { buildStatusReport } from "../../functions/app/transferStatus";
import { linkReportFor } from "../../functions/app/productionDependencies";
import { createAccessTokenProvider } from "../../functions/auth/accessTokenProvider";
import { AppAccessTokenProvider } from "../../functions/auth/appAccessTokenProvider";
import { loadAppAuthSettings, type AppAuthSettings } from "../../functions/auth/appAuthSettings";
import { BoundedNetworkClient } from "../../functions/auth/boundedNetworkClient";
import { callbackHandler } from "../../functions/auth/callbackHandler";
import { loginHandler } from "../../functions/auth/loginHandler";
import { SettingsError } from "../../functions/config/settings";
import { withCallContext } from "../../functions/http/callContext";
import { isRelinkRequiredError } from "../../functions/auth/relinkRequiredError";
import { IdentityEmulator, MSA_TENANT_ID, startIdentityEmulator } from "../emulators/identity/identityEmulator";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "../emulators/keyvault/keyVaultEmulator";
import { emulatorSecretClientOptions } from "../emulators/keyvault/vaultClientOptions";
import { startScriptedServer } from "../onedrive/scriptedServer";
import { loadTestCertificate } from "../support/testCertificate";

const TENANT_ID = "5e5e5e5e-0000-4000-8000-00000000cafe";
const GRAPH = "https://graph.microsoft.com";
const FUNCTION_IDENTITY = { clientId: "0d0d0d0d-1111-4000-8000-000000000001", principalId: "0e0e0e0e-2222-4000-8000-000000000002", tenantId: TENANT_ID };
const STRAY_IDENTITY = { clientId: "0d0d0d0d-1111-4000-8000-000000000009", principalId: "0e0e0e0e-2222-4000-8000-000000000009", tenantId: TENANT_ID };
const FEDERATED_APP_ID = "aaaaaaaa-0000-4000-8000-000000000002";
const CERTIFICATE_APP_ID = "aaaaaaaa-0000-4000-8000-000000000001";
const OWNER = { username: "owner@contoso.example", name: "Olivia Owner", oid: "00000000-0000-0000-aaaa-000000000001", tid: MSA_TENANT_ID };

function settingsProblems(source: Record<string, string>): string[] {
  try {
    loadAppAuthSettings(source);
    return [];
  } catch (error) {
    assert.ok(error instanceof SettingsError);
    return [...error.problems];
  }
}

describe("app-only settings", () => {
  test("the managed identity is the default credential, and TENANT must be the tenant id", () => {
    const settings = loadAppAuthSettings({ AUTH_MODE: "app", CLIENT_ID: FEDERATED_APP_ID, TENANT: TENANT_ID, AZURE_CLIENT_ID: FUNCTION_IDENTITY.clientId });
    assert.deepEqual(settings.credential, { kind: "managed-identity", managedIdentityClientId: FUNCTION_IDENTITY.clientId });
    assert.equal(settings.authority, `https://login.microsoftonline.com/${TENANT_ID}`);
    const problems = settingsProblems({ AUTH_MODE: "app", CLIENT_ID: FEDERATED_APP_ID, TENANT: "common" });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^TENANT is "common" while AUTH_MODE is app: set the directory \(tenant\) id/);
  });

  test("each credential names the setting it misses", () => {
    const base = { AUTH_MODE: "app", CLIENT_ID: CERTIFICATE_APP_ID, TENANT: TENANT_ID };
    assert.match(settingsProblems({ ...base, APP_CREDENTIAL: "certificate" }).join("\n"), /CLIENT_CERTIFICATE_NAME is not set while APP_CREDENTIAL is certificate/);
    assert.match(settingsProblems({ ...base, APP_CREDENTIAL: "certificate", CLIENT_CERTIFICATE_NAME: "connector-cert" }).join("\n"), /KEY_VAULT_URL is not set but CLIENT_CERTIFICATE_NAME/);
    assert.match(settingsProblems({ ...base, APP_CREDENTIAL: "secret" }).join("\n"), /CLIENT_SECRET is required but not set/);
    assert.match(settingsProblems({ ...base, APP_CREDENTIAL: "password" }).join("\n"), /APP_CREDENTIAL is "password": use one of: managed-identity, certificate, secret/);
    assert.deepEqual(settingsProblems({ ...base, APP_CREDENTIAL: "certificate", CLIENT_CERTIFICATE_NAME: "connector-cert", KEY_VAULT_URL: "https://kv.vault.azure.net" }), []);
  });
});

describe("app-only tokens against the identity emulator", () => {
  let identity: IdentityEmulator;
  let vault: KeyVaultEmulator;
  const certificate = loadTestCertificate();
  const savedEnv = { ...process.env };
  const baseSettings = (credential: AppAuthSettings["credential"], clientId: string): AppAuthSettings => ({
    clientId,
    tenantId: TENANT_ID,
    authorityHost: identity.origin,
    authority: `${identity.origin}/${TENANT_ID}`,
    graphEndpoint: GRAPH,
    credential,
  });
  const clientCredentialRequests = () => identity.requests.filter((entry) => entry.form?.grant_type === "client_credentials").length;

  const federatedApp = { clientId: FEDERATED_APP_ID, redirectUris: [], homeTenantId: TENANT_ID, applicationPermissions: ["Sites.Selected"], federatedCredentials: [] as Array<{ issuer: string; subject: string; audiences: string[] }> };

  before(async () => {
    identity = await startIdentityEmulator({
      clients: [
        federatedApp,
        { clientId: CERTIFICATE_APP_ID, redirectUris: [], homeTenantId: TENANT_ID, applicationPermissions: ["Files.ReadWrite.All"], certificates: [certificate.certPem] },
      ],
      user: OWNER,
      managedIdentities: [FUNCTION_IDENTITY, STRAY_IDENTITY],
    });
    const federated = identity.managedIdentity;
    assert.ok(federated);
    // What `az ad app federated-credential create` records, with the emulator standing in for login.microsoftonline.com.
    federatedApp.federatedCredentials.push({ issuer: federated.issuerFor(TENANT_ID), subject: FUNCTION_IDENTITY.principalId, audiences: ["api://AzureADTokenExchange"] });
    // App Service sets these for the worker process; MSAL's managed-identity client reads them from the environment.
    process.env.IDENTITY_ENDPOINT = federated.endpoint;
    process.env.IDENTITY_HEADER = federated.header;
    vault = await startKeyVaultEmulator({ tenantId: TENANT_ID });
  });
  after(async () => {
    process.env = savedEnv;
    await identity.close();
    await vault.close();
  });

  test("federated: the managed identity's token becomes the assertion, and the app token is cached until near expiry", async () => {
    const provider = new AppAccessTokenProvider(baseSettings({ kind: "managed-identity", managedIdentityClientId: FUNCTION_IDENTITY.clientId }, FEDERATED_APP_ID));
    const before = clientCredentialRequests();
    const token = await provider.getAccessToken();
    assert.deepEqual(identity.describeAccessToken(token), { kind: "app", appId: FEDERATED_APP_ID, tenantId: TENANT_ID, roles: ["Sites.Selected"] });
    assert.equal(await provider.getAccessToken(), token);
    assert.equal(clientCredentialRequests() - before, 1, "the second call is served from memory");
    const managedIdentityCall = identity.managedIdentity!.requests.at(-1)!;
    assert.deepEqual([managedIdentityCall.query.resource, managedIdentityCall.query.client_id], ["api://AzureADTokenExchange", FUNCTION_IDENTITY.clientId]);
    assert.equal(JSON.stringify(provider), '"AppAccessTokenProvider"');
  });

  test("a token within five minutes of expiry is not reused", async () => {
    const shortLived = await startIdentityEmulator({
      clients: [{ clientId: CERTIFICATE_APP_ID, redirectUris: [], homeTenantId: TENANT_ID, certificates: [certificate.certPem] }],
      user: OWNER,
      accessTokenLifetimeSeconds: 240,
    });
    try {
      const file = writePem(`${certificate.keyPem}\n${certificate.certPem}`);
      const provider = new AppAccessTokenProvider({ ...baseSettings({ kind: "certificate", source: { kind: "file", filePath: file } }, CERTIFICATE_APP_ID), authorityHost: shortLived.origin, authority: `${shortLived.origin}/${TENANT_ID}` });
      const first = await provider.getAccessToken();
      const second = await provider.getAccessToken();
      assert.notEqual(first, second);
      assert.equal(shortLived.tokenRequestCount("client_credentials"), 2);
    } finally {
      await shortLived.close();
    }
  });

  test("a federated credential for another identity is refused with the az command that fixes it, and stops the run", async () => {
    const provider = new AppAccessTokenProvider(baseSettings({ kind: "managed-identity", managedIdentityClientId: STRAY_IDENTITY.clientId }, FEDERATED_APP_ID));
    const failure = (await provider.getAccessToken().catch((error: unknown) => error)) as Error;
    assert.equal(failure.name, "AuthConfigurationError");
    assert.ok(isRelinkRequiredError(failure), "tagged so the engine stops before touching a blob");
    assert.match(failure.message, /no federated credential matching this function app's managed identity/);
    assert.match(failure.message, new RegExp(`az ad app federated-credential create --id ${FEDERATED_APP_ID} --parameters '\\{"name":"onedrive-connector-function","issuer":"https://login.microsoftonline.com/${TENANT_ID}/v2.0"`));
    assert.match(failure.message, /AADSTS700213/);
    assert.ok(!identity.issuedSecrets().some((secret) => failure.message.includes(secret)));
  });

  test("certificate from Key Vault: the PEM secret of the certificate's name signs the assertion", async () => {
    const writer = new SecretClient(vault.vaultUrl, vault.credential, emulatorSecretClientOptions(vault));
    await writer.setSecret("connector-cert", `${certificate.keyPem}\n${certificate.certPem}`, { contentType: "application/x-pem-file" });
    await writer.setSecret("pfx-cert", "MIIKZAIBAzCCCiAGCSqGSIb3DQEHAaCCChEEggoNMIIKCTCCBg8GCSqGSIb3DQEHAaCCBgAEggX8MIIF", { contentType: "application/x-pkcs12" });
    const fromVault = (name: string) =>
      new AppAccessTokenProvider(baseSettings({ kind: "certificate", source: { kind: "keyVault", vaultUrl: vault.vaultUrl, secretName: name } }, CERTIFICATE_APP_ID), {
        keyVaultCredential: vault.credential,
        keyVaultClientOptions: emulatorSecretClientOptions(vault),
      });
    const token = await fromVault("connector-cert").getAccessToken();
    assert.deepEqual(identity.describeAccessToken(token), { kind: "app", appId: CERTIFICATE_APP_ID, tenantId: TENANT_ID, roles: ["Files.ReadWrite.All"] });
    const pfx = (await fromVault("pfx-cert").getAccessToken().catch((error: unknown) => error)) as Error;
    assert.match(pfx.message, /stored as application\/x-pkcs12; the app reads PEM only: create the certificate with the policy's contentType set to application\/x-pem-file/);
    const missing = (await fromVault("no-such-cert").getAccessToken().catch((error: unknown) => error)) as Error;
    assert.match(missing.message, /no certificate of that name exists in the vault/);
    assert.equal(missing.name, "AuthConfigurationError");
  });

  test("a certificate file whose key belongs to another certificate is refused before any token request", async () => {
    const { generate } = await import("selfsigned");
    const other = await generate([{ name: "commonName", value: "other" }], { keySize: 2048, algorithm: "sha256" });
    const file = writePem(`${other.private}\n${certificate.certPem}`);
    const before = clientCredentialRequests();
    const failure = (await new AppAccessTokenProvider(baseSettings({ kind: "certificate", source: { kind: "file", filePath: file } }, CERTIFICATE_APP_ID)).getAccessToken().catch((error: unknown) => error)) as Error;
    assert.match(failure.message, /the private key does not belong to the certificate/);
    assert.ok(!failure.message.includes("PRIVATE KEY"), "the PEM never appears in a message");
    assert.equal(clientCredentialRequests(), before);
  });

  test("an unregistered certificate is refused with the command that uploads it", async () => {
    const { generate } = await import("selfsigned");
    const other = await generate([{ name: "commonName", value: "unregistered" }], { keySize: 2048, algorithm: "sha256" });
    const file = writePem(`${other.private}\n${other.cert}`);
    const failure = (await new AppAccessTokenProvider(baseSettings({ kind: "certificate", source: { kind: "file", filePath: file } }, CERTIFICATE_APP_ID)).getAccessToken().catch((error: unknown) => error)) as Error;
    assert.match(failure.message, new RegExp(`az ad app credential reset --id ${CERTIFICATE_APP_ID} --cert @<certificate.pem> --append`));
  });

  test("an aborted invocation ends the token request with its own reason", async () => {
    const provider = new AppAccessTokenProvider(baseSettings({ kind: "managed-identity", managedIdentityClientId: FUNCTION_IDENTITY.clientId }, FEDERATED_APP_ID));
    const controller = new AbortController();
    controller.abort(new Error("invocation deadline passed"));
    const failure = (await withCallContext({ signal: controller.signal }, () => provider.getAccessToken()).catch((error: unknown) => error)) as Error;
    assert.equal(failure.message, "invocation deadline passed");
  });

  test("AUTH_MODE=app selects the app-only provider", () => {
    const env = { AUTH_MODE: "app", CLIENT_ID: FEDERATED_APP_ID, TENANT: TENANT_ID, AZURE_CLIENT_ID: FUNCTION_IDENTITY.clientId, AUTHORITY_HOST: identity.origin };
    assert.ok(createAccessTokenProvider(env) instanceof AppAccessTokenProvider);
  });

});

describe("app mode around the transfers", () => {
  const env = { AUTH_MODE: "app", CLIENT_ID: FEDERATED_APP_ID, TENANT: TENANT_ID, AZURE_CLIENT_ID: FUNCTION_IDENTITY.clientId };

  test("the status names the app identity and never asks for a relink", async () => {
    const link = await linkReportFor(env);
    assert.deepEqual([link.linked, link.relinkNeeded], [true, false]);
    const report = buildStatusReport({ container: "outbox", records: [], link, lastSweep: undefined, queue: { name: "q" }, now: Date.parse("2026-12-06T00:00:00Z") });
    assert.deepEqual(report.identity, { mode: "app", display: "app aaaa… via managed identity (federated)" });
    assert.equal((report.link as { identity?: unknown }).identity, undefined, "identity is reported once, at the top");
    const delegated = buildStatusReport({ container: "outbox", records: [], link: { linked: false, account: OWNER.username, relinkNeeded: true }, lastSweep: undefined, queue: { name: "q" }, now: 0 });
    assert.deepEqual(delegated.identity, { mode: "delegated", display: OWNER.username });
  });

  test("login and callback answer that the app runs without sign-in, and set no cookie", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const context = new InvocationContext({ functionName: "test", logHandler: () => undefined });
      for (const [handler, url] of [[loginHandler, "https://app.example/api/auth/login"], [callbackHandler, "https://app.example/api/auth/callback?code=x&state=y"]] as const) {
        const response: HttpResponseInit = await handler(new HttpRequest({ method: "GET", url }), context);
        assert.equal(response.status, 404);
        assert.match(String(response.body), /runs without sign-in \(AUTH_MODE=app\)/);
        assert.equal((response.headers as Record<string, string>).Location, undefined);
        assert.ok(!(response.cookies ?? []).some((cookie) => cookie.value !== ""), "no sign-in transaction is started");
      }
      process.env.AUTH_MODE = "apps";
      const logged: string[] = [];
      const logging = new InvocationContext({ functionName: "test", logHandler: (_level, ...args) => logged.push(args.join(" ")) });
      const misconfigured = await loginHandler(new HttpRequest({ method: "GET", url: "https://app.example/api/auth/login" }), logging);
      assert.equal(misconfigured.status, 500);
      assert.match(logged.join("\n"), /AUTH_MODE is "apps": use one of: delegated, app/);
    } finally {
      process.env = saved;
    }
  });
});

test("the identity transport gives up on an endpoint that never answers", async () => {
  const silent = await startScriptedServer(() => "hang");
  try {
    await assert.rejects(new BoundedNetworkClient(200).sendPostRequestAsync(`${silent.origin}/tenant/oauth2/v2.0/token`, { body: "grant_type=client_credentials" }), (error: Error) => error.name === "TimeoutError");
  } finally {
    await silent.close();
  }
});

function writePem(text: string): string {
  const directory = mkdtempSync(join(tmpdir(), "app-cert-"));
  const file = join(directory, "client.pem");
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}
