import { BatchUnsupportedError } from "../../onedrive/graphBatch";
import type { UploadPath } from "./uploadPath";

/**
 * A small file through a JSON batch (simple PUT, then its time; see smallFileBatch.ts). Not applicable when the
 * Graph endpoint turns out not to batch, before anything was stored: the file then takes an upload session.
 */
export const batchedSmallFile: UploadPath = {
  name: "batched small file",
  accepts: ({ services, blob }) =>
    services.smallFiles?.accepts(blob.size, services.settings.conflictBehavior) === true && blob.size <= services.settings.fragmentSizeBytes,
  async upload({ services, blob, destination, reader, hasher, signalUploaded }) {
    const content = await reader.read(0);
    hasher.updateAt(0, content);
    const parentId = await services.graph.ensureFolderPath(destination.folderPath);
    try {
      const item = await services.smallFiles!.upload({
        parentId,
        name: destination.fileName,
        content,
        conflictBehavior: services.settings.conflictBehavior,
        lastModifiedDateTime: blob.lastModified.toISOString(),
        onQueued: signalUploaded,
      });
      await reader.settle();
      return { kind: "uploaded", item, quickXorHash: hasher.digestBase64(), fragments: 1, answeredBy: "graph" };
    } catch (error) {
      if (!(error instanceof BatchUnsupportedError)) throw error;
      return { kind: "notApplicable" };
    }
  },
};
