import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startOneDriveEmulator, type OneDriveEmulator, type OneDriveEmulatorOptions } from "./index";
import { createSession, graph, patternBytes, putFragment, referenceQuickXorHash, toJson, type JsonResponse } from "./testClient";

const CHUNK = 327_680;
const THROTTLE_BODY = {
  error: {
    code: "activityLimitReached",
    message: "The request has been throttled",
    innerError: { code: "throttledRequest", innerError: { code: "quota" } },
  },
};

async function nextOffset(uploadUrl: string): Promise<number> {
  const status = await toJson(await fetch(uploadUrl));
  assert.equal(status.status, 200);
  return Number(String(status.body.nextExpectedRanges[0]).split("-")[0]);
}

describe("OneDrive emulator: injected faults", () => {
  let emulator: OneDriveEmulator;
  before(async () => {
    emulator = await startOneDriveEmulator();
  });
  after(async () => {
    await emulator.close();
  });

  test("throttle on Graph: 429 + Retry-After + the documented body, and the request is not acted on", async () => {
    emulator.addFaults([{ kind: "throttle", target: "graph", retryAfter: "41" }]);
    const throttled = await graph(emulator, "POST", "/me/drive/root/children", { json: { name: "later", folder: {} } });
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get("retry-after"), "41");
    assert.deepEqual(throttled.body, THROTTLE_BODY);
    assert.equal(emulator.getItem("later"), undefined);
    const retried = await graph(emulator, "POST", "/me/drive/root/children", { json: { name: "later", folder: {} } });
    assert.equal(retried.status, 201);
  });

  test("throttle on a fragment PUT with 503 and an HTTP-date Retry-After stores nothing", async () => {
    const uploadUrl = await createSession(emulator, "throttled.bin");
    const when = new Date(Date.now() + 120_000).toUTCString();
    emulator.addFaults([{ kind: "throttle", target: "uploadPut", status: 503, retryAfter: when }]);
    const throttled = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK);
    assert.equal(throttled.status, 503);
    assert.equal(throttled.headers.get("retry-after"), when);
    assert.deepEqual(throttled.body, THROTTLE_BODY);
    assert.equal(await nextOffset(uploadUrl), 0);
  });

  test("serverErrorAfterStore: the fragment is kept but answered 500, so resending it is 416 fragmentOverlap", async () => {
    const uploadUrl = await createSession(emulator, "stored500.bin");
    emulator.addFaults([{ kind: "serverErrorAfterStore", target: "uploadPut" }]);
    const failed = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK);
    assert.equal(failed.status, 500);
    assert.equal(await nextOffset(uploadUrl), CHUNK);
    const resent = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK);
    assert.equal(resent.status, 416);
    assert.equal(resent.body.error.innererror.code, "fragmentOverlap");
  });

  test("serverErrorAfterStore on the final fragment creates the file although the answer is 502", async () => {
    const content = patternBytes(CHUNK + 3, 11);
    const uploadUrl = await createSession(emulator, "final502.bin");
    assert.equal((await putFragment(uploadUrl, content.subarray(0, CHUNK), 0, content.length)).status, 202);
    emulator.addFaults([{ kind: "serverErrorAfterStore", target: "any", status: 502 }]);
    const failed = await putFragment(uploadUrl, content.subarray(CHUNK), CHUNK, content.length);
    assert.equal(failed.status, 502);
    assert.equal((await fetch(uploadUrl)).status, 404);
    assert.equal(emulator.getItem("final502.bin")!.quickXorHash, referenceQuickXorHash(content));
  });

  test("dropAfterStore: the connection dies without an answer but the fragment is kept", async () => {
    const uploadUrl = await createSession(emulator, "dropped.bin");
    emulator.clearRequests();
    emulator.addFaults([{ kind: "dropAfterStore", target: "uploadPut" }]);
    await assert.rejects(putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK));
    assert.equal(await nextOffset(uploadUrl), CHUNK);
    const put = emulator.requests.find((request) => request.method === "PUT");
    assert.equal(put?.status, 0);
    assert.equal(put?.origin, "upload");
  });

  test("storePartialThenDrop keeps an unaligned prefix; the upload resumes from there and hashes correctly", async () => {
    const content = patternBytes(3 * CHUNK + 100, 13);
    const uploadUrl = await createSession(emulator, "partial.bin");
    emulator.addFaults([{ kind: "storePartialThenDrop", target: "uploadPut", partialBytes: 1000 }]);
    await assert.rejects(putFragment(uploadUrl, content.subarray(0, CHUNK), 0, content.length));
    let offset = await nextOffset(uploadUrl);
    assert.equal(offset, 1000);
    let last: JsonResponse | undefined;
    while (offset < content.length) {
      last = await putFragment(uploadUrl, content.subarray(offset, offset + CHUNK), offset, content.length);
      offset += CHUNK;
    }
    assert.equal(last?.status, 201);
    assert.equal(last?.body.file.hashes.quickXorHash, referenceQuickXorHash(content));
    assert.ok(emulator.getItem("partial.bin")!.content!.equals(content));
  });

  test("transient404 answers 404 once without acting; the session and the item are still there", async () => {
    const uploadUrl = await createSession(emulator, "flaky.bin");
    emulator.addFaults([{ kind: "transient404", target: "uploadPut" }, { kind: "transient404", target: "graph" }]);
    const missing = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: { code: "itemNotFound", message: "The upload session was not found" } });
    assert.equal((await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK)).status, 202);
    const seeded = emulator.putFile("present.txt", "x");
    assert.equal((await graph(emulator, "GET", `/me/drive/items/${seeded.id}`)).status, 404);
    assert.equal((await graph(emulator, "GET", `/me/drive/items/${seeded.id}`)).status, 200);
  });

  test("slowResponse delays the answer of a final fragment, which still succeeds", async () => {
    const uploadUrl = await createSession(emulator, "slow.bin");
    emulator.addFaults([{ kind: "slowResponse", target: "uploadPut", delayMs: 200 }]);
    const startedAt = performance.now();
    const done = await putFragment(uploadUrl, Buffer.from("abc"), 0, 3);
    const elapsed = performance.now() - startedAt;
    assert.equal(done.status, 201);
    assert.equal(done.body.file.hashes.quickXorHash, "YRDDGAAAAAAAAAAAAwAAAAAAAAA=");
    assert.ok(elapsed >= 190, `answered after ${elapsed} ms`);
  });

  test("faults fire in order; skip counts matching requests from when a fault reaches the head", async () => {
    const uploadUrl = await createSession(emulator, "ordered.bin");
    emulator.addFaults([
      { kind: "throttle", target: "uploadGet", skip: 1 },
      { kind: "transient404", target: "uploadGet" },
    ]);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(uploadUrl)).status);
    assert.deepEqual(statuses, [200, 429, 404, 200]);
  });

  test("store faults can only target fragment PUTs", () => {
    assert.throws(() => emulator.addFaults([{ kind: "dropAfterStore", target: "graph" }]), /uploadPut/);
    assert.throws(() => emulator.addFaults([{ kind: "storePartialThenDrop", target: "uploadPut" }]), /partialBytes/);
  });
});

