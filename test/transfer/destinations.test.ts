import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { destinationDriveKey } from "../../functions/config/destinationDriveSetting";
import { StaticAccessTokenProvider } from "../../functions/onedrive/accessToken";
import { isDestinationError } from "../../functions/onedrive/destinationDrive";
import { createStorageClients } from "../../functions/storage/storageClients";
import { tableLibraryCache } from "../../functions/transfer/destinationCache";
import { startOneDriveEmulator, type GraphPrincipal, type OneDriveEmulatorOptions } from "../emulators/onedrive";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, type TransferFixture } from "../support/transferHarness";

const CLI = join(__dirname, "..", "..", "functions", "cli", "transferCommand.js");
const APP_ID = "11111111-2222-4333-8444-555555555555";
const DEFAULT_USER_ID = "00000000-0000-4000-8000-000000000001";
const PRINCIPALS: Record<string, GraphPrincipal> = {
  "delegated-sites": { kind: "delegated", userId: DEFAULT_USER_ID, scopes: ["Files.ReadWrite", "Sites.ReadWrite.All"] },
  "delegated-files-all": { kind: "delegated", userId: DEFAULT_USER_ID, scopes: ["Files.ReadWrite.All"] },
  "app-all": { kind: "app", appId: APP_ID, tenantId: "t", roles: ["Sites.ReadWrite.All"] },
  "app-selected": { kind: "app", appId: APP_ID, tenantId: "t", roles: ["Sites.Selected"] },
};
const FINANCE = { hostname: "contoso.sharepoint.com", path: "/sites/Finance", displayName: "Finance" };

function sharepointTenant(financeId: string): OneDriveEmulatorOptions {
  return {
    principals: (token) => PRINCIPALS[token],
    sites: [FINANCE],
    drives: [
      { id: "b!finance-docs", siteId: financeId },
      { id: "b!finance-invoices", siteId: financeId, name: "Invoices", urlSegment: "Invoices" },
    ],
  };
}

