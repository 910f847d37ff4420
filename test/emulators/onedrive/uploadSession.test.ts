import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startOneDriveEmulator, type OneDriveEmulator } from "./index";
import { createSession, graph, patternBytes, putFragment, rawRequest, referenceQuickXorHash, toJson, uploadAll } from "./testClient";

const CHUNK = 327_680;

describe("OneDrive emulator: creating upload sessions", () => {
  let emulator: OneDriveEmulator;
  before(async () => {
    emulator = await startOneDriveEmulator({ quotaBytes: 50 * 1024 * 1024 });
  });
  after(async () => {
    await emulator.close();
  });

  test("every URL form of section 2.1 answers 200 with an uploadUrl on the upload origin and ['0-']", async () => {
    const folder = await graph(emulator, "POST", "/me/drive/root/children", { json: { name: "in", folder: {} } });
    const drive = await graph(emulator, "GET", "/me/drive");
    const existing = emulator.putFile("in/existing.txt", "old");
    const forms = [
      `/drives/${drive.body.id}/items/${folder.body.id}:/a.txt:/createUploadSession`,
      `/me/drive/items/${folder.body.id}:/b.txt:/createUploadSession`,
      "/me/drive/root:/in/c.txt:/createUploadSession",
      "/drive/root:/in/d.txt:/createUploadSession",
      `/drives/${drive.body.id}/root:/in/e.txt:/createUploadSession`,
      `/drives/${drive.body.id}/items/${existing.id}/createUploadSession`,
    ];
    for (const form of forms) {
      const response = await graph(emulator, "POST", form, { json: { item: {} } });
      assert.equal(response.status, 200, form);
      assert.deepEqual(response.body.nextExpectedRanges, ["0-"]);
      assert.ok(!Number.isNaN(Date.parse(response.body.expirationDateTime)));
      const uploadUrl = new URL(response.body.uploadUrl);
      assert.equal(uploadUrl.origin, emulator.uploadOrigin);
      assert.ok(uploadUrl.searchParams.get("tempauth"));
    }
    const replaceById = await graph(emulator, "POST", `/me/drive/items/${existing.id}/createUploadSession`, { json: {} });
    await uploadAll(replaceById.body.uploadUrl, Buffer.from("new content"), CHUNK);
    assert.equal(emulator.getItem("in/existing.txt")!.content!.toString(), "new content");
    assert.equal(emulator.getItem("in/existing.txt")!.id, existing.id);
  });

  test("a folder id without :/name: is 400 invalidRequest 'File name not provided in url.'", async () => {
    const root = emulator.getItem("")!;
    const response = await graph(emulator, "POST", `/me/drive/items/${root.id}/createUploadSession`, { json: {} });
    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, "invalidRequest");
    assert.equal(response.body.error.message, "File name not provided in url.");
  });

  test("a missing parent folder is refused and not created; item.name must agree with the URL", async () => {
    const missing = await graph(emulator, "POST", "/me/drive/root:/no/such/x.txt:/createUploadSession", { json: {} });
    assert.ok(missing.status === 404 || missing.status === 409);
    assert.equal(emulator.getItem("no"), undefined);
    const mismatch = await graph(emulator, "POST", "/me/drive/root:/x.txt:/createUploadSession", { json: { item: { name: "y.txt" } } });
    assert.equal(mismatch.status, 400);
    const badName = await graph(emulator, "POST", "/me/drive/root:/bad%3Aname.txt:/createUploadSession", { json: {} });
    assert.equal(badName.body.error.innerError.code, "invalidPath");
  });

  test("no conflictBehavior replaces; 'fail' is 409 at create and again at commit; 'rename' renames at commit", async () => {
    emulator.putFile("conflict.txt", "original");
    const implicit = await createSession(emulator, "conflict.txt");
    const replaced = await uploadAll(implicit, Buffer.from("replaced"), CHUNK);
    assert.equal(replaced[0].status, 200);
    assert.equal(emulator.getItem("conflict.txt")!.content!.toString(), "replaced");

    const failAtCreate = await graph(emulator, "POST", "/me/drive/root:/conflict.txt:/createUploadSession", {
      json: { item: { "@microsoft.graph.conflictBehavior": "fail" } },
    });
    assert.equal(failAtCreate.status, 409);
    assert.equal(failAtCreate.body.error.code, "nameAlreadyExists");

    const failLater = await createSession(emulator, "later.txt", { "@microsoft.graph.conflictBehavior": "fail" });
    emulator.putFile("later.txt", "appeared meanwhile");
    const atCommit = await putFragment(failLater, Buffer.from("mine"), 0, 4);
    assert.equal(atCommit.status, 409);
    assert.equal(atCommit.body.error.code, "nameAlreadyExists");
    assert.equal(emulator.getItem("later.txt")!.content!.toString(), "appeared meanwhile");

    const rename = await createSession(emulator, "conflict.txt", { "@microsoft.graph.conflictBehavior": "rename" });
    const renamed = await uploadAll(rename, Buffer.from("third"), CHUNK);
    assert.equal(renamed[0].status, 201);
    assert.equal(renamed[0].body.name, "conflict 1.txt");
  });

  test("fileSize over the free space is 507; If-Match mismatch is 412", async () => {
    const tooBig = await graph(emulator, "POST", "/me/drive/root:/huge.bin:/createUploadSession", {
      json: { item: { fileSize: 51 * 1024 * 1024 } },
    });
    assert.equal(tooBig.status, 507);
    const file = emulator.putFile("tagged.txt", "v1");
    const stale = await graph(emulator, "POST", "/me/drive/root:/tagged.txt:/createUploadSession", {
      json: {},
      headers: { "if-match": '"{OTHER},9"' },
    });
    assert.equal(stale.status, 412);
    const current = await graph(emulator, "POST", "/me/drive/root:/tagged.txt:/createUploadSession", {
      json: {},
      headers: { "if-match": file.eTag },
    });
    assert.equal(current.status, 200);
  });

  test("fileSystemInfo from the request lands on the created item", async () => {
    const uploadUrl = await createSession(emulator, "times.txt", {
      fileSystemInfo: { lastModifiedDateTime: "2021-05-06T07:08:09Z", createdDateTime: "2020-01-01T00:00:00Z" },
    });
    const [done] = await uploadAll(uploadUrl, Buffer.from("t"), CHUNK);
    assert.equal(done.body.fileSystemInfo.lastModifiedDateTime, "2021-05-06T07:08:09Z");
    assert.equal(done.body.fileSystemInfo.createdDateTime, "2020-01-01T00:00:00Z");
    assert.equal(emulator.getItem("times.txt")!.lastModifiedDateTime, "2021-05-06T07:08:09Z");
  });
});

