import type { ConflictBehavior } from "../config/settings";
import type { DriveItem } from "../onedrive/graphTypes";
import type { Destination } from "./destinationPath";

/**
 * SharePoint document libraries (and sometimes Business drives) rewrite Office documents and some JPEGs on upload,
 * so their stored size and hash legitimately differ from the source. Personal OneDrive never rewrites a file.
 */
const REWRITTEN_BY_SHAREPOINT = /\.(docx|docm|dotx|dotm|xlsx|xlsm|xltx|xltm|xlsb|pptx|pptm|potx|potm|ppsx|ppsm|vsdx|jpg|jpeg)$/i;
/** Drive types backed by SharePoint (itemReference.driveType); anything else, absent included, is held to the bytes. */
const SHAREPOINT_DRIVE_TYPES = new Set(["business", "documentLibrary"]);

/**
 * Business drives compute hashes after the commit ("ask again"): an item is asked for again after each of these
 * waits while it has none, about 15 s in all, and never longer than MAX_HASH_WAIT_MS on the engine's clock.
 */
const HASH_REASK_DELAYS_MS = [1_000, 2_000, 4_000, 8_000];
const MAX_HASH_WAIT_MS = 20_000;

/**
 * The item as OneDrive describes it once it reports the file's quickXorHash, or as last read when the bounded wait
 * ran out first (an empty file has nothing to wait for). `reread` asks Graph for the item again.
 */
export async function awaitReportedHash(
  item: DriveItem,
  reread: () => Promise<DriveItem>,
  clock: { now(): number; sleep(ms: number): Promise<void> },
): Promise<DriveItem> {
  const startedAt = clock.now();
  let current = item;
  for (const delayMs of HASH_REASK_DELAYS_MS) {
    if (current.file?.hashes?.quickXorHash || current.size === 0) break;
    if (clock.now() - startedAt + delayMs > MAX_HASH_WAIT_MS) break;
    await clock.sleep(delayMs);
    current = await reread();
  }
  return current;
}

/**
 * What the item OneDrive holds proves:
 * - verified: at the destination, the blob's size and quickXorHash;
 * - unconfirmed: accepted with a warning (a documented SharePoint rewrite, or no hash to compare), so the blob is
 *   kept: AFTER_TRANSFER never deletes or archives what was not verified byte for byte;
 * - failed: anything else.
 */
export type Verification = { kind: "verified" } | { kind: "unconfirmed"; warning: string } | { kind: "failed"; problem: string };

export interface ExpectedFile {
  size: number;
  quickXorHash: string;
  destination: Destination;
  conflictBehavior: ConflictBehavior;
}

export function verifyStoredItem(item: DriveItem, expected: ExpectedFile): Verification {
  const misplaced = placementProblem(item, expected);
  if (misplaced) return { kind: "failed", problem: misplaced };
  const storedHash = item.file?.hashes?.quickXorHash;
  const problems: string[] = [];
  if (item.size !== expected.size) problems.push(`OneDrive stored ${item.size} bytes, the blob has ${expected.size}`);
  if (storedHash !== undefined && storedHash !== expected.quickXorHash) {
    problems.push(`quickXorHash ${storedHash} differs from the blob's ${expected.quickXorHash}`);
  }
  if (problems.length > 0) {
    const driveType = item.parentReference?.driveType;
    if (driveType !== undefined && SHAREPOINT_DRIVE_TYPES.has(driveType) && REWRITTEN_BY_SHAREPOINT.test(expected.destination.fileName)) {
      return {
        kind: "unconfirmed",
        warning: `${problems.join("; ")} (SharePoint rewrites Office and JPEG files on a ${driveType} drive, so this is expected there; the blob was kept)`,
      };
    }
    return { kind: "failed", problem: problems.join("; ") };
  }
  // The hash of nothing is a constant: for an empty file the size says everything (Business may omit that hash).
  if (storedHash === undefined && expected.size > 0) {
    return { kind: "unconfirmed", warning: "OneDrive reported no quickXorHash, so only the size could be compared; the blob was kept" };
  }
  return { kind: "verified" };
}

/** The item must be the file at the destination (under rename, OneDrive's "name n.ext" beside it). */
function placementProblem(item: DriveItem, expected: ExpectedFile): string | undefined {
  const { folderPath, fileName } = expected.destination;
  const parentPath = item.parentReference?.path;
  const folderMatches = parentPath !== undefined && folderCandidates(parentPath).some((folder) => sameName(folder, folderPath));
  const nameMatches = sameName(item.name, fileName) || (expected.conflictBehavior === "rename" && isRenamedCopyOf(item.name, fileName));
  if (folderMatches && nameMatches) return undefined;
  const where = parentPath === undefined ? `"${item.name}" with no parent path` : `"${parentPath}/${item.name}"`;
  return `the item OneDrive answered with (id ${item.id}) is ${where}, not "${expected.destination.fullPath}"`;
}

/**
 * itemReference.path is "/drive/root:/a/b" (or "/drives/{id}/root:/a/b"), documented as percent-encoded: the
 * folder is what follows the first colon. Both the decoded and the raw form are offered, since a name may itself
 * hold a "%".
 */
function folderCandidates(parentPath: string): string[] {
  const colon = parentPath.indexOf(":");
  if (colon < 0) return [];
  const raw = parentPath.slice(colon + 1).replace(/^\/+|\/+$/g, "");
  const candidates = [raw];
  try {
    candidates.push(raw.split("/").map((segment) => decodeURIComponent(segment)).join("/"));
  } catch {
    // Not percent-encoded after all: the raw form stands.
  }
  return candidates;
}

/** OneDrive names are case-insensitive. */
function sameName(left: string, right: string): boolean {
  return left.toLowerCase() === right.toLowerCase();
}

function isRenamedCopyOf(storedName: string, fileName: string): boolean {
  const dot = fileName.lastIndexOf(".");
  const stem = dot > 0 ? fileName.slice(0, dot) : fileName;
  const extension = dot > 0 ? fileName.slice(dot) : "";
  const lowerStored = storedName.toLowerCase();
  if (!lowerStored.startsWith(`${stem.toLowerCase()} `) || !lowerStored.endsWith(extension.toLowerCase())) return false;
  return /^\d+$/.test(storedName.slice(stem.length + 1, storedName.length - extension.length));
}
