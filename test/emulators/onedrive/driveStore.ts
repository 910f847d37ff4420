import { randomBytes } from "node:crypto";
import type { DriveType, EmulatedItem } from "./types";
import { quickXorHashBase64 } from "./quickXorHash";

/** The emulated drive: one tree of folders and files, case-insensitive names, quota, and driveItem JSON. */
export interface StoredItem {
  id: string;
  name: string;
  parentId: string | undefined;
  isFolder: boolean;
  /** Folders only; keyed by the lowercased name. */
  children: Map<string, StoredItem>;
  size: number;
  quickXorHash?: string;
  /** The file's bytes as received (a list, never joined per fragment); absent when storeContent is off. */
  chunks?: Buffer[];
  createdDateTime: string;
  lastModifiedDateTime: string;
  fileSystemCreated: string;
  fileSystemModified: string;
  version: number;
  /** Graph GETs left that answer without file.hashes (the hash is still being computed after an upload). */
  hashMissingForGets: number;
}

export interface FileSystemTimes {
  createdDateTime?: string;
  lastModifiedDateTime?: string;
}

export interface FileContent {
  size: number;
  quickXorHash: string;
  chunks?: Buffer[];
}

const MIME_TYPES: Record<string, string> = {
  txt: "text/plain",
  csv: "text/csv",
  json: "application/json",
  pdf: "application/pdf",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  zip: "application/zip",
};

export function newItemId(): string {
  return `01${randomBytes(16).toString("hex").toUpperCase()}`;
}

export class DriveStore {
  readonly driveId: string;
  readonly root: StoredItem;
  private readonly itemsById = new Map<string, StoredItem>();
  /** Bytes held by files (quota "used"). */
  private fileBytes = 0;
  /** Told of every file an upload wrote (markHashPending), for the library's check-out rules. */
  afterUploadWrite: (item: StoredItem) => void = () => {};

  constructor(
    readonly driveType: DriveType,
    readonly quotaBytes: number,
    private readonly now: () => number,
    private readonly hashMissingForGets = 0,
    driveId?: string,
  ) {
    this.driveId = driveId ?? `b!${randomBytes(12).toString("hex")}`;
    this.root = this.newItem("root", undefined, true, {});
  }

  nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  get(id: string): StoredItem | undefined {
    return this.itemsById.get(id);
  }

  child(folder: StoredItem, name: string): StoredItem | undefined {
    return folder.children.get(name.toLowerCase());
  }

  /** Walks decoded segments from base; undefined when any is missing or passes through a file. */
  walk(base: StoredItem, segments: string[]): StoredItem | undefined {
    let current: StoredItem | undefined = base;
    for (const segment of segments) {
      if (current === undefined || !current.isFolder) return undefined;
      current = this.child(current, segment);
    }
    return current;
  }

  lookupPath(path: string): StoredItem | undefined {
    const segments = splitPath(path);
    return this.walk(this.root, segments);
  }

  pathOf(item: StoredItem): string {
    const names: string[] = [];
    let current: StoredItem | undefined = item;
    while (current !== undefined && current.parentId !== undefined) {
      names.push(current.name);
      current = this.itemsById.get(current.parentId);
    }
    return names.reverse().join("/");
  }

  /** Whether item still hangs in the tree (a deleted folder takes its subtree with it). */
  isAttached(item: StoredItem): boolean {
    return this.itemsById.get(item.id) === item;
  }

  createFolder(parent: StoredItem, name: string, times: FileSystemTimes): StoredItem {
    const folder = this.newItem(name, parent, true, times);
    parent.children.set(name.toLowerCase(), folder);
    this.touch(parent);
    return folder;
  }

