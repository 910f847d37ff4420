import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startOneDriveEmulator, type OneDriveEmulator } from "./index";
import { createSession, graph, patternBytes, putFragment, referenceQuickXorHash, toJson, type JsonResponse } from "./testClient";

const CHUNK = 327_680;

/** A request the test will abandon: its promise, and how to give up on it as a client with a timeout would. */
interface PendingRequest {
  settled: Promise<JsonResponse | Error>;
  abort(): void;
}

function pending(send: (signal: AbortSignal) => Promise<JsonResponse>): PendingRequest {
  const controller = new AbortController();
  // Settles to the error instead of rejecting, so a request the test never aborts cannot reject unobserved.
  const settled = send(controller.signal).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  return { settled, abort: () => controller.abort() };
}

async function assertAbandoned(request: PendingRequest): Promise<void> {
  request.abort();
  const outcome = await request.settled;
  assert.ok(outcome instanceof Error, `a stalled request got an answer: ${JSON.stringify(outcome)}`);
}

describe("OneDrive emulator: stalled answers on the Graph API", () => {
  let emulator: OneDriveEmulator;
  before(async () => {
    emulator = await startOneDriveEmulator({ driveType: "business" });
  });
  after(async () => {
    await emulator.close();
  });

  test("stall on an item GET: held without an answer and recorded as stalled; other requests are still answered", async () => {
    const held = emulator.putFile("stall/held.txt", "held");
    const other = emulator.putFile("stall/other.txt", "other");
    const before = emulator.stalled.length;
    emulator.addFaults([{ kind: "stall", target: "graph", match: (request) => request.method === "GET" && request.url.includes(held.id) }]);
    const otherFirst = await graph(emulator, "GET", `/me/drive/items/${other.id}`);
    assert.equal(otherFirst.status, 200, "the fault arms only on the matching request");
    const request = pending((signal) => graph(emulator, "GET", `/me/drive/items/${held.id}`, { signal }));
    const [record] = (await emulator.waitForStalled(before + 1)).slice(before);
    assert.equal(record.method, "GET");
    assert.equal(record.status, 0);
    assert.equal(record.stalled, true);
    assert.ok(record.url.endsWith(held.id));
    assert.equal((await graph(emulator, "GET", `/me/drive/items/${other.id}`)).status, 200);
    await assertAbandoned(request);
  });

  test("stall before action on createUploadSession, POST children and PATCH: none of them is carried out", async () => {
    const file = emulator.putFile("stall/keep-name.txt", "x");
    const before = emulator.stalled.length;
    emulator.addFaults([
      { kind: "stall", target: "graph", match: (request) => request.url.endsWith("/createUploadSession") },
      { kind: "stall", target: "graph", match: (request) => request.method === "POST" && request.url.endsWith("/children") },
      { kind: "stall", target: "graph", match: (request) => request.method === "PATCH" },
    ]);
    // One at a time: only the head of the fault queue is armed, so each must arrive while its fault is the head.
    const sends: ((signal: AbortSignal) => Promise<JsonResponse>)[] = [
      (signal) => graph(emulator, "POST", "/me/drive/root:/stall/never.bin:/createUploadSession", { json: { item: {} }, signal }),
      (signal) => graph(emulator, "POST", "/me/drive/root/children", { json: { name: "never-folder", folder: {} }, signal }),
      (signal) => graph(emulator, "PATCH", `/me/drive/items/${file.id}`, { json: { name: "renamed.txt" }, signal }),
    ];
    const requests: PendingRequest[] = [];
    for (const send of sends) {
      requests.push(pending(send));
      await emulator.waitForStalled(before + requests.length);
    }
    const stalled = (await emulator.waitForStalled(before + 3)).slice(before);
    assert.deepEqual(stalled.map((record) => record.method), ["POST", "POST", "PATCH"]);
    assert.ok(stalled.every((record) => record.bodyLength > 0), "the JSON bodies were read before stalling");
    assert.deepEqual(emulator.openSessions().filter((session) => session.path === "stall/never.bin"), []);
    assert.equal(emulator.getItem("never-folder"), undefined);
    assert.equal(emulator.getItem("stall/keep-name.txt")?.id, file.id);
    for (const request of requests) await assertAbandoned(request);
  });

  test("stallAfterAction on createUploadSession: the session exists, so on a business drive a second create is 409", async () => {
    const before = emulator.stalled.length;
    emulator.addFaults([{ kind: "stallAfterAction", target: "graph", match: (request) => request.url.endsWith("/createUploadSession") }]);
    const request = pending((signal) => graph(emulator, "POST", "/me/drive/root:/stall/made.bin:/createUploadSession", { json: { item: {} }, signal }));
    await emulator.waitForStalled(before + 1);
    assert.equal(emulator.openSessions().filter((session) => session.path === "stall/made.bin").length, 1);
    await assertAbandoned(request);
    const again = await graph(emulator, "POST", "/me/drive/root:/stall/made.bin:/createUploadSession", { json: { item: {} } });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "nameAlreadyExists");
  });

  test("stallAfterAction on PATCH: the change is applied though no answer comes", async () => {
    const file = emulator.putFile("stall/dated.txt", "x");
    const when = "2020-02-02T02:02:02Z";
    const before = emulator.stalled.length;
    emulator.addFaults([{ kind: "stallAfterAction", target: "graph", match: (request) => request.method === "PATCH" }]);
    const request = pending((signal) =>
      graph(emulator, "PATCH", `/me/drive/items/${file.id}`, { json: { fileSystemInfo: { lastModifiedDateTime: when } }, signal }),
    );
    await emulator.waitForStalled(before + 1);
    assert.equal(emulator.getItem("stall/dated.txt")?.lastModifiedDateTime, when);
    await assertAbandoned(request);
  });

  test("stallAfterAction on a GET of children holds the listing", async () => {
    emulator.putFile("listed/one.txt", "1");
    const before = emulator.stalled.length;
    emulator.addFaults([{ kind: "stallAfterAction", target: "graph", match: (request) => request.url.includes("/children") }]);
    const request = pending((signal) => graph(emulator, "GET", "/me/drive/root:/listed:/children", { signal }));
    const [record] = (await emulator.waitForStalled(before + 1)).slice(before);
    assert.match(record.url, /listed:\/children$/);
    await assertAbandoned(request);
  });

  test("$batch: a stalled part holds the whole batch; independent parts still ran, its dependents never started", async () => {
    const before = emulator.stalled.length;
    emulator.addFaults([{ kind: "stall", target: "graph", match: (request) => request.url.endsWith("/batch-b") }]);
    const patchTime = (id: string, name: string, dependsOn?: string[]) => ({
      id,
      method: "PATCH",
      url: `/me/drive/root:/${name}`,
      headers: { "Content-Type": "application/json" },
      body: { fileSystemInfo: { lastModifiedDateTime: "2019-09-09T09:09:09Z" } },
      ...(dependsOn === undefined ? {} : { dependsOn }),
    });
    emulator.putFile("batch-a", "a");
    emulator.putFile("batch-b", "b");
    emulator.putFile("batch-c", "c");
    const request = pending((signal) =>
      graph(emulator, "POST", "/$batch", {
        json: { requests: [patchTime("a", "batch-a"), patchTime("b", "batch-b"), patchTime("c", "batch-c", ["b"])] },
        signal,
      }),
    );
    const [record] = (await emulator.waitForStalled(before + 1)).slice(before);
    assert.equal(record.url, "/v1.0/$batch");
    assert.equal(emulator.getItem("batch-a")?.lastModifiedDateTime, "2019-09-09T09:09:09Z");
    assert.notEqual(emulator.getItem("batch-b")?.lastModifiedDateTime, "2019-09-09T09:09:09Z");
    assert.notEqual(emulator.getItem("batch-c")?.lastModifiedDateTime, "2019-09-09T09:09:09Z");
    const part = emulator.requests.find((candidate) => candidate.batchId !== undefined && candidate.url.endsWith("/batch-b"));
    assert.equal(part?.stalled, true);
    assert.equal(emulator.requests.some((candidate) => candidate.url.endsWith("/batch-c")), false);
    await assertAbandoned(request);
  });

  test("the stall kinds cannot be seeded, and stallAfterAction must read the body", async () => {
    await assert.rejects(startOneDriveEmulator({ seededFaults: { seed: 1, probability: 0.5, kinds: ["stall"] } }), /never ends/);
    assert.throws(() => emulator.addFaults([{ kind: "stallAfterAction", target: "graph", readBody: false }]), /readBody/);
  });
});

