import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { withCallContext } from "../../functions/http/callContext";
import { StaticAccessTokenProvider } from "../../functions/onedrive/accessToken";
import { GraphClient } from "../../functions/onedrive/graphClient";
import { GraphError } from "../../functions/onedrive/graphError";
import { ThrottledError, ThrottleGate } from "../../functions/onedrive/throttle";
import { startOneDriveEmulator, type OneDriveEmulator } from "../emulators/onedrive";

/** The emulator and the client on one clock that only the client's sleeps move, so windows pass without waiting. */
async function withThrottlingService(body: (emulator: OneDriveEmulator, graph: GraphClient, slept: number[]) => Promise<void>): Promise<void> {
  let now = 1_900_000_000_000;
  const slept: number[] = [];
  const emulator = await startOneDriveEmulator({ throttleScope: "service", clock: () => now });
  const clock = {
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
  };
  const graph = new GraphClient({
    baseUrl: `${emulator.graphEndpoint}/v1.0`,
    tokenProvider: new StaticAccessTokenProvider(emulator.accessToken),
    retry: { ...clock, random: () => 0.5 },
    throttle: new ThrottleGate("Graph", clock),
  });
  try {
    await body(emulator, graph, slept);
  } finally {
    await emulator.close();
  }
}

describe("throttling is shared by every request to the service", () => {
  test("one 429 holds back the requests in flight beside it: none of them runs into the same window", async () => {
    await withThrottlingService(async (emulator, graph, slept) => {
      const lines: string[] = [];
      emulator.addFaults([{ kind: "throttle", target: "graph", status: 429, retryAfter: "20" }]);
      await withCallContext({ log: (line) => lines.push(line) }, async () => {
        await graph.getRoot();
        // The window the first answer opened is still open (no time passed): these wait for it instead of asking.
        await Promise.all(["a", "b", "c"].map((name) => graph.getItemByPath(name)));
      });
      assert.deepEqual(emulator.throttledCounts(), { graph: 1, upload: 0 }, "only the request that met the 429 was throttled");
      assert.deepEqual(slept, [20_000], "the window was sat out once, by the first request's retry");
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0], /^Graph GET \/v1\.0\/me\/drive\/root: held back 20\.0 s by throttling \(429 activityLimitReached \(request id [0-9a-f-]+\)\)$/);
    });
  });

  test("every other retry leaves one line: what, status, code, request id and the wait", async () => {
    await withThrottlingService(async (emulator, graph, slept) => {
      const lines: string[] = [];
      emulator.addFaults([{ kind: "throttle", target: "graph", status: 503 }]);
      await withCallContext({ log: (line) => lines.push(line) }, () => graph.getRoot());
      assert.equal(slept.length, 1);
      assert.equal(lines.length, 1);
      assert.match(lines[0], /^Graph GET \/v1\.0\/me\/drive\/root: 503 \w+ \(request id [0-9a-f-]+\); retrying in 0\.5 s \(attempt 2 of 8\)$/);
    });
  });

  test("a Retry-After longer than the time left is not slept: the answer goes back to the caller with its wait", async () => {
    await withThrottlingService(async (emulator, graph, slept) => {
      emulator.addFaults([{ kind: "throttle", target: "graph", status: 429, retryAfter: "300" }]);
      const deadline = 1_900_000_000_000 + 60_000;
      const error = await withCallContext({ deadline }, () => graph.getRoot()).then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof GraphError, String(error));
      assert.equal(error.status, 429);
      assert.equal(error.retryAfterMs, 300_000);
      assert.deepEqual(slept, []);

      // The window stays closed for everyone: a later request in the same run is not sent either.
      const held = await withCallContext({ deadline }, () => graph.getItemByPath("x")).then(() => undefined, (caught: unknown) => caught);
      assert.ok(held instanceof ThrottledError, String(held));
      assert.equal(held.retryAfterMs, 300_000);
      assert.equal(emulator.throttledCounts().graph, 1);
      assert.deepEqual(slept, []);
    });
  });
});
