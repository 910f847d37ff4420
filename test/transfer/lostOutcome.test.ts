import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { quickXorHashBase64 } from "../../functions/onedrive/quickXorHash";
import { CLAIM_LEASE_MS } from "../../functions/storage/ledgerRow";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, FRAGMENT, randomContent, type TransferFixture } from "../support/transferHarness";
import type { Fault } from "../emulators/onedrive";
import { spawnSync } from "node:child_process";
import { StaticAccessTokenProvider } from "../../functions/onedrive/accessToken";
import { claimOwnerFor } from "../../functions/storage/claimOwner";
import { TransferEngine } from "../../functions/transfer/transferEngine";

function pidOfAFinishedProcess(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
}

/** The fragment size at FRAGMENT_SIZE_MB=1: 1 MiB rounded down to a multiple of 320 KiB. */
const FRAGMENT_BYTES = 3 * FRAGMENT;
const FILE_SIZE = 3 * FRAGMENT_BYTES + 1234; // four fragments

const sessionCreates = (fixture: TransferFixture) => fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession"));
const sessionDeletes = (fixture: TransferFixture) => fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "DELETE");

describe("a file OneDrive committed whose outcome never reached the ledger is found, whatever its size", () => {
  const suite = azuriteForSuite();

  test("an empty file OneDrive stored before its process died is recorded, not stored again under rename", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { CONFLICT_BEHAVIOR: "rename" }, {
      // The simple PUT of the empty file is carried out, and its answer never comes.
      faults: [{ kind: "stallAfterAction", target: "graph", match: (request) => request.method === "PUT" && request.url.includes("empty.log") }],
    }));
    await fixture.putBlob("empty.log", "");

    void fixture.engine().transferBlob("empty.log").catch(() => undefined);
    await fixture.emulator.waitForStalled(1);
    assert.ok(fixture.emulator.getItem("empty.log"), "OneDrive stored the empty file");
    // The first process dies here, its claim never released: the next attempt comes once the claim has lapsed.
    const later = () => Date.now() + CLAIM_LEASE_MS + 60_000;
    const outcome = await fixture.engine({ now: later }).transferBlob("empty.log");

    assert.equal(outcome.status, "uploaded", `${outcome.error ?? ""}\n${fixture.log.lines.join("\n")}`);
    assert.deepEqual(fixture.emulator.listTree(), ["empty.log"], "exactly one item: no renamed copy");
    assert.equal((await fixture.engine().services.ledger.get("empty.log"))?.status, "done");
  });

  test("a simple PUT under rename whose answer is lost is not sent again; the next attempt finds the file", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { CONFLICT_BEHAVIOR: "rename" }, {
      faults: [{ kind: "stallAfterAction", target: "graph", match: (request) => request.method === "PUT" && request.url.includes("empty.log") }],
    }));
    await fixture.putBlob("empty.log", "");
    const short = { graphMs: 300, uploadControlMs: 300, fragmentMs: () => 300, blobReadMs: () => 300 };

    const first = await fixture.engine({ attemptTimeouts: short }).transferBlob("empty.log");
    assert.equal(first.status, "failed", "the attempt ends without knowing whether OneDrive stored the file");
    const puts = fixture.emulator.requests.filter((request) => request.method === "PUT" && request.url.includes("empty.log"));
    assert.equal(puts.length, 1, "the PUT whose answer never came was not sent again");

    const second = await fixture.engine({ attemptTimeouts: short }).transferBlob("empty.log");
    assert.equal(second.status, "uploaded", `${second.error ?? ""}\n${fixture.log.lines.join("\n")}`);
    assert.deepEqual(fixture.emulator.listTree(), ["empty.log"], "exactly one item: no renamed copy");
  });

  test("a process gone between recording a file done and deleting its blob: the next attempt deletes it, uploads nothing", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { CONFLICT_BEHAVIOR: "rename", AFTER_TRANSFER: "delete" }));
    const content = randomContent(FILE_SIZE);
    await fixture.putBlob("recorded.bin", content);
    // What the process left: the file in OneDrive, the row done with AFTER_TRANSFER about to run, its claim held.
    const keepEngine = new TransferEngine({ ...fixture.settings, afterTransfer: "keep" }, { tokenProvider: new StaticAccessTokenProvider(fixture.emulator.accessToken) });
    assert.equal((await keepEngine.transferBlob("recorded.bin")).status, "uploaded");
    const requestsBefore = fixture.emulator.requests.length;
    const deadHolder = claimOwnerFor(pidOfAFinishedProcess());
    await fixture.engine().services.ledger.merge("recorded.bin", { afterTransferPending: true, afterTransferDone: false, claimOwner: deadHolder, claimExpiresAt: new Date(Date.now() + CLAIM_LEASE_MS).toISOString() });

    const summary = await fixture.engine({ waitForClaims: true }).sweep();
    assert.equal(summary.uploaded, 1, JSON.stringify(summary.files));
    assert.equal(await fixture.container.getBlobClient("recorded.bin").exists(), false, "AFTER_TRANSFER=delete ran");
    assert.deepEqual(fixture.emulator.listTree(), ["recorded.bin"], "exactly one item");
    const uploads = fixture.emulator.requests.slice(requestsBefore).filter((request) => request.origin === "upload" || request.url.includes("createUploadSession"));
    assert.deepEqual(uploads, [], "nothing uploaded again");
    const row = await fixture.engine().services.ledger.get("recorded.bin");
    assert.deepEqual([row?.status, row?.afterTransferDone, row?.afterTransferPending], ["done", true, undefined]);
  });

  for (const hashMissingForGets of [2, 50]) {
    const late = hashMissingForGets === 2 ? "reported within the wait" : "not reported within the wait";
    test(`a business drive whose hash of the committed file is ${late}: the next attempt never uploads it again under rename`, async () => {
      const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { FRAGMENT_SIZE_MB: "1", CONFLICT_BEHAVIOR: "rename", AFTER_TRANSFER: "delete" }, {
        driveType: "business",
        hashMissingForGets,
        faults: [{ kind: "stallAfterAction", target: "uploadPut", skip: 3 }],
      }));
      await fixture.putBlob("report.bin", randomContent(FILE_SIZE));
      const firstProcess = fixture.engine().transferBlob("report.bin");
      await fixture.emulator.waitForStalled(1);
      const later = () => Date.now() + CLAIM_LEASE_MS + 60_000;
      const outcome = await fixture.engine({ now: later }).transferBlob("report.bin");

      assert.equal(sessionCreates(fixture).length, 1, "no second upload session");
      assert.deepEqual(fixture.emulator.listTree(), ["report.bin"], "exactly one item: no renamed copy");
      const row = await fixture.engine().services.ledger.get("report.bin");
      if (hashMissingForGets === 2) {
        assert.equal(outcome.status, "uploaded", `${outcome.error ?? ""}\n${fixture.log.lines.join("\n")}`);
        assert.equal(row?.status, "done");
        assert.equal(await fixture.container.getBlobClient("report.bin").exists(), false);
      } else {
        assert.equal(outcome.status, "failed");
        assert.match(outcome.error ?? "", /reported no quickXorHash to compare, so it was neither recorded nor uploaded again; the next attempt asks again/);
        assert.equal(row?.status, "uploading", "temporary: the next attempt asks again");
        assert.ok(await fixture.container.getBlobClient("report.bin").exists(), "nothing deleted on size alone");
      }
      fixture.emulator.dropStalled();
      await firstProcess;
    });
  }

  for (const conflictBehavior of ["rename", "fail"] as const) {
    test(`CONFLICT_BEHAVIOR=${conflictBehavior}: a process gone after the last fragment's commit leaves one item, recorded by the next attempt`, async () => {
      const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { FRAGMENT_SIZE_MB: "1", CONFLICT_BEHAVIOR: conflictBehavior }, {
        // OneDrive stores the last fragment and commits the file, and its answer never comes.
        faults: [{ kind: "stallAfterAction", target: "uploadPut", skip: 3 }],
      }));
      const content = randomContent(FILE_SIZE);
      await fixture.putBlob("report.bin", content);

      const firstProcess = fixture.engine().transferBlob("report.bin");
      await fixture.emulator.waitForStalled(1);
      assert.ok(fixture.emulator.getItem("report.bin"), "OneDrive committed the file");
      // The first process dies here, its claim never released: the next attempt comes once the claim has lapsed.
      const later = () => Date.now() + CLAIM_LEASE_MS + 60_000;
      const outcome = await fixture.engine({ now: later }).transferBlob("report.bin");

      assert.equal(outcome.status, "uploaded", `${outcome.error ?? ""}\n${fixture.log.lines.join("\n")}`);
      assert.equal(sessionCreates(fixture).length, 1, "no second upload session");
      assert.deepEqual(fixture.emulator.listTree(), ["report.bin"], "exactly one item: no renamed copy");
      const item = fixture.emulator.getItem("report.bin");
      assert.ok(item?.content?.equals(content));
      assert.equal(item?.quickXorHash, quickXorHashBase64(content));
      const row = await fixture.engine().services.ledger.get("report.bin");
      assert.equal(row?.status, "done");
      assert.equal(row?.driveItemId, item?.id);
      assert.equal(row?.quickXorHash, item?.quickXorHash);
      assert.equal(row?.uploadUrl, undefined);
      assert.ok(fixture.log.lines.some((line) => line.includes("report.bin: an earlier attempt had already stored this file")));

      // The first process's connection is reset after all: it finds its claim taken and changes nothing.
      fixture.emulator.dropStalled();
      assert.equal((await firstProcess).status, "busy");
      assert.equal(sessionDeletes(fixture).length, 0);
      assert.equal((await fixture.engine().services.ledger.get("report.bin"))?.status, "done");
      assert.deepEqual(fixture.emulator.listTree(), ["report.bin"]);
    });
  }

  test("a commit whose record failed with a temporary error is found by the rerun, not uploaded again", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { FRAGMENT_SIZE_MB: "1", CONFLICT_BEHAVIOR: "rename" }, {
      // Every answer to the last fragment is lost, and the status checks after it fail: the attempt ends unsure.
      faults: [
        { kind: "dropAfterStore", target: "uploadPut", skip: 3 },
        ...Array.from({ length: 8 }, () => ({ kind: "throttle", target: "uploadGet", status: 500 }) satisfies Fault),
      ],
    }));
    const content = randomContent(FILE_SIZE);
    await fixture.putBlob("unsure.bin", content);
    const first = await fixture.engine().transferBlob("unsure.bin");
    assert.equal(first.status, "failed");
    assert.match(first.error ?? "", /temporary failure/);
    assert.equal((await fixture.engine().services.ledger.get("unsure.bin"))?.status, "uploading");

    const rerun = await fixture.engine().transferBlob("unsure.bin");
    assert.equal(rerun.status, "uploaded", rerun.error);
    assert.equal(sessionCreates(fixture).length, 1, "no second upload session");
    assert.deepEqual(fixture.emulator.listTree(), ["unsure.bin"]);
    assert.equal((await fixture.engine().services.ledger.get("unsure.bin"))?.status, "done");
  });
});