describe("OneDrive emulator: stalled answers on the upload host", () => {
  let emulator: OneDriveEmulator;
  before(async () => {
    emulator = await startOneDriveEmulator();
  });
  after(async () => {
    await emulator.close();
  });

  test("stall on a fragment PUT reads the body, stores nothing, and the session still expects offset 0", async () => {
    const uploadUrl = await createSession(emulator, "held-fragment.bin");
    const before = emulator.stalled.length;
    emulator.addFaults([{ kind: "stall", target: "uploadPut" }]);
    const request = pending((signal) => putFragment(uploadUrl, patternBytes(CHUNK, 3), 0, 2 * CHUNK, {}, signal));
    const [record] = (await emulator.waitForStalled(before + 1)).slice(before);
    assert.equal(record.bodyLength, CHUNK);
    assert.deepEqual((await toJson(await fetch(uploadUrl))).body.nextExpectedRanges, ["0-"]);
    await assertAbandoned(request);
    assert.equal((await putFragment(uploadUrl, patternBytes(CHUNK, 3), 0, 2 * CHUNK)).status, 202);
  });

  test("stall with readBody: false leaves a large body unread in the client", async () => {
    const uploadUrl = await createSession(emulator, "unread.bin");
    const before = emulator.stalled.length;
    const fragment = patternBytes(24 * CHUNK, 4);
    emulator.addFaults([{ kind: "stall", target: "uploadPut", readBody: false }]);
    const request = pending((signal) => putFragment(uploadUrl, fragment, 0, fragment.length, {}, signal));
    const [record] = (await emulator.waitForStalled(before + 1)).slice(before);
    assert.equal(record.bodyLength, 0);
    assert.deepEqual((await toJson(await fetch(uploadUrl))).body.nextExpectedRanges, ["0-"]);
    await assertAbandoned(request);
    assert.equal(record.bodyLength, 0, "nothing reads the body after the stall either");
  });

  test("stall on a status GET holds it; the next GET is answered", async () => {
    const uploadUrl = await createSession(emulator, "status.bin");
    const before = emulator.stalled.length;
    emulator.addFaults([{ kind: "stall", target: "uploadGet" }]);
    const request = pending((signal) => fetch(uploadUrl, { signal }).then(toJson));
    await emulator.waitForStalled(before + 1);
    assert.equal((await toJson(await fetch(uploadUrl))).status, 200);
    await assertAbandoned(request);
  });

  test("a stallAfterAction fragment is stored; its retry waits for nothing and gets 416 fragmentOverlap", async () => {
    const uploadUrl = await createSession(emulator, "kept.bin");
    const before = emulator.stalled.length;
    emulator.addFaults([{ kind: "stallAfterAction", target: "uploadPut" }]);
    const request = pending((signal) => putFragment(uploadUrl, patternBytes(CHUNK, 5), 0, 2 * CHUNK, {}, signal));
    await emulator.waitForStalled(before + 1);
    assert.deepEqual((await toJson(await fetch(uploadUrl))).body.nextExpectedRanges, [`${CHUNK}-`]);
    const retried = await putFragment(uploadUrl, patternBytes(CHUNK, 5), 0, 2 * CHUNK);
    assert.equal(retried.status, 416);
    assert.equal(retried.body.error.innererror.code, "fragmentOverlap");
    await assertAbandoned(request);
  });
});

