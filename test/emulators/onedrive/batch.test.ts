import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startOneDriveEmulator, type OneDriveEmulator } from "./index";
import { graph, patternBytes, referenceQuickXorHash, type JsonResponse } from "./testClient";

const SIMPLE_UPLOAD_LIMIT = 100_000;
const THROTTLE_BODY = {
  error: {
    code: "activityLimitReached",
    message: "The request has been throttled",
    innerError: { code: "throttledRequest", innerError: { code: "quota" } },
  },
};

interface SubResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

type BatchRequest = Record<string, unknown>;

function putContent(id: string, parentId: string, name: string, bytes: Buffer, conflictBehavior = "replace"): BatchRequest {
  return {
    id,
    method: "PUT",
    url: `/me/drive/items/${parentId}:/${encodeURIComponent(name)}:/content?@microsoft.graph.conflictBehavior=${conflictBehavior}`,
    headers: { "Content-Type": "application/octet-stream" },
    body: bytes.toString("base64"),
  };
}

function byId(response: JsonResponse): Map<string, SubResponse> {
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const responses = response.body.responses as SubResponse[];
  return new Map(responses.map((sub) => [sub.id, sub]));
}

/** The body of a part that was sent base64: the driveItem (or error) JSON, base64-encoded (service quirk). */
function decodeBase64Body(sub: SubResponse): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(typeof sub.body, "string", `sub-response ${sub.id} body should be a base64 string`);
  assert.equal(sub.headers["Content-Type"], "application/json");
  return JSON.parse(Buffer.from(sub.body as string, "base64").toString("utf8"));
}

