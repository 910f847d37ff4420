import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { quickXorHashBase64 } from "../../functions/onedrive/quickXorHash";
import { startAzurite, type AzuriteInstance } from "../support/azurite";
import { createTransferFixture, FRAGMENT, randomContent, type TransferFixture } from "../support/transferHarness";

const MiB = 1024 * 1024;

describe("transfers of every boundary size", () => {
  let azurite: AzuriteInstance;
  let fixture: TransferFixture;
  const sizes = [0, 1, FRAGMENT - 1, FRAGMENT, FRAGMENT + 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 3 * FRAGMENT * 3 + 12_345];
  const contents = new Map<string, Buffer>();

  before(async () => {
    azurite = await startAzurite();
    // 1 MiB rounds down to 983,040 bytes (3 × 320 KiB): the largest size spans several fragments with a short last one.
    fixture = await createTransferFixture(azurite, { FRAGMENT_SIZE_MB: "1", DEST_FOLDER: "Backups/2026" });
    for (const size of sizes) {
      const content = randomContent(size);
      contents.set(`size-${size}.bin`, content);
      await fixture.putBlob(`size-${size}.bin`, content);
    }
  });
  after(async () => {
    await fixture?.close();
    await azurite?.stop();
  });

  test("every file lands byte-identical, verified, with the blob's time, and the protocol is followed", async () => {
    const summary = await fixture.engine().sweep();
    assert.equal(summary.failed, 0, JSON.stringify(summary.files.filter((file) => file.status === "failed")));
    assert.equal(summary.uploaded, sizes.length);
    assert.equal(summary.bytes, sizes.reduce((total, size) => total + size, 0));

    for (const [name, content] of contents) {
      const item = fixture.emulator.getItem(`Backups/2026/${name}`);
      assert.ok(item, `${name} is in OneDrive`);
      assert.equal(item.size, content.length, name);
      assert.ok(item.content?.equals(content), `${name} is byte-identical`);
      assert.equal(item.quickXorHash, quickXorHashBase64(content), name);
      const properties = await fixture.container.getBlobClient(name).getProperties();
      assert.equal(Date.parse(item.lastModifiedDateTime), properties.lastModified?.getTime(), `${name} keeps the blob's last-modified time`);
    }

    const fragmentSize = fixture.settings.fragmentSizeBytes;
    assert.equal(fragmentSize, 3 * FRAGMENT);
    const largest = summary.files.find((file) => file.blob === `size-${3 * FRAGMENT * 3 + 12_345}.bin`);
    assert.equal(largest?.fragments, 4, "three full fragments and a short last one");

    const uploadRequests = fixture.emulator.requests.filter((request) => request.origin === "upload");
    assert.ok(uploadRequests.length > 0);
    for (const request of uploadRequests) {
      assert.equal(request.headers.authorization, undefined, "no Authorization header ever reaches an upload URL");
    }
    for (const request of uploadRequests.filter((candidate) => candidate.method === "PUT")) {
      const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(request.headers["content-range"] ?? "");
      assert.ok(match, `Content-Range ${request.headers["content-range"]}`);
      const [first, last, total] = match.slice(1).map(Number);
      assert.ok(last < total, "the last byte index is inside the file");
      assert.equal(Number(request.headers["content-length"]), last - first + 1);
      if (last + 1 < total) assert.equal((last - first + 1) % FRAGMENT, 0, "every fragment but the last is a multiple of 320 KiB");
      assert.ok(last - first + 1 <= fragmentSize);
    }
    const sessionCreates = fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession"));
    assert.equal(sessionCreates.length, sizes.length - 2, "every file over the batched size takes an upload session");
    assert.ok(sessionCreates.every((request) => !request.url.includes("size-1.bin")));
    const batchedParts = fixture.emulator.requests.filter((request) => request.batchId !== undefined);
    assert.deepEqual(
      batchedParts.map((request) => request.method),
      ["PUT", "PATCH"],
      "the 1-byte file goes in JSON batches: its bytes, then its time",
    );
    assert.match(batchedParts[0].url, /size-1\.bin:\/content\?@microsoft\.graph\.conflictBehavior=replace$/);
    const emptyPut = fixture.emulator.requests.filter((request) => request.method === "PUT" && request.origin === "graph" && request.url.includes("size-0.bin"));
    assert.equal(emptyPut.length, 1, "the empty file takes one simple PUT");
    assert.match(emptyPut[0].url, /conflictBehavior=replace/);
    // Parts of a batch travel inside the batch request, whose own headers are the ones checked.
    for (const request of fixture.emulator.requests.filter((candidate) => candidate.origin === "graph" && candidate.batchId === undefined)) {
      assert.match(request.headers["user-agent"] ?? "", /^NONISV\|onedrive-connector\|/);
    }
  });
});
