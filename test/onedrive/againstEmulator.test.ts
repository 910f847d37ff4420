import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startOneDriveEmulator, type OneDriveEmulator, type OneDriveEmulatorOptions } from "../emulators/onedrive";
import { GraphClient } from "../../functions/onedrive/graphClient";
import { StaticAccessTokenProvider } from "../../functions/onedrive/accessToken";
import { GraphError } from "../../functions/onedrive/graphError";
import { OffsetQuickXorHash, quickXorHashBase64 } from "../../functions/onedrive/quickXorHash";
import { nextExpectedOffset, UploadSessionClient } from "../../functions/onedrive/uploadSessionClient";
import { recordingSleep } from "./scriptedServer";
import { listChildren } from "./support/driveListing";

/** The product's protocol layer against the independent HTTPS OneDrive emulator (built from the same docs). */

interface Harness {
  emulator: OneDriveEmulator;
  graph: GraphClient;
  uploads: UploadSessionClient;
  delays: number[];
}

async function startHarness(options: OneDriveEmulatorOptions = {}): Promise<Harness> {
  const emulator = await startOneDriveEmulator(options);
  const { sleep, delays, now } = recordingSleep();
  const retry = { sleep, now, random: () => 0.5 };
  return {
    emulator,
    delays,
    graph: new GraphClient({ baseUrl: `${emulator.graphEndpoint}/v1.0`, tokenProvider: new StaticAccessTokenProvider(emulator.accessToken), retry }),
    uploads: new UploadSessionClient({ retry }),
  };
}

const FRAGMENT = 327_680;
const MODIFIED = "2025-06-01T12:00:00Z";

describe("protocol layer against the OneDrive emulator", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.emulator.close();
  });

  test("folders, an upload session in 320 KiB fragments, and the server's hash equal to ours", async () => {
    const { emulator, graph, uploads } = harness;
    const folderId = await graph.ensureFolderPath("in #1/100% été");
    const content = randomBytes(2 * FRAGMENT + 12_345);
    const session = await graph.createUploadSession(folderId, "data file#.bin", { conflictBehavior: "fail", fileSize: content.length, lastModifiedDateTime: MODIFIED });
    const hash = new OffsetQuickXorHash();
    let offset = nextExpectedOffset(session.nextExpectedRanges) ?? 0;
    let completed;
    while (completed === undefined) {
      const bytes = content.subarray(offset, Math.min(offset + FRAGMENT, content.length));
      hash.updateAt(offset, bytes);
      const result = await uploads.putFragment(session.uploadUrl, offset, bytes, content.length);
      if (result.kind === "completed") completed = result;
      else offset = nextExpectedOffset(result.nextExpectedRanges) ?? content.length;
    }
    assert.equal(completed.created, true);
    assert.equal(completed.item.size, content.length);
    assert.equal(completed.item.file?.hashes?.quickXorHash, hash.digestBase64());
    assert.equal(hash.digestBase64(), quickXorHashBase64(content));
    const stored = emulator.getItem("in #1/100% été/data file#.bin");
    assert.ok(stored?.content?.equals(content));
    assert.equal(stored?.lastModifiedDateTime, "2025-06-01T12:00:00Z");

    const uploadRequests = emulator.requests.filter((request) => request.origin === "upload");
    assert.equal(uploadRequests.length, 3);
    for (const request of uploadRequests) assert.equal(request.headers.authorization, undefined);
    for (const request of emulator.requests.filter((candidate) => candidate.origin === "graph")) {
      assert.equal(request.headers.authorization, `Bearer ${emulator.accessToken}`);
    }

    const found = await graph.getItemByPath("in #1/100% été/data file#.bin");
    assert.equal(found?.id, completed.item.id);
  });

  test("a folder another client created meanwhile is used, not created twice; a fresh client finds the tree again", async () => {
    const { graph, emulator } = harness;
    const first = await graph.ensureFolderPath("shared");
    const client = () => new GraphClient({ baseUrl: `${emulator.graphEndpoint}/v1.0`, tokenProvider: new StaticAccessTokenProvider(emulator.accessToken) });
    // The second client's lookup misses the folder (as a lookup racing another worker's creation would), so it
    // creates it: OneDrive answers 409 nameAlreadyExists and the client takes the folder that is there.
    emulator.addFaults([{ kind: "transient404", target: "graph", match: (request) => request.method === "GET" && request.url.includes("root:/shared") }]);
    const before = emulator.requests.length;
    assert.equal(await client().ensureFolderPath("shared"), first);
    const refused = emulator.requests.slice(before).filter((request) => request.method === "POST" && request.url.endsWith("/children"));
    assert.deepEqual(refused.map((request) => request.status), [409]);
    assert.equal(await client().ensureFolderPath("shared"), first);
  });

  test("conflictBehavior fail on an existing file is a 409 nameAlreadyExists GraphError", async () => {
    const { graph, emulator } = harness;
    emulator.putFile("clash/taken.txt", "x");
    const folderId = await graph.ensureFolderPath("clash");
    const error = await graph
      .createUploadSession(folderId, "taken.txt", { conflictBehavior: "fail", fileSize: 10, lastModifiedDateTime: MODIFIED })
      .then(() => undefined, (caught: unknown) => caught);
    assert.ok(error instanceof GraphError);
    assert.equal(error.status, 409);
    assert.ok(error.hasCode("nameAlreadyExists"));
    assert.ok(error.requestId, "the emulator sends request-id");
  });

  test("small upload of 0 bytes, then its modification time", async () => {
    const { graph } = harness;
    const folderId = await graph.ensureFolderPath("small");
    const item = await graph.uploadSmallFile(folderId, "empty.txt", new Uint8Array(0), { conflictBehavior: "replace" });
    assert.equal(item.size, 0);
    const patched = await graph.setLastModified(item.id, "2020-02-02T02:02:02Z");
    assert.equal(patched.fileSystemInfo?.lastModifiedDateTime, "2020-02-02T02:02:02Z");
    assert.equal((await graph.getItemByPath("small/empty.txt"))?.id, item.id);
  });

  test("listChildren pages through more than one page", async () => {
    const { graph, emulator } = harness;
    for (let i = 0; i < 205; i++) emulator.putFile(`many/f${i}.txt`, "");
    const folderId = await graph.ensureFolderPath("many");
    let count = 0;
    for await (const child of listChildren(graph, folderId)) {
      assert.match(child.name, /^f\d+\.txt$/);
      count++;
    }
    assert.equal(count, 205);
  });

  test("status and cancel of an upload session", async () => {
    const { graph, uploads } = harness;
    const folderId = await graph.ensureFolderPath("cancelled");
    const session = await graph.createUploadSession(folderId, "c.bin", { conflictBehavior: "replace", fileSize: 2 * FRAGMENT, lastModifiedDateTime: MODIFIED });
    await uploads.putFragment(session.uploadUrl, 0, Buffer.alloc(FRAGMENT), 2 * FRAGMENT);
    const status = await uploads.getStatus(session.uploadUrl);
    assert.notEqual(status, "notFound");
    assert.equal(status !== "notFound" && nextExpectedOffset(status.nextExpectedRanges), FRAGMENT);
    await uploads.cancel(session.uploadUrl);
    assert.equal(await uploads.getStatus(session.uploadUrl), "notFound");
    await uploads.cancel(session.uploadUrl);
  });
});

