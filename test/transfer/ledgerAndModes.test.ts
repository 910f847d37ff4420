import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, FRAGMENT, randomContent, type TransferFixture } from "../support/transferHarness";

describe("ledger, names, conflicts and AFTER_TRANSFER", () => {
  const suite = azuriteForSuite();

  async function fixtureWith(env: Record<string, string> = {}, emulatorOptions = {}): Promise<TransferFixture> {
    return suite.closeAfter(await createTransferFixture(suite.instance, env, emulatorOptions));
  }

  test("a rerun skips every done blob without a single Graph request, and a new version is sent again", async () => {
    const fixture = await fixtureWith({ SOURCE_PREFIX: "outgoing/", DEST_FOLDER: "Inbox" });
    await fixture.putBlob("outgoing/a.txt", "alpha");
    await fixture.putBlob("outgoing/sub/deeper/b.txt", "bravo");
    await fixture.putBlob("outgoing/ünïcødé #1 100%.txt", "unicode");
    await fixture.putBlob("elsewhere/c.txt", "not under the prefix");
    const first = await fixture.engine().sweep();
    assert.deepEqual([first.uploaded, first.skipped, first.failed], [3, 0, 0]);
    assert.deepEqual(fixture.emulator.listTree().filter((path) => !path.endsWith("/")), ["Inbox/a.txt", "Inbox/sub/deeper/b.txt", "Inbox/ünïcødé #1 100%.txt"].sort());

    fixture.emulator.clearRequests();
    const second = await fixture.engine().sweep();
    assert.deepEqual([second.uploaded, second.skipped, second.failed], [0, 3, 0]);
    assert.equal(fixture.emulator.requests.length, 0, "no Graph or upload request for done blobs");

    await fixture.putBlob("outgoing/a.txt", "alpha, second version");
    const third = await fixture.engine().sweep();
    assert.deepEqual([third.uploaded, third.skipped], [1, 2]);
    assert.equal(fixture.emulator.getItem("Inbox/a.txt")?.content?.toString(), "alpha, second version");
  });

  test("the prefix itself naming one blob lands under its base name", async () => {
    const fixture = await fixtureWith({ SOURCE_PREFIX: "exports/daily.csv", DEST_FOLDER: "Reports" });
    await fixture.putBlob("exports/daily.csv", "a,b\n1,2\n");
    const summary = await fixture.engine().sweep();
    assert.equal(summary.uploaded, 1);
    assert.equal(fixture.emulator.getItem("Reports/daily.csv")?.content?.toString(), "a,b\n1,2\n");
  });

  test("names OneDrive refuses fail that file before any request, naming the blob and the rule; the others go on", async () => {
    const fixture = await fixtureWith();
    await fixture.putBlob("fine.txt", "ok");
    await fixture.putBlob("bad:name.txt", "colon");
    await fixture.putBlob("folder/CON", "reserved");
    await fixture.putBlob(`${"long-folder-name/".repeat(24)}file.txt`, "too long a path");
    fixture.emulator.clearRequests();
    const summary = await fixture.engine().sweep();
    assert.equal(summary.uploaded, 1);
    assert.equal(summary.failed, 3);
    const errors = Object.fromEntries(summary.files.map((file) => [file.blob, file.error ?? ""]));
    assert.match(errors["bad:name.txt"], /bad:name\.txt.*':'/s);
    assert.match(errors["folder/CON"], /folder\/CON.*reserved/s);
    assert.match(errors[`${"long-folder-name/".repeat(24)}file.txt`], /400/);
    for (const request of fixture.emulator.requests) {
      assert.ok(!decodeURIComponent(request.url).includes("bad:name"), "no request names the refused blob");
    }
  });

  test("CONFLICT_BEHAVIOR: replace overwrites, rename keeps both, fail leaves the existing file and fails", async () => {
    for (const [behavior, expectStatus] of [["replace", "uploaded"], ["rename", "uploaded"], ["fail", "failed"]] as const) {
      const fixture = await fixtureWith({ CONFLICT_BEHAVIOR: behavior });
      fixture.emulator.putFile("report.txt", "existing");
      fixture.emulator.putFile("empty.txt", "existing");
      await fixture.putBlob("report.txt", "new content");
      await fixture.putBlob("empty.txt", "");
      const summary = await fixture.engine().sweep();
      for (const file of summary.files) assert.equal(file.status, expectStatus, `${behavior}: ${file.blob} ${file.error ?? ""}`);
      const tree = fixture.emulator.listTree();
      if (behavior === "replace") {
        assert.equal(fixture.emulator.getItem("report.txt")?.content?.toString(), "new content");
        assert.equal(fixture.emulator.getItem("empty.txt")?.size, 0);
        assert.equal(tree.length, 2);
      } else if (behavior === "rename") {
        assert.equal(fixture.emulator.getItem("report.txt")?.content?.toString(), "existing");
        assert.equal(tree.length, 4, tree.join(", "));
      } else {
        assert.equal(fixture.emulator.getItem("report.txt")?.content?.toString(), "existing");
        for (const file of summary.files) assert.match(file.error ?? "", /409|nameAlreadyExists/);
        assert.ok(await fixture.container.getBlobClient("report.txt").exists());
      }
    }
  });

  test("AFTER_TRANSFER=delete removes the blob only after the verified upload is recorded", async () => {
    const fixture = await fixtureWith({ AFTER_TRANSFER: "delete" });
    await fixture.putBlob("gone-after.txt", "bye");
    const summary = await fixture.engine().sweep();
    assert.equal(summary.uploaded, 1);
    assert.equal(await fixture.container.getBlobClient("gone-after.txt").exists(), false);
    const row = await fixture.engine().services.ledger.get("gone-after.txt");
    assert.equal(row?.status, "done");
    assert.equal(row?.afterTransferDone, true);
    assert.equal(fixture.emulator.getItem("gone-after.txt")?.content?.toString(), "bye");
  });

  test("AFTER_TRANSFER=archive moves the blob to the archive container", async () => {
    const fixture = await fixtureWith({ AFTER_TRANSFER: "archive" });
    const content = randomContent(FRAGMENT + 5);
    await fixture.putBlob("keep/me.bin", content);
    await fixture.engine().sweep();
    assert.equal(await fixture.container.getBlobClient("keep/me.bin").exists(), false);
    const archived = await fixture.blobService.getContainerClient(fixture.settings.archiveContainer).getBlobClient("keep/me.bin").downloadToBuffer();
    assert.ok(archived.equals(content));
  });

  test("AFTER_TRANSFER=delete never deletes a blob whose upload failed", async () => {
    const fixture = await fixtureWith({ AFTER_TRANSFER: "delete", CONFLICT_BEHAVIOR: "fail" });
    fixture.emulator.putFile("clash.txt", "already there");
    await fixture.putBlob("clash.txt", "mine");
    const summary = await fixture.engine().sweep();
    assert.equal(summary.failed, 1);
    assert.ok(await fixture.container.getBlobClient("clash.txt").exists());
  });

  test("a blob overwritten after its ETag was pinned: the session is cancelled and the new version sent whole", async () => {
    const fixture = await fixtureWith({ FRAGMENT_SIZE_MB: "1" });
    const oldContent = randomContent(4 * FRAGMENT * 3);
    await fixture.putBlob("moving.bin", oldContent);
    const engine = fixture.engine();
    const pinned = await engine.services.source.getProperties("moving.bin");
    const newContent = randomContent(2 * FRAGMENT * 3 + 99);
    await fixture.putBlob("moving.bin", newContent);
    const outcome = await engine.transferBlob("moving.bin", { knownBlob: pinned });
    assert.equal(outcome.status, "uploaded", outcome.error);
    assert.ok(fixture.emulator.getItem("moving.bin")?.content?.equals(newContent), "only the new version, never a mix");
    const deletes = fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "DELETE");
    assert.equal(deletes.length, 1, "the session begun for the old version was cancelled");
    assert.equal(fixture.emulator.openSessions().length, 0);
  });

  test("a blob overwritten between fragments is detected by the pinned ranged reads", async () => {
    const fixture = await fixtureWith({ FRAGMENT_SIZE_MB: "1" });
    const oldContent = randomContent(8 * FRAGMENT * 3);
    const newContent = randomContent(3 * FRAGMENT * 3 + 1);
    await fixture.putBlob("racing.bin", oldContent);
    let overwrite: Promise<string> | undefined;
    const outcome = await fixture.engine().transferBlob("racing.bin", {
      onProgress: () => {
        overwrite ??= fixture.putBlob("racing.bin", newContent);
      },
    });
    await overwrite;
    assert.equal(outcome.status, "uploaded", outcome.error);
    assert.ok(fixture.emulator.getItem("racing.bin")?.content?.equals(newContent), "the new version whole");
    assert.ok(fixture.log.lines.some((line) => line.includes("overwritten")), fixture.log.lines.join("\n"));
  });

  test("a size/hash mismatch fails the file, except SharePoint's documented rewrite of Office and JPEG files", async () => {
    const fixture = await fixtureWith({}, { driveType: "business", rewriteOnCommit: () => true });
    await fixture.putBlob("minutes.docx", randomContent(5000));
    await fixture.putBlob("data.bin", randomContent(5000));
    const summary = await fixture.engine().sweep();
    const byBlob = Object.fromEntries(summary.files.map((file) => [file.blob, file]));
    assert.equal(byBlob["minutes.docx"].status, "uploaded");
    assert.match(byBlob["minutes.docx"].warning ?? "", /SharePoint rewrites Office and JPEG files/);
    assert.equal(byBlob["data.bin"].status, "failed");
    assert.match(byBlob["data.bin"].error ?? "", /does not match the blob: OneDrive stored 5012 bytes, the blob has 5000/);
    assert.equal((await fixture.engine().services.ledger.get("data.bin"))?.status, "failed");
  });

  test("two engines on one blob at once: only one transfers it", async () => {
    const fixture = await fixtureWith({ FRAGMENT_SIZE_MB: "1" });
    await fixture.putBlob("contended.bin", randomContent(6 * FRAGMENT));
    const [first, second] = await Promise.all([fixture.engine().transferBlob("contended.bin"), fixture.engine().transferBlob("contended.bin")]);
    const statuses = [first.status, second.status].sort();
    assert.ok(statuses.includes("uploaded"), statuses.join());
    assert.equal(fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession")).length, 1);
  });
});
