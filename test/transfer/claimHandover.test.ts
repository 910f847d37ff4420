import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { claimOwnerFor } from "../../functions/storage/claimOwner";
import { initialRow } from "../../functions/storage/ledgerRow";
import { destinationFor } from "../../functions/transfer/destinationPath";
import type { TransferEngine } from "../../functions/transfer/transferEngine";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, FRAGMENT, randomContent, type TransferFixture } from "../support/transferHarness";

const OTHER_HOST_OWNER = "build-agent-7|boot-of-another-machine|4242|a1b2c3d4";

/** A clock the engine's sleeps advance, so waiting out a 60 s claim takes no real time. */
function fakeClock() {
  const clock = { at: Date.now(), slept: [] as number[] };
  return { clock, now: () => clock.at, sleep: async (ms: number) => void (clock.slept.push(ms), (clock.at += ms)) };
}

async function holdClaim(fixture: TransferFixture, engine: TransferEngine, blobName: string, owner: string, leaseMs: number) {
  const blob = await engine.services.source.getProperties(blobName);
  const row = await engine.services.ledger.claim(blobName, initialRow(blob, destinationFor(blobName, "", fixture.settings.destFolder).fullPath), { owner, leaseMs, now: engine.services.now });
  assert.ok(row, "the test's claim was taken");
  return row;
}

function pidOfAFinishedProcess(): number {
  const finished = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(finished.stdout);
}

describe("a file claimed by another run, in a run that must finish what it finds (the CLI)", () => {
  const suite = azuriteForSuite();

  test("a claim of another host is waited out until it lapses, saying so, then the file is transferred", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance));
    const content = randomContent(3 * FRAGMENT + 17);
    await fixture.putBlob("held.bin", content);
    const { clock, now, sleep } = fakeClock();
    const engine = fixture.engine({ now, sleep, waitForClaims: true });
    await holdClaim(fixture, engine, "held.bin", OTHER_HOST_OWNER, 60_000);

    const waiting: string[] = [];
    const summary = await engine.sweep({ onFileWaiting: (blob, message) => waiting.push(`${blob.name}: ${message}`) });
    assert.deepEqual([summary.uploaded, summary.unfinished], [1, 0], JSON.stringify(summary.files));
    assert.equal(waiting.length, 1);
    assert.match(waiting[0], /^held\.bin: claimed by a run on build-agent-7 until .*; waiting 62 s for the claim to lapse$/);
    assert.ok(clock.slept.includes(62_000), `slept ${clock.slept.join(", ")}`);
    assert.ok(fixture.emulator.getItem("held.bin")?.content?.equals(content));
  });

  test("a holder that renews its claim while the run waits is alive: the file is left to it and reported busy", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance));
    await fixture.putBlob("busy.bin", "being sent by someone else");
    const { now, sleep: advance } = fakeClock();
    let holder: Awaited<ReturnType<typeof holdClaim>> | undefined;
    const engine = fixture.engine({
      now,
      waitForClaims: true,
      // While this run waits, the other run writes a checkpoint, which renews its claim.
      sleep: async (ms) => {
        await advance(ms);
        await holder?.renew();
      },
    });
    holder = await holdClaim(fixture, engine, "busy.bin", OTHER_HOST_OWNER, 60_000);

    const summary = await engine.sweep();
    assert.deepEqual([summary.uploaded, summary.failed, summary.unfinished], [0, 0, 1]);
    assert.equal(summary.files[0].status, "busy");
    assert.match(summary.files[0].error ?? "", /a run on build-agent-7 is still transferring it .*run again later/);
    assert.equal(fixture.emulator.getItem("busy.bin"), undefined, "nothing uploaded beside the live holder");
  });

  test("a claim of a process of this machine that no longer exists (or of an earlier boot) is taken over at once", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance));
    await fixture.putBlob("crashed.txt", "left behind by a killed run");
    await fixture.putBlob("rebooted.txt", "left behind before a reboot");
    const { clock, now, sleep } = fakeClock();
    const engine = fixture.engine({ now, sleep, waitForClaims: true });
    await holdClaim(fixture, engine, "crashed.txt", claimOwnerFor(pidOfAFinishedProcess()), 60_000);
    await holdClaim(fixture, engine, "rebooted.txt", claimOwnerFor(process.pid, "boot-before-the-last-reboot"), 60_000);

    const waiting: string[] = [];
    const summary = await engine.sweep({ onFileWaiting: (_blob, message) => waiting.push(message) });
    assert.equal(summary.uploaded, 2, JSON.stringify(summary.files));
    assert.deepEqual(waiting, []);
    assert.deepEqual(clock.slept, [], "no wait for a holder that is provably gone");
  });

  test("the function app keeps its behaviour: a live claim is another worker's, reported busy without waiting", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance));
    await fixture.putBlob("worker.txt", "another worker's");
    const { clock, now, sleep } = fakeClock();
    const engine = fixture.engine({ now, sleep });
    await holdClaim(fixture, engine, "worker.txt", claimOwnerFor(pidOfAFinishedProcess()), 60_000);

    const summary = await engine.sweep();
    assert.equal(summary.files[0].status, "busy");
    assert.equal(summary.unfinished, 1);
    assert.deepEqual(clock.slept, []);
  });
});