  /** Creates or replaces (same id, new version) the file `name` in parent. */
  writeFile(parent: StoredItem, name: string, content: FileContent, times: FileSystemTimes): { item: StoredItem; created: boolean } {
    const existing = this.child(parent, name);
    if (existing !== undefined && !existing.isFolder) {
      this.fileBytes += content.size - existing.size;
      existing.size = content.size;
      existing.quickXorHash = content.quickXorHash;
      existing.chunks = content.chunks;
      existing.version += 1;
      existing.hashMissingForGets = 0;
      existing.lastModifiedDateTime = this.nowIso();
      existing.fileSystemModified = times.lastModifiedDateTime ?? existing.lastModifiedDateTime;
      if (times.createdDateTime !== undefined) existing.fileSystemCreated = times.createdDateTime;
      return { item: existing, created: false };
    }
    const file = this.newItem(name, parent, false, times);
    this.fileBytes += content.size;
    file.size = content.size;
    file.quickXorHash = content.quickXorHash;
    file.chunks = content.chunks;
    parent.children.set(name.toLowerCase(), file);
    this.touch(parent);
    return { item: file, created: true };
  }

  remove(item: StoredItem): void {
    const parent = item.parentId === undefined ? undefined : this.itemsById.get(item.parentId);
    parent?.children.delete(item.name.toLowerCase());
    const forget = (node: StoredItem): void => {
      this.itemsById.delete(node.id);
      if (!node.isFolder) this.fileBytes -= node.size;
      for (const child of node.children.values()) forget(child);
    };
    forget(item);
    if (parent) this.touch(parent);
  }

  rename(item: StoredItem, newName: string): void {
    const parent = this.itemsById.get(item.parentId ?? "");
    if (parent === undefined) return;
    parent.children.delete(item.name.toLowerCase());
    item.name = newName;
    parent.children.set(newName.toLowerCase(), item);
    this.touch(item);
  }

  /** After an upload wrote the file: its hash shows up only after the drive's configured number of GETs. */
  markHashPending(item: StoredItem): void {
    item.hashMissingForGets = this.hashMissingForGets;
    this.afterUploadWrite(item);
  }

  /** A Graph GET returned the item; one fewer before its hash appears. */
  noteRead(item: StoredItem): void {
    if (item.hashMissingForGets > 0) item.hashMissingForGets -= 1;
  }

  touch(item: StoredItem): void {
    item.version += 1;
    item.lastModifiedDateTime = this.nowIso();
  }

  /** "name 1.ext", "name 2.ext", ...: the first free name, as conflictBehavior "rename" picks it. */
  uniqueName(parent: StoredItem, name: string): string {
    if (this.child(parent, name) === undefined) return name;
    const dot = name.lastIndexOf(".");
    const stem = dot > 0 ? name.slice(0, dot) : name;
    const extension = dot > 0 ? name.slice(dot) : "";
    for (let counter = 1; ; counter++) {
      const candidate = `${stem} ${counter}${extension}`;
      if (this.child(parent, candidate) === undefined) return candidate;
    }
  }

  /** Kept as a running total: every upload checks the quota, and summing the drive each time grows with it. */
  usedBytes(): number {
    return this.fileBytes;
  }

  remainingBytes(): number {
    return Math.max(0, this.quotaBytes - this.usedBytes());
  }

  folderSize(folder: StoredItem): number {
    let total = 0;
    for (const child of folder.children.values()) total += child.isFolder ? this.folderSize(child) : child.size;
    return total;
  }

  eTag(item: StoredItem): string {
    return `"{${item.id}},${item.version}"`;
  }

  driveJson(): Record<string, unknown> {
    const used = this.usedBytes();
    return {
      id: this.driveId,
      driveType: this.driveType,
      quota: { total: this.quotaBytes, used, remaining: Math.max(0, this.quotaBytes - used), state: "normal" },
    };
  }

