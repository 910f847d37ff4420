import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runSweep } from "../../functions/app/sweepPlanner";
import { azuriteForSuite } from "../support/azurite";
import { FRAGMENT, randomContent } from "../support/transferHarness";
import { createAppWorld, type AppWorld } from "./support/appHarness";

const HOUR_MS = 3_600_000;

describe("a Retry-After longer than the invocation has left", () => {
  const suite = azuriteForSuite();

  async function worldWith(env: Record<string, string> = {}, emulatorOptions = {}): Promise<AppWorld> {
    const world = await createAppWorld(suite.instance, env, emulatorOptions);
    suite.closeAfter(world.fixture);
    return world;
  }

  test("is not slept: the file is checkpointed, the wait recorded, and the continuation stays invisible until it ends", async () => {
    // The second fragment of a three-fragment file is throttled for an hour: longer than a worker's 25-minute budget.
    const world = await worldWith({ FRAGMENT_SIZE_MB: "1" }, { faults: [{ kind: "throttle", target: "uploadPut", status: 429, retryAfter: "3600", skip: 1 }] });
    const fragment = 3 * FRAGMENT;
    await world.fixture.putBlob("big.bin", randomContent(2 * fragment + 99));
    await world.queue.send({ kind: "transfer", blob: "big.bin" });
    const [message] = await world.drain();
    const startedAt = Date.now();
    await world.deliver(world.worker(), message);

    assert.deepEqual(world.fixture.sleeps.filter((ms) => ms >= 60_000), [], "no wait of an hour, nor of minutes, was started");
    const row = await world.fixture.engine().services.ledger.get("big.bin");
    const throttledFor = Date.parse(row?.throttledUntil ?? "") - startedAt;
    assert.ok(throttledFor > HOUR_MS - 60_000 && throttledFor <= HOUR_MS + 60_000, `throttledUntil ${row?.throttledUntil}`);
    assert.match(row?.lastError ?? "", /throttled for 3600 s; continues after that/);
    assert.ok(world.lines.some((line) => /big\.bin: throttled for 3600 s after \d+ of \d+ bytes; checkpointed and queued a continuation/.test(line.text)), JSON.stringify(world.lines));
    assert.deepEqual(await world.drain(), [], "the continuation is on the queue but not visible before the hour is over");

    // Meanwhile a sweep leaves the file alone rather than adding load.
    const sweep = await runSweep(world.fixture.engine().services, world.queue, { trigger: "timer" });
    assert.equal(sweep.skipped.throttled, 1);
    assert.deepEqual(sweep.queued, []);
  });
});