describe("OneDrive emulator: one open session per path on Business", () => {
  test("a second createUploadSession for a path with an open session is 409 until the first is deleted", async () => {
    const business = await startOneDriveEmulator({ driveType: "business" });
    try {
      const first = await createSession(business, "same.txt");
      const second = await graph(business, "POST", "/me/drive/root:/SAME.txt:/createUploadSession", {
        json: { item: { "@microsoft.graph.conflictBehavior": "replace" } },
      });
      assert.equal(second.status, 409);
      assert.equal(second.body.error.code, "nameAlreadyExists");
      assert.equal((await fetch(first, { method: "DELETE" })).status, 204);
      const third = await graph(business, "POST", "/me/drive/root:/same.txt:/createUploadSession", { json: {} });
      assert.equal(third.status, 200);
    } finally {
      await business.close();
    }
  });

  test("personal drives just issue another session", async () => {
    const personal = await startOneDriveEmulator();
    try {
      await createSession(personal, "same.txt");
      await createSession(personal, "same.txt");
      assert.equal(personal.openSessions().length, 2);
    } finally {
      await personal.close();
    }
  });
});

describe("OneDrive emulator: fragments", () => {
  let emulator: OneDriveEmulator;
  let now = 1_800_000_000_000;
  before(async () => {
    emulator = await startOneDriveEmulator({ clock: () => now, sessionIdleTimeoutMs: 60_000 });
  });
  after(async () => {
    await emulator.close();
  });

  test("202 between fragments with open nextExpectedRanges, then 201 with the server's size and quickXorHash", async () => {
    const content = patternBytes(3 * CHUNK + 12_345, 3);
    const uploadUrl = await createSession(emulator, "flow.bin", { fileSize: content.length });
    const responses = await uploadAll(uploadUrl, content, CHUNK);
    assert.deepEqual(responses.map((response) => response.status), [202, 202, 202, 201]);
    assert.deepEqual(responses[0].body.nextExpectedRanges, [`${CHUNK}-`]);
    assert.deepEqual(responses[2].body.nextExpectedRanges, [`${3 * CHUNK}-`]);
    const item = responses[3].body;
    assert.equal(item.size, content.length);
    assert.equal(item.file.hashes.quickXorHash, referenceQuickXorHash(content));
    assert.ok(emulator.getItem("flow.bin")!.content!.equals(content));
    const gone = await fetch(uploadUrl);
    assert.equal(gone.status, 404);
    assert.equal(((await gone.json()) as { error: { code: string } }).error.code, "itemNotFound");
  });

  test("a second upload over the same path answers 200 (replaced) and keeps the id", async () => {
    const first = emulator.getItem("flow.bin")!;
    const uploadUrl = await createSession(emulator, "flow.bin");
    const [done] = await uploadAll(uploadUrl, Buffer.from("hello world"), CHUNK);
    assert.equal(done.status, 200);
    assert.equal(done.body.id, first.id);
    assert.equal(done.body.file.hashes.quickXorHash, "aCgDG9jwBhDc4Q1yawMZAAAAAAA=");
  });

  test("the upload origin refuses an Authorization header and a wrong or missing tempauth with 401", async () => {
    const uploadUrl = await createSession(emulator, "auth.bin");
    const withBearer = await putFragment(uploadUrl, Buffer.from("x"), 0, 1, { authorization: `Bearer ${emulator.accessToken}` });
    assert.equal(withBearer.status, 401);
    assert.equal(withBearer.body.error.code, "unauthenticated");
    const statusWithBearer = await toJson(await fetch(uploadUrl, { headers: { authorization: "Bearer x" } }));
    assert.equal(statusWithBearer.status, 401);
    const wrongToken = new URL(uploadUrl);
    wrongToken.searchParams.set("tempauth", "forged");
    assert.equal((await putFragment(wrongToken.href, Buffer.from("x"), 0, 1)).status, 401);
    const noToken = new URL(uploadUrl);
    noToken.search = "";
    assert.equal((await fetch(noToken)).status, 401);
    assert.equal(emulator.getItem("auth.bin"), undefined);
    assert.equal(emulator.toleratedUploadAuthorizations(), 0);
  });

  test("Content-Range missing or malformed is 400 with the documented message", async () => {
    const uploadUrl = await createSession(emulator, "range.bin");
    const cases: Array<Record<string, string>> = [{}, { "content-range": "bytes 0-0" }, { "content-range": "0-0/1" }, { "content-range": "bytes 5-4/10" }, { "content-range": "bytes 0-10/10" }, { "content-range": "bytes */10" }];
    for (const headers of cases) {
      const response = await toJson(await fetch(uploadUrl, { method: "PUT", headers, body: Buffer.from("x") }));
      assert.equal(response.status, 400, JSON.stringify(headers));
      assert.equal(response.body.error.code, "invalidRequest");
      assert.equal(response.body.error.message, "The Content-Range header is missing or malformed.");
    }
    const emptyFile = await toJson(await fetch(uploadUrl, { method: "PUT", headers: { "content-range": "bytes 0--1/0" }, body: Buffer.alloc(0) }));
    assert.equal(emptyFile.status, 400);
  });

  test("Content-Length 0, a Content-Length that disagrees with the range, and a chunked body are 400", async () => {
    const uploadUrl = await createSession(emulator, "length.bin");
    const empty = await toJson(await fetch(uploadUrl, { method: "PUT", headers: { "content-range": "bytes 0-9/10" }, body: Buffer.alloc(0) }));
    assert.equal(empty.status, 400);
    const short = await putFragment(uploadUrl, Buffer.alloc(10), 0, 100, { "content-range": "bytes 0-19/100" });
    assert.equal(short.status, 400);
    assert.equal(short.body.error.code, "invalidRequest");
    const chunked = await rawRequest(uploadUrl, { method: "PUT", headers: { "content-range": "bytes 0-9/10" }, chunks: [Buffer.alloc(5), Buffer.alloc(5)] });
    assert.notEqual(chunked, "aborted");
    if (chunked !== "aborted") assert.equal(chunked.status, 400);
    const status = await toJson(await fetch(uploadUrl));
    assert.deepEqual(status.body.nextExpectedRanges, ["0-"]);
  });

  test("a fragment cut off mid-body stores nothing", async () => {
    const uploadUrl = await createSession(emulator, "cut.bin");
    const cut = await rawRequest(uploadUrl, {
      method: "PUT",
      headers: { "content-range": `bytes 0-${CHUNK - 1}/${2 * CHUNK}`, "content-length": String(CHUNK) },
      chunks: [Buffer.alloc(1000)],
      abortAfterChunks: true,
    });
    assert.equal(cut, "aborted");
    // Fragment PUTs of one session are handled one at a time, so this one sees the cut one settled.
    const retry = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK);
    assert.equal(retry.status, 202);
    assert.deepEqual(retry.body.nextExpectedRanges, [`${CHUNK}-`]);
  });

  test("the total must stay constant and equal item.fileSize: 400 fragmentLengthMismatch", async () => {
    const uploadUrl = await createSession(emulator, "total.bin", { fileSize: 2 * CHUNK });
    const wrongFirst = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 3 * CHUNK);
    assert.equal(wrongFirst.status, 400);
    assert.equal(wrongFirst.body.error.innererror.code, "fragmentLengthMismatch");
    const other = await createSession(emulator, "total2.bin");
    assert.equal((await putFragment(other, Buffer.alloc(CHUNK), 0, 3 * CHUNK)).status, 202);
    const changed = await putFragment(other, Buffer.alloc(CHUNK), CHUNK, 4 * CHUNK);
    assert.equal(changed.status, 400);
    assert.equal(changed.body.error.innererror.code, "fragmentLengthMismatch");
  });

  test("a non-final fragment that is not a multiple of 320 KiB is 400; an unaligned last fragment is fine", async () => {
    const uploadUrl = await createSession(emulator, "align.bin");
    const unaligned = await putFragment(uploadUrl, Buffer.alloc(1024 * 1024), 0, 3 * 1024 * 1024);
    assert.equal(unaligned.status, 400);
    assert.equal(unaligned.body.error.code, "invalidRequest");
    assert.match(unaligned.body.error.message, /327680/);
    const content = patternBytes(CHUNK + 5, 9);
    const responses = await uploadAll(uploadUrl, content, CHUNK);
    assert.deepEqual(responses.map((response) => response.status), [202, 201]);
  });

  test("each request must be under 60 MiB: 62,914,560 bytes is 413 maxFragmentLengthExceeded", async () => {
    const uploadUrl = await createSession(emulator, "cap.bin");
    const size = 62_914_560;
    const tooLarge = await putFragment(uploadUrl, Buffer.alloc(size), 0, 2 * size);
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.body.error.innererror.code, "maxFragmentLengthExceeded");
    const largestLegal = 191 * CHUNK;
    assert.equal((await putFragment(uploadUrl, Buffer.alloc(largestLegal), 0, 2 * size)).status, 202);
  });

  test("416 bodies: fragmentOverlap below nextExpected, fragmentOutOfOrder above it, exactly as documented", async () => {
    const uploadUrl = await createSession(emulator, "order.bin");
    await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 4 * CHUNK);
    const overlap = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 4 * CHUNK);
    assert.equal(overlap.status, 416);
    assert.deepEqual(overlap.body, {
      error: { code: "invalidRange", message: "Uploaded fragment overlaps with existing data.", innererror: { code: "fragmentOverlap" } },
    });
    const gap = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 2 * CHUNK, 4 * CHUNK);
    assert.equal(gap.status, 416);
    assert.deepEqual(gap.body, {
      error: { code: "invalidRange", message: "Uploaded fragment is out of order.", innererror: { code: "fragmentOutOfOrder" } },
    });
  });

  test("GET reports the state, DELETE answers 204, and a cancelled session is 404 itemNotFound", async () => {
    const uploadUrl = await createSession(emulator, "status.bin");
    await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 3 * CHUNK);
    const status = await toJson(await fetch(uploadUrl));
    assert.equal(status.status, 200);
    assert.deepEqual(status.body.nextExpectedRanges, [`${CHUNK}-`]);
    assert.ok(emulator.openSessions().some((open) => open.uploadUrl === uploadUrl && open.nextExpectedOffset === CHUNK && open.path === "status.bin"));
    assert.equal((await fetch(uploadUrl, { method: "DELETE" })).status, 204);
    for (const method of ["GET", "DELETE"]) {
      const afterCancel = await toJson(await fetch(uploadUrl, { method }));
      assert.equal(afterCancel.status, 404);
      assert.equal(afterCancel.body.error.code, "itemNotFound");
      assert.equal(afterCancel.body.error.message, "The upload session was not found");
    }
    const put = await putFragment(uploadUrl, Buffer.alloc(CHUNK), CHUNK, 3 * CHUNK);
    assert.equal(put.status, 404);
  });

  test("idle expiry follows the clock and is pushed back by each accepted fragment", async () => {
    const uploadUrl = await createSession(emulator, "idle.bin");
    now += 59_000;
    const accepted = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK);
    assert.equal(accepted.status, 202);
    assert.equal(Date.parse(accepted.body.expirationDateTime), now + 60_000);
    now += 59_000;
    assert.equal((await fetch(uploadUrl)).status, 200);
    now += 1_000;
    const expired = await toJson(await fetch(uploadUrl));
    assert.equal(expired.status, 404);
    assert.equal(expired.body.error.message, "The upload session was not found");
    assert.equal(emulator.openSessions().some((open) => open.uploadUrl === uploadUrl), false);
  });

  test("deferCommit: the last byte does not create the file; POST uploadUrl with Content-Length 0 commits", async () => {
    const content = patternBytes(CHUNK + 10, 4);
    const uploadUrl = await createSession(emulator, "deferred.bin", {}, { deferCommit: true });
    const early = await toJson(await fetch(uploadUrl, { method: "POST", headers: { "content-length": "0" } }));
    assert.equal(early.status, 416);
    const responses = await uploadAll(uploadUrl, content, CHUNK);
    assert.deepEqual(responses.map((response) => response.status), [202, 202]);
    assert.deepEqual(responses[1].body.nextExpectedRanges, []);
    assert.equal(emulator.getItem("deferred.bin"), undefined);
    const committed = await toJson(await fetch(uploadUrl, { method: "POST", headers: { "content-length": "0" } }));
    assert.equal(committed.status, 201);
    assert.equal(committed.body.file.hashes.quickXorHash, referenceQuickXorHash(content));
    assert.ok(emulator.getItem("deferred.bin")!.content!.equals(content));
  });

  test("deferCommit, Personal style: PUT the file path with @microsoft.graph.sourceUrl commits", async () => {
    const uploadUrl = await createSession(emulator, "personal-commit.txt", {}, { deferCommit: true });
    await uploadAll(uploadUrl, Buffer.from("abc"), CHUNK);
    const wrongName = await graph(emulator, "PUT", "/me/drive/root:/other.txt", { json: { "@microsoft.graph.sourceUrl": uploadUrl } });
    assert.equal(wrongName.status, 400);
    const committed = await graph(emulator, "PUT", "/me/drive/root:/personal-commit.txt", {
      json: { name: "personal-commit.txt", "@microsoft.graph.sourceUrl": uploadUrl, "@microsoft.graph.conflictBehavior": "rename" },
    });
    assert.equal(committed.status, 201);
    assert.equal(committed.body.file.hashes.quickXorHash, "YRDDGAAAAAAAAAAAAwAAAAAAAAA=");
  });

  test("a session whose commit failed on a name clash can still be committed while it lives", async () => {
    const uploadUrl = await createSession(emulator, "clash.txt", { "@microsoft.graph.conflictBehavior": "fail" });
    emulator.putFile("clash.txt", "someone else");
    assert.equal((await putFragment(uploadUrl, Buffer.from("mine"), 0, 4)).status, 409);
    const status = await toJson(await fetch(uploadUrl));
    assert.deepEqual(status.body.nextExpectedRanges, []);
    const committed = await graph(emulator, "PUT", "/me/drive/root:/clash.txt", {
      json: { "@microsoft.graph.sourceUrl": uploadUrl, "@microsoft.graph.conflictBehavior": "rename" },
    });
    assert.equal(committed.status, 201);
    assert.equal(committed.body.name, "clash 1.txt");
  });
});