describe("OneDrive emulator: JSON batching (POST /v1.0/$batch)", () => {
  let emulator: OneDriveEmulator;
  let folderCount = 0;
  const batch = (requests: unknown, options: { token?: string | null; headers?: Record<string, string> } = {}): Promise<JsonResponse> =>
    graph(emulator, "POST", "/$batch", { json: { requests }, ...options });
  /** A fresh folder per test, so tests do not see each other's files. */
  const newFolder = async (): Promise<{ id: string; name: string }> => {
    folderCount += 1;
    const name = `batch${folderCount}`;
    const created = await graph(emulator, "POST", "/me/drive/root/children", { json: { name, folder: {} } });
    assert.equal(created.status, 201);
    return { id: created.body.id as string, name };
  };

  const filesIn = (folderName: string): string[] =>
    emulator.listTree().filter((path) => path.startsWith(`${folderName}/`) && path !== `${folderName}/`);

  before(async () => {
    emulator = await startOneDriveEmulator({ simpleUploadLimitBytes: SIMPLE_UPLOAD_LIMIT });
  });
  after(async () => {
    await emulator.close();
  });

  test("three base64 content PUTs store the exact bytes and answer each driveItem as a base64 string", async () => {
    const folder = await newFolder();
    const contents = [patternBytes(1000, 1), patternBytes(0, 2), patternBytes(4096, 3)];
    const requests = contents.map((bytes, index) => putContent(`put${index}`, folder.id, `f${index}.bin`, bytes));
    // The third goes in the URL-safe alphabet without padding, which the doc's "base64 URL-encoded" allows.
    requests[2].body = contents[2].toString("base64url");
    assert.match(requests[2].body as string, /[-_]/);
    const responses = byId(await batch(requests));
    assert.equal(responses.size, 3);
    contents.forEach((bytes, index) => {
      const sub = responses.get(`put${index}`)!;
      assert.equal(sub.status, 201);
      const item = decodeBase64Body(sub);
      assert.equal(item.name, `f${index}.bin`);
      assert.equal(item.size, bytes.length);
      assert.equal(item.file.hashes.quickXorHash, referenceQuickXorHash(bytes));
      const stored = emulator.getItem(`${folder.name}/f${index}.bin`)!;
      assert.equal(stored.id, item.id);
      assert.ok(stored.content!.equals(bytes), `content of f${index}.bin`);
    });
    assert.deepEqual(filesIn(folder.name), [
      `${folder.name}/f0.bin`,
      `${folder.name}/f1.bin`,
      `${folder.name}/f2.bin`,
    ]);
  });

  test("a PATCH of fileSystemInfo by item id in a second batch changes lastModifiedDateTime and answers a JSON object", async () => {
    const folder = await newFolder();
    const first = byId(await batch([putContent("1", folder.id, "dated.txt", Buffer.from("dated"))]));
    const itemId = decodeBase64Body(first.get("1")!).id as string;
    const when = "2021-03-04T05:06:07Z";
    const second = byId(await batch([
      { id: "patch", method: "PATCH", url: `/me/drive/items/${itemId}`, headers: { "Content-Type": "application/json" }, body: { fileSystemInfo: { lastModifiedDateTime: when } } },
    ]));
    const patched = second.get("patch")!;
    assert.equal(patched.status, 200);
    assert.equal(typeof patched.body, "object", "a JSON request gets a JSON object back, not base64");
    assert.match(patched.headers["Content-Type"], /^application\/json;/);
    assert.equal((patched.body as any).fileSystemInfo.lastModifiedDateTime, when); // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(emulator.getItem(`${folder.name}/dated.txt`)!.lastModifiedDateTime, when);
  });

  test("responses come back in another order than the requests and correlate by id", async () => {
    const folder = await newFolder();
    const names = ["a.txt", "b.txt", "c.txt", "d.txt"];
    const requests = names.map((name, index) => putContent(`R${index}`, folder.id, name, Buffer.from(name)));
    const response = await batch(requests);
    assert.equal(response.status, 200);
    const ids = (response.body.responses as SubResponse[]).map((sub) => sub.id);
    assert.deepEqual([...ids].sort(), ["R0", "R1", "R2", "R3"]);
    assert.notDeepEqual(ids, ["R0", "R1", "R2", "R3"]);
    const responses = byId(response);
    names.forEach((name, index) => assert.equal(decodeBase64Body(responses.get(`R${index}`)!).name, name));
  });

  test("a DELETE answers 204 with no body; GET parts answer JSON objects", async () => {
    const folder = await newFolder();
    const seeded = emulator.putFile(`${folder.name}/gone.txt`, "bye");
    const responses = byId(await batch([
      { id: "get", method: "GET", url: `me/drive/items/${folder.id}/children` },
      { id: "delete", method: "DELETE", url: `/me/drive/items/${seeded.id}`, dependsOn: ["get"] },
    ]));
    assert.equal(responses.get("get")!.status, 200);
    assert.equal((responses.get("get")!.body as { value: unknown[] }).value.length, 1);
    const deleted = responses.get("delete")!;
    assert.equal(deleted.status, 204);
    assert.equal("body" in deleted, false);
    assert.equal(emulator.getItem(`${folder.name}/gone.txt`), undefined);
  });

  test("malformed batches are one 400 invalidRequest naming the problem, and nothing in them runs", async () => {
    const folder = await newFolder();
    const ok = (id: string): BatchRequest => putContent(id, folder.id, `${id}.txt`, Buffer.from(id));
    const cases: Array<[string, unknown, RegExp]> = [
      ["21 requests", Array.from({ length: 21 }, (_, index) => ok(`n${index}`)), /at most 20/],
      ["no requests", [], /empty/],
      ["ids differing only in case", [ok("same"), { ...ok("x"), id: "SAME" }], /used twice/],
      ["an id that is not a string", [{ ...ok("x"), id: 7 }], /non-empty string/],
      ["a missing id", [{ method: "GET", url: "/me/drive" }], /no "id"/],
      ["a missing method", [{ id: "m", url: "/me/drive" }], /no "method"/],
      ["a missing url", [{ id: "u", method: "GET" }], /no "url"/],
      ["a body without Content-Type", [{ ...ok("x"), headers: {} }], /no Content-Type/],
      ["bad base64", [{ ...ok("x"), body: "aGVsbG8$" }], /base64/],
      ["base64 with a stray padding length", [{ ...ok("x"), body: "aGVsbG8==" }], /base64/],
      ["a JSON Content-Type with a string body", [{ ...ok("x"), headers: { "Content-Type": "application/json" }, body: "x" }], /JSON object or array/],
      ["an absolute url", [{ id: "abs", method: "GET", url: "https://graph.microsoft.com/v1.0/me/drive" }], /absolute/],
      ["a nested $batch", [{ id: "nest", method: "POST", url: "/$batch", headers: { "Content-Type": "application/json" }, body: { requests: [] } }], /nest/],
      ["dependsOn an unknown id", [{ ...ok("d1"), dependsOn: ["nobody"] }], /not in the batch/],
      ["dependsOn itself", [{ ...ok("d2"), dependsOn: ["D2"] }], /itself/],
      ["a dependsOn cycle", [{ ...ok("c1"), dependsOn: ["c2"] }, { ...ok("c2"), dependsOn: ["c1"] }], /cycle/],
    ];
    for (const [label, requests, message] of cases) {
      const response = await batch(requests);
      assert.equal(response.status, 400, label);
      assert.equal(response.body.error.code, "invalidRequest", label);
      assert.match(response.body.error.message, message, label);
    }
    assert.deepEqual(filesIn(folder.name), []);
    const notAnObject = await graph(emulator, "POST", "/$batch", { json: [ok("x")] });
    assert.equal(notAnObject.status, 400);
  });

  test("the outer request: GET is 405, a non-JSON Content-Type is 415, a body over 4 MiB is 413", async () => {
    assert.equal((await graph(emulator, "GET", "/$batch")).status, 405);
    const asText = await graph(emulator, "POST", "/$batch", { body: JSON.stringify({ requests: [] }), headers: { "content-type": "text/plain" } });
    assert.equal(asText.status, 415);
    assert.equal(asText.body.error.code, "unsupportedMediaType");
    const huge = JSON.stringify({ requests: [{ id: "1", method: "GET", url: "/me/drive", pad: "x".repeat(4 * 1024 * 1024) }] });
    const tooLarge = await graph(emulator, "POST", "/$batch", { body: huge, headers: { "content-type": "application/json" } });
    assert.equal(tooLarge.status, 413);
  });

  test("dependsOn: when the first request fails, every request depending on it is 424 and is not acted on", async () => {
    const folder = await newFolder();
    const responses = byId(await batch([
      { id: "first", method: "PATCH", url: "/me/drive/items/NO-SUCH-ITEM", headers: { "Content-Type": "application/json" }, body: { name: "x.txt" } },
      { ...putContent("second", folder.id, "second.txt", Buffer.from("2")), dependsOn: ["FIRST"] },
      { ...putContent("third", folder.id, "third.txt", Buffer.from("3")), dependsOn: ["second"] },
      putContent("free", folder.id, "free.txt", Buffer.from("free")),
    ]));
    assert.equal(responses.get("first")!.status, 404);
    assert.equal((responses.get("first")!.body as { error: { code: string } }).error.code, "itemNotFound");
    for (const id of ["second", "third"]) {
      assert.equal(responses.get(id)!.status, 424, id);
      assert.equal(decodeBase64Body(responses.get(id)!).error.code, "failedDependency");
    }
    assert.equal(responses.get("free")!.status, 201);
    assert.deepEqual(filesIn(folder.name), [`${folder.name}/free.txt`]);
  });

  test("a dependsOn chain runs in order: a PUT, then a PATCH of the file it created", async () => {
    const folder = await newFolder();
    const when = "2020-01-02T03:04:05Z";
    const responses = byId(await batch([
      { id: "patch", method: "PATCH", url: `/me/drive/root:/${folder.name}/chain.txt:`, headers: { "Content-Type": "application/json" }, body: { fileSystemInfo: { lastModifiedDateTime: when } }, dependsOn: ["put"] },
      putContent("put", folder.id, "chain.txt", Buffer.from("chain")),
    ]));
    assert.equal(responses.get("put")!.status, 201);
    assert.equal(responses.get("patch")!.status, 200);
    assert.equal(emulator.getItem(`${folder.name}/chain.txt`)!.lastModifiedDateTime, when);
  });

  test("conflictBehavior fail inside a batch: that part is 409 nameAlreadyExists, the others succeed", async () => {
    const folder = await newFolder();
    emulator.putFile(`${folder.name}/taken.txt`, "original");
    const responses = byId(await batch([
      putContent("ok1", folder.id, "new1.txt", Buffer.from("1"), "fail"),
      putContent("clash", folder.id, "taken.txt", Buffer.from("replacement"), "fail"),
      putContent("ok2", folder.id, "new2.txt", Buffer.from("2"), "fail"),
    ]));
    const clash = responses.get("clash")!;
    assert.equal(clash.status, 409);
    const error = decodeBase64Body(clash).error;
    assert.equal(error.code, "nameAlreadyExists");
    assert.ok(error.innerError["request-id"]);
    assert.equal(responses.get("ok1")!.status, 201);
    assert.equal(responses.get("ok2")!.status, 201);
    assert.equal(emulator.getItem(`${folder.name}/taken.txt`)!.content!.toString("utf8"), "original");
  });

  test("a throttle fault on the second part (skip counts the $batch request first) throttles that part only", async () => {
    const folder = await newFolder();
    emulator.addFaults([{ kind: "throttle", target: "graph", skip: 2, retryAfter: "7" }]);
    const responses = byId(await batch([
      putContent("p1", folder.id, "p1.txt", Buffer.from("1")),
      putContent("p2", folder.id, "p2.txt", Buffer.from("2")),
      putContent("p3", folder.id, "p3.txt", Buffer.from("3")),
    ]));
    const throttled = responses.get("p2")!;
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers["Retry-After"], "7");
    assert.deepEqual(decodeBase64Body(throttled), THROTTLE_BODY);
    assert.equal(responses.get("p1")!.status, 201);
    assert.equal(responses.get("p3")!.status, 201);
    assert.equal(emulator.getItem(`${folder.name}/p2.txt`), undefined);
  });

  test("a throttle fault on the $batch request itself is a whole-batch 429 and nothing runs", async () => {
    const folder = await newFolder();
    emulator.addFaults([{ kind: "throttle", target: "graph", status: 503, retryAfter: "3" }]);
    const response = await batch([putContent("p", folder.id, "p.txt", Buffer.from("p"))]);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("retry-after"), "3");
    assert.deepEqual(response.body, THROTTLE_BODY);
    assert.equal(emulator.getItem(`${folder.name}/p.txt`), undefined);
  });

  test("a missing or wrong Authorization on the outer request is 401 for the whole batch", async () => {
    const folder = await newFolder();
    for (const token of [null, "not-the-token"]) {
      const response = await batch([putContent("p", folder.id, "p.txt", Buffer.from("p"))], { token });
      assert.equal(response.status, 401);
      assert.equal(response.body.error.code, "InvalidAuthenticationToken");
    }
    assert.equal(emulator.getItem(`${folder.name}/p.txt`), undefined);
  });

  test("a content PUT over the simple-upload limit inside a batch is a 413 part; the others succeed", async () => {
    const folder = await newFolder();
    const responses = byId(await batch([
      putContent("big", folder.id, "big.bin", patternBytes(SIMPLE_UPLOAD_LIMIT + 1, 4)),
      putContent("small", folder.id, "small.bin", patternBytes(SIMPLE_UPLOAD_LIMIT, 5)),
    ]));
    const big = responses.get("big")!;
    assert.equal(big.status, 413);
    assert.equal(decodeBase64Body(big).error.innerError.code, "maxFileSizeExceeded");
    assert.equal(responses.get("small")!.status, 201);
    assert.equal(emulator.getItem(`${folder.name}/big.bin`), undefined);
  });

  test("parts are recorded with their own method, url, headers, decoded body length, status and batchId", async () => {
    const folder = await newFolder();
    const bytes = patternBytes(777, 6);
    emulator.clearRequests();
    const response = await batch([
      putContent("put", folder.id, "rec.bin", bytes),
      { id: "get", method: "GET", url: `/me/drive/items/${folder.id}`, headers: { "If-None-Match": "\"other\"" } },
    ]);
    assert.equal(response.status, 200);
    const outer = emulator.requests.find((request) => request.url === "/v1.0/$batch")!;
    assert.equal(outer.origin, "graph");
    assert.equal(outer.batchId, undefined);
    assert.equal(outer.status, 200);
    const parts = emulator.requests.filter((request) => request.batchId !== undefined);
    assert.equal(parts.length, 2);
    assert.ok(parts.every((part) => part.batchId === response.headers.get("request-id")));
    const put = parts.find((part) => part.method === "PUT")!;
    assert.equal(put.url, `/v1.0/me/drive/items/${folder.id}:/rec.bin:/content?@microsoft.graph.conflictBehavior=replace`);
    assert.equal(put.headers.authorization, `Bearer ${emulator.accessToken}`);
    assert.equal(put.headers["content-type"], "application/octet-stream");
    assert.equal(put.bodyLength, 777);
    assert.equal(put.status, 201);
    const get = parts.find((part) => part.method === "GET")!;
    assert.equal(get.headers["if-none-match"], "\"other\"");
    assert.equal(get.status, 200);
  });
});
