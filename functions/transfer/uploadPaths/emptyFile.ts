import type { UploadPath } from "./uploadPath";

/** Upload sessions cannot carry an empty file; a simple PUT can, and a PATCH keeps the blob's time. */
export const emptyFile: UploadPath = {
  name: "empty file",
  accepts: ({ blob }) => blob.size === 0,
  async upload({ services, claimed, blob, destination, attemptStart, hasher, signalUploaded }) {
    const { graph, settings } = services;
    await claimed.update({ ...attemptStart, status: "uploading", uploadUrl: undefined, confirmedBytes: 0, fragments: 0 });
    const parentId = await graph.ensureFolderPath(destination.folderPath);
    const created = await graph.uploadSmallFile(parentId, destination.fileName, new Uint8Array(0), { conflictBehavior: settings.conflictBehavior });
    const item = await graph.setLastModified(created.id, blob.lastModified.toISOString());
    signalUploaded();
    return { kind: "uploaded", item, quickXorHash: hasher.digestBase64(), fragments: 1, answeredBy: "graph" };
  },
};