describe("OneDrive emulator: commit-time rewriting and content-free storage", () => {
  test("rewriteOnCommit changes size and hash of matching files only", async () => {
    const emulator = await startOneDriveEmulator({ driveType: "business", rewriteOnCommit: (name) => name.endsWith(".docx") });
    try {
      const content = Buffer.from("office document bytes");
      const [docx] = await uploadAll(await createSession(emulator, "a.docx"), content, CHUNK);
      assert.notEqual(docx.body.size, content.length);
      assert.notEqual(docx.body.file.hashes.quickXorHash, referenceQuickXorHash(content));
      assert.equal(docx.body.file.hashes.quickXorHash, referenceQuickXorHash(emulator.getItem("a.docx")!.content!));
      const [txt] = await uploadAll(await createSession(emulator, "a.txt"), content, CHUNK);
      assert.equal(txt.body.size, content.length);
    } finally {
      await emulator.close();
    }
  });

  test("storeContent: false keeps size and hash but no bytes", async () => {
    const emulator = await startOneDriveEmulator({ storeContent: false });
    try {
      const content = patternBytes(2 * CHUNK + 1, 5);
      const responses = await uploadAll(await createSession(emulator, "big.bin"), content, CHUNK);
      assert.equal(responses[2].body.file.hashes.quickXorHash, referenceQuickXorHash(content));
      const item = emulator.getItem("big.bin")!;
      assert.equal(item.size, content.length);
      assert.equal(item.content, undefined);
    } finally {
      await emulator.close();
    }
  });
});

