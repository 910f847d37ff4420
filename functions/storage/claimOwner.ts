import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/**
 * Who holds a ledger claim, written so that a later process on the same machine can prove the holder is gone: the
 * host name, the kernel's boot id (Linux: it changes at every boot, so a claim from before a reboot is known dead
 * even if its process id has been reused since), the process id, and a random part that keeps two claimants of one
 * process (two invocations of a function app) apart.
 */
const FIELD_SEPARATOR = "|";

function currentBootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}

const thisHost = hostname();
const thisBoot = currentBootId();

/** An owner for a process of this machine (this boot unless another boot id is given). */
export function claimOwnerFor(pid: number, bootId: string = thisBoot): string {
  return [thisHost, bootId, pid, randomUUID().slice(0, 8)].join(FIELD_SEPARATOR);
}

export function newClaimOwner(): string {
  return claimOwnerFor(process.pid);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * True only when the claim was taken on this machine by a process that no longer runs: before the last boot, or
 * under a process id that no longer exists. Anything else (another host, an owner written in another form, a live
 * or reused process id) may still be working, and its claim is left to lapse.
 */
export function isClaimHolderGone(owner: string | undefined): boolean {
  const [host, boot, pidText] = (owner ?? "").split(FIELD_SEPARATOR);
  const pid = Number(pidText);
  if (host !== thisHost || !Number.isInteger(pid) || pid <= 0) return false;
  if (boot && thisBoot && boot !== thisBoot) return true;
  return pid !== process.pid && !processExists(pid);
}

/** The host part of an owner, for messages ("held by a run on <host>"). */
export function claimHolderHost(owner: string | undefined): string {
  return (owner ?? "").split(FIELD_SEPARATOR)[0] || "another host";
}
