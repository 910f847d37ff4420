import { batchedSmallFile } from "./batchedSmallFile";
import { emptyFile } from "./emptyFile";
import { interruptedRecovery } from "./interruptedRecovery";
import { uploadSession } from "./uploadSession";
import type { UploadContext, UploadPath, UploadResult } from "./uploadPath";

export type { UploadContext, UploadPath, UploadResult } from "./uploadPath";

/**
 * Every upload path, in the order they are offered a file: the first that accepts it and does not fall through
 * uploads it. Recovery comes first, so no file an interrupted attempt already stored is sent again (an empty one
 * included); the upload session accepts any file, so it comes last.
 */
export const UPLOAD_PATHS: readonly UploadPath[] = [interruptedRecovery, emptyFile, batchedSmallFile, uploadSession];

/** Uploads the file through the first path that takes it: the only place the engine chooses among them. */
export async function uploadByFirstTakingPath(context: UploadContext): Promise<Exclude<UploadResult, { kind: "notApplicable" }>> {
  for (const path of UPLOAD_PATHS) {
    if (!path.accepts(context)) continue;
    const result = await path.upload(context);
    if (result.kind !== "notApplicable") return result;
  }
  throw new Error(`no upload path took blob "${context.blob.name}"`);
}
