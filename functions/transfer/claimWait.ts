import { claimHolderHost, isClaimHolderGone } from "../storage/claimOwner";
import { isLiveClaimOfOther } from "../storage/ledgerRow";
import type { TransferServices } from "./transferTypes";

/** Looked at again this long after a claim's expiry: clocks of two hosts differ, and a last write may be in flight. */
const LAPSE_MARGIN_MS = 2_000;

export type ClaimWait = { free: true } | { free: false; reason: string };

/**
 * For a run that must finish what it finds (the CLI): a file whose claim another run holds is waited for instead of
 * reported busy. A holder that is provably gone (a crashed process of this host) needs no wait; any other holder
 * gets until its claim lapses. A holder that renewed its claim meanwhile is alive and working: the file is left to it.
 */
export async function waitForClaimToLapse(services: TransferServices, blobName: string, onWaiting: (message: string) => void): Promise<ClaimWait> {
  const held = await services.ledger.get(blobName);
  if (!held || !isLiveClaimOfOther(held, services.workerId, services.now()) || isClaimHolderGone(held.claimOwner)) return { free: true };
  const host = claimHolderHost(held.claimOwner);
  const lapsesAt = Date.parse(held.claimExpiresAt ?? "");
  const waitMs = Math.max(0, lapsesAt - services.now()) + LAPSE_MARGIN_MS;
  onWaiting(`claimed by a run on ${host} until ${new Date(lapsesAt).toISOString()}; waiting ${Math.ceil(waitMs / 1000)} s for the claim to lapse`);
  await services.sleep(waitMs);
  const after = await services.ledger.get(blobName);
  if (!after || !isLiveClaimOfOther(after, services.workerId, services.now())) return { free: true };
  return {
    free: false,
    reason: `a run on ${claimHolderHost(after.claimOwner)} is still transferring it (its claim was renewed while this run waited); run again later`,
  };
}
