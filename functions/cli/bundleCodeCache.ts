import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire, wrap } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { Script } from "node:vm";

/**
 * Loads a command's bundle with V8's compiled code kept on disk between runs, on Node versions without
 * `module.enableCompileCache` (before 22.1). A cron run pays for compiling the 2.6 MB bundle on every tick: about
 * 0.1 s of CPU, against 0.04 s from cached code. The cache is written once, as the first run after a build exits, so
 * it also holds the functions that run compiled lazily during the transfer. V8 checks a cached entry against the
 * source, its own version and its flags, and compiles afresh when it does not match. The caller saves the cache
 * after a run that did the command's work (not after `--help` or a failed start, whose cache would miss the
 * transfer's functions).
 *
 * The folder is the current user's own under the system's temporary directory; a folder another user owns, or one
 * that others can write to, is not used (cached code is code that runs), and the bundle then loads as usual.
 */
export interface LoadedBundle {
  exports: unknown;
  /** The bundle ran from code cached by an earlier run. */
  usedCachedCode: boolean;
  /** Keeps the code compiled so far for the next run, unless a cache was already used (call as the run ends). */
  saveCompiledCode(): void;
}

export function loadBundleWithCodeCache(bundlePath: string): LoadedBundle {
  const cacheFile = codeCacheFileFor(bundlePath);
  if (cacheFile === undefined) return { exports: require(bundlePath), usedCachedCode: false, saveCompiledCode: () => undefined };
  const source = readFileSync(bundlePath, "utf8");
  const cachedData = readIfPresent(cacheFile);
  const script = new Script(wrap(source), { filename: bundlePath, cachedData });
  const bundleModule = { exports: {} as unknown, filename: bundlePath, id: bundlePath, loaded: false };
  const moduleWrapper = script.runInThisContext() as (...args: unknown[]) => void;
  moduleWrapper.call(bundleModule.exports, bundleModule.exports, createRequire(bundlePath), bundleModule, bundlePath, dirname(bundlePath));
  bundleModule.loaded = true;
  const usedCachedCode = cachedData !== undefined && script.cachedDataRejected === false;
  return { exports: bundleModule.exports, usedCachedCode, saveCompiledCode: () => (usedCachedCode ? undefined : writeCodeCache(cacheFile, script)) };
}

/** The cache file for this bundle build and this Node, or undefined when no safe folder is available. */
function codeCacheFileFor(bundlePath: string): string | undefined {
  const userId = process.getuid?.();
  if (userId === undefined) return undefined;
  const folder = join(tmpdir(), `onedrive-connector-code-cache-${userId}`);
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const folderStat = statSync(folder);
    if (!folderStat.isDirectory() || folderStat.uid !== userId || (folderStat.mode & 0o022) !== 0) return undefined;
    const bundleStat = statSync(bundlePath);
    const build = createHash("sha256")
      .update([bundlePath, bundleStat.size, bundleStat.mtimeMs, process.version, process.arch].join("\n"))
      .digest("hex")
      .slice(0, 16);
    return join(folder, `${basename(bundlePath)}.${build}.v8cache`);
  } catch {
    return undefined;
  }
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Writes the cache whole or not at all (another run may be reading it), and drops those of earlier builds. */
function writeCodeCache(cacheFile: string, script: Script): void {
  try {
    const partial = `${cacheFile}.${process.pid}.partial`;
    writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
    renameSync(partial, cacheFile);
    const folder = dirname(cacheFile);
    const bundleName = basename(cacheFile).split(".v8cache")[0].replace(/\.[0-9a-f]{16}$/, "");
    for (const entry of readdirSync(folder)) {
      if (entry.startsWith(`${bundleName}.`) && entry.endsWith(".v8cache") && join(folder, entry) !== cacheFile) rmSync(join(folder, entry), { force: true });
    }
  } catch {
    // A cache that cannot be written only costs the next run the compile.
  }
}
