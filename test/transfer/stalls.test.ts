import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, FRAGMENT, randomContent } from "../support/transferHarness";
import type { AttemptTimeouts } from "../../functions/transfer/transferEngine";

/** Ceilings of a fraction of a second, so a stalled answer is given up on at once (production: minutes). */
const SHORT: AttemptTimeouts = { graphMs: 400, uploadControlMs: 400, fragmentMs: () => 600, blobReadMs: () => 600 };

describe("an answer that never comes, on any Graph leg, holds nothing", () => {
  const suite = azuriteForSuite();

  test("a stalled Graph call and a stalled fragment PUT are given up on, retried, and the file completes", async () => {
    const fixture = suite.closeAfter(
      await createTransferFixture(suite.instance, { FRAGMENT_SIZE_MB: "1" }, {
        faults: [
          { kind: "stall", target: "graph", match: (request) => request.url.includes("createUploadSession") },
          { kind: "stall", target: "uploadPut", skip: 1 },
          { kind: "stall", target: "uploadGet" },
        ],
      }),
    );
    const content = randomContent(4 * 3 * FRAGMENT + 5);
    await fixture.putBlob("stalled.bin", content);
    const summary = await fixture.engine({ attemptTimeouts: SHORT }).sweep();
    assert.equal(summary.uploaded, 1, JSON.stringify(summary.files));
    assert.ok(fixture.emulator.getItem("stalled.bin")?.content?.equals(content), "byte-identical");
    assert.equal(fixture.emulator.stalled.length, 3, "each stall was met once");
    assert.ok(fixture.log.lines.some((line) => /createUploadSession: no answer \(ETIMEDOUT\); retrying/.test(line)), fixture.log.lines.join("\n"));
  });
});
