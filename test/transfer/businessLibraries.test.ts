import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { OneDriveEmulatorOptions } from "../emulators/onedrive";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, randomContent, type TransferFixture } from "../support/transferHarness";

/** A blob this size takes an upload session (past the small-file batch limit) in one fragment. */
const ONE_FRAGMENT_FILE = 200_000;
/** The emulator's clock runs an hour ahead, so a time it fills in by itself never passes for the blob's. */
const AHEAD_MS = 3_600_000;

describe("business drives and document libraries: time, check-out, required columns, locks, quota, RateLimit", () => {
  const suite = azuriteForSuite();

  async function fixtureWith(env: Record<string, string>, emulatorOptions: OneDriveEmulatorOptions): Promise<TransferFixture> {
    return suite.closeAfter(await createTransferFixture(suite.instance, env, emulatorOptions));
  }

  async function blobTime(fixture: TransferFixture, name: string): Promise<number> {
    return (await fixture.container.getBlobClient(name).getProperties()).lastModified!.getTime();
  }

  function sessionCreationStatuses(fixture: TransferFixture): number[] {
    return fixture.emulator.requests.filter((request) => request.method === "POST" && request.url.endsWith("/createUploadSession")).map((request) => request.status);
  }

  function patches(fixture: TransferFixture): number {
    return fixture.emulator.requests.filter((request) => request.method === "PATCH").length;
  }

  test("a drive that refuses fileSystemInfo at session creation: the time is set after the commit, and later files skip the refusal", async () => {
    const fixture = await fixtureWith({}, { driveType: "business", clock: () => Date.now() + AHEAD_MS, library: { refuseFileSystemInfoAtCreation: true } });
    await fixture.putBlob("first.bin", randomContent(ONE_FRAGMENT_FILE));
    await fixture.putBlob("second.bin", randomContent(ONE_FRAGMENT_FILE));
    const engine = fixture.engine();
    for (const name of ["first.bin", "second.bin"]) {
      const outcome = await engine.transferBlob(name);
      assert.equal(outcome.status, "uploaded", outcome.error ?? "");
      assert.equal(Date.parse(fixture.emulator.getItem(name)!.lastModifiedDateTime), await blobTime(fixture, name), `${name} has the blob's time`);
    }
    assert.deepEqual(sessionCreationStatuses(fixture), [400, 200, 200], "refused once, then straight to the fallback");
    assert.equal(patches(fixture), 2, "one PATCH of the time per file");
  });

  test("a drive that takes fileSystemInfo at creation gets no PATCH (each would make a version)", async () => {
    const fixture = await fixtureWith({}, { driveType: "documentLibrary", clock: () => Date.now() + AHEAD_MS });
    await fixture.putBlob("kept-time.bin", randomContent(ONE_FRAGMENT_FILE));
    const outcome = await fixture.engine().transferBlob("kept-time.bin");
    assert.equal(outcome.status, "uploaded", outcome.error ?? "");
    assert.equal(Date.parse(fixture.emulator.getItem("kept-time.bin")!.lastModifiedDateTime), await blobTime(fixture, "kept-time.bin"));
    assert.deepEqual(sessionCreationStatuses(fixture), [200], "the time went in at creation");
    assert.equal(patches(fixture), 0);
  });

  test("a library that requires check-out: every upload path's file is checked in with a comment naming the blob", async () => {
    const fixture = await fixtureWith({ AFTER_TRANSFER: "delete" }, { driveType: "documentLibrary", library: { requireCheckout: true } });
    const names = ["reports/large.bin", "reports/small.txt", "reports/empty.txt"];
    await fixture.putBlob(names[0], randomContent(ONE_FRAGMENT_FILE));
    await fixture.putBlob(names[1], "a small file, batched");
    await fixture.putBlob(names[2], "");
    const summary = await fixture.engine().sweep();
    assert.deepEqual([summary.uploaded, summary.failed], [3, 0], JSON.stringify(summary.files));
    for (const name of names) {
      assert.deepEqual(fixture.emulator.checkinComments(name), [`Copied by onedrive-connector from blob "${name}"`], name);
      const item = fixture.emulator.getItem(name)!;
      assert.equal(await publicationLevel(fixture, item.id), "published", name);
      assert.equal(await fixture.container.getBlobClient(name).exists(), false, `${name}: verified, published, then deleted`);
    }
    assert.ok(fixture.log.lines.some((line) => /requires check-out.*checked in/.test(line)), fixture.log.lines.join("\n"));
  });

  test("a check-in whose answer is lost is not sent again; the next attempt finds the file published and records it", async () => {
    const fixture = await fixtureWith({}, {
      driveType: "documentLibrary",
      library: { requireCheckout: true },
      faults: [{ kind: "stallAfterAction", target: "graph", match: (request) => request.method === "POST" && request.url.endsWith("/checkin") }],
    });
    await fixture.putBlob("lost/answer.bin", randomContent(ONE_FRAGMENT_FILE));
    const short = { graphMs: 300, uploadControlMs: 300, fragmentMs: () => 300, blobReadMs: () => 300 };

    const first = await fixture.engine({ attemptTimeouts: short }).transferBlob("lost/answer.bin");
    assert.equal(first.status, "failed", "the attempt ends without knowing whether the check-in happened");
    assert.match(first.error ?? "", /temporary failure/);
    assert.deepEqual(fixture.emulator.checkinComments("lost/answer.bin"), ['Copied by onedrive-connector from blob "lost/answer.bin"'], "OneDrive did check it in");

    const second = await fixture.engine({ attemptTimeouts: short }).transferBlob("lost/answer.bin");
    assert.equal(second.status, "uploaded", `${second.error ?? ""}\n${fixture.log.lines.join("\n")}`);
    const checkins = fixture.emulator.requests.filter((request) => request.url.endsWith("/checkin"));
    assert.equal(checkins.length, 1, "the check-in was sent once");
    assert.equal(fixture.emulator.requests.filter((request) => request.url.endsWith("/createUploadSession")).length, 1, "not uploaded again");
    assert.equal((await fixture.engine().services.ledger.get("lost/answer.bin"))?.status, "done");
  });

  test("a library that does not check out is asked about it once, not for every small file; a session upload's read-back asks anyway", async () => {
    const fixture = await fixtureWith({}, { driveType: "documentLibrary" });
    for (const name of ["a.txt", "b.txt", "c.txt"]) await fixture.putBlob(`small/${name}`, `small file ${name}`);
    await fixture.putBlob("large/one.bin", randomContent(ONE_FRAGMENT_FILE));
    const engine = fixture.engine();
    for (const name of ["small/a.txt", "small/b.txt", "small/c.txt", "large/one.bin"]) {
      assert.equal((await engine.transferBlob(name)).status, "uploaded", name);
    }
    const asked = fixture.emulator.requests.filter((request) => request.method === "GET" && decodeURIComponent(request.url).includes("publication"));
    assert.equal(asked.length, 2, asked.map((request) => request.url).join("\n"));
    assert.match(decodeURIComponent(asked[0].url), /\?\$select=id,publication$/, "the first small file is asked about");
    assert.match(decodeURIComponent(asked[1].url), /\$select=id,name,size,.*,fileSystemInfo,publication$/, "the read-back names every field it reads");
    assert.deepEqual(fixture.emulator.checkinComments("small/a.txt"), []);
  });

  test("a library with a required column the upload cannot fill: a clear, permanent per-file failure naming the column", async () => {
    const fixture = await fixtureWith({ AFTER_TRANSFER: "delete" }, { driveType: "documentLibrary", library: { requiredColumns: ["Cost Centre"] } });
    await fixture.putBlob("invoices/march.pdf", randomContent(ONE_FRAGMENT_FILE));
    await fixture.putBlob("invoices/april.pdf", randomContent(1000));
    const summary = await fixture.engine().sweep();
    assert.equal(summary.failed, 2, JSON.stringify(summary.files));
    for (const file of summary.files) {
      assert.match(file.error ?? "", /the library requires column "Cost Centre", which an upload cannot fill.*checked out to this account.*default value or make it optional/s);
      const row = await fixture.engine().services.ledger.get(file.blob);
      assert.equal(row?.status, "failed", "permanent: failed, not left to resume");
      assert.equal(row?.uploadUrl, undefined);
      assert.ok(await fixture.container.getBlobClient(file.blob).exists(), "the blob is kept");
    }
  });

  test("a refused check-in: later runs check in the file OneDrive holds, never upload it again, and the blob waits for the check-in", async () => {
    const library = { requiredColumns: ["Cost Centre"] };
    const fixture = await fixtureWith({ AFTER_TRANSFER: "delete", CONFLICT_BEHAVIOR: "rename" }, { driveType: "documentLibrary", library });
    const names = ["claims/session.bin", "claims/batched.txt"];
    await fixture.putBlob(names[0], randomContent(ONE_FRAGMENT_FILE));
    await fixture.putBlob(names[1], "a small file, batched");
    const uploadsSent = (): number =>
      fixture.emulator.requests.filter((request) => /\/createUploadSession$|\/\$batch$|:\/content/.test(request.url)).length;

    for (const run of [1, 2]) {
      const summary = await fixture.engine().sweep();
      assert.equal(summary.failed, 2, `run ${run}: ${JSON.stringify(summary.files)}`);
      assert.deepEqual(fixture.emulator.listTree(), ["claims/", ...names].sort(), `run ${run}: one item per blob`);
      for (const name of names) {
        assert.ok(await fixture.container.getBlobClient(name).exists(), `run ${run}: ${name} is kept while its file is checked out`);
        const row = await fixture.engine().services.ledger.get(name);
        assert.equal(row?.status, "failed", `run ${run}: ${name}`);
        assert.match(row?.lastError ?? "", /requires column "Cost Centre".*checks in the file OneDrive already holds, without uploading it again/s);
        assert.equal(row?.lastErrorCause, "refusedByOneDrive");
        assert.equal(row?.lastErrorCode, "invalidRequest");
        assert.ok(row?.lastRequestId, "the request id support asks for");
        assert.equal(row?.driveItemId, fixture.emulator.getItem(name)?.id, "the row names the stored item");
      }
      if (run === 1) fixture.emulator.clearRequests();
    }
    assert.equal(uploadsSent(), 0, "the second run sent no bytes");

    library.requiredColumns = [];
    const fixed = await fixture.engine().sweep();
    assert.deepEqual([fixed.uploaded, fixed.failed], [2, 0], JSON.stringify(fixed.files));
    assert.equal(uploadsSent(), 0, "the run after the fix sent no bytes either");
    assert.deepEqual(fixture.emulator.listTree(), ["claims/", ...names].sort());
    for (const name of names) {
      assert.equal(await publicationLevel(fixture, fixture.emulator.getItem(name)!.id), "published", name);
      assert.equal(await fixture.container.getBlobClient(name).exists(), false, `${name}: checked in, then deleted`);
      assert.equal((await fixture.engine().services.ledger.get(name))?.status, "done");
    }
  });

  test("a refused check-in stays the error when the read of the file's publication after it fails", async () => {
    const afterCheckin = (request: { method: string; url: string }): boolean => request.method === "GET" && decodeURIComponent(request.url).endsWith("$select=id,publication");
    // The first publication read (before the check-in) is answered; every try of the one after the refusal fails.
    const failedReads = Array.from({ length: 10 }, (_, index) => ({ kind: "throttle" as const, target: "graph" as const, status: 500 as const, match: afterCheckin, skip: index === 0 ? 1 : 0 }));
    const fixture = await fixtureWith({}, { driveType: "documentLibrary", library: { requiredColumns: ["Cost Centre"] }, faults: failedReads });
    await fixture.putBlob("invoices/july.txt", "a small file, batched");
    const outcome = await fixture.engine().transferBlob("invoices/july.txt");
    assert.equal(outcome.status, "failed");
    assert.match(outcome.error ?? "", /^the library requires column "Cost Centre", which an upload cannot fill/, outcome.error);
    const row = await fixture.engine().services.ledger.get("invoices/july.txt");
    assert.equal(row?.status, "failed", "the refusal, not a temporary failure of the read");
    assert.equal(row?.lastErrorCode, "invalidRequest");
    assert.ok(fixture.emulator.requests.filter((request) => afterCheckin(request) && request.status === 500).length > 0, "the read after the refusal did fail");
  });

  test("423 Locked: the file waits and is tried again later, not failed; once the lock goes it is uploaded", async () => {
    let locked = true;
    const fixture = await fixtureWith({ AFTER_TRANSFER: "delete" }, { driveType: "business", library: { locked: (path) => locked && path === "shared/budget.xlsx" } });
    fixture.emulator.putFile("shared/budget.xlsx", "the version someone has open");
    await fixture.putBlob("shared/budget.xlsx", randomContent(ONE_FRAGMENT_FILE));
    const engine = fixture.engine();
    const first = await engine.transferBlob("shared/budget.xlsx");
    assert.equal(first.status, "incomplete", first.error ?? "");
    assert.equal(first.resumeAfterMs, 300_000);
    assert.match(first.error ?? "", /locked \(someone has it open\); trying again in 300 s.*423/s);
    const row = await engine.services.ledger.get("shared/budget.xlsx");
    assert.equal(row?.status, "uploading", "unfinished, not failed");
    assert.ok(fixture.log.lines.some((line) => /^warn: shared\/budget\.xlsx: OneDrive reports .* locked/.test(line)), fixture.log.lines.join("\n"));
    assert.ok(await fixture.container.getBlobClient("shared/budget.xlsx").exists());

    locked = false;
    const second = await engine.transferBlob("shared/budget.xlsx");
    assert.equal(second.status, "uploaded", second.error ?? "");
    assert.equal(fixture.emulator.getItem("shared/budget.xlsx")?.size, ONE_FRAGMENT_FILE);
  });

  test("a drive without room: 507 at session creation before any byte, and a permanent failure naming free space and size", async () => {
    const fixture = await fixtureWith({}, { driveType: "business", quotaBytes: 150_000 });
    await fixture.putBlob("too/big.bin", randomContent(ONE_FRAGMENT_FILE));
    const outcome = await fixture.engine().transferBlob("too/big.bin");
    assert.equal(outcome.status, "failed");
    assert.match(outcome.error ?? "", /^OneDrive has 150000 bytes free, and the file needs 200000 bytes: free space on the drive or raise its quota.*507/s);
    assert.equal(fixture.emulator.requests.filter((request) => request.origin === "upload").length, 0, "no byte was sent");
    const row = await fixture.engine().services.ledger.get("too/big.bin");
    assert.equal(row?.status, "failed");
  });

  test("RateLimit headers: the engine slows down before the budget runs out, so the app is never throttled", async () => {
    const clock = { at: Date.now(), slept: [] as number[] };
    const fixture = await fixtureWith({}, {
      driveType: "documentLibrary",
      clock: () => clock.at,
      library: { rateLimit: { resourceUnitsPerMinute: 30 } },
    });
    const names = Array.from({ length: 8 }, (_, index) => `metered/file-${index}.bin`);
    for (const name of names) await fixture.putBlob(name, randomContent(ONE_FRAGMENT_FILE));
    const engine = fixture.engine({
      now: () => clock.at,
      sleep: async (ms) => {
        clock.slept.push(ms);
        clock.at += ms;
      },
    });
    for (const name of names) {
      const outcome = await engine.transferBlob(name);
      assert.equal(outcome.status, "uploaded", `${name}: ${outcome.error ?? ""}`);
    }
    assert.equal(fixture.emulator.rateLimitedCount(), 0, "no request went over the budget");
    assert.ok(clock.slept.length > 0, "the engine waited for the budget's reset");
    assert.ok(fixture.log.lines.some((line) => /held back .* by throttling \(RateLimit-Remaining \d+ of 30\)/.test(line)), fixture.log.lines.join("\n"));
  });

  test("documentLibrary: an .xlsx SharePoint rewrote is accepted with a warning, and AFTER_TRANSFER=archive keeps the blob", async () => {
    const fixture = await fixtureWith({ AFTER_TRANSFER: "archive" }, { driveType: "documentLibrary", rewriteOnCommit: true });
    await fixture.putBlob("finance/q3.xlsx", randomContent(ONE_FRAGMENT_FILE));
    const outcome = await fixture.engine().transferBlob("finance/q3.xlsx");
    assert.equal(outcome.status, "uploaded", outcome.error ?? "");
    assert.match(outcome.warning ?? "", /SharePoint rewrites.*documentLibrary.*AFTER_TRANSFER=archive was not applied/s);
    assert.ok(await fixture.container.getBlobClient("finance/q3.xlsx").exists(), "the blob is kept");
    assert.equal(await fixture.blobService.getContainerClient(fixture.settings.archiveContainer).exists(), false, "nothing archived");
    const row = await fixture.engine().services.ledger.get("finance/q3.xlsx");
    assert.equal(row?.status, "done");
    assert.equal(row?.afterTransferDone, false);
  });
});

/** publication.level as Graph answers it when asked with `$select` (the emulator's getItem() has no such field). */
async function publicationLevel(fixture: TransferFixture, itemId: string): Promise<string | undefined> {
  const response = await fetch(`${fixture.emulator.graphEndpoint}/v1.0/me/drive/items/${itemId}?$select=id,publication`, {
    headers: { authorization: `Bearer ${fixture.emulator.accessToken}` },
  });
  return ((await response.json()) as { publication?: { level?: string } }).publication?.level;
}
