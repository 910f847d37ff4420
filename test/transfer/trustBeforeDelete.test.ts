import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { uploadUrlSealFor } from "../../functions/transfer/uploadUrlTrust";
import { quickXorHashBase64 } from "../emulators/onedrive/quickXorHash";
import type { OneDriveEmulatorOptions } from "../emulators/onedrive";
import { azuriteForSuite } from "../support/azurite";
import { loadTestCertificate } from "../support/testCertificate";
import { createTransferFixture, FRAGMENT, randomContent, type TransferFixture } from "../support/transferHarness";

/** A blob this size takes an upload session (past the small-file batch limit) in one fragment. */
const ONE_FRAGMENT_FILE = 200_000;

describe("nothing unverified is deleted; bytes go only to upload URLs received from Graph", () => {
  const suite = azuriteForSuite();

  async function fixtureWith(env: Record<string, string>, emulatorOptions: OneDriveEmulatorOptions = {}): Promise<TransferFixture> {
    return suite.closeAfter(await createTransferFixture(suite.instance, env, emulatorOptions));
  }

  async function blobExists(fixture: TransferFixture, name: string): Promise<boolean> {
    return fixture.container.getBlobClient(name).exists();
  }

  /** Item GETs by id, the read-back of a committed file. */
  function itemGetsById(fixture: TransferFixture): number {
    return fixture.emulator.requests.filter((request) => request.method === "GET" && /\/items\/[^/:?]+(\?|$)/.test(request.url)).length;
  }

  test("personal drive: a .jpg OneDrive holds truncated fails, and AFTER_TRANSFER=delete keeps the blob", async () => {
    const fixture = await fixtureWith({ AFTER_TRANSFER: "delete" });
    const content = randomContent(ONE_FRAGMENT_FILE);
    await fixture.putBlob("photos/holiday.jpg", content);
    let truncated = false;
    // Another writer leaves a truncated copy at the destination between the commit and the read-back.
    fixture.emulator.addFaults([
      {
        kind: "slowResponse",
        target: "graph",
        delayMs: 0,
        match: (request) => {
          if (truncated || request.method !== "GET" || !/\/items\/[^/:?]+$/.test(request.url.split("?")[0])) return false;
          truncated = true;
          fixture.emulator.putFile("photos/holiday.jpg", content.subarray(0, content.length - 12));
          return true;
        },
      },
    ]);
    const outcome = await fixture.engine().transferBlob("photos/holiday.jpg");
    assert.ok(truncated, "the read-back reached OneDrive");
    assert.equal(outcome.status, "failed", outcome.warning ?? "");
    assert.match(outcome.error ?? "", /does not match the blob.*199988 bytes/s);
    assert.ok(await blobExists(fixture, "photos/holiday.jpg"), "the blob is kept");
    const row = await fixture.engine().services.ledger.get("photos/holiday.jpg");
    assert.equal(row?.status, "failed");
  });

  test("business drive: a .docx SharePoint rewrote is accepted with a warning, and AFTER_TRANSFER=delete keeps the blob", async () => {
    const fixture = await fixtureWith({ AFTER_TRANSFER: "delete" }, { driveType: "business", rewriteOnCommit: true });
    await fixture.putBlob("reports/q3.docx", randomContent(ONE_FRAGMENT_FILE));
    const outcome = await fixture.engine().transferBlob("reports/q3.docx");
    assert.equal(outcome.status, "uploaded", outcome.error ?? "");
    assert.match(outcome.warning ?? "", /SharePoint rewrites.*business.*AFTER_TRANSFER=delete was not applied/s);
    assert.ok(await blobExists(fixture, "reports/q3.docx"), "the blob is kept");
    const row = await fixture.engine().services.ledger.get("reports/q3.docx");
    assert.equal(row?.status, "done");
    assert.equal(row?.afterTransferDone, false);
    assert.match(row?.warning ?? "", /SharePoint rewrites/);
  });

  test("business drive: a hash that appears late is asked for again, verified, and the blob deleted", async () => {
    const fixture = await fixtureWith({ AFTER_TRANSFER: "delete" }, { driveType: "business", hashMissingForGets: 2 });
    await fixture.putBlob("data/late-hash.bin", randomContent(ONE_FRAGMENT_FILE));
    const outcome = await fixture.engine().transferBlob("data/late-hash.bin");
    assert.equal(outcome.status, "uploaded", outcome.error ?? "");
    assert.equal(outcome.warning, undefined);
    assert.equal(await blobExists(fixture, "data/late-hash.bin"), false, "the verified blob is deleted");
    assert.equal(itemGetsById(fixture), 3, "the read-back and two more asks");
    assert.deepEqual(fixture.sleeps, [1_000, 2_000], "the engine's own sleep spaces the asks");
    const row = await fixture.engine().services.ledger.get("data/late-hash.bin");
    assert.equal(row?.afterTransferDone, true);
  });

  test("business drive: a hash that never appears leaves the file unverified, with a warning, and the blob kept", async () => {
    const fixture = await fixtureWith({ AFTER_TRANSFER: "archive" }, { driveType: "business", hashMissingForGets: 1_000 });
    await fixture.putBlob("data/no-hash.bin", randomContent(ONE_FRAGMENT_FILE));
    const outcome = await fixture.engine().transferBlob("data/no-hash.bin");
    assert.equal(outcome.status, "uploaded", outcome.error ?? "");
    assert.match(outcome.warning ?? "", /no quickXorHash.*only the size.*AFTER_TRANSFER=archive was not applied/s);
    assert.ok(await blobExists(fixture, "data/no-hash.bin"), "the blob is kept");
    assert.equal(await fixture.blobService.getContainerClient(fixture.settings.archiveContainer).exists(), false, "nothing archived");
    assert.equal(itemGetsById(fixture), 5, "asked a bounded number of times");
    assert.deepEqual(fixture.sleeps, [1_000, 2_000, 4_000, 8_000]);
    const row = await fixture.engine().services.ledger.get("data/no-hash.bin");
    assert.equal(row?.afterTransferDone, false);
    assert.match(row?.warning ?? "", /no quickXorHash/);
  });

  test("a ledger row whose upload URL was changed to another host: no byte reaches it, a new session is used", async () => {
    const fixture = await fixtureWith({ AFTER_TRANSFER: "delete", FRAGMENT_SIZE_MB: "1" });
    const attacker = suite.closeAfter(await startForgingUploadHost());
    const content = randomContent(3 * FRAGMENT + 1_000);
    await fixture.putBlob("big/redirected.bin", content);
    const engine = fixture.engine({ uploadUrlSeal: uploadUrlSealFor(fixture.settingsEnv) });
    const first = await engine.transferBlob("big/redirected.bin", { deadline: 0 });
    assert.equal(first.status, "incomplete");
    const recorded = await engine.services.ledger.get("big/redirected.bin");
    assert.ok(recorded?.uploadUrl && recorded.uploadUrlSeal, "the session and its seal are recorded");

    // The genuine URL's seal stays; only the URL is redirected.
    await engine.services.ledger.merge("big/redirected.bin", { uploadUrl: `${attacker.origin}/up/stolen?tempauth=x` });
    const outcome = await engine.transferBlob("big/redirected.bin");
    assert.equal(outcome.status, "uploaded", outcome.error ?? "");
    assert.equal(attacker.requests.length, 0, "nothing was sent to the altered URL");
    assert.ok(fixture.emulator.getItem("big/redirected.bin")?.content?.equals(content), "OneDrive holds the blob's bytes");
    assert.equal(await blobExists(fixture, "big/redirected.bin"), false, "verified, then deleted");
    const warning = fixture.log.lines.find((line) => line.includes("no valid seal"));
    assert.match(warning ?? "", /^warn: big\/redirected\.bin: .*starting a new upload session/);
    assert.ok(!fixture.log.lines.some((line) => line.includes(attacker.origin)), "the URL (a credential) is never logged");

    // A URL recorded without any seal is not contacted either.
    await fixture.putBlob("big/unsealed.bin", content);
    assert.equal((await engine.transferBlob("big/unsealed.bin", { deadline: 0 })).status, "incomplete");
    await engine.services.ledger.merge("big/unsealed.bin", { uploadUrl: `${attacker.origin}/up/unsealed?tempauth=x`, uploadUrlSeal: undefined });
    assert.equal((await engine.transferBlob("big/unsealed.bin")).status, "uploaded");
    assert.equal(attacker.requests.length, 0);
  });

  for (const forgery of ["an item id OneDrive does not hold", "the id of an identical file elsewhere", "the id of another file"] as const) {
    test(`an upload host answering "completed" with ${forgery} is never recorded done, and the blob is kept`, async () => {
      const fixture = await fixtureWith({ AFTER_TRANSFER: "delete", FRAGMENT_SIZE_MB: "1" });
      const content = randomContent(3 * FRAGMENT + 1_000);
      await fixture.putBlob("forged/answer.bin", content);
      const elsewhere = fixture.emulator.putFile("elsewhere/copy.bin", forgery === "the id of another file" ? randomContent(10) : content);
      const forgedId = forgery === "an item id OneDrive does not hold" ? "01FORGEDITEMID" : elsewhere.id;
      const host = suite.closeAfter(await startForgingUploadHost({
        id: forgedId, name: "answer.bin", size: content.length, parentReference: { driveType: "personal", path: "/drive/root:/forged" },
        file: { hashes: { quickXorHash: quickXorHashBase64(content) } },
      }));
      const seal = uploadUrlSealFor(fixture.settingsEnv);
      const engine = fixture.engine({ uploadUrlSeal: seal });
      assert.equal((await engine.transferBlob("forged/answer.bin", { deadline: 0 })).status, "incomplete");
      // A host this deployment trusts (its URL is sealed) that answers falsely.
      const hostUrl = `${host.origin}/up/session?tempauth=x`;
      await engine.services.ledger.merge("forged/answer.bin", { uploadUrl: hostUrl, uploadUrlSeal: seal.seal(hostUrl) });

      const outcome = await engine.transferBlob("forged/answer.bin");
      assert.ok(host.requests.some((request) => request.method === "PUT"), "the sealed URL was used");
      assert.equal(outcome.status, "failed", outcome.warning ?? "");
      assert.match(outcome.error ?? "", forgery === "an item id OneDrive does not hold" ? /does not hold/ : /does not match the blob/);
      assert.ok(await blobExists(fixture, "forged/answer.bin"), "the blob is kept");
      const row = await engine.services.ledger.get("forged/answer.bin");
      assert.equal(row?.status, "failed");
      assert.equal(row?.driveItemId, undefined);
    });
  }
});