describe("OneDrive emulator: the final answer of a multi-fragment upload is lost", () => {
  const content = patternBytes(3 * CHUNK + 777, 9);
  const fragments = [0, CHUNK, 2 * CHUNK, 3 * CHUNK].map((offset) => content.subarray(offset, Math.min(offset + CHUNK, content.length)));

  async function sendAllButLast(emulator: OneDriveEmulator, uploadUrl: string): Promise<void> {
    for (let index = 0; index < fragments.length - 1; index++) {
      assert.equal((await putFragment(uploadUrl, fragments[index], index * CHUNK, content.length)).status, 202);
    }
  }

  /** What a process restarted after the loss finds: the session gone (404) and the file whole, with its hash. */
  async function assertCommitted(emulator: OneDriveEmulator, uploadUrl: string, path: string): Promise<void> {
    const status = await toJson(await fetch(uploadUrl));
    assert.equal(status.status, 404);
    assert.equal(status.body.error.message, "The upload session was not found");
    const resent = await putFragment(uploadUrl, fragments[3], 3 * CHUNK, content.length);
    assert.equal(resent.status, 404, "the final fragment cannot be sent again: the session is gone");
    const item = await graph(emulator, "GET", `/me/drive/root:/${path}`);
    assert.equal(item.status, 200);
    assert.equal(item.body.size, content.length);
    assert.equal(item.body.file.hashes.quickXorHash, referenceQuickXorHash(content));
    assert.deepEqual(emulator.openSessions(), []);
  }

  test("dropAfterStore on the last of four fragments: the connection dies, and the file is committed", async () => {
    const emulator = await startOneDriveEmulator();
    try {
      const uploadUrl = await createSession(emulator, "dropped-final.bin");
      // skip counts the earlier fragment PUTs, so the fault lands on the fourth one.
      emulator.addFaults([{ kind: "dropAfterStore", target: "uploadPut", skip: 3 }]);
      await sendAllButLast(emulator, uploadUrl);
      await assert.rejects(putFragment(uploadUrl, fragments[3], 3 * CHUNK, content.length));
      await assertCommitted(emulator, uploadUrl, "dropped-final.bin");
    } finally {
      await emulator.close();
    }
  });

  test("stallAfterAction on the last fragment, then the client is killed: the file is committed", async () => {
    const emulator = await startOneDriveEmulator();
    try {
      const uploadUrl = await createSession(emulator, "stalled-final.bin");
      const finalRange = `bytes ${3 * CHUNK}-${content.length - 1}/${content.length}`;
      emulator.addFaults([{ kind: "stallAfterAction", target: "uploadPut", match: (request) => request.headers["content-range"] === finalRange }]);
      await sendAllButLast(emulator, uploadUrl);
      const request = pending((signal) => putFragment(uploadUrl, fragments[3], 3 * CHUNK, content.length, {}, signal));
      const [record] = await emulator.waitForStalled(1);
      assert.equal(record.headers["content-range"], finalRange);
      await assertAbandoned(request);
      await assertCommitted(emulator, uploadUrl, "stalled-final.bin");
    } finally {
      await emulator.close();
    }
  });
});

