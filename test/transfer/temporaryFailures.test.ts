import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BlobSource } from "../../functions/storage/blobSource";
import { createStorageClients } from "../../functions/storage/storageClients";
import { quickXorHashBase64 } from "../../functions/onedrive/quickXorHash";
import { azuriteForSuite } from "../support/azurite";
import { connectionStringThrough, startStallProxy, type StallProxy } from "../support/stallProxy";
import { createTransferFixture, FRAGMENT, randomContent, type TransferFixture } from "../support/transferHarness";
import type { Fault } from "../emulators/onedrive";

/** The fragment size at FRAGMENT_SIZE_MB=1: 1 MiB rounded down to a multiple of 320 KiB. */
const FRAGMENT_BYTES = 3 * FRAGMENT;
const FILE_SIZE = 5 * FRAGMENT_BYTES + 777; // six fragments, the last one short

const sessionCreates = (fixture: TransferFixture) => fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession"));
const uploadPuts = (fixture: TransferFixture) => fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "PUT");
const sessionDeletes = (fixture: TransferFixture) => fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "DELETE");

function rangeStart(contentRange: string | undefined): number {
  const match = /^bytes (\d+)-/.exec(contentRange ?? "");
  assert.ok(match, `a Content-Range: ${contentRange}`);
  return Number(match[1]);
}

