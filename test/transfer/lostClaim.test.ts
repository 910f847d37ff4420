import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, FRAGMENT, randomContent } from "../support/transferHarness";

/** The fragment size at FRAGMENT_SIZE_MB=1: 1 MiB rounded down to a multiple of 320 KiB. */
const FRAGMENT_BYTES = 3 * FRAGMENT;
const NEW_HOLDER = "other-host|boot-of-another-machine|4242|new-holder";

describe("a worker that lost its claim leaves the upload session to the new holder", () => {
  const suite = azuriteForSuite();

  test("a holder whose claim is taken mid-file stops without cancelling the session or writing the row", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { FRAGMENT_SIZE_MB: "1" }, {
      // The third fragment's PUT is held, so the claim changes hands while the upload is certainly in flight.
      faults: [{ kind: "stall", target: "uploadPut", skip: 2 }],
    }));
    await fixture.putBlob("taken.bin", randomContent(5 * FRAGMENT_BYTES + 99));
    let clockSkewMs = 0;
    const engine = fixture.engine({ now: () => Date.now() + clockSkewMs });
    const holder = engine.transferBlob("taken.bin");
    await fixture.emulator.waitForStalled(1);

    // Another worker takes the row (as after a lapse it would): the holder's next guarded write finds out.
    const ledger = engine.services.ledger;
    const newHolderUntil = new Date(Date.now() + 10 * 60_000).toISOString();
    await ledger.merge("taken.bin", { claimOwner: NEW_HOLDER, claimExpiresAt: newHolderUntil });
    const rowOfNewHolder = await ledger.get("taken.bin");
    // Time enough passes for the holder's next confirmed fragment to be checkpointed.
    clockSkewMs = 5_000;
    fixture.emulator.dropStalled();

    const outcome = await holder;
    assert.equal(outcome.status, "busy", outcome.error);
    assert.match(outcome.error ?? "", /Lost the claim/);
    const deletes = fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "DELETE");
    assert.equal(deletes.length, 0, "the session the new holder resumes was not cancelled");
    assert.deepEqual(await ledger.get("taken.bin"), rowOfNewHolder, "the row is exactly as the new holder left it");
  });
});
