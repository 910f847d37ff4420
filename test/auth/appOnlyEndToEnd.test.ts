import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AppAccessTokenProvider } from "../../functions/auth/appAccessTokenProvider";
import type { AppAuthSettings } from "../../functions/auth/appAuthSettings";
import { isDestinationError } from "../../functions/onedrive/destinationDrive";
import { IdentityEmulator, MSA_TENANT_ID, startIdentityEmulator } from "../emulators/identity/identityEmulator";
import { startOneDriveEmulator, type GraphPrincipal, type OneDriveEmulatorOptions } from "../emulators/onedrive";
import { azuriteForSuite } from "../support/azurite";
import { loadTestCertificate } from "../support/testCertificate";
import { createTransferFixture } from "../support/transferHarness";

/**
 * App-only end to end: tokens from the identity emulator (through its managed-identity endpoint, or a certificate),
 * accepted by the OneDrive emulator as the app principal they stand for, through the real engine.
 */
const TENANT_ID = "5e5e5e5e-0000-4000-8000-00000000cafe";
const FEDERATED_APP_ID = "aaaaaaaa-0000-4000-8000-000000000002";
const CERTIFICATE_APP_ID = "aaaaaaaa-0000-4000-8000-000000000001";
const FUNCTION_IDENTITY = { clientId: "0d0d0d0d-1111-4000-8000-000000000001", principalId: "0e0e0e0e-2222-4000-8000-000000000002", tenantId: TENANT_ID };
const FINANCE = { hostname: "contoso.sharepoint.com", path: "/sites/Finance", displayName: "Finance" };
const JANE = { id: "99999999-0000-4000-8000-000000000001", userPrincipalName: "jane@contoso.com", displayName: "Jane" };
const ADMIN_TOKEN = "sharepoint-admin-token";
const ADMIN: GraphPrincipal = { kind: "app", appId: "admin-tool", tenantId: TENANT_ID, roles: ["Sites.FullControl.All"] };

async function financeSiteId(): Promise<string> {
  const probe = await startOneDriveEmulator({ sites: [FINANCE] });
  await probe.close();
  return probe.sites[0].id;
}

describe("app-only end to end", () => {
  const suite = azuriteForSuite();
  let identity: IdentityEmulator;
  const certificate = loadTestCertificate();
  const savedEnv = { ...process.env };
  const federatedApp = { clientId: FEDERATED_APP_ID, redirectUris: [], homeTenantId: TENANT_ID, applicationPermissions: ["Sites.Selected"], federatedCredentials: [] as Array<{ issuer: string; subject: string; audiences: string[] }> };

  const tenant = (siteId: string): OneDriveEmulatorOptions => ({
    principals: (token) => (token === ADMIN_TOKEN ? ADMIN : identity.describeAccessToken(token)),
    sites: [FINANCE],
    users: [JANE],
    drives: [
      { id: "b!finance-docs", siteId },
      { id: "b!jane-onedrive", ownerUserId: JANE.id, driveType: "business" },
    ],
  });
  const settings = (clientId: string, credential: AppAuthSettings["credential"]): AppAuthSettings => ({
    clientId,
    tenantId: TENANT_ID,
    authorityHost: identity.origin,
    authority: `${identity.origin}/${TENANT_ID}`,
    graphEndpoint: "https://graph.microsoft.com",
    credential,
  });

  before(async () => {
    identity = await startIdentityEmulator({
      clients: [federatedApp, { clientId: CERTIFICATE_APP_ID, redirectUris: [], homeTenantId: TENANT_ID, certificates: [certificate.certPem], applicationPermissions: ["Files.ReadWrite.All"] }],
      user: { username: "nobody@contoso.com", name: "Nobody", oid: "00000000-0000-0000-aaaa-000000000009", tid: MSA_TENANT_ID },
      managedIdentities: [FUNCTION_IDENTITY],
    });
    federatedApp.federatedCredentials.push({ issuer: identity.managedIdentity!.issuerFor(TENANT_ID), subject: FUNCTION_IDENTITY.principalId, audiences: ["api://AzureADTokenExchange"] });
    process.env.IDENTITY_ENDPOINT = identity.managedIdentity!.endpoint;
    process.env.IDENTITY_HEADER = identity.managedIdentity!.header;
  });
  after(async () => {
    process.env = savedEnv;
    await identity.close();
  });

  test("federated (managed identity) → SharePoint library: refused before any blob without the site grant, uploads once granted", async () => {
    const siteId = await financeSiteId();
    const fixture = suite.closeAfter(
      await createTransferFixture(suite.instance, { DEST_DRIVE: "https://contoso.sharepoint.com/sites/Finance/Shared Documents", DEST_FOLDER: "From Azure" }, tenant(siteId)),
    );
    await fixture.putBlob("q1/report.pdf", "pdf bytes");
    const tokenProvider = new AppAccessTokenProvider(settings(FEDERATED_APP_ID, { kind: "managed-identity", managedIdentityClientId: FUNCTION_IDENTITY.clientId }));

    const refused = await fixture.engine({ tokenProvider }).sweep().catch((error: unknown) => error);
    assert.ok(isDestinationError(refused), String(refused));
    assert.match((refused as Error).message, /403 accessDenied/);
    assert.match((refused as Error).message, /Sites\.Selected/);
    assert.ok((refused as Error).message.includes("az rest --method post --url https://graph.microsoft.com/v1.0/sites/<site-id>/permissions"), "names the grant command");
    assert.ok(await fixture.container.getBlockBlobClient("q1/report.pdf").exists());
    assert.equal((await fixture.engine().services.ledger.readAll()).size, 0, "no ledger row before the grant");

    const grant = await fetch(`${fixture.emulator.graphEndpoint}/v1.0/sites/${siteId}/permissions`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ roles: ["write"], grantedToIdentities: [{ application: { id: FEDERATED_APP_ID, displayName: "onedrive-connector" } }] }),
    });
    assert.equal(grant.status, 201);
    const summary = await fixture.engine({ tokenProvider }).sweep();
    assert.equal(summary.uploaded, 1, JSON.stringify(summary.files));
    assert.equal(fixture.emulator.getItem("From Azure/q1/report.pdf", "b!finance-docs")?.size, 9);
    assert.equal(identity.managedIdentity!.requests.filter((request) => request.status === 200).length, 1, "the managed identity's assertion is cached across runs of this process");
  });

  test("certificate → a user's OneDrive with Files.ReadWrite.All", async () => {
    const siteId = await financeSiteId();
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { DEST_DRIVE: `user:${JANE.userPrincipalName}`, DEST_FOLDER: "From Azure" }, tenant(siteId)));
    await fixture.putBlob("notes.txt", "plain");
    const pem = join(mkdtempSync(join(tmpdir(), "e2e-cert-")), "client.pem");
    writeFileSync(pem, `${certificate.keyPem}\n${certificate.certPem}`, { mode: 0o600 });
    const tokenProvider = new AppAccessTokenProvider(settings(CERTIFICATE_APP_ID, { kind: "certificate", source: { kind: "file", filePath: pem } }));
    const summary = await fixture.engine({ tokenProvider }).sweep();
    assert.equal(summary.uploaded, 1, JSON.stringify(summary.files));
    assert.ok(fixture.emulator.getItem("From Azure/notes.txt", "b!jane-onedrive"));
  });
});