describe("protocol layer against emulator faults", () => {
  test("Graph throttling with Retry-After 2 is waited out through the injected sleep", async () => {
    const harness = await startHarness({ faults: [{ kind: "throttle", target: "graph", status: 429, retryAfter: "2" }] });
    try {
      const root = await harness.graph.getRoot();
      assert.ok(root.id);
      assert.deepEqual(harness.delays, [2000]);
      assert.deepEqual(harness.emulator.requests.map((request) => request.status), [429, 200]);
    } finally {
      await harness.emulator.close();
    }
  });

  test("a fragment stored but answered 500 is not retried; status shows the server kept it", async () => {
    const harness = await startHarness({ faults: [{ kind: "serverErrorAfterStore", target: "uploadPut" }] });
    try {
      const { graph, uploads, emulator } = harness;
      const root = await graph.getRoot();
      const session = await graph.createUploadSession(root.id, "stored.bin", { conflictBehavior: "replace", fileSize: 2 * FRAGMENT, lastModifiedDateTime: MODIFIED });
      const error = await uploads.putFragment(session.uploadUrl, 0, Buffer.alloc(FRAGMENT, 1), 2 * FRAGMENT).then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof GraphError);
      assert.equal(error.status, 500);
      assert.doesNotMatch(error.message, /tempauth/);
      assert.equal(emulator.requests.filter((request) => request.origin === "upload" && request.method === "PUT").length, 1);
      const status = await uploads.getStatus(session.uploadUrl);
      assert.equal(status !== "notFound" && nextExpectedOffset(status.nextExpectedRanges), FRAGMENT);
      const resent = await uploads.putFragment(session.uploadUrl, 0, Buffer.alloc(FRAGMENT, 1), 2 * FRAGMENT).then(() => undefined, (caught: unknown) => caught);
      assert.ok(resent instanceof GraphError && resent.status === 416 && resent.hasCode("fragmentOverlap"));
    } finally {
      await harness.emulator.close();
    }
  });

  test("a status GET throttled with 503 is retried after Retry-After", async () => {
    const harness = await startHarness({ faults: [{ kind: "throttle", target: "uploadGet", status: 503, retryAfter: "4" }] });
    try {
      const { graph, uploads } = harness;
      const root = await graph.getRoot();
      const session = await graph.createUploadSession(root.id, "s.bin", { conflictBehavior: "replace", fileSize: 10, lastModifiedDateTime: MODIFIED });
      const status = await uploads.getStatus(session.uploadUrl);
      assert.equal(status !== "notFound" && nextExpectedOffset(status.nextExpectedRanges), 0);
      assert.deepEqual(harness.delays, [4000]);
    } finally {
      await harness.emulator.close();
    }
  });
});
