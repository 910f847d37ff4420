import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { performance } from "node:perf_hooks";
import type { ChildResult } from "./benchProtocol";

/**
 * rclone, the tool a user would pick instead of the engine for a one-shot copy, run by the bench on the same source
 * and destination: Azurite through rclone's own emulator support, the OneDrive emulator through an HTTPS proxy (see
 * connectProxy.ts), since rclone's OneDrive backend always addresses graph.microsoft.com.
 */

/** The remotes' names in the generated configuration. */
export const RCLONE_SOURCE_REMOTE = "azurite";
export const RCLONE_DESTINATION_REMOTE = "onedrive";

/**
 * GNU time reports a child's rusage (wait4) on exit: CPU, peak RSS and page faults that node cannot read for a
 * process it started. `%M` is ru_maxrss in KiB, taken after exec, so it is rclone's own and not the bench's.
 */
const GNU_TIME = "/usr/bin/time";
const TIME_FORMAT = "rusage %U %S %M %R";
const MIB = 1024 * 1024;

export interface RcloneTools {
  rclone: string;
  version: string;
}

/** rclone on PATH and GNU time, or why the leg cannot run (one line). */
export function findRclone(): RcloneTools | { missing: string } {
  const rclone = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((directory) => directory !== "")
    .map((directory) => join(directory, "rclone"))
    .find((candidate) => {
      try {
        accessSync(candidate, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  if (rclone === undefined) return { missing: "rclone is not on PATH" };
  const timeVersion = spawnSync(GNU_TIME, ["--version"], { encoding: "utf8" });
  if (timeVersion.error !== undefined || !/GNU/.test(`${timeVersion.stdout}${timeVersion.stderr}`)) {
    return { missing: `GNU time is not at ${GNU_TIME} (it reports rclone's CPU and peak RSS)` };
  }
  const version = spawnSync(rclone, ["version"], { encoding: "utf8" }).stdout?.split("\n")[0]?.trim() ?? "";
  return { rclone, version: version === "" ? "rclone (version unknown)" : version };
}

export interface RcloneConfig {
  /** Azurite's blob endpoint with the account, "http://127.0.0.1:<port>/devstoreaccount1". */
  blobEndpoint: string;
  /** A token the emulator accepts (its fixed test token, not a credential). */
  accessToken: string;
  driveId: string;
  driveType: string;
}

/**
 * The two remotes. use_emulator makes rclone sign with Azurite's well-known development account; the token's
 * expiry is far off, so rclone never tries to refresh it (the proxy would refuse the sign-in host anyway).
 */
export function writeRcloneConfig(path: string, config: RcloneConfig): void {
  const token = { access_token: config.accessToken, token_type: "Bearer", refresh_token: "", expiry: "2099-12-31T00:00:00Z" };
  const text = [
    `[${RCLONE_SOURCE_REMOTE}]`,
    "type = azureblob",
    "use_emulator = true",
    `endpoint = ${config.blobEndpoint}`,
    "",
    `[${RCLONE_DESTINATION_REMOTE}]`,
    "type = onedrive",
    `token = ${JSON.stringify(token)}`,
    `drive_id = ${config.driveId}`,
    `drive_type = ${config.driveType}`,
    "",
  ].join("\n");
  writeFileSync(path, text, { mode: 0o600 });
}

export interface RcloneRunOptions {
  tools: RcloneTools;
  configPath: string;
  /** For HTTPS_PROXY. */
  proxyUrl: string;
  /** "container" or "container/blob" on the source remote. */
  source: string;
  /** Folder on the destination remote. */
  destination: string;
  /** The engine's fragment size (FRAGMENT_SIZE_MB as the engine rounds it) and TRANSFER_CONCURRENCY, as rclone's flags. */
  chunkBytes: number;
  transfers: number;
  /** What the copy moves, for the throughput figures; the caller checks the destination holds it. */
  files: number;
  bytes: number;
  /** GNU time's report lands here; must not exist yet. */
  rusageFile: string;
  timeLimitMs: number;
  /** Called with a function that ends the run; the returned function is called once it has ended. */
  track: (kill: () => void) => () => void;
}

/** The flags every rclone run gets: the engine's fragment size and concurrency, and the emulator's certificate. */
export function rcloneArguments(options: Pick<RcloneRunOptions, "configPath" | "source" | "destination" | "chunkBytes" | "transfers">): string[] {
  // rclone reads a bare number as KiB; every fragment size the engine uses is a multiple of 320 KiB.
  const chunk = options.chunkBytes % MIB === 0 ? `${options.chunkBytes / MIB}M` : `${options.chunkBytes / 1024}K`;
  return [
    "copy",
    `${RCLONE_SOURCE_REMOTE}:${options.source}`,
    `${RCLONE_DESTINATION_REMOTE}:${options.destination}`,
    "--config", options.configPath,
    "--onedrive-chunk-size", chunk,
    "--transfers", String(options.transfers),
    // The emulator's certificate is the repository's test certificate, issued for localhost, not graph.microsoft.com.
    "--no-check-certificate",
    // One attempt at the whole copy: a failed run is a problem to report, not a slower figure.
    "--retries", "1",
    "--quiet",
  ];
}

/**
 * The environment without anything that would point rclone elsewhere: the user's RCLONE_* settings and proxies.
 * rclone (Go) never proxies loopback addresses, so Azurite and the upload URLs (127.0.0.1) are reached directly and
 * only graph.microsoft.com goes through the proxy.
 */
function rcloneEnvironment(options: RcloneRunOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.startsWith("RCLONE_") || /^(https?|all|no)_proxy$/i.test(name)) continue;
    env[name] = value;
  }
  return { ...env, RCLONE_CONFIG: options.configPath, HTTPS_PROXY: options.proxyUrl };
}

function parseRusage(file: string): { cpuUserMs: number; cpuSystemMs: number; maxRssKiB: number; minorPageFaults: number } | undefined {
  if (!existsSync(file)) return undefined;
  // GNU time writes "Command exited with non-zero status n" (or a signal line) before the report when there is one.
  const line = readFileSync(file, "utf8").split("\n").find((candidate) => candidate.startsWith("rusage "));
  const fields = line?.split(" ").slice(1).map(Number);
  if (fields === undefined || fields.length !== 4 || fields.some((field) => !Number.isFinite(field))) return undefined;
  const [userSeconds, systemSeconds, maxRssKiB, minorPageFaults] = fields;
  return { cpuUserMs: userSeconds * 1000, cpuSystemMs: systemSeconds * 1000, maxRssKiB, minorPageFaults };
}

/** One timed `rclone copy`, spawn to exit. */
export function runRclone(options: RcloneRunOptions): Promise<{ result?: ChildResult; problem?: string }> {
  const args = ["-f", TIME_FORMAT, "-o", options.rusageFile, options.tools.rclone, ...rcloneArguments(options)];
  const startedAt = performance.now();
  const child = spawn(GNU_TIME, args, { env: rcloneEnvironment(options), stdio: ["ignore", "ignore", "pipe"], detached: true });
  const killTree = () => {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  const untrack = options.track(killTree);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    let timedOut = false;
    let exitedAt = 0;
    let exitCode: number | null = null;
    const timer = setTimeout(() => {
      timedOut = true;
      killTree();
    }, options.timeLimitMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      untrack();
      resolve({ problem: `could not start ${GNU_TIME}: ${error.message}` });
    });
    child.once("exit", (code) => {
      exitedAt = performance.now();
      exitCode = code;
    });
    child.once("close", () => {
      clearTimeout(timer);
      untrack();
      if (timedOut) return resolve({ problem: `killed after ${options.timeLimitMs / 1000} s` });
      const firstLines = stderr.trim().split("\n").slice(0, 3).join(" | ").slice(0, 300);
      if (exitCode !== 0) return resolve({ problem: `rclone exit ${exitCode}: ${firstLines}` });
      const usage = parseRusage(options.rusageFile);
      if (usage === undefined) return resolve({ problem: `no rusage from ${GNU_TIME} in ${options.rusageFile}` });
      resolve({
        result: {
          wallMs: Math.round((exitedAt - startedAt) * 10) / 10,
          ...usage,
          bytes: options.bytes,
          files: options.files,
        },
      });
    });
  });
}