describe("OneDrive emulator: ending stalls", () => {
  test("close() resolves with stalled requests on both origins, and their clients see the connection end", async () => {
    const emulator = await startOneDriveEmulator();
    const uploadUrl = await createSession(emulator, "closing.bin");
    emulator.addFaults([{ kind: "stall", target: "graph" }, { kind: "stall", target: "uploadPut", readBody: false }]);
    const graphRequest = pending((signal) => graph(emulator, "GET", "/me/drive/root", { signal }));
    await emulator.waitForStalled(1);
    const uploadRequest = pending((signal) => putFragment(uploadUrl, patternBytes(8 * CHUNK, 6), 0, 8 * CHUNK, {}, signal));
    await emulator.waitForStalled(2);
    await emulator.close();
    for (const request of [graphRequest, uploadRequest]) {
      const outcome = await request.settled;
      assert.ok(outcome instanceof Error, `a stalled request got an answer: ${JSON.stringify(outcome)}`);
    }
  });

  test("dropStalled() resets the stalled connections only; the emulator keeps serving", async () => {
    const emulator = await startOneDriveEmulator();
    try {
      emulator.addFaults([{ kind: "stall", target: "graph" }]);
      const request = pending((signal) => graph(emulator, "GET", "/me/drive/root", { signal }));
      await emulator.waitForStalled(1);
      assert.equal(emulator.dropStalled(), 1);
      const outcome = await request.settled;
      assert.ok(outcome instanceof Error, `a stalled request got an answer: ${JSON.stringify(outcome)}`);
      assert.equal(emulator.dropStalled(), 0);
      assert.equal((await graph(emulator, "GET", "/me/drive/root")).status, 200);
    } finally {
      await emulator.close();
    }
  });
});
