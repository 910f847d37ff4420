import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { startOneDriveEmulator, type GraphPrincipal, type OneDriveEmulator, type OneDriveEmulatorOptions } from "./index";
import { graph } from "./testClient";

const APP_ID = "11111111-2222-4333-8444-555555555555";
const TENANT_ID = "99999999-8888-4777-8666-555555555555";
const PRINCIPALS: Record<string, GraphPrincipal> = {
  "app-all": { kind: "app", appId: APP_ID, tenantId: TENANT_ID, roles: ["Sites.ReadWrite.All"] },
  "app-selected": { kind: "app", appId: APP_ID, tenantId: TENANT_ID, roles: ["Sites.Selected"] },
  "app-admin": { kind: "app", appId: "admin-app", tenantId: TENANT_ID, roles: ["Sites.FullControl.All"] },
  "jane-own": { kind: "delegated", userId: "jane-id", scopes: ["Files.ReadWrite"] },
  "jane-sites": { kind: "delegated", userId: "jane-id", scopes: ["Files.ReadWrite", "Sites.ReadWrite.All"] },
};

const TENANT: OneDriveEmulatorOptions = {
  principals: (token) => PRINCIPALS[token],
  users: [{ id: "jane-id", userPrincipalName: "jane@contoso.com", displayName: "Jane" }],
  sites: [
    { hostname: "contoso.sharepoint.com", path: "/sites/Finance", displayName: "Finance" },
    { hostname: "contoso.sharepoint.com", path: "/sites/Legal", displayName: "Legal" },
  ],
};

async function withTenant(body: (emulator: OneDriveEmulator) => Promise<void>): Promise<void> {
  const probe = await startOneDriveEmulator(TENANT);
  const [finance, legal] = probe.sites;
  await probe.close();
  const emulator = await startOneDriveEmulator({
    ...TENANT,
    drives: [
      { id: "b!jane", ownerUserId: "jane-id", driveType: "business" },
      { id: "b!finance-docs", siteId: finance.id },
      { id: "b!finance-invoices", siteId: finance.id, name: "Invoices", urlSegment: "Invoices" },
      { id: "b!legal-docs", siteId: legal.id },
    ],
  });
  try {
    await body(emulator);
  } finally {
    await emulator.close();
  }
}

