import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HttpRequest } from "@azure/functions";
import { loadSignInSettings } from "../../functions/auth/authSettings";
import { FileTokenCacheStore } from "../../functions/auth/fileTokenCacheStore";
import { beginSignIn, completeSignIn } from "../../functions/auth/signInFlow";
import { linkReportFor } from "../../functions/app/productionDependencies";
import { createTransferStatusHandler } from "../../functions/app/transfersHttp";
import type { TransferStatusReport } from "../../functions/app/transferStatus";
import { createTransferWorker } from "../../functions/app/transferWorker";
import { createEngine } from "../../functions/transfer/engineFactory";
import { answerConsent } from "../emulators/identity/consentClient";
import { startAzurite, type AzuriteInstance } from "../support/azurite";
import { OWNER, startSignInWorld, type SignInWorld } from "../auth/support/signInWorld";
import { createAppWorld, invocation, type AppWorld } from "./support/appHarness";

describe("a revoked OneDrive link: the worker stops without retries and the status says relink", () => {
  let azurite: AzuriteInstance;
  let signIn: SignInWorld;
  let world: AppWorld;

  before(async () => {
    azurite = await startAzurite();
    // Access tokens inside MSAL's renewal window: every silent call goes to the token endpoint, as an expired one would.
    signIn = await startSignInWorld({ redirectUris: ["https://connector.example.test/api/auth/callback"], accessTokenLifetimeSeconds: 60 });
    world = await createAppWorld(azurite);
  });
  after(async () => {
    await world?.fixture.close();
    await signIn?.identity.close();
    await azurite?.stop();
  });

  test("the grant is revoked after linking", async () => {
    // Production wiring: no fixed token, so tokens come from the linked account's cache through MSAL.
    const { GRAPH_ACCESS_TOKEN: _fixed, ...storageAndGraph } = world.fixture.settingsEnv;
    const env = { ...storageAndGraph, ...signIn.settings() };
    const settings = loadSignInSettings(env);
    const { authorizeUrl, transaction } = await beginSignIn(settings, settings.redirectUri);
    const redirect = await answerConsent(authorizeUrl, "accept");
    const linked = await completeSignIn(settings, new FileTokenCacheStore(signIn.tokenCacheFile), transaction, {
      code: redirect.searchParams.get("code") ?? undefined,
      state: redirect.searchParams.get("state") ?? undefined,
    });
    assert.equal(linked.ok, true);
    assert.deepEqual(await linkReportFor(env), { linked: true, account: OWNER.username, relinkNeeded: false });

    signIn.identity.revokeRefreshTokens(OWNER.username);
    await world.fixture.putBlob("waiting.txt", "waits for the relink");
    await world.fixture.engine().services.ledger.markQueued("waiting.txt", "etag", new Date());
    await world.queue.send({ kind: "transfer", blob: "waiting.txt" });
    const worker = createTransferWorker({ engineFor: (log) => createEngine(env, { log }), queue: world.queue });
    const [message] = await world.drain();
    await world.deliver(worker, message); // returns: retrying cannot help until someone signs in

    assert.equal(world.fixture.emulator.requests.length, 0, "no Graph request");
    assert.ok(await world.fixture.container.getBlobClient("waiting.txt").exists(), "the blob is untouched");
    const row = await world.fixture.engine().services.ledger.get("waiting.txt");
    assert.equal(row?.queuedAt, undefined, "the next sweep after the relink queues it again");
    assert.notEqual(row?.status, "done");
    assert.match(world.lines.map((line) => line.text).join("\n"), /waiting\.txt: not transferred\..*OneDrive link needs renewing/);

    const status = createTransferStatusHandler({ engineFor: (log) => world.fixture.engine({ log }), queue: world.queue, linkState: () => linkReportFor(env) });
    const report = (await status(new HttpRequest({ method: "GET", url: "https://app.example/api/transfers" }), invocation(world.lines))).jsonBody as TransferStatusReport;
    assert.equal(report.link.linked, false);
    assert.equal(report.link.relinkNeeded, true);
    assert.match("reason" in report.link ? (report.link.reason ?? "") : "", /invalid_grant.*Open \/api\/auth\/login/);
    for (const secret of signIn.identity.issuedSecrets()) assert.ok(!JSON.stringify(report).includes(secret) && !world.lines.some((line) => line.text.includes(secret)), "no token anywhere");
  });
});
