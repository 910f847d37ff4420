import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { startOneDriveEmulator, type OneDriveEmulator, type OneDriveEmulatorOptions } from "./index";
import { createSession, graph, putFragment, toJson } from "./testClient";

const CHUNK = 327_680;
const THROTTLE_BODY = {
  error: {
    code: "activityLimitReached",
    message: "The request has been throttled",
    innerError: { code: "throttledRequest", innerError: { code: "quota" } },
  },
};

/** An emulator on a clock the test moves by hand, so windows are crossed without waiting. */
async function withClockedEmulator(
  options: OneDriveEmulatorOptions,
  body: (emulator: OneDriveEmulator, clock: { now: number }) => Promise<void>,
): Promise<void> {
  const clock = { now: 1_900_000_000_000 };
  const emulator = await startOneDriveEmulator({ throttleScope: "service", clock: () => clock.now, ...options });
  try {
    await body(emulator, clock);
  } finally {
    await emulator.close();
  }
}

describe("OneDrive emulator: throttling that spans requests (throttleScope: \"service\")", () => {
  test("a 429 on the upload host throttles every upload request with the seconds left; Graph is not affected; the window ends", async () => {
    await withClockedEmulator({}, async (emulator, clock) => {
      const uploadUrl = await createSession(emulator, "window.bin");
      emulator.addFaults([{ kind: "throttle", target: "uploadPut", retryAfter: "30" }]);
      const first = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK);
      assert.equal(first.status, 429);
      assert.equal(first.headers.get("retry-after"), "30");

      const status = await toJson(await fetch(uploadUrl));
      assert.equal(status.status, 429, "a status GET is throttled too: the window covers the whole upload host");
      assert.equal(status.headers.get("retry-after"), "30");
      assert.deepEqual(status.body, THROTTLE_BODY);
      assert.equal((await graph(emulator, "GET", "/me/drive")).status, 200, "Graph is another service");

      clock.now += 10_500;
      const later = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK);
      assert.equal(later.status, 429);
      assert.equal(later.headers.get("retry-after"), "20", "19.5 s left, rounded up");
      clock.now += 19_499;
      assert.equal((await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK)).headers.get("retry-after"), "1");
      assert.deepEqual(emulator.throttledCounts(), { graph: 0, upload: 4 });

      clock.now += 1;
      const passed = await putFragment(uploadUrl, Buffer.alloc(CHUNK), 0, 2 * CHUNK);
      assert.equal(passed.status, 202, "nothing was stored while throttled, and the window is over");
      assert.deepEqual(emulator.throttledCounts(), { graph: 0, upload: 4 });
    });
  });

  test("a 503 on Graph throttles every Graph route, $batch included, with 429; throttled requests take no queued fault", async () => {
    await withClockedEmulator({}, async (emulator, clock) => {
      const seeded = emulator.putFile("here.txt", "x");
      emulator.addFaults([
        { kind: "throttle", target: "graph", status: 503, retryAfter: "5" },
        { kind: "transient404", target: "graph" },
      ]);
      assert.equal((await graph(emulator, "GET", "/me/drive/root")).status, 503);
      const during = [
        await graph(emulator, "GET", `/me/drive/items/${seeded.id}`),
        await graph(emulator, "POST", "/me/drive/root/children", { json: { name: "held-back", folder: {} } }),
        await graph(emulator, "POST", "/me/drive/root:/w.bin:/createUploadSession", { json: {} }),
        await graph(emulator, "POST", "/$batch", { json: { requests: [{ id: "1", method: "GET", url: "/me/drive" }] } }),
      ];
      assert.deepEqual(during.map((response) => response.status), [429, 429, 429, 429]);
      assert.ok(during.every((response) => response.headers.get("retry-after") === "5"));
      assert.equal(emulator.getItem("held-back"), undefined);
      assert.deepEqual(emulator.openSessions(), []);
      assert.deepEqual(emulator.throttledCounts(), { graph: 5, upload: 0 });

      clock.now += 5_000;
      assert.equal((await graph(emulator, "GET", `/me/drive/items/${seeded.id}`)).status, 404, "the queued fault is still there");
      assert.equal((await graph(emulator, "GET", `/me/drive/items/${seeded.id}`)).status, 200);
    });
  });

  test("an HTTP-date Retry-After opens the window until that date", async () => {
    await withClockedEmulator({}, async (emulator, clock) => {
      const until = new Date(clock.now + 120_000);
      emulator.addFaults([{ kind: "throttle", target: "graph", retryAfter: until.toUTCString() }]);
      assert.equal((await graph(emulator, "GET", "/me/drive")).headers.get("retry-after"), until.toUTCString());
      clock.now += 60_000;
      const during = await graph(emulator, "GET", "/me/drive");
      assert.equal(during.status, 429);
      assert.equal(during.headers.get("retry-after"), "60");
      clock.now = until.getTime();
      assert.equal((await graph(emulator, "GET", "/me/drive")).status, 200);
    });
  });

  test("a throttled $batch part opens the Graph window for the requests after the batch", async () => {
    await withClockedEmulator({}, async (emulator) => {
      emulator.addFaults([{ kind: "throttle", target: "graph", skip: 1, retryAfter: "7" }]);
      const response = await graph(emulator, "POST", "/$batch", {
        json: {
          requests: [
            { id: "a", method: "GET", url: "/me/drive" },
            { id: "b", method: "POST", url: "/me/drive/root/children", headers: { "Content-Type": "application/json" }, body: { name: "after", folder: {} }, dependsOn: ["a"] },
          ],
        },
      });
      assert.equal(response.status, 200);
      const byId = new Map((response.body.responses as { id: string; status: number; headers: Record<string, string> }[]).map((sub) => [sub.id, sub]));
      assert.equal(byId.get("a")!.status, 429);
      assert.equal(byId.get("a")!.headers["Retry-After"], "7");
      // b depends on a failed part, so it is refused 424 before it could reach the window.
      assert.equal(byId.get("b")!.status, 424);
      assert.equal(emulator.getItem("after"), undefined);
      assert.equal((await graph(emulator, "GET", "/me/drive")).status, 429);
      assert.deepEqual(emulator.throttledCounts(), { graph: 2, upload: 0 });
    });
  });

  test("throttleScope \"request\" (the default): the next request passes, and throttledCounts still counts the fault", async () => {
    const emulator = await startOneDriveEmulator();
    try {
      emulator.addFaults([{ kind: "throttle", target: "graph", retryAfter: "3600" }]);
      assert.equal((await graph(emulator, "GET", "/me/drive")).status, 429);
      assert.equal((await graph(emulator, "GET", "/me/drive")).status, 200);
      assert.deepEqual(emulator.throttledCounts(), { graph: 1, upload: 0 });
    } finally {
      await emulator.close();
    }
  });

  test("a throttle without Retry-After opens no window", async () => {
    await withClockedEmulator({}, async (emulator) => {
      emulator.addFaults([{ kind: "throttle", target: "graph" }]);
      assert.equal((await graph(emulator, "GET", "/me/drive")).status, 429);
      assert.equal((await graph(emulator, "GET", "/me/drive")).status, 200);
    });
  });
});
