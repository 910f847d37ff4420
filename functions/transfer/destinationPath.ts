import { posix } from "node:path";

export interface Destination {
  /** Path relative to the drive root, "/"-separated, no leading slash: "Reports/2026/q1.pdf". */
  fullPath: string;
  /** Folder part of fullPath ("" for the drive root). */
  folderPath: string;
  fileName: string;
}

/**
 * `SOURCE_PREFIX + rel` lands at `DEST_FOLDER/rel`. A blob whose whole name equals the prefix (a prefix naming one
 * file) lands at `DEST_FOLDER/<base name>`.
 */
export function destinationFor(blobName: string, sourcePrefix: string, destFolder: string): Destination {
  const relative = blobName === sourcePrefix ? posix.basename(blobName) : blobName.slice(sourcePrefix.length).replace(/^\/+/, "");
  const fullPath = destFolder ? `${destFolder}/${relative}` : relative;
  const lastSlash = fullPath.lastIndexOf("/");
  return {
    fullPath,
    folderPath: lastSlash < 0 ? "" : fullPath.slice(0, lastSlash),
    fileName: lastSlash < 0 ? fullPath : fullPath.slice(lastSlash + 1),
  };
}
