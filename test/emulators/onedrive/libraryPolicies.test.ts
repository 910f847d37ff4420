import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { startOneDriveEmulator, type OneDriveEmulator, type OneDriveEmulatorOptions } from "./index";
import { createSession, encodePath, graph, patternBytes, uploadAll } from "./testClient";

const CHUNK = 327_680;

async function withEmulator(options: OneDriveEmulatorOptions, body: (emulator: OneDriveEmulator) => Promise<void>): Promise<void> {
  const emulator = await startOneDriveEmulator(options);
  try {
    await body(emulator);
  } finally {
    await emulator.close();
  }
}

async function uploadBySession(emulator: OneDriveEmulator, path: string, content: Buffer): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const responses = await uploadAll(await createSession(emulator, path), content, CHUNK);
  const last = responses[responses.length - 1];
  assert.ok(last.status === 201 || last.status === 200, `commit of ${path}: ${last.status} ${JSON.stringify(last.body)}`);
  return last.body;
}

/** publication.level as Graph returns it: only when `$select` names it. */
async function publicationLevel(emulator: OneDriveEmulator, itemId: string): Promise<string | undefined> {
  const answer = await graph(emulator, "GET", `/me/drive/items/${itemId}?$select=id,publication`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.publication?.level;
}

describe("OneDrive emulator: library settings of business drives and document libraries", () => {
  test("library options are refused on a personal drive", async () => {
    await assert.rejects(startOneDriveEmulator({ library: { requireCheckout: true } }), /SharePoint's/);
    await assert.rejects(startOneDriveEmulator({ driveType: "documentLibrary", library: { requiredColumns: [""] } }), /requiredColumns/);
    await assert.rejects(startOneDriveEmulator({ driveType: "business", library: { rateLimit: { resourceUnitsPerMinute: 0 } } }), /resourceUnitsPerMinute/);
  });

  test("requireCheckout: an upload (session or simple PUT) is left checked out until POST …/checkin publishes it", async () => {
    await withEmulator({ driveType: "documentLibrary", library: { requireCheckout: true } }, async (emulator) => {
      const bySession = await uploadBySession(emulator, "by-session.bin", patternBytes(1000, 2));
      assert.equal(bySession.publication, undefined, "not returned by default");
      assert.equal(await publicationLevel(emulator, bySession.id), "checkout");
      const simple = await graph(emulator, "PUT", `/me/drive/root:/${encodePath("simple.txt")}:/content`, { body: "hello" });
      assert.equal(await publicationLevel(emulator, simple.body.id), "checkout");
      assert.equal((await graph(emulator, "GET", `/me/drive/items/${bySession.id}`)).body.publication, undefined);
      const selected = await graph(emulator, "GET", `/me/drive/items/${bySession.id}?$select=id,publication`);
      assert.deepEqual(Object.keys(selected.body).sort(), ["id", "publication"], "only what $select names");
      assert.equal((await graph(emulator, "GET", `/me/drive/items/${bySession.id}?$select=id,checkedOut`)).status, 400, "an unknown property");

      const checkin = await graph(emulator, "POST", `/me/drive/items/${bySession.id}/checkin`, { json: { comment: "from blob a/b.bin" } });
      assert.equal(checkin.status, 204);
      assert.equal(checkin.body, undefined);
      const after = (await graph(emulator, "GET", `/me/drive/items/${bySession.id}`)).body;
      assert.equal(await publicationLevel(emulator, bySession.id), "published");
      assert.notEqual(after.eTag, bySession.eTag, "the check-in makes a new version");
      assert.deepEqual(emulator.checkinComments("by-session.bin"), ["from blob a/b.bin"]);

      const again = await graph(emulator, "POST", `/me/drive/items/${bySession.id}/checkin`, { json: {} });
      assert.equal(again.status, 400);
      assert.match(again.body.error.message, /not checked out/);
      const badBody = await graph(emulator, "POST", `/me/drive/items/${simple.body.id}/checkin`, { json: { checkInAs: "major" } });
      assert.equal(badBody.status, 400);
      // A seeded file was not uploaded: it is published.
      assert.equal(await publicationLevel(emulator, emulator.putFile("seeded.txt", "x").id), "published");
    });
  });

  test("a library without check-out rules reports files published, a personal drive no facet; check-in is refused", async () => {
    await withEmulator({ driveType: "business" }, async (emulator) => {
      const item = await uploadBySession(emulator, "plain.bin", patternBytes(100, 3));
      assert.equal(await publicationLevel(emulator, item.id), "published");
      const checkin = await graph(emulator, "POST", `/me/drive/items/${item.id}/checkin`, { json: { comment: "x" } });
      assert.equal(checkin.status, 400);
    });
    await withEmulator({}, async (emulator) => {
      const item = await uploadBySession(emulator, "plain.bin", patternBytes(100, 3));
      assert.equal(await publicationLevel(emulator, item.id), undefined);
      assert.equal((await graph(emulator, "POST", `/me/drive/items/${item.id}/checkin`, { json: {} })).status, 400);
      assert.equal((await graph(emulator, "GET", "/me/drive/list/columns")).status, 400, "a personal drive has no list");
    });
  });

  test("requiredColumns: the upload stays checked out, check-in is refused, and the list's columns name the column", async () => {
    await withEmulator({ driveType: "documentLibrary", library: { requiredColumns: ["Cost Centre"] } }, async (emulator) => {
      const item = await uploadBySession(emulator, "invoice.pdf", patternBytes(500, 4));
      assert.equal(await publicationLevel(emulator, item.id), "checkout");
      const checkin = await graph(emulator, "POST", `/me/drive/items/${item.id}/checkin`, { json: { comment: "x" } });
      assert.equal(checkin.status, 400);
      assert.equal(checkin.body.error.code, "invalidRequest");
      assert.equal(await publicationLevel(emulator, item.id), "checkout");
      const columns = (await graph(emulator, "GET", "/me/drive/list/columns")).body.value as { displayName: string; required: boolean; defaultValue?: unknown }[];
      const required = columns.filter((column) => column.required && column.defaultValue === null && column.displayName !== "Name");
      assert.deepEqual(required.map((column) => column.displayName), ["Cost Centre"]);
    });
  });

  test("refuseFileSystemInfoAtCreation: createUploadSession with fileSystemInfo is 400, without it 200", async () => {
    await withEmulator({ driveType: "business", library: { refuseFileSystemInfoAtCreation: true } }, async (emulator) => {
      const refused = await graph(emulator, "POST", "/me/drive/root:/a.bin:/createUploadSession", {
        json: { item: { fileSystemInfo: { lastModifiedDateTime: "2024-01-01T00:00:00Z" } } },
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, "invalidRequest");
      assert.equal(refused.body.error.message, "The request is malformed or incorrect.");
      assert.equal(emulator.openSessions().length, 0);
      const accepted = await graph(emulator, "POST", "/me/drive/root:/a.bin:/createUploadSession", { json: { item: { "@microsoft.graph.conflictBehavior": "replace" } } });
      assert.equal(accepted.status, 200);
      const patched = await graph(emulator, "PATCH", "/me/drive/root:/a.bin", { json: { fileSystemInfo: { lastModifiedDateTime: "2024-01-01T00:00:00Z" } } });
      assert.equal(patched.status, 404, "nothing is committed yet");
    });
  });

  test("locked: replacing, patching or deleting a locked file is 423 notAllowed/resourceLocked; other files go on", async () => {
    const locked = new Set<string>(["busy.docx"]);
    await withEmulator({ driveType: "business", library: { locked: (path) => locked.has(path) } }, async (emulator) => {
      emulator.putFile("busy.docx", "in use");
      const session = await graph(emulator, "POST", "/me/drive/root:/busy.docx:/createUploadSession", { json: { item: { "@microsoft.graph.conflictBehavior": "replace" } } });
      assert.equal(session.status, 423);
      assert.equal(session.body.error.code, "notAllowed");
      assert.equal(session.body.error.innerError.code, "resourceLocked");
      assert.equal((await graph(emulator, "PUT", "/me/drive/root:/busy.docx:/content", { body: "x" })).status, 423);
      assert.equal((await graph(emulator, "PATCH", "/me/drive/root:/busy.docx", { json: { fileSystemInfo: { lastModifiedDateTime: "2024-01-01T00:00:00Z" } } })).status, 423);
      assert.equal((await graph(emulator, "DELETE", "/me/drive/root:/busy.docx")).status, 423);
      const renamed = await graph(emulator, "PUT", "/me/drive/root:/busy.docx:/content?@microsoft.graph.conflictBehavior=rename", { body: "x" });
      assert.equal(renamed.status, 201, "a new file beside it is not locked");
      await uploadBySession(emulator, "free.bin", patternBytes(10, 5));
      locked.clear();
      assert.equal((await graph(emulator, "POST", "/me/drive/root:/busy.docx:/createUploadSession", { json: {} })).status, 200);
    });
  });

  test("rateLimit: RateLimit-* headers from 80 % of the minute's resource units, then 429 until the minute is over", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    await withEmulator({ driveType: "documentLibrary", clock: () => now, library: { rateLimit: { resourceUnitsPerMinute: 10 } } }, async (emulator) => {
      for (let get = 1; get <= 7; get++) {
        const answer = await graph(emulator, "GET", "/me/drive/root");
        assert.equal(answer.status, 200);
        assert.equal(answer.headers.get("ratelimit-limit"), null, `GET ${get} is under 80 %`);
      }
      now += 15_000;
      const eighth = await graph(emulator, "GET", "/me/drive/root");
      assert.equal(eighth.headers.get("ratelimit-limit"), "10");
      assert.equal(eighth.headers.get("ratelimit-remaining"), "2");
      assert.equal(eighth.headers.get("ratelimit-reset"), "45");
      const post = await graph(emulator, "POST", "/me/drive/root/children", { json: { name: "f", folder: {} } });
      assert.equal(post.status, 201);
      assert.equal(post.headers.get("ratelimit-remaining"), "0", "a create costs 2");
      const over = await graph(emulator, "GET", "/me/drive/root");
      assert.equal(over.status, 429);
      assert.equal(over.headers.get("retry-after"), "45");
      assert.equal(emulator.rateLimitedCount(), 1);
      now += 45_000;
      const fresh = await graph(emulator, "GET", "/me/drive/root");
      assert.equal(fresh.status, 200);
      assert.equal(fresh.headers.get("ratelimit-limit"), null, "a new minute starts the budget again");
    });
  });
});
