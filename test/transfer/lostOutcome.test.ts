import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { quickXorHashBase64 } from "../../functions/onedrive/quickXorHash";
import { CLAIM_LEASE_MS } from "../../functions/storage/ledgerRow";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, FRAGMENT, randomContent, type TransferFixture } from "../support/transferHarness";
import type { Fault } from "../emulators/onedrive";

/** The fragment size at FRAGMENT_SIZE_MB=1: 1 MiB rounded down to a multiple of 320 KiB. */
const FRAGMENT_BYTES = 3 * FRAGMENT;
const FILE_SIZE = 3 * FRAGMENT_BYTES + 1234; // four fragments

const sessionCreates = (fixture: TransferFixture) => fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession"));
const sessionDeletes = (fixture: TransferFixture) => fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "DELETE");

describe("a file OneDrive committed whose outcome never reached the ledger is found, whatever its size", () => {
  const suite = azuriteForSuite();

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
      assert.ok(fixture.log.lines.some((line) => line.includes("report.bin: an interrupted earlier attempt had already stored this file")));

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
