import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { ClaimedRow, ClaimLostError, type GuardedRowWriter } from "../../functions/storage/ledgerClaim";
import { initialRow } from "../../functions/storage/ledgerRow";

/** A ledger whose writes are recorded and never answered, as a stalled table request looks. */
function stalledLedger(): GuardedRowWriter & { writes: number } {
  const ledger = {
    writes: 0,
    writeGuarded: () => {
      ledger.writes += 1;
      return new Promise<string>(() => undefined);
    },
  };
  return ledger;
}

function claimedRow(writer: GuardedRowWriter, leaseMs: number): ClaimedRow {
  const blob = { name: "big.bin", etag: "0x1", size: 10, lastModified: new Date() };
  return new ClaimedRow(writer, { blobName: "big.bin", ...initialRow(blob, "From Azure/big.bin") }, "etag-1", { owner: "me", leaseMs, now: Date.now });
}

test("the periodic renewal does not queue behind a write in flight", async () => {
  const ledger = stalledLedger();
  const row = claimedRow(ledger, 60_000);
  void row.update({ confirmedBytes: 5 }).catch(() => undefined);
  await row.renewUnlessWriting();
  assert.equal(ledger.writes, 1, "no renewal was queued behind the stalled checkpoint");
});

test("a claim whose writes stop landing tells its holder to stop before the lease could lapse", async () => {
  const ledger = stalledLedger();
  // Lease 10.05 s, stop 10 s before: the signal fires about 50 ms after the last write that landed (none here).
  const row = claimedRow(ledger, 10_050);
  row.watchLapse();
  void row.update({ confirmedBytes: 5 }).catch(() => undefined);
  // The watch's timer does not keep a process alive (a CLI run must be able to exit); this test's handle does.
  const keepAlive = setInterval(() => undefined, 1_000);
  await once(row.signal, "abort");
  clearInterval(keepAlive);
  assert.ok(row.signal.reason instanceof ClaimLostError);
  assert.match(String(row.signal.reason.message), /could not be renewed in time/);
  row.stopWatchingLapse();
});

test("a write that lands keeps the claim trusted", async () => {
  let answered = 0;
  const row = claimedRow({ writeGuarded: async () => `etag-${++answered}` }, 10_200);
  row.watchLapse();
  for (let write = 0; write < 3; write += 1) await row.renew();
  assert.equal(row.signal.aborted, false);
  row.stopWatchingLapse();
});
