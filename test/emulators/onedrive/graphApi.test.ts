import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startOneDriveEmulator, type OneDriveEmulator } from "./index";
import { encodePath, graph, referenceQuickXorHash } from "./testClient";

describe("OneDrive emulator: Graph API", () => {
  let emulator: OneDriveEmulator;
  before(async () => {
    emulator = await startOneDriveEmulator();
  });
  after(async () => {
    await emulator.close();
  });

  test("graphEndpoint has no /v1.0 and the upload origin differs", () => {
    assert.match(emulator.graphEndpoint, /^https:\/\/localhost:\d+$/);
    assert.match(emulator.uploadOrigin, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(emulator.graphEndpoint).origin, new URL(emulator.uploadOrigin).origin);
  });

  test("a missing or wrong bearer token is 401 InvalidAuthenticationToken", async () => {
    for (const token of [null, "wrong-token"]) {
      const response = await graph(emulator, "GET", "/me/drive/root", { token });
      assert.equal(response.status, 401);
      assert.equal(response.body.error.code, "InvalidAuthenticationToken");
      assert.equal(typeof response.body.error.message, "string");
    }
  });

  test("every response carries request-id and echoes client-request-id; errors carry the inner envelope", async () => {
    const ok = await graph(emulator, "GET", "/me/drive", { headers: { "client-request-id": "abc-123" } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("client-request-id"), "abc-123");
    assert.ok(ok.headers.get("request-id"));
    const missing = await graph(emulator, "GET", "/me/drive/root:/nope.txt", { headers: { "client-request-id": "xyz" } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "itemNotFound");
    assert.equal(missing.body.error.innerError["client-request-id"], "xyz");
    assert.equal(missing.body.error.innerError["request-id"], missing.headers.get("request-id"));
    assert.ok(missing.body.error.innerError.date);
  });

  test("GET /me/drive reports id, driveType and quota; /drive and /drives/{id} address the same drive", async () => {
    const drive = await graph(emulator, "GET", "/me/drive");
    assert.equal(drive.body.driveType, "personal");
    assert.equal(typeof drive.body.quota.total, "number");
    assert.equal(drive.body.quota.remaining, drive.body.quota.total - drive.body.quota.used);
    const byPlain = await graph(emulator, "GET", "/drive/root");
    const byId = await graph(emulator, "GET", `/drives/${encodeURIComponent(drive.body.id)}/root`);
    assert.equal(byPlain.body.id, byId.body.id);
    assert.deepEqual(byPlain.body.root, {});
    const otherDrive = await graph(emulator, "GET", "/drives/some-other-drive/root");
    assert.equal(otherDrive.status, 404);
  });

  test("items are reachable by id, by root path with and without the closing colon, and relative to a folder", async () => {
    const seeded = emulator.putFile("Docs/Sub Dir/a #1.txt", "hello world");
    const byPath = await graph(emulator, "GET", `/me/drive/root:/${encodePath("Docs/Sub Dir/a #1.txt")}:`);
    assert.equal(byPath.status, 200);
    assert.equal(byPath.body.id, seeded.id);
    assert.equal(byPath.body.size, 11);
    assert.equal(byPath.body.file.hashes.quickXorHash, "aCgDG9jwBhDc4Q1yawMZAAAAAAA=");
    assert.equal(byPath.body.parentReference.path, "/drive/root:/Docs/Sub Dir");
    const noColon = await graph(emulator, "GET", `/me/drive/root:/${encodePath("docs/SUB DIR/A #1.TXT")}`);
    assert.equal(noColon.body.id, seeded.id, "names compare case-insensitively");
    const byId = await graph(emulator, "GET", `/me/drive/items/${seeded.id}`);
    assert.equal(byId.body.name, "a #1.txt");
    const folder = await graph(emulator, "GET", "/me/drive/root:/Docs:");
    assert.equal(folder.body.folder.childCount, 1);
    const relative = await graph(emulator, "GET", `/me/drive/items/${folder.body.id}:/${encodePath("Sub Dir/a #1.txt")}:`);
    assert.equal(relative.body.id, seeded.id);
    assert.equal((await graph(emulator, "GET", "/me/drive/items/NOPE")).status, 404);
  });

  test("children are listed with @odata.nextLink paging at 200 and $top honoured", async () => {
    const folder = await graph(emulator, "POST", "/me/drive/root/children", { json: { name: "Many", folder: {} } });
    for (let i = 0; i < 205; i++) emulator.putFile(`Many/f${String(i).padStart(3, "0")}.txt`, "x");
    const first = await graph(emulator, "GET", `/me/drive/items/${folder.body.id}/children`);
    assert.equal(first.body.value.length, 200);
    assert.ok(first.body["@odata.nextLink"]);
    const second = await fetch(first.body["@odata.nextLink"], { headers: { authorization: `Bearer ${emulator.accessToken}` } });
    const secondBody = (await second.json()) as { value: unknown[]; "@odata.nextLink"?: string };
    assert.equal(secondBody.value.length, 5);
    assert.equal(secondBody["@odata.nextLink"], undefined);
    const top = await graph(emulator, "GET", "/me/drive/root:/Many:/children?$top=10");
    assert.equal(top.body.value.length, 10);
    assert.match(top.body["@odata.nextLink"], /\$top=10/);
    const rootChildren = await graph(emulator, "GET", "/me/drive/root/children");
    assert.ok(rootChildren.body.value.some((child: { name: string }) => child.name === "Many"));
  });

  test("folder create: default fail gives 409, rename gives 'name 1', replace returns the existing folder", async () => {
    const created = await graph(emulator, "POST", "/me/drive/root/children", {
      json: { name: "Reports", folder: {}, "@microsoft.graph.conflictBehavior": "fail" },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.parentReference.path, "/drive/root:");
    const again = await graph(emulator, "POST", "/me/drive/root/children", { json: { name: "reports", folder: {} } });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "nameAlreadyExists");
    const renamed = await graph(emulator, "POST", "/me/drive/root/children", {
      json: { name: "Reports", folder: {}, "@microsoft.graph.conflictBehavior": "rename" },
    });
    assert.equal(renamed.body.name, "Reports 1");
    const replaced = await graph(emulator, "POST", `/me/drive/items/${emulator.getItem("")!.id}/children`, {
      json: { name: "Reports", folder: {}, "@microsoft.graph.conflictBehavior": "replace" },
    });
    assert.equal(replaced.body.id, created.body.id);
    const orphan = await graph(emulator, "POST", "/me/drive/items/MISSING/children", { json: { name: "x", folder: {} } });
    assert.equal(orphan.status, 404);
    assert.ok(emulator.listTree().includes("Reports/"));
  });

  test("name rules: forbidden characters, spaces, trailing dot, reserved names, ~$, _vti_ -> 400 invalidPath", async () => {
    const badNames = ["a*b", 'q"uote', "c:olon", "l<t", "g>t", "wh?at", "back\\slash", "pi|pe", " lead", "trail ", "dot.",
      ".lock", "CON", "prn", "Aux", "NUL", "COM0", "com9", "LPT1", "desktop.ini", "~$doc.docx", "a_vti_b"];
    for (const name of badNames) {
      const response = await graph(emulator, "POST", "/me/drive/root/children", { json: { name, folder: {} } });
      assert.equal(response.status, 400, name);
      assert.equal(response.body.error.code, "invalidRequest", name);
      assert.equal(response.body.error.innerError.code, "invalidPath", name);
    }
    const encodedSlash = await graph(emulator, "PUT", "/me/drive/root:/a%2Fb.txt:/content", { body: "x" });
    assert.equal(encodedSlash.body.error.innerError.code, "invalidPath");
    const fine = await graph(emulator, "POST", "/me/drive/root/children", { json: { name: "con.txt #%", folder: {} } });
    assert.equal(fine.status, 201);
  });

  test("a whole path of 400 characters or more is 400 pathIsTooLong; 399 is accepted", async () => {
    const folderName = "p".repeat(200);
    await graph(emulator, "POST", "/me/drive/root/children", { json: { name: folderName, folder: {} } });
    const okName = "n".repeat(399 - folderName.length - 1);
    const accepted = await graph(emulator, "PUT", `/me/drive/root:/${folderName}/${okName}:/content`, { body: "x" });
    assert.equal(accepted.status, 201);
    const tooLong = await graph(emulator, "PUT", `/me/drive/root:/${folderName}/${okName}x:/content`, { body: "x" });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.error.innerError.code, "pathIsTooLong");
  });

  test("simple PUT: 201 then 200 on replace, conflict from the query, 0 bytes accepted, over the limit 413", async () => {
    const created = await graph(emulator, "PUT", "/me/drive/root:/simple.txt:/content", { body: "hello world" });
    assert.equal(created.status, 201);
    assert.equal(created.body.file.hashes.quickXorHash, "aCgDG9jwBhDc4Q1yawMZAAAAAAA=");
    const replaced = await graph(emulator, "PUT", `/me/drive/items/${created.body.id}/content`, { body: "abc" });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.id, created.body.id);
    assert.equal(emulator.getItem("simple.txt")!.content!.toString(), "abc");
    const root = emulator.getItem("")!;
    const failing = await graph(emulator, "PUT", `/me/drive/items/${root.id}:/simple.txt:/content?@microsoft.graph.conflictBehavior=fail`, { body: "z" });
    assert.equal(failing.status, 409);
    assert.equal(failing.body.error.code, "nameAlreadyExists");
    const renamed = await graph(emulator, "PUT", "/me/drive/root:/simple.txt:/content?%40microsoft.graph.conflictBehavior=rename", { body: "z" });
    assert.equal(renamed.body.name, "simple 1.txt");
    const empty = await graph(emulator, "PUT", "/me/drive/root:/empty.bin:/content", { body: Buffer.alloc(0) });
    assert.equal(empty.status, 201);
    assert.equal(empty.body.size, 0);
    assert.equal(empty.body.file.hashes.quickXorHash, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    const atLimit = Buffer.alloc(4 * 1024 * 1024, 1);
    const limitOk = await graph(emulator, "PUT", "/me/drive/root:/limit.bin:/content", { body: atLimit });
    assert.equal(limitOk.status, 201);
    assert.equal(limitOk.body.file.hashes.quickXorHash, referenceQuickXorHash(atLimit));
    const over = await graph(emulator, "PUT", "/me/drive/root:/over.bin:/content", { body: Buffer.alloc(4 * 1024 * 1024 + 1) });
    assert.equal(over.status, 413);
    assert.equal(over.body.error.innerError.code, "maxFileSizeExceeded");
    assert.equal(emulator.getItem("over.bin"), undefined);
    const missingParent = await graph(emulator, "PUT", "/me/drive/root:/no/such/dir.txt:/content", { body: "x" });
    assert.equal(missingParent.status, 404);
  });

  test("PATCH sets fileSystemInfo and renames; DELETE answers 204 and removes the subtree", async () => {
    const file = emulator.putFile("patch/me.txt", "x");
    const patched = await graph(emulator, "PATCH", `/me/drive/items/${file.id}`, {
      json: { name: "renamed.txt", fileSystemInfo: { lastModifiedDateTime: "2020-01-02T03:04:05Z" } },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, "renamed.txt");
    assert.equal(patched.body.fileSystemInfo.lastModifiedDateTime, "2020-01-02T03:04:05Z");
    assert.equal(emulator.getItem("patch/renamed.txt")!.lastModifiedDateTime, "2020-01-02T03:04:05Z");
    const badDate = await graph(emulator, "PATCH", `/me/drive/items/${file.id}`, { json: { fileSystemInfo: { lastModifiedDateTime: "yesterday" } } });
    assert.equal(badDate.status, 400);
    const stale = await graph(emulator, "DELETE", `/me/drive/items/${file.id}`, { headers: { "if-match": '"{stale},1"' } });
    assert.equal(stale.status, 412);
    const folder = emulator.getItem("patch")!;
    const deleted = await graph(emulator, "DELETE", `/me/drive/items/${folder.id}`);
    assert.equal(deleted.status, 204);
    assert.equal(emulator.getItem("patch/renamed.txt"), undefined);
    assert.equal((await graph(emulator, "GET", `/me/drive/items/${file.id}`)).status, 404);
  });

  test("every request is recorded in order with origin, url, lowercased headers, body length and status", async () => {
    emulator.clearRequests();
    await graph(emulator, "PUT", "/me/drive/root:/recorded.txt:/content?x=1", { body: "12345", headers: { "X-Custom": "v" } });
    assert.equal(emulator.requests.length, 1);
    const [recorded] = emulator.requests;
    assert.equal(recorded.origin, "graph");
    assert.equal(recorded.method, "PUT");
    assert.equal(recorded.url, "/v1.0/me/drive/root:/recorded.txt:/content?x=1");
    assert.equal(recorded.headers["x-custom"], "v");
    assert.equal(recorded.bodyLength, 5);
    assert.equal(recorded.status, 201);
  });
});