describe("OneDrive emulator: drives, sites and who may reach them", () => {
  test("a site is found by path (with or without the closing ':') and by id; its libraries carry Graph's webUrl", async () => {
    await withTenant(async (emulator) => {
      const byPath = await graph(emulator, "GET", "/sites/contoso.sharepoint.com:/sites/Finance", { token: "app-all" });
      assert.equal(byPath.status, 200, JSON.stringify(byPath.body));
      assert.match(byPath.body.id, /^contoso\.sharepoint\.com,[0-9a-f-]{36},[0-9a-f-]{36}$/);
      assert.deepEqual([byPath.body.displayName, byPath.body.name, byPath.body.webUrl], ["Finance", "Finance", "https://contoso.sharepoint.com/sites/Finance"]);
      const closed = await graph(emulator, "GET", "/sites/contoso.sharepoint.com:/sites/finance:", { token: "app-all" });
      assert.equal(closed.body.id, byPath.body.id, "server-relative paths compare without case");
      const byId = await graph(emulator, "GET", `/sites/${byPath.body.id}?$select=id,displayName`, { token: "app-all" });
      assert.deepEqual(byId.body, { id: byPath.body.id, displayName: "Finance" });

      const drives = await graph(emulator, "GET", `/sites/${byPath.body.id}/drives?$select=id,name,webUrl,driveType`, { token: "app-all" });
      assert.deepEqual(drives.body.value, [
        { id: "b!finance-docs", name: "Documents", webUrl: "https://contoso.sharepoint.com/sites/Finance/Shared%20Documents", driveType: "documentLibrary" },
        { id: "b!finance-invoices", name: "Invoices", webUrl: "https://contoso.sharepoint.com/sites/Finance/Invoices", driveType: "documentLibrary" },
      ]);
      const viaColon = await graph(emulator, "GET", "/sites/contoso.sharepoint.com:/sites/Finance:/drives", { token: "app-all" });
      assert.equal(viaColon.body.value.length, 2);
      const defaultLibrary = await graph(emulator, "GET", `/sites/${byPath.body.id}/drive`, { token: "app-all" });
      assert.equal(defaultLibrary.body.id, "b!finance-docs");
    });
  });

  test("a missing site is 404 itemNotFound; a missing drive or user 404 too", async () => {
    await withTenant(async (emulator) => {
      const site = await graph(emulator, "GET", "/sites/contoso.sharepoint.com:/sites/Nope", { token: "app-all" });
      assert.deepEqual([site.status, site.body.error.code, site.body.error.message], [404, "itemNotFound", "Requested site could not be found"]);
      assert.ok(site.body.error.innerError["request-id"], "Graph errors carry a request id");
      assert.equal((await graph(emulator, "GET", "/drives/b!nope", { token: "app-all" })).status, 404);
      assert.equal((await graph(emulator, "GET", "/users/nobody@contoso.com/drive", { token: "app-all" })).status, 404);
    });
  });

  test("an app token has no /me (400) but reaches users' drives and libraries with Sites.ReadWrite.All", async () => {
    await withTenant(async (emulator) => {
      const me = await graph(emulator, "GET", "/me/drive", { token: "app-all" });
      assert.deepEqual([me.status, me.body.error.code, me.body.error.message], [400, "BadRequest", "/me request is only valid with delegated authentication flow."]);
      const jane = await graph(emulator, "GET", "/users/JANE@contoso.com/drive", { token: "app-all" });
      assert.deepEqual([jane.status, jane.body.id, jane.body.driveType, jane.body.owner.user.email], [200, "b!jane", "business", "jane@contoso.com"]);
      assert.equal(jane.body.webUrl, "https://emulator-my.sharepoint.com/personal/jane_contoso_com/Documents");
      const put = await graph(emulator, "PUT", "/drives/b!legal-docs/root:/a.txt:/content", { token: "app-all", body: "abc" });
      assert.equal(put.status, 201);
      assert.equal(put.body.parentReference.driveType, "documentLibrary");
      assert.equal(emulator.getItem("a.txt", "b!legal-docs")?.size, 3);
      assert.equal(emulator.getItem("a.txt"), undefined, "the default drive is another drive");
    });
  });

  test("Sites.Selected reaches no site until a Sites.FullControl.All caller grants it one, and then only that one", async () => {
    await withTenant(async (emulator) => {
      const [finance, legal] = emulator.sites;
      const before = await graph(emulator, "GET", "/sites/contoso.sharepoint.com:/sites/Finance", { token: "app-selected" });
      assert.deepEqual([before.status, before.body.error.code], [403, "accessDenied"]);
      assert.equal((await graph(emulator, "PUT", "/drives/b!finance-docs/root:/x.txt:/content", { token: "app-selected", body: "x" })).status, 403);

      const grantBody = { roles: ["write"], grantedToIdentities: [{ application: { id: APP_ID, displayName: "onedrive-connector" } }] };
      const refused = await graph(emulator, "POST", `/sites/${finance.id}/permissions`, { token: "app-all", json: grantBody });
      assert.deepEqual([refused.status, refused.body.error.code], [403, "accessDenied"], "Sites.ReadWrite.All cannot grant");
      const granted = await graph(emulator, "POST", `/sites/${finance.id}/permissions`, { token: "app-admin", json: grantBody });
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      assert.deepEqual(granted.body.roles, ["write"]);
      assert.deepEqual(granted.body.grantedToIdentitiesV2, [{ application: { id: APP_ID, displayName: "onedrive-connector" } }]);

      assert.equal((await graph(emulator, "GET", "/sites/contoso.sharepoint.com:/sites/Finance", { token: "app-selected" })).status, 200);
      assert.equal((await graph(emulator, "GET", `/sites/${finance.id}/drives`, { token: "app-selected" })).body.value.length, 2);
      assert.equal((await graph(emulator, "PUT", "/drives/b!finance-docs/root:/x.txt:/content", { token: "app-selected", body: "x" })).status, 201);
      assert.equal((await graph(emulator, "GET", `/sites/${legal.id}`, { token: "app-selected" })).status, 403, "another site stays closed");
      assert.equal((await graph(emulator, "GET", "/users/jane@contoso.com/drive", { token: "app-selected" })).status, 403, "no user's OneDrive either");
    });
  });

  test("a read grant lets Sites.Selected read the library but not write to it", async () => {
    await withTenant(async (emulator) => {
      const [finance] = emulator.sites;
      const grantBody = { roles: ["read"], grantedToIdentities: [{ application: { id: APP_ID, displayName: "reader" } }] };
      assert.equal((await graph(emulator, "POST", `/sites/${finance.id}/permissions`, { token: "app-admin", json: grantBody })).status, 201);
      assert.equal((await graph(emulator, "GET", "/drives/b!finance-docs/root", { token: "app-selected" })).status, 200);
      const write = await graph(emulator, "PUT", "/drives/b!finance-docs/root:/x.txt:/content", { token: "app-selected", body: "x" });
      assert.deepEqual([write.status, write.body.error.code], [403, "accessDenied"]);
    });
  });

  test("delegated tokens reach the user's own drive with Files.ReadWrite, libraries only with a tenant-wide scope", async () => {
    await withTenant(async (emulator) => {
      const own = await graph(emulator, "GET", "/me/drive", { token: "jane-own" });
      assert.deepEqual([own.status, own.body.id], [200, "b!jane"]);
      assert.equal((await graph(emulator, "GET", "/me/drive", { token: emulator.accessToken })).body.id, emulator.defaultDriveId, "the fixed token is the default user");
      assert.equal((await graph(emulator, "GET", "/drives/b!finance-docs/root", { token: "jane-own" })).status, 403);
      assert.equal((await graph(emulator, "GET", "/sites/contoso.sharepoint.com:/sites/Finance", { token: "jane-own" })).status, 403);
      assert.equal((await graph(emulator, "PUT", "/drives/b!finance-docs/root:/j.txt:/content", { token: "jane-sites", body: "j" })).status, 201);
      assert.equal((await graph(emulator, "GET", `/drives/${emulator.defaultDriveId}/root`, { token: "jane-sites" })).status, 403, "another person's OneDrive");
      assert.equal((await graph(emulator, "GET", "/me/drive", { token: "unknown-token" })).status, 401);
    });
  });

  test("a drive spec that names no known site or user, or a second OneDrive for one user, is refused before any server starts", async () => {
    await assert.rejects(startOneDriveEmulator({ ...TENANT, drives: [{ id: "b!x", siteId: "contoso.sharepoint.com,nope,nope" }] }), /siteId .* is not one of the sites/);
    await assert.rejects(startOneDriveEmulator({ ...TENANT, drives: [{ id: "b!x", ownerUserId: "nobody" }] }), /ownerUserId nobody is not one of the users/);
    await assert.rejects(startOneDriveEmulator({ ...TENANT, drives: [{ id: "b!x", ownerUserId: "jane-id" }, { id: "b!y", ownerUserId: "jane-id" }] }), /a user has one OneDrive/);
    await assert.rejects(startOneDriveEmulator({ ...TENANT, drives: [{ id: "b!x" }] }), /either ownerUserId .* or siteId/);
  });

  test("a library's upload session commits into that library", async () => {
    await withTenant(async (emulator) => {
      const created = await graph(emulator, "POST", "/drives/b!finance-invoices/root:/big.bin:/createUploadSession", { token: "app-all", json: { item: {} } });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const bytes = Buffer.alloc(10, 7);
      const put = await fetch(created.body.uploadUrl, { method: "PUT", headers: { "content-range": "bytes 0-9/10" }, body: bytes });
      assert.equal(put.status, 201);
      assert.equal(emulator.getItem("big.bin", "b!finance-invoices")?.size, 10);
      assert.equal(emulator.getItem("big.bin", "b!finance-docs"), undefined);
    });
  });
});
