import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HttpRequest } from "@azure/functions";
import { createTransferStatusHandler } from "../../functions/app/transfersHttp";
import type { TransferStatusReport } from "../../functions/app/transferStatus";
import { StaticAccessTokenProvider } from "../../functions/onedrive/accessToken";
import { startAzurite, type AzuriteInstance } from "../support/azurite";
import { startOneDriveEmulator, type GraphPrincipal } from "../emulators/onedrive";
import { createAppWorld, invocation, type AppWorld } from "./support/appHarness";

const PRINCIPALS: Record<string, GraphPrincipal> = {
  "app-all": { kind: "app", appId: "app", tenantId: "t", roles: ["Sites.ReadWrite.All"] },
  "app-selected": { kind: "app", appId: "app", tenantId: "t", roles: ["Sites.Selected"] },
};
const FINANCE = { hostname: "contoso.sharepoint.com", path: "/sites/Finance", displayName: "Finance" };
const LIBRARY = "https://contoso.sharepoint.com/sites/Finance/Shared Documents";

describe("the function app and DEST_DRIVE", () => {
  let azurite: AzuriteInstance;
  let world: AppWorld;

  before(async () => {
    azurite = await startAzurite();
    const probe = await startOneDriveEmulator({ sites: [FINANCE] });
    await probe.close();
    world = await createAppWorld(azurite, { DEST_DRIVE: LIBRARY, DEST_FOLDER: "From Azure" }, {
      principals: (token) => PRINCIPALS[token],
      sites: [FINANCE],
      drives: [{ id: "b!finance-docs", siteId: probe.sites[0].id }],
    });
  });
  after(async () => {
    await world?.fixture.close();
    await azurite?.stop();
  });

  test("an unreachable library: the worker logs it, fails no row, and leaves the blob for the next sweep", async () => {
    await world.fixture.putBlob("report.csv", "a,b");
    await world.fixture.engine().services.ledger.markQueued("report.csv", "etag", new Date());
    await world.queue.send({ kind: "transfer", blob: "report.csv" });
    const worker = world.worker({ engine: { tokenProvider: new StaticAccessTokenProvider("app-selected") } });
    const [message] = await world.drain();
    await world.deliver(worker, message);

    const log = world.lines.map((line) => line.text).join("\n");
    assert.match(log, /report\.csv: not transferred\. DEST_DRIVE ".*Shared Documents" cannot be used: Graph answered 403 accessDenied \(request-id [0-9a-f-]{36}\)/);
    const row = await world.fixture.engine().services.ledger.get("report.csv");
    assert.equal(row?.status, "pending", "the row the queue mark made was neither claimed nor failed");
    assert.equal(row?.claimOwner, undefined);
    assert.equal(row?.lastError, undefined);
    assert.equal(row?.queuedAt, undefined, "the queue mark is cleared, so a sweep queues it again once the grant exists");
    assert.ok(await world.fixture.container.getBlobClient("report.csv").exists());

    const status = createTransferStatusHandler({ ...world.httpDependencies(), engineFor: (log) => world.fixture.engine({ log, tokenProvider: new StaticAccessTokenProvider("app-selected") }) });
    const refused = (await status(new HttpRequest({ method: "GET", url: "https://app.example/api/transfers" }), invocation(world.lines))).jsonBody as TransferStatusReport;
    assert.equal(refused.destination?.kind, "library");
    assert.match(refused.destination?.display ?? "", /^not reachable: DEST_DRIVE .* 403 accessDenied/);
  });

  test("the status endpoint shows the destination as a person reads it", async () => {
    const status = createTransferStatusHandler({ ...world.httpDependencies(), engineFor: (log) => world.fixture.engine({ log, tokenProvider: new StaticAccessTokenProvider("app-all") }) });
    const report = (await status(new HttpRequest({ method: "GET", url: "https://app.example/api/transfers" }), invocation(world.lines))).jsonBody as TransferStatusReport;
    assert.deepEqual(report.destination, { display: "Finance › Documents › From Azure", kind: "library", driveId: "b!finance-docs" });
  });
});