interface ForgingUploadHost {
  origin: string;
  requests: { method: string; url: string }[];
  close(): Promise<void>;
}

/**
 * An upload host on loopback that records every request. It takes fragments as the service does (202 and the next
 * range) and answers the last one "200" with the given item, which it makes up.
 */
async function startForgingUploadHost(forgedItem?: Record<string, unknown>): Promise<ForgingUploadHost> {
  const certificate = loadTestCertificate();
  const requests: { method: string; url: string }[] = [];
  const server: Server = createServer({ key: certificate.keyPem, cert: certificate.certPem }, (request, response) => {
    requests.push({ method: request.method ?? "", url: request.url ?? "" });
    request.resume();
    request.on("end", () => {
      response.setHeader("Content-Type", "application/json");
      if (request.method === "GET") {
        response.end(JSON.stringify({ expirationDateTime: new Date(Date.now() + 600_000).toISOString(), nextExpectedRanges: ["0-"] }));
        return;
      }
      const range = /bytes (\d+)-(\d+)\/(\d+)/.exec(request.headers["content-range"] ?? "");
      if (request.method !== "PUT" || !range || forgedItem === undefined) {
        response.statusCode = 404;
        response.end(JSON.stringify({ error: { code: "itemNotFound", message: "The upload session was not found" } }));
        return;
      }
      const [last, total] = [Number(range[2]), Number(range[3])];
      if (last + 1 < total) {
        response.statusCode = 202;
        response.end(JSON.stringify({ expirationDateTime: new Date(Date.now() + 600_000).toISOString(), nextExpectedRanges: [`${last + 1}-`] }));
        return;
      }
      response.statusCode = 200;
      response.end(JSON.stringify(forgedItem));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
