import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { StoredTokenCache, TokenCacheStore, TokenStoreError } from "./tokenCacheStore";

/**
 * Local-development store: the MSAL cache in one file, mode 0600 in a 0700 directory, replaced atomically
 * (write a temporary file, fsync, rename) so a crash never leaves half a cache. A relink marker sits beside it.
 */
export class FileTokenCacheStore implements TokenCacheStore {
  readonly filePath: string;
  readonly description: string;

  constructor(filePath: string) {
    this.filePath = resolve(filePath);
    this.description = `token cache file ${this.filePath}`;
  }

  private get relinkMarkerPath(): string {
    return `${this.filePath}.relink-needed`;
  }

  async read(): Promise<StoredTokenCache | undefined> {
    try {
      const [serialized, info] = await Promise.all([readFile(this.filePath, "utf8"), stat(this.filePath)]);
      const relinkReason = await readFile(this.relinkMarkerPath, "utf8").catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return undefined;
        throw error;
      });
      return { serialized, writtenAt: info.mtime, relinkReason: relinkReason?.trim() || undefined };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.failure("read", error);
    }
  }

  async write(serialized: string): Promise<void> {
    try {
      await this.writeAtomically(this.filePath, serialized);
      await rm(this.relinkMarkerPath, { force: true });
    } catch (error) {
      throw this.failure("write", error);
    }
  }

  async recordRelinkNeeded(reason: string): Promise<void> {
    try {
      await this.writeAtomically(this.relinkMarkerPath, reason);
    } catch (error) {
      throw this.failure("write the relink marker of", error);
    }
  }

  private async writeAtomically(target: string, text: string): Promise<void> {
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const temporary = `${target}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
    const handle = await open(temporary, "wx", 0o600);
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      // open()'s mode is filtered by the umask; set it explicitly so the file is never wider than 0600.
      await chmod(temporary, 0o600);
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  private failure(action: string, error: unknown): TokenStoreError {
    const code = (error as NodeJS.ErrnoException).code;
    return new TokenStoreError(
      `Could not ${action} the ${this.description} (${code ?? (error as Error).message}): check that the directory exists and is writable by this user, or set TOKEN_CACHE_FILE.`,
      { code },
    );
  }
}