describe("OneDrive emulator: tolerating an Authorization header on uploadUrls (for measuring rclone)", () => {
  test("tolerateAuthorizationOnUploadUrls lets fragments, status GETs and DELETEs with the header through and counts each", async () => {
    const emulator = await startOneDriveEmulator({ tolerateAuthorizationOnUploadUrls: true });
    try {
      const authorization = { authorization: `Bearer ${emulator.accessToken}` };
      const content = patternBytes(CHUNK + 7, 3);
      const uploadUrl = await createSession(emulator, "tolerated.bin");
      const first = await putFragment(uploadUrl, content.subarray(0, CHUNK), 0, content.length, authorization);
      assert.equal(first.status, 202);
      const status = await toJson(await fetch(uploadUrl, { headers: authorization }));
      assert.deepEqual(status.body.nextExpectedRanges, [`${CHUNK}-`]);
      const last = await putFragment(uploadUrl, content.subarray(CHUNK), CHUNK, content.length, authorization);
      assert.equal(last.status, 201);
      assert.equal(last.body.file.hashes.quickXorHash, referenceQuickXorHash(content));
      const abandoned = await createSession(emulator, "abandoned.bin");
      assert.equal((await fetch(abandoned, { method: "DELETE", headers: authorization })).status, 204);
      assert.equal(emulator.toleratedUploadAuthorizations(), 4);
      // Without the header nothing is counted, and the uploadUrl's own credential is still checked.
      const plain = await createSession(emulator, "plain.bin");
      assert.equal((await putFragment(plain, Buffer.from("x"), 0, 1)).status, 201);
      const forged = new URL(await createSession(emulator, "forged.bin"));
      forged.searchParams.set("tempauth", "forged");
      assert.equal((await putFragment(forged.href, Buffer.from("x"), 0, 1, authorization)).status, 401);
      assert.equal(emulator.toleratedUploadAuthorizations(), 5);
      assert.equal(emulator.getItem("forged.bin"), undefined);
    } finally {
      await emulator.close();
    }
  });
});
