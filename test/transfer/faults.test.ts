import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { quickXorHashBase64 } from "../../functions/onedrive/quickXorHash";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, FRAGMENT, randomContent, type TransferFixture } from "../support/transferHarness";
import type { Fault } from "../emulators/onedrive";

const FILE_SIZE = 5 * 3 * FRAGMENT + 777; // six fragments at FRAGMENT_SIZE_MB=1, the last one short

describe("the engine survives every fault the service shows", () => {
  const suite = azuriteForSuite();

  async function transferWith(faults: Fault[]): Promise<{ fixture: TransferFixture; content: Buffer }> {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { FRAGMENT_SIZE_MB: "1" }, { faults }));
    const content = randomContent(FILE_SIZE);
    await fixture.putBlob("faulty.bin", content);
    const outcome = await fixture.engine().transferBlob("faulty.bin");
    assert.equal(outcome.status, "uploaded", `${outcome.error ?? ""}\n${fixture.log.lines.join("\n")}`);
    const item = fixture.emulator.getItem("faulty.bin");
    assert.ok(item?.content?.equals(content), "OneDrive holds exactly the blob's bytes");
    assert.equal(item?.quickXorHash, quickXorHashBase64(content));
    return { fixture, content };
  }

  const uploadPuts = (fixture: TransferFixture) => fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "PUT");
  const statusChecks = (fixture: TransferFixture) => fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "GET");

  test("429 on a fragment waits the Retry-After seconds, then resumes where the server says", async () => {
    const { fixture } = await transferWith([{ kind: "throttle", target: "uploadPut", skip: 1, status: 429, retryAfter: "120" }]);
    assert.ok(fixture.sleeps.includes(120_000), `slept ${fixture.sleeps.join(", ")}`);
    assert.equal(statusChecks(fixture).length, 1);
  });

  test("503 on Graph with an HTTP-date Retry-After is waited out and retried", async () => {
    const retryAt = new Date(Date.now() + 90_000).toUTCString();
    const { fixture } = await transferWith([{ kind: "throttle", target: "graph", status: 503, retryAfter: retryAt }]);
    assert.ok(fixture.sleeps.some((ms) => ms > 60_000 && ms <= 90_000), `slept ${fixture.sleeps.join(", ")}`);
  });

  test("500 after the fragment was stored: the resend is skipped, no 416 overlap", async () => {
    const { fixture } = await transferWith([{ kind: "serverErrorAfterStore", target: "uploadPut", skip: 2, status: 500 }]);
    assert.equal(statusChecks(fixture).length, 1);
    assert.equal(uploadPuts(fixture).filter((request) => request.status === 416).length, 0);
    assert.equal(uploadPuts(fixture).length, 6, "six fragments: the one answered with 500 was stored and is not sent again");
  });

  test("a connection dropped after the fragment was stored", async () => {
    const { fixture } = await transferWith([{ kind: "dropAfterStore", target: "uploadPut", skip: 3 }]);
    assert.equal(statusChecks(fixture).length, 1);
    assert.equal(uploadPuts(fixture).filter((request) => request.status === 416).length, 0);
  });

  test("the server keeps only part of a fragment: the next fragment starts at its unaligned offset", async () => {
    const { fixture } = await transferWith([{ kind: "storePartialThenDrop", target: "uploadPut", skip: 1, partialBytes: 12_345 }]);
    const ranges = uploadPuts(fixture).map((request) => request.headers["content-range"]);
    const resumedAt = 3 * FRAGMENT + 12_345;
    assert.ok(ranges.some((range) => range?.startsWith(`bytes ${resumedAt}-`)), ranges.join("\n"));
  });

  test("a transient 404 on a fragment: the session still exists, so the upload continues in it", async () => {
    const { fixture } = await transferWith([{ kind: "transient404", target: "uploadPut", skip: 2 }]);
    const creates = fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession"));
    assert.equal(creates.length, 1, "no new session");
  });

  test("the final fragment stored but its answer lost: the committed file is found and verified", async () => {
    const { fixture } = await transferWith([{ kind: "dropAfterStore", target: "uploadPut", skip: 5 }]);
    const creates = fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession"));
    assert.equal(creates.length, 1, "not uploaded twice");
  });

  test("seeded random faults on every kind still end byte-identical", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { FRAGMENT_SIZE_MB: "1" }, {
      seededFaults: { seed: 20261127, probability: 0.4, kinds: ["throttle", "serverErrorAfterStore", "dropAfterStore", "storePartialThenDrop", "transient404"], maxFaults: 6 },
    }));
    const content = randomContent(FILE_SIZE * 2);
    await fixture.putBlob("chaos.bin", content);
    const outcome = await fixture.engine().transferBlob("chaos.bin");
    assert.equal(outcome.status, "uploaded", outcome.error);
    assert.ok(fixture.emulator.getItem("chaos.bin")?.content?.equals(content));
  });

  test("a permanent 4xx on a fragment fails the file and cancels its session; the blob stays", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { FRAGMENT_SIZE_MB: "1" }, { quotaBytes: 1000 }));
    await fixture.putBlob("too-big.bin", randomContent(FILE_SIZE));
    const outcome = await fixture.engine().transferBlob("too-big.bin");
    assert.equal(outcome.status, "failed");
    assert.match(outcome.error ?? "", /507/);
    assert.ok(await fixture.container.getBlobClient("too-big.bin").exists(), "the source blob is untouched");
    const row = await fixture.engine().services.ledger.get("too-big.bin");
    assert.equal(row?.status, "failed");
    assert.match(row?.lastError ?? "", /507/);
  });
});
