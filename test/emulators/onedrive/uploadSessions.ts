import { randomBytes } from "node:crypto";
import { ServiceError } from "./exchange";
import type { DriveStore, FileSystemTimes, StoredItem } from "./driveStore";
import { QuickXorHash } from "./quickXorHash";
import type { OpenSessionInfo } from "./types";

export type ConflictBehavior = "fail" | "replace" | "rename";

/** The tempauth token in an uploadUrl has a hard 24 h window (doc section 3.4), separate from idle expiry. */
export const TEMPAUTH_WINDOW_MS = 24 * 3600 * 1000;
/**
 * What the emulator appends to a file it rewrites on upload, as SharePoint writes metadata into Office documents
 * and JPEGs (some JPEGs gain 11-12 bytes of EXIF): the stored size and hash then differ from the bytes sent.
 */
export const REWRITE_SUFFIX = Buffer.from("EMULATED-EXI", "ascii");
/** The kinds of file SharePoint is documented to rewrite (docs/onedrive-upload.md section 6). */
export const REWRITTEN_EXTENSIONS: readonly string[] = [".docx", ".xlsx", ".pptx", ".jpg", ".jpeg"];

export function isDocumentedRewriteName(name: string): boolean {
  const lower = name.toLowerCase();
  return REWRITTEN_EXTENSIONS.some((extension) => lower.endsWith(extension));
}

export interface UploadSession {
  id: string;
  tempauth: string;
  uploadUrl: string;
  parentId: string;
  name: string;
  conflictBehavior: ConflictBehavior;
  declaredSize?: number;
  /** The total from the first fragment's Content-Range; constant for the session. */
  total?: number;
  nextExpected: number;
  hasher: QuickXorHash;
  chunks?: Buffer[];
  expiresAt: number;
  tempauthExpiresAt: number;
  deferCommit: boolean;
  times: FileSystemTimes;
  /** Serialises fragment PUTs and commits of one session, so a retry waits for a stale attempt to settle. */
  tail: Promise<void>;
}

export interface SessionRegistryOptions {
  now: () => number;
  idleTimeoutMs: number;
  storeContent: boolean;
  rewrites: (name: string) => boolean;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, UploadSession>();

  constructor(
    private readonly store: DriveStore,
    private readonly uploadOrigin: string,
    private readonly options: SessionRegistryOptions,
  ) {}

  create(fields: {
    parent: StoredItem;
    name: string;
    conflictBehavior: ConflictBehavior;
    declaredSize?: number;
    deferCommit: boolean;
    times: FileSystemTimes;
  }): UploadSession {
    const id = randomBytes(18).toString("base64url");
    const tempauth = randomBytes(24).toString("base64url");
    const now = this.options.now();
    const session: UploadSession = {
      id,
      tempauth,
      uploadUrl: `${this.uploadOrigin}/up/${id}?tempauth=${tempauth}`,
      parentId: fields.parent.id,
      name: fields.name,
      conflictBehavior: fields.conflictBehavior,
      declaredSize: fields.declaredSize,
      nextExpected: 0,
      hasher: new QuickXorHash(),
      chunks: this.options.storeContent ? [] : undefined,
      expiresAt: now + this.options.idleTimeoutMs,
      tempauthExpiresAt: now + TEMPAUTH_WINDOW_MS,
      deferCommit: fields.deferCommit,
      times: fields.times,
      tail: Promise.resolve(),
    };
    this.sessions.set(id, session);
    return session;
  }

  /** The live session with this id; an idle-expired one is forgotten here. */
  find(id: string): UploadSession | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    if (this.options.now() >= session.expiresAt) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  isLive(session: UploadSession): boolean {
    return this.find(session.id) === session;
  }

  /** Finds a live session from its full uploadUrl, checking the tempauth token. */
  findByUrl(uploadUrl: string): UploadSession | undefined {
    let url: URL;
    try {
      url = new URL(uploadUrl);
    } catch {
      return undefined;
    }
    const match = /^\/up\/([\w-]+)$/.exec(url.pathname);
    const session = match === null ? undefined : this.find(match[1]);
    if (session === undefined || url.searchParams.get("tempauth") !== session.tempauth) return undefined;
    return session;
  }

  openOnPath(parentId: string, name: string): UploadSession | undefined {
    for (const session of this.sessions.values()) {
      if (session.parentId === parentId && session.name.toLowerCase() === name.toLowerCase() && this.isLive(session)) {
        return session;
      }
    }
    return undefined;
  }

  remove(session: UploadSession): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
  }

  extend(session: UploadSession): void {
    session.expiresAt = this.options.now() + this.options.idleTimeoutMs;
  }

  holdsAllBytes(session: UploadSession): boolean {
    return session.total !== undefined && session.nextExpected === session.total;
  }

  statusJson(session: UploadSession): Record<string, unknown> {
    return {
      expirationDateTime: new Date(session.expiresAt).toISOString(),
      nextExpectedRanges: this.holdsAllBytes(session) ? [] : [`${session.nextExpected}-`],
    };
  }

  list(): OpenSessionInfo[] {
    const open: OpenSessionInfo[] = [];
    for (const session of [...this.sessions.values()]) {
      if (!this.isLive(session)) continue;
      const parent = this.store.get(session.parentId);
      const parentPath = parent === undefined ? "" : this.store.pathOf(parent);
      open.push({
        uploadUrl: session.uploadUrl,
        path: parentPath === "" ? session.name : `${parentPath}/${session.name}`,
        nextExpectedOffset: session.nextExpected,
        expiresAt: session.expiresAt,
      });
    }
    return open;
  }

  /**
   * Creates or replaces the file from a session that holds every byte. A refusal (name clash, quota) leaves the
   * session alive so it can still be committed while it lives, as the service allows.
   */
  commit(session: UploadSession, conflictBehavior = session.conflictBehavior): { item: StoredItem; created: boolean } {
    const parent = this.store.get(session.parentId);
    if (parent === undefined || !this.store.isAttached(parent)) {
      throw new ServiceError(404, "itemNotFound", "The parent folder of the upload was deleted; create it and start a new upload session.");
    }
    let name = session.name;
    const existing = this.store.child(parent, name);
    if (existing !== undefined) {
      if (existing.isFolder) {
        throw new ServiceError(409, "nameAlreadyExists", `A folder named '${existing.name}' already exists where the file should go.`);
      }
      if (conflictBehavior === "fail") {
        throw new ServiceError(409, "nameAlreadyExists", `The file '${existing.name}' already exists and conflictBehavior is "fail".`);
      }
      if (conflictBehavior === "rename") name = this.store.uniqueName(parent, name);
    }
    const hasher = session.hasher.clone();
    let chunks = session.chunks;
    if (this.options.rewrites(name)) {
      hasher.update(REWRITE_SUFFIX);
      if (chunks !== undefined) chunks = [...chunks, REWRITE_SUFFIX];
    }
    const size = hasher.length;
    const freed = existing !== undefined && conflictBehavior === "replace" ? existing.size : 0;
    if (size > this.store.remainingBytes() + freed) {
      throw new ServiceError(507, "quotaLimitReached", "Insufficient Space Available: the file does not fit in the drive's quota.");
    }
    const result = this.store.writeFile(parent, name, { size, quickXorHash: hasher.digestBase64(), chunks }, session.times);
    this.store.markHashPending(result.item);
    this.remove(session);
    return result;
  }
}