  /** The driveItem resource as Graph returns it. */
  driveItemJson(item: StoredItem, graphEndpoint: string): Record<string, unknown> {
    const path = this.pathOf(item);
    const json: Record<string, unknown> = {
      id: item.id,
      name: item.name,
      size: item.isFolder ? this.folderSize(item) : item.size,
      eTag: this.eTag(item),
      cTag: `"c:{${item.id}},${item.version}"`,
      createdDateTime: item.createdDateTime,
      lastModifiedDateTime: item.lastModifiedDateTime,
      webUrl: `${graphEndpoint}/emulated-drive/${path.split("/").map(encodeURIComponent).join("/")}`,
      fileSystemInfo: { createdDateTime: item.fileSystemCreated, lastModifiedDateTime: item.fileSystemModified },
    };
    if (item.parentId === undefined) {
      json.root = {};
      json.parentReference = { driveId: this.driveId, driveType: this.driveType };
    } else {
      const parent = this.itemsById.get(item.parentId);
      const parentPath = parent === undefined ? "" : this.pathOf(parent);
      json.parentReference = {
        driveId: this.driveId,
        driveType: this.driveType,
        id: item.parentId,
        path: parentPath === "" ? "/drive/root:" : `/drive/root:/${parentPath}`,
      };
    }
    if (item.isFolder) {
      json.folder = { childCount: item.children.size };
    } else {
      const extension = item.name.includes(".") ? item.name.slice(item.name.lastIndexOf(".") + 1).toLowerCase() : "";
      const file: Record<string, unknown> = { mimeType: MIME_TYPES[extension] ?? "application/octet-stream" };
      if (item.hashMissingForGets === 0) file.hashes = { quickXorHash: item.quickXorHash };
      json.file = file;
    }
    return json;
  }

  snapshot(item: StoredItem): EmulatedItem {
    const snapshot: EmulatedItem = {
      id: item.id,
      path: this.pathOf(item),
      name: item.name,
      isFolder: item.isFolder,
      size: item.isFolder ? this.folderSize(item) : item.size,
      quickXorHash: item.quickXorHash,
      lastModifiedDateTime: item.fileSystemModified,
      createdDateTime: item.fileSystemCreated,
      eTag: this.eTag(item),
    };
    const chunks = item.chunks;
    if (chunks !== undefined) {
      // Joined only when a test reads it, so large uploads are never copied for nothing.
      let joined: Buffer | undefined;
      Object.defineProperty(snapshot, "content", {
        enumerable: true,
        get: () => (joined ??= Buffer.concat(chunks)),
      });
    }
    return snapshot;
  }

  listTree(): string[] {
    const paths: string[] = [];
    const visit = (folder: StoredItem): void => {
      for (const child of folder.children.values()) {
        const path = this.pathOf(child);
        paths.push(child.isFolder ? `${path}/` : path);
        if (child.isFolder) visit(child);
      }
    };
    visit(this.root);
    return paths.sort();
  }

  /** Seeds a file, creating missing parent folders (test setup, no name rules). */
  seedFile(path: string, content: Buffer, storeContent: boolean, times: FileSystemTimes): StoredItem {
    const segments = splitPath(path);
    if (segments.length === 0) throw new Error(`putFile needs a file path, got '${path}'`);
    let folder = this.root;
    for (const segment of segments.slice(0, -1)) {
      const existing = this.child(folder, segment);
      if (existing !== undefined && !existing.isFolder) throw new Error(`putFile: '${segment}' in '${path}' is a file`);
      folder = existing ?? this.createFolder(folder, segment, {});
    }
    const name = segments[segments.length - 1];
    const existing = this.child(folder, name);
    if (existing?.isFolder) throw new Error(`putFile: '${path}' is a folder`);
    const copy = Buffer.from(content);
    const { item } = this.writeFile(
      folder,
      name,
      { size: copy.length, quickXorHash: quickXorHashBase64(copy), chunks: storeContent ? [copy] : undefined },
      times,
    );
    return item;
  }

  private newItem(name: string, parent: StoredItem | undefined, isFolder: boolean, times: FileSystemTimes): StoredItem {
    const nowIso = this.nowIso();
    const item: StoredItem = {
      id: newItemId(),
      name,
      parentId: parent?.id,
      isFolder,
      children: new Map(),
      size: 0,
      createdDateTime: nowIso,
      lastModifiedDateTime: nowIso,
      fileSystemCreated: times.createdDateTime ?? nowIso,
      fileSystemModified: times.lastModifiedDateTime ?? nowIso,
      version: 1,
      hashMissingForGets: 0,
    };
    this.itemsById.set(item.id, item);
    return item;
  }
}

export function splitPath(path: string): string[] {
  return path.split("/").filter((segment) => segment !== "");
}
