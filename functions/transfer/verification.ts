import type { DriveItem } from "../onedrive/graphTypes";

/**
 * SharePoint document libraries (and sometimes Business drives) rewrite Office documents and some JPEGs on upload,
 * so their stored size and hash legitimately differ from the source. For those a mismatch is a warning.
 */
const REWRITTEN_BY_SHAREPOINT = /\.(docx|docm|dotx|dotm|xlsx|xlsm|xltx|xltm|xlsb|pptx|pptm|potx|potm|ppsx|ppsm|vsdx|jpg|jpeg)$/i;

export type Verification = { ok: true; warning?: string } | { ok: false; problem: string };

export function verifyStoredItem(item: DriveItem, expected: { size: number; quickXorHash: string; fileName: string }): Verification {
  const storedHash = item.file?.hashes?.quickXorHash;
  const problems: string[] = [];
  if (item.size !== expected.size) problems.push(`OneDrive stored ${item.size} bytes, the blob has ${expected.size}`);
  if (storedHash === undefined) {
    // OneDrive for Business may omit the hash of an empty file; elsewhere a missing hash leaves only the size check.
    if (expected.size === 0 || problems.length > 0) return problems.length ? { ok: false, problem: problems.join("; ") } : { ok: true };
    return { ok: true, warning: "OneDrive returned no quickXorHash; only the size was verified" };
  }
  if (storedHash !== expected.quickXorHash) problems.push(`quickXorHash ${storedHash} differs from the blob's ${expected.quickXorHash}`);
  if (problems.length === 0) return { ok: true };
  if (REWRITTEN_BY_SHAREPOINT.test(expected.fileName)) {
    return { ok: true, warning: `${problems.join("; ")} (SharePoint rewrites Office and JPEG files on upload, so this is expected there)` };
  }
  return { ok: false, problem: problems.join("; ") };
}