describe("a temporary failure keeps the upload session and its progress; a permanent one cancels it", () => {
  const suite = azuriteForSuite();
  let blobProxy: StallProxy;

  before(async () => {
    blobProxy = await startStallProxy({ port: suite.instance.blobPort });
  });
  after(async () => {
    await blobProxy.close();
  });

  async function fixtureWith(env: Record<string, string> = {}, faults: Fault[] = []): Promise<TransferFixture> {
    return suite.closeAfter(await createTransferFixture(suite.instance, { FRAGMENT_SIZE_MB: "1", ...env }, { faults }));
  }

  /**
   * After the failed attempt: the row still holds the session and its checkpoint, OneDrive still holds the session;
   * a second attempt resumes at the server's offset, in that same session, and the file ends byte-identical.
   */
  async function assertResumedAfterTemporaryFailure(fixture: TransferFixture, blobName: string, content: Buffer, confirmedBefore: number): Promise<void> {
    assert.equal(sessionDeletes(fixture).length, 0, "the session was not cancelled");
    assert.equal(fixture.emulator.openSessions().length, 1, "OneDrive still holds the session");
    const row = await fixture.engine().services.ledger.get(blobName);
    assert.equal(row?.status, "uploading", "the row stays resumable");
    assert.equal(row?.uploadUrl, fixture.emulator.openSessions()[0].uploadUrl, "the row keeps the session URL");
    assert.equal(row?.confirmedBytes, confirmedBefore, "the checkpoint holds the bytes OneDrive confirmed");
    assert.ok(row?.hashState && (row.hashedBytes ?? 0) >= confirmedBefore, `hash checkpoint covers ${row?.hashedBytes} bytes`);
    assert.ok(row?.uploadExpiresAt, "the session's expiry is kept");
    assert.ok(row?.lastError, "the row says what went wrong");
    assert.equal(row?.claimOwner, undefined, "the claim is released");

    const putsBefore = uploadPuts(fixture).length;
    const rerun = await fixture.engine().transferBlob(blobName);
    assert.equal(rerun.status, "uploaded", `${rerun.error ?? ""}\n${fixture.log.lines.join("\n")}`);
    const rerunPuts = uploadPuts(fixture).slice(putsBefore);
    assert.equal(rangeStart(rerunPuts[0]?.headers["content-range"]), confirmedBefore, "the rerun resumes at the server's offset");
    assert.equal(sessionCreates(fixture).length, 1, "one upload session for the whole file");
    const item = fixture.emulator.getItem(blobName);
    assert.ok(item?.content?.equals(content), "OneDrive holds exactly the blob's bytes");
    assert.equal(item?.quickXorHash, quickXorHashBase64(content));
    const done = await fixture.engine().services.ledger.get(blobName);
    assert.equal(done?.status, "done");
    assert.equal(done?.lastError, undefined);
  }

  test("a network failure on a fragment that outlasts every retry keeps the session; the rerun resumes it", async () => {
    // Fragment 3's PUT loses its connection with nothing stored, nine times running: more than one attempt takes.
    const drops: Fault[] = Array.from({ length: 9 }, (_, index) => ({ kind: "storePartialThenDrop", target: "uploadPut", skip: index === 0 ? 2 : 0, partialBytes: 0 }));
    const fixture = await fixtureWith({}, drops);
    const content = randomContent(FILE_SIZE);
    await fixture.putBlob("flaky.bin", content);

    const first = await fixture.engine().transferBlob("flaky.bin");
    assert.equal(first.status, "failed");
    assert.match(first.error ?? "", /without progress.*temporary failure: the upload session is kept and the next attempt resumes it/s);
    await assertResumedAfterTemporaryFailure(fixture, "flaky.bin", content, 2 * FRAGMENT_BYTES);
  });

  test("a fragment throttled for longer than an attempt waits ends the attempt with the session kept; the rerun resumes it", async () => {
    const fixture = await fixtureWith({}, [{ kind: "throttle", target: "uploadPut", skip: 2, status: 429, retryAfter: "3600" }]);
    const content = randomContent(FILE_SIZE);
    await fixture.putBlob("throttled.bin", content);

    const first = await fixture.engine().transferBlob("throttled.bin");
    assert.equal(first.status, "incomplete", "handed over until the wait is over");
    assert.equal(first.resumeAfterMs, 3_600_000);
    assert.match(first.error ?? "", /throttled for 3600 s; continues after that.*429/s);
    assert.ok(!fixture.sleeps.includes(3_600_000), "an hour is not waited out in-process");
    assert.ok((await fixture.engine().services.ledger.get("throttled.bin"))?.throttledUntil, "the wait is recorded for every run");
    await assertResumedAfterTemporaryFailure(fixture, "throttled.bin", content, 2 * FRAGMENT_BYTES);
  });

  test("a blob read that stalls mid-file keeps the session; the rerun resumes it", async () => {
    const fixture = await fixtureWith();
    const content = randomContent(FILE_SIZE);
    await fixture.putBlob("slow-read.bin", content);
    // The engine reads the blob through the proxy, with a read ceiling short enough to give up in half a second.
    const storage = createStorageClients({ kind: "connectionString", connectionString: connectionStringThrough(suite.instance, { blob: blobProxy }) });
    const engine = fixture.engine({ storage });
    engine.services.source = new BlobSource(storage.blobService.getContainerClient(fixture.settings.sourceContainer), () => 500);
    const fourthFragment = `bytes=${3 * FRAGMENT_BYTES}-${4 * FRAGMENT_BYTES - 1}`;
    blobProxy.stallNext({ match: (line, headers) => line.startsWith("GET ") && line.includes("/slow-read.bin") && (headers["x-ms-range"] ?? headers.range) === fourthFragment, forward: false });

    const first = await engine.transferBlob("slow-read.bin");
    assert.equal(first.status, "failed");
    assert.equal(blobProxy.stalled.length, 1, "the fourth fragment's read was held");
    assert.match(first.error ?? "", /did not arrive within 1 s.*temporary failure: the upload session is kept/s);
    await assertResumedAfterTemporaryFailure(fixture, "slow-read.bin", content, 3 * FRAGMENT_BYTES);
  });

  test("a name clash at commit under CONFLICT_BEHAVIOR=fail is permanent: the session is cancelled and the file failed", async () => {
    const fixture = await fixtureWith({ CONFLICT_BEHAVIOR: "fail" });
    await fixture.putBlob("clash.bin", randomContent(FILE_SIZE));
    let clashed = false;
    const outcome = await fixture.engine().transferBlob("clash.bin", {
      onProgress: (confirmedBytes) => {
        // Someone stores a file of that name while the upload runs: OneDrive refuses the commit (409).
        if (clashed || confirmedBytes < 2 * FRAGMENT_BYTES) return;
        clashed = true;
        fixture.emulator.putFile("clash.bin", "stored meanwhile by someone else");
      },
    });
    assert.equal(outcome.status, "failed");
    assert.match(outcome.error ?? "", /409 nameAlreadyExists/);
    assert.doesNotMatch(outcome.error ?? "", /temporary/);
    assert.equal(sessionDeletes(fixture).length, 1, "the refused session was cancelled");
    assert.deepEqual(fixture.emulator.openSessions(), []);
    assert.equal(fixture.emulator.getItem("clash.bin")?.content?.toString(), "stored meanwhile by someone else");
    const row = await fixture.engine().services.ledger.get("clash.bin");
    assert.equal(row?.status, "failed");
    assert.equal(row?.uploadUrl, undefined);
    assert.match(row?.lastError ?? "", /409/);
  });
});