/** Site ids are derived from hostname and path, so a first emulator tells the drives which site they belong to. */
async function financeSiteId(): Promise<string> {
  const probe = await startOneDriveEmulator({ sites: [FINANCE] });
  await probe.close();
  return probe.sites[0].id;
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: mkdtempSync(join(tmpdir(), "cli-")), env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** Nothing of the source or the ledger was touched: blobs all there, no ledger row, no upload request. */
async function assertUntouched(fixture: TransferFixture, blobs: string[]): Promise<void> {
  for (const blob of blobs) assert.ok(await fixture.container.getBlockBlobClient(blob).exists(), `${blob} still in the source`);
  const rows = await fixture.engine().services.ledger.readAll();
  assert.equal(rows.size, 0, "no ledger row claimed or written");
  assert.equal(fixture.emulator.requests.filter((request) => request.origin === "upload" || /createUploadSession|\/content|\/children/.test(request.url)).length, 0);
}

describe("DEST_DRIVE: where files go", () => {
  const suite = azuriteForSuite();

  test("delegated → business OneDrive: hash late, a rewrite is a warning, the rewritten blob is not deleted", async () => {
    const fixture = suite.closeAfter(
      await createTransferFixture(suite.instance, { DEST_DRIVE: "me", DEST_FOLDER: "From Azure", AFTER_TRANSFER: "delete" }, { driveType: "business", rewriteOnCommit: true, hashMissingForGets: 1 }),
    );
    await fixture.putBlob("report.docx", "office bytes");
    await fixture.putBlob("notes.txt", "plain");
    const engine = fixture.engine();
    const summary = await engine.sweep();
    assert.equal(summary.uploaded, 2, JSON.stringify(summary.files));
    const docx = summary.files.find((file) => file.blob === "report.docx");
    assert.match(docx?.warning ?? "", /rewrites Office and JPEG files on a business drive/);
    assert.ok(await fixture.container.getBlockBlobClient("report.docx").exists(), "a file accepted with a warning keeps its blob");
    assert.equal(await fixture.container.getBlockBlobClient("notes.txt").exists(), false, "a verified file's blob is deleted");
    const destination = await engine.destination();
    assert.deepEqual([destination.display, destination.kind, destination.driveType], ["OneDrive (me) › From Azure", "me", "business"]);
    assert.ok(fixture.emulator.getItem("From Azure/notes.txt"));
    assert.ok(fixture.log.lines.some((line) => line.startsWith("info: Files go to OneDrive (me) › From Azure")), fixture.log.lines.join("\n"));
  });

  test("the 400-character rule counts a business drive's own location before any upload", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, {}, { driveType: "business" }));
    // 390 characters fit a personal drive; here "/personal/user_emulator_invalid/Documents/" comes first.
    const longName = `${"d".repeat(200)}/${"f".repeat(185)}.txt`;
    await fixture.putBlob(longName, "x");
    const summary = await fixture.engine().sweep();
    assert.equal(summary.failed, 1);
    assert.match(summary.files[0].error ?? "", /the path is 431 characters counted as SharePoint counts it, from the site and library \("personal\/user_emulator_invalid\/Documents\/…"\); the rule is a whole decoded path under 400 characters/);
    assert.equal(fixture.emulator.requests.filter((request) => request.origin === "upload" || request.url.includes("createUploadSession")).length, 0);
  });

  test("a library named by its browser URL: files land there, the display reads site › library › folder, and a second process makes no /sites call", async () => {
    const siteId = await financeSiteId();
    const fixture = suite.closeAfter(
      await createTransferFixture(
        suite.instance,
        { DEST_DRIVE: "https://contoso.sharepoint.com/sites/Finance/Shared%20Documents/Forms/AllItems.aspx", DEST_FOLDER: "From Azure", GRAPH_ACCESS_TOKEN: "app-all" },
        sharepointTenant(siteId),
      ),
    );
    await fixture.putBlob("q1/report.pdf", "pdf bytes");
    const tokenProvider = new StaticAccessTokenProvider("app-all");
    const first = fixture.engine({ tokenProvider });
    const summary = await first.sweep();
    assert.equal(summary.uploaded, 1, JSON.stringify(summary.files));
    assert.equal(fixture.emulator.getItem("From Azure/q1/report.pdf", "b!finance-docs")?.size, 9);
    assert.equal(fixture.emulator.getItem("From Azure/q1/report.pdf"), undefined, "not in the default drive");
    const destination = await first.destination();
    assert.deepEqual([destination.display, destination.kind, destination.driveId], ["Finance › Documents › From Azure", "library", "b!finance-docs"]);
    assert.ok(fixture.emulator.requests.some((request) => request.url.startsWith("/v1.0/sites/contoso.sharepoint.com:/sites/Finance")));

    fixture.emulator.clearRequests();
    await fixture.putBlob("q2/report.pdf", "more pdf");
    const second = fixture.engine({ tokenProvider });
    assert.equal((await second.sweep()).uploaded, 1);
    assert.equal((await second.destination()).display, "Finance › Documents › From Azure", "the display survives the cache");
    assert.deepEqual(fixture.emulator.requests.filter((request) => request.url.startsWith("/v1.0/sites")).map((request) => request.url), [], "resolved from the cached row");
    assert.ok(fixture.emulator.requests.some((request) => request.url.startsWith("/v1.0/drives/b!finance-docs?")), "the cached drive is checked with one GET");
  });

  test("user:<UPN> and drive:<id> reach that drive; the display names it", async () => {
    const siteId = await financeSiteId();
    const tenant = sharepointTenant(siteId);
    const withJane: OneDriveEmulatorOptions = {
      ...tenant,
      users: [{ id: "jane-id", userPrincipalName: "jane@contoso.com", displayName: "Jane" }],
      drives: [...(tenant.drives ?? []), { id: "b!jane", ownerUserId: "jane-id", driveType: "business" }],
    };
    const toUser = suite.closeAfter(await createTransferFixture(suite.instance, { DEST_DRIVE: "user:Jane@Contoso.com", DEST_FOLDER: "From Azure", GRAPH_ACCESS_TOKEN: "app-all" }, withJane));
    await toUser.putBlob("u.txt", "for jane");
    const userEngine = toUser.engine({ tokenProvider: new StaticAccessTokenProvider("app-all") });
    assert.equal((await userEngine.sweep()).uploaded, 1);
    assert.ok(toUser.emulator.getItem("From Azure/u.txt", "b!jane"));
    assert.deepEqual([(await userEngine.destination()).display, (await userEngine.destination()).driveId], ["OneDrive of Jane@Contoso.com › From Azure", "b!jane"]);

    const toDrive = suite.closeAfter(await createTransferFixture(suite.instance, { DEST_DRIVE: "drive:b!finance-invoices", GRAPH_ACCESS_TOKEN: "app-all" }, withJane));
    await toDrive.putBlob("d.txt", "for the invoices library");
    const driveEngine = toDrive.engine({ tokenProvider: new StaticAccessTokenProvider("app-all") });
    assert.equal((await driveEngine.sweep()).uploaded, 1);
    assert.ok(toDrive.emulator.getItem("d.txt", "b!finance-invoices"));
    assert.equal((await driveEngine.destination()).display, "Invoices (drive b!finance-invoices) › (root)");
  });

  test("a signed-in account reaches a library with Sites.ReadWrite.All; Files.ReadWrite.All alone cannot look the site up", async () => {
    const siteId = await financeSiteId();
    const url = "https://contoso.sharepoint.com/sites/Finance/Shared Documents";
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { DEST_DRIVE: url }, sharepointTenant(siteId)));
    await fixture.putBlob("signed-in.txt", "by a person");
    assert.equal((await fixture.engine({ tokenProvider: new StaticAccessTokenProvider("delegated-sites") }).sweep()).uploaded, 1);
    assert.ok(fixture.emulator.getItem("signed-in.txt", "b!finance-docs"));

    const narrow = suite.closeAfter(await createTransferFixture(suite.instance, { DEST_DRIVE: url }, sharepointTenant(siteId)));
    await narrow.putBlob("narrow.txt", "refused");
    await assert.rejects(narrow.engine({ tokenProvider: new StaticAccessTokenProvider("delegated-files-all") }).sweep(), /403 accessDenied .*looking a site up by URL also needs Sites\.Read\.All or more/);
    await assertUntouched(narrow, ["narrow.txt"]);
  });

  test("a cached library whose drive answers 404 is dropped and resolved again", async () => {
    const siteId = await financeSiteId();
    const libraryUrl = "https://contoso.sharepoint.com/sites/Finance/Invoices";
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { DEST_DRIVE: libraryUrl, GRAPH_ACCESS_TOKEN: "app-all" }, sharepointTenant(siteId)));
    const table = createStorageClients(fixture.settings.storage).tableClient(fixture.settings.ledgerTable);
    await table.createTable();
    const cache = tableLibraryCache(table, () => undefined);
    const key = destinationDriveKey(fixture.settings.destDrive);
    await cache.set(key, { driveId: "b!deleted-library", siteDisplayName: "Finance" });
    await fixture.putBlob("inv.csv", "1,2");
    const engine = fixture.engine({ tokenProvider: new StaticAccessTokenProvider("app-all") });
    assert.equal((await engine.sweep()).uploaded, 1);
    assert.equal((await engine.destination()).driveId, "b!finance-invoices");
    assert.ok(fixture.emulator.getItem("inv.csv", "b!finance-invoices"));
    assert.equal((await cache.get(key))?.driveId, "b!finance-invoices", "the row now holds the drive found again");
  });

  for (const wrong of [
    { name: "a wrong site", url: "https://contoso.sharepoint.com/sites/Finanse/Shared Documents", token: "app-all", message: /DEST_DRIVE "https:\/\/contoso\.sharepoint\.com\/sites\/Finanse\/Shared Documents" cannot be used: Graph answered 404 itemNotFound \(request-id [0-9a-f-]{36}\) for the site contoso\.sharepoint\.com\/sites\/Finanse\. Check the URL's spelling/ },
    { name: "a library the site does not have", url: "https://contoso.sharepoint.com/sites/Finance/Reports", token: "app-all", message: /DEST_DRIVE ".*\/Reports" names no document library of the site "Finance": its libraries are Documents \(https:\/\/contoso\.sharepoint\.com\/sites\/Finance\/Shared%20Documents\), Invoices/ },
    { name: "a site not granted to a Sites.Selected app", url: "https://contoso.sharepoint.com/sites/Finance/Shared Documents", token: "app-selected", message: /Graph answered 403 accessDenied \(request-id [0-9a-f-]{36}\) for the site .*Check the permission: with Sites\.Selected an administrator must grant this app write on the site/ },
  ]) {
    test(`${wrong.name}: the run fails before any blob is touched, naming DEST_DRIVE and Graph's answer`, async () => {
      const siteId = await financeSiteId();
      const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { DEST_DRIVE: wrong.url, GRAPH_ACCESS_TOKEN: wrong.token }, sharepointTenant(siteId)));
      await fixture.putBlob("keep.txt", "untouched");
      await assert.rejects(fixture.engine({ tokenProvider: new StaticAccessTokenProvider(wrong.token) }).sweep(), (error: unknown) => {
        assert.ok(isDestinationError(error), String(error));
        assert.match((error as Error).message, wrong.message);
        return true;
      });
      await assert.rejects(fixture.engine({ tokenProvider: new StaticAccessTokenProvider(wrong.token) }).transferBlob("keep.txt"), (error: unknown) => isDestinationError(error));
      await assertUntouched(fixture, ["keep.txt"]);
    });
  }

  test("an app token with DEST_DRIVE me is told that app-only runs have no /me", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { GRAPH_ACCESS_TOKEN: "app-all" }, { principals: (token) => PRINCIPALS[token] }));
    await fixture.putBlob("a.txt", "a");
    await assert.rejects(fixture.engine({ tokenProvider: new StaticAccessTokenProvider("app-all") }).sweep(), /DEST_DRIVE "me" cannot be used: Graph answered 400 BadRequest .*app-only tokens have none; name the drive with user:<UPN>/);
    await assertUntouched(fixture, ["a.txt"]);
  });

  test("the CLI names the destination in its summary and --json, and exits 2 for an unreachable one", async () => {
    const siteId = await financeSiteId();
    const fixture = suite.closeAfter(
      await createTransferFixture(suite.instance, { DEST_DRIVE: "https://contoso.sharepoint.com/sites/Finance/Shared Documents/", DEST_FOLDER: "From Azure", GRAPH_ACCESS_TOKEN: "app-all" }, sharepointTenant(siteId)),
    );
    await fixture.putBlob("one.txt", "1");
    const human = await runCli([], fixture.settingsEnv);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^destination Finance › Documents › From Azure$/m);
    await fixture.putBlob("two.txt", "2");
    const json = await runCli(["--json"], fixture.settingsEnv);
    assert.deepEqual(JSON.parse(json.stdout).destination, { display: "Finance › Documents › From Azure", kind: "library", driveId: "b!finance-docs" });

    await fixture.putBlob("three.txt", "3");
    const refused = await runCli(["--json"], { ...fixture.settingsEnv, GRAPH_ACCESS_TOKEN: "app-selected" });
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stdout, "");
    assert.match(refused.stderr, /DEST_DRIVE ".*" cannot be used: Graph answered 403 accessDenied/);
    assert.ok(await fixture.container.getBlockBlobClient("three.txt").exists());
    assert.equal(fixture.emulator.getItem("From Azure/three.txt", "b!finance-docs"), undefined);
  });
});