/** A tolerant sequential uploader: after anything but success it asks the session where to resume. */
async function resilientUpload(emulator: OneDriveEmulator, path: string, content: Buffer): Promise<string[]> {
  const outcomes: string[] = [];
  const uploadUrl = await createSession(emulator, path);
  let offset = 0;
  for (let attempt = 0; attempt < 500; attempt++) {
    try {
      const response = await putFragment(uploadUrl, content.subarray(offset, offset + CHUNK), offset, content.length);
      outcomes.push(String(response.status));
      if (response.status === 200 || response.status === 201) return outcomes;
    } catch {
      outcomes.push("dropped");
    }
    const status = await toJson(await fetch(uploadUrl));
    if (status.status === 404) return outcomes; // a final fragment stored behind a failure already committed
    offset = Number(String(status.body.nextExpectedRanges[0]).split("-")[0]);
  }
  throw new Error("upload did not finish");
}

describe("OneDrive emulator: seeded faults", () => {
  const seeded = (seed: number): OneDriveEmulatorOptions => ({
    seededFaults: {
      seed,
      probability: 0.4,
      kinds: ["throttle", "serverErrorAfterStore", "dropAfterStore", "storePartialThenDrop", "transient404", "slowResponse"],
      maxFaults: 6,
    },
  });

  test("the same seed gives the same faults, and the upload still lands byte-identical", async () => {
    const content = patternBytes(10 * CHUNK + 321, 17);
    const runs: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const emulator = await startOneDriveEmulator(seeded(42));
      try {
        runs.push(await resilientUpload(emulator, "seeded.bin", content));
        const item = emulator.getItem("seeded.bin")!;
        assert.equal(item.quickXorHash, referenceQuickXorHash(content));
        assert.ok(item.content!.equals(content));
      } finally {
        await emulator.close();
      }
    }
    assert.deepEqual(runs[0], runs[1]);
    const faulted = runs[0].filter((outcome) => !["200", "201", "202"].includes(outcome));
    assert.ok(faulted.length > 0, `seed 42 injected no visible fault: ${runs[0].join(",")}`);
    assert.ok(faulted.length <= 6);
  });
});

describe("OneDrive emulator: tempauth window", () => {
  test("an uploadUrl older than 24 h is 401 unauthenticated / expiredToken even when not idle-expired", async () => {
    let now = 1_900_000_000_000;
    const emulator = await startOneDriveEmulator({ clock: () => now, sessionIdleTimeoutMs: 48 * 3600 * 1000 });
    try {
      const uploadUrl = await createSession(emulator, "old.bin");
      now += 24 * 3600 * 1000 - 1;
      assert.equal((await fetch(uploadUrl)).status, 200);
      now += 1;
      const expired = await toJson(await fetch(uploadUrl));
      assert.equal(expired.status, 401);
      assert.equal(expired.body.error.code, "unauthenticated");
      assert.equal(expired.body.error.innererror.code, "expiredToken");
    } finally {
      await emulator.close();
    }
  });
});
