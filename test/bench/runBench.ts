import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { BlobServiceClient } from "@azure/storage-blob";
import { fragmentSizeBytes } from "../../functions/config/settings";
import { startAzurite, type AzuriteInstance } from "../support/azurite";
import { ensureTestCertificate } from "../support/testCertificate";
import { startOneDriveEmulator, type OneDriveEmulator } from "../emulators/onedrive";
import type { BenchMode, ChildResult, HashArgs, PipeArgs, PutArgs, ReadArgs, SmallLoopArgs } from "./benchProtocol";
import { seedLargeBlob, seedSmallBlobs } from "./benchSeed";
import { filesPerSecond, formatCpuPerGib, formatFigures, formatMeasurements, mibPerSecond, type CpuPerGibRow, type Figure, type Measurement } from "./benchReport";
import { ownCpuMs, processCpuMs } from "./processCpu";
import { MEMORY_ALLOCATOR_SETTINGS, SETTINGS } from "../../functions/config/settingsSchema";
import { runTransfer, TRANSFER_COMMAND } from "./transferRun";
import { startConnectProxy, type ConnectProxy } from "./connectProxy";
import { findRclone, rcloneArguments, runRclone, writeRcloneConfig, type RcloneTools } from "./rcloneRun";

/**
 * `npm run bench`: the transfer figures of issue 2 on Azurite and the OneDrive emulator. Azurite runs as a child,
 * the emulator in this process (so this process's CPU while a measurement runs is the emulator's), and every
 * measurement is a fresh process tree. The engine runs as users run it: `npm run --silent transfer -- --json` in the
 * repository with the settings in the environment, timed from spawn to exit as cron would see it (npm's and node's
 * start-up included); every node process in that tree records its peak RSS and CPU on exit through
 * NODE_OPTIONS=--require processExitRecord.js, and the run counts only if the CLI's JSON summary shows every seeded
 * file uploaded (or, for the re-sweep, skipped). The baselines (benchChild.ts) time their work alone, in a node
 * process of their own, as they always have: they are the reference the targets are relative to.
 *
 * Environment knobs, for investigating a figure:
 *   BENCH_ONLY=big,rss,small,hash,rclone
 *                                   run only these groups (default: all); rclone is the rclone leg of big and small
 *   BENCH_CPU_PROF=<dir>            one .cpuprofile per run (and per node process of a transfer run) in <dir>
 *   BENCH_CHILD_NODE_ARGS="..."     extra node options for the children only (flags that print nothing on stdout);
 *                                   transfer runs get them through NODE_OPTIONS, so npm's node gets them too, and
 *                                   only flags NODE_OPTIONS allows are accepted
 *   BENCH_FRAGMENT_MIB=<n>          fragment size (FRAGMENT_SIZE_MB) instead of the issue's 10 MiB
 *   BENCH_RSS_RUNS=<n>              run the 4 x 256 MiB engine n times on one seeding (default 3; the highest counts)
 */

const MIB = 1024 * 1024;
const FRAGMENT_MIB = Number(process.env.BENCH_FRAGMENT_MIB ?? 10);
if (!Number.isInteger(FRAGMENT_MIB) || FRAGMENT_MIB < 1 || FRAGMENT_MIB > 60) throw new Error("BENCH_FRAGMENT_MIB must be an integer from 1 to 60");
/** The engine's own rounding of FRAGMENT_SIZE_MB, so the minimal runs send the very fragments the engine sends. */
const FRAGMENT_BYTES = fragmentSizeBytes(FRAGMENT_MIB);
const LARGE_BYTES = 1024 * MIB;
const RSS_BLOB_COUNT = 4;
const RSS_BLOB_BYTES = 256 * MIB;
const SMALL_COUNT = 2000;
const SMALL_BYTES = 8 * 1024;
const CONCURRENCY = 4;
const HASH_BYTES = 512 * MIB;
/** rclone 1.60.1 copying such a blob from Azurite to the emulator on this kind of machine, idle (docs/benchmark.md), for when the rclone leg cannot run. */
const RCLONE_MIB_PER_S = 330;
/** The issue's targets against rclone, measured in the same rounds (issue 17). */
const LARGE_AGAINST_RCLONE_TARGET = 1.0;
const SMALL_AGAINST_RCLONE_TARGET = 10;
const RSS_OVER_RCLONE_TARGET = 1.2;
/** rclone's OneDrive backend always addresses this authority; the bench's proxy sends it to the emulator. */
const GRAPH_AUTHORITY = "graph.microsoft.com:443";
/** No single measurement may take longer; a stuck one is killed and reported instead of hanging the bench. */
const CHILD_TIME_LIMIT_MS = 150_000;
/** Rounds of the engine / minimal pipe pair: the machine's noise is larger than the difference being measured. */
const PIPE_ROUNDS = 5;
const SMALL_ROUNDS = 5;
/** Peak RSS varies run to run (when V8 collects download garbage): the figure is the highest of these runs. */
const RSS_RUNS = Number(process.env.BENCH_RSS_RUNS ?? 3);
if (!Number.isInteger(RSS_RUNS) || RSS_RUNS < 1 || RSS_RUNS > 10) throw new Error("BENCH_RSS_RUNS must be an integer from 1 to 10");

const repoRoot = join(__dirname, "..", "..", "..");
/** The engine sets this for itself (collectorSettings.ts); the bench gives it to its children, its Azurite and itself. */
const WITHOUT_INCREMENTAL_MARKING = "--no-incremental-marking";
const childScript = join(__dirname, "benchChild.js");
const processRecorderScript = join(__dirname, "processExitRecord.js");
const groups = new Set((process.env.BENCH_ONLY ?? "big,rss,small,hash,rclone").split(",").map((group) => group.trim()));
const profileDirectory = process.env.BENCH_CPU_PROF;
const extraChildNodeArgs = (process.env.BENCH_CHILD_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "");
// Node refuses to start with a flag NODE_OPTIONS does not allow; say so before anything is seeded.
for (const arg of extraChildNodeArgs) {
  if (!process.allowedNodeEnvironmentFlags.has(arg.split("=")[0])) {
    throw new Error(`BENCH_CHILD_NODE_ARGS: ${arg} is not allowed in NODE_OPTIONS, through which the transfer runs get it`);
  }
}

/** How to end each process tree still running, so an interrupted bench leaves none behind. */
const runningChildren = new Set<() => void>();
let tableCounter = 0;
let recordCounter = 0;

function freshTableName(stem: string): string {
  tableCounter += 1;
  return `${stem}${Date.now().toString(36)}${tableCounter}`.replace(/[^a-zA-Z0-9]/g, "");
}

interface BenchContext {
  /** The current group's Azurite (see freshAzurite). */
  azurite?: AzuriteInstance;
  emulator: OneDriveEmulator;
  certPath: string;
  tlsDirectory: string;
  /** Where each transfer run's node processes leave their exit records. */
  recordDirectory: string;
  /** Set when the rclone leg runs. */
  rclone?: RcloneLeg;
}

/**
 * What the rclone leg needs: an emulator of its own, the only one that lets an Authorization header through on
 * upload URLs (rclone 1.60 sends one; the service refuses it), so no engine or baseline run meets that tolerance; and
 * the proxy that sends graph.microsoft.com to it. Both live in this process, as the engine's emulator does, so the
 * emulator CPU of every run is measured the same way.
 */
interface RcloneLeg {
  tools: RcloneTools;
  emulator: OneDriveEmulator;
  proxy: ConnectProxy;
  driveId: string;
  driveType: string;
  /** The generated configuration and GNU time's reports. */
  directory: string;
}

/** What a copy must leave in the emulator, by name under its folder. */
type ExpectedFiles = ReadonlyMap<string, { size: number; quickXorHash: string }>;

function currentAzurite(context: BenchContext): AzuriteInstance {
  if (!context.azurite) throw new Error("no Azurite is running for this group of runs");
  return context.azurite;
}

/**
 * The engine's settings for one transfer run. Every engine setting is given, the bench's value or the default, so a
 * local.settings.json in the repository (which the CLI reads under the environment) cannot change what is measured.
 */
function transferSettings(context: BenchContext, container: string, ledgerTable: string, destFolder: string): Record<string, string> {
  const benchValues: Record<string, string> = {
    SOURCE_STORAGE: currentAzurite(context).connectionString,
    SOURCE_CONTAINER: container,
    LEDGER_TABLE: ledgerTable,
    DEST_FOLDER: destFolder,
    GRAPH_ENDPOINT: context.emulator.graphEndpoint,
    GRAPH_ACCESS_TOKEN: context.emulator.accessToken,
    FRAGMENT_SIZE_MB: String(FRAGMENT_MIB),
    TRANSFER_CONCURRENCY: String(CONCURRENCY),
  };
  const defaults = SETTINGS.filter((setting) => setting.group === "engine" && setting.defaultValue !== undefined).map((setting) => [setting.name, setting.defaultValue!]);
  return { ...Object.fromEntries(defaults), ...benchValues };
}

/**
 * The bench's environment without any setting the engine reads, in any spelling, so only transferSettings apply, and
 * without what `npm run bench` exported for its script (npm_config_*, npm_package_*, npm_lifecycle_*): a cron line's
 * npm starts without them, and npm reads npm_config_* as its own configuration.
 */
function environmentForCron(): Record<string, string> {
  const settingNames = SETTINGS.map((setting) => setting.name);
  const inherited: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.toLowerCase().startsWith("npm_") || name === "INIT_CWD") continue;
    if (settingNames.some((setting) => name === setting || name.startsWith(`${setting}__`))) continue;
    inherited[name] = value;
  }
  return inherited;
}

function fileNameFor(label: string): string {
  return label.replace(/[^\w.-]+/g, "_");
}

/** `npm run transfer` as a cron line runs it; see transferRun.ts. */
function runTransferCommand(context: BenchContext, label: string, settings: Record<string, string>, expected: { uploaded: number; skipped: number }): Promise<{ result?: ChildResult; problem?: string }> {
  recordCounter += 1;
  const nodeOptions = [process.env.NODE_OPTIONS ?? "", `--require ${JSON.stringify(processRecorderScript)}`, ...extraChildNodeArgs].filter((option) => option !== "").join(" ");
  const env: Record<string, string> = {
    ...environmentForCron(),
    // As for the baselines: the allocator settings the deployment sets, and the emulator's certificate from birth.
    ...MEMORY_ALLOCATOR_SETTINGS,
    NODE_EXTRA_CA_CERTS: context.certPath,
    NODE_OPTIONS: nodeOptions,
    ...settings,
    ...(profileDirectory ? { BENCH_CPU_PROFILE_STEM: join(profileDirectory, fileNameFor(label)) } : {}),
  };
  return runTransfer({
    cwd: repoRoot,
    env,
    recordFile: join(context.recordDirectory, `run-${recordCounter}.jsonl`),
    expected,
    timeLimitMs: CHILD_TIME_LIMIT_MS,
    track: (kill) => {
      runningChildren.add(kill);
      return () => runningChildren.delete(kill);
    },
  });
}

function runChild(context: BenchContext, label: string, mode: BenchMode, args: unknown): Promise<{ result?: ChildResult; problem?: string }> {
  const nodeArgs = profileDirectory ? ["--cpu-prof", `--cpu-prof-dir=${profileDirectory}`, `--cpu-prof-name=${fileNameFor(label)}.cpuprofile`] : [];
  // The engine switches incremental marking off for its own process (collectorSettings.ts); the baselines get the
  // same from the command line, so no run gains from a setting another lacks. (NODE_OPTIONS does not allow the flag,
  // and npm's own node, which only waits, runs with V8's defaults.)
  const child = spawn(process.execPath, [WITHOUT_INCREMENTAL_MARKING, ...extraChildNodeArgs, ...nodeArgs, childScript, mode, JSON.stringify(args)], {
    // NODE_EXTRA_CA_CERTS is read only when node starts, so the child trusts the emulator's certificate from birth.
    // Every child, engine and baselines alike, runs with the allocator settings the deployment sets: with glibc's
    // defaults one and the same 1 GiB run took 27,000 to 218,000 page faults, and its CPU varied with them.
    env: { ...process.env, ...MEMORY_ALLOCATOR_SETTINGS, NODE_EXTRA_CA_CERTS: context.certPath, TEST_TLS_DIR: context.tlsDirectory },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const kill = () => child.kill("SIGKILL");
  runningChildren.add(kill);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, CHILD_TIME_LIMIT_MS);
    child.once("error", (error) => {
      clearTimeout(timer);
      runningChildren.delete(kill);
      resolve({ problem: `could not start: ${error.message}` });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      runningChildren.delete(kill);
      if (timedOut) return resolve({ problem: `killed after ${CHILD_TIME_LIMIT_MS / 1000} s` });
      const lastLine = stdout.trim().split("\n").pop() ?? "";
      if (code !== 0 || !lastLine.startsWith("{")) {
        return resolve({ problem: `exit ${code ?? signal}: ${stderr.trim().split("\n").slice(0, 3).join(" | ").slice(0, 300)}` });
      }
      resolve({ result: JSON.parse(lastLine) as ChildResult });
    });
  });
}

/** A baseline or figure in a bench child. */
function measureChild(context: BenchContext, label: string, mode: BenchMode, args: unknown): Promise<Measurement> {
  return measure(context, label, mode, () => runChild(context, label, mode, args));
}

/**
 * A transfer run that must upload `uploaded` files and skip `skipped` to count; with `copies`, the emulator must then
 * hold those files under that folder, as an rclone run's must.
 */
function measureTransfer(
  context: BenchContext,
  label: string,
  settings: Record<string, string>,
  expected: { uploaded: number; skipped: number },
  copies?: { folder: string; files: ExpectedFiles },
): Promise<Measurement> {
  return measure(context, label, "transfer", async () => {
    const outcome = await runTransferCommand(context, label, settings, expected);
    if (outcome.result === undefined || outcome.problem !== undefined || copies === undefined) return outcome;
    return { result: outcome.result, problem: copiesProblem(context.emulator, copies.folder, copies.files) };
  });
}

/** Why the emulator does not hold what a copy was to leave in `folder`, or undefined when it does. */
function copiesProblem(emulator: OneDriveEmulator, folder: string, files: ExpectedFiles): string | undefined {
  let missing = 0;
  let wrong = 0;
  let first: string | undefined;
  for (const [name, want] of files) {
    const item = emulator.getItem(`${folder}/${name}`);
    if (item === undefined) missing += 1;
    else if (item.size !== want.size || item.quickXorHash !== want.quickXorHash) wrong += 1;
    else continue;
    first ??= `${folder}/${name}`;
  }
  if (missing === 0 && wrong === 0) return undefined;
  return `the emulator lacks ${missing} and holds ${wrong} with a wrong size or hash of the ${files.size} file(s) (first: ${first})`;
}

/**
 * One `rclone copy` of `source` into a fresh `folder` of the rclone leg's emulator, with the engine's fragment size
 * and concurrency; it counts only if that emulator then holds every file with the seeded size and QuickXorHash.
 */
async function measureRclone(context: BenchContext, label: string, source: string, folder: string, files: ExpectedFiles): Promise<Measurement> {
  const leg = context.rclone;
  if (leg === undefined) throw new Error("the rclone leg is not running");
  const configPath = join(leg.directory, "rclone.conf");
  // Each group has an Azurite of its own: the configuration names the current one.
  writeRcloneConfig(configPath, {
    blobEndpoint: `http://127.0.0.1:${currentAzurite(context).blobPort}/devstoreaccount1`,
    accessToken: leg.emulator.accessToken,
    driveId: leg.driveId,
    driveType: leg.driveType,
  });
  recordCounter += 1;
  const toleratedBefore = leg.emulator.toleratedUploadAuthorizations();
  const bytes = [...files.values()].reduce((sum, file) => sum + file.size, 0);
  const measurement = await measure(
    context,
    label,
    "rclone",
    async () => {
      const outcome = await runRclone({
        tools: leg.tools,
        configPath,
        proxyUrl: leg.proxy.url,
        source,
        destination: folder,
        chunkBytes: FRAGMENT_BYTES,
        transfers: CONCURRENCY,
        files: files.size,
        bytes,
        rusageFile: join(leg.directory, `rusage-${recordCounter}.txt`),
        timeLimitMs: CHILD_TIME_LIMIT_MS,
        track: (kill) => {
          runningChildren.add(kill);
          return () => runningChildren.delete(kill);
        },
      });
      if (outcome.result === undefined) return outcome;
      return { result: outcome.result, problem: copiesProblem(leg.emulator, folder, files) };
    },
    leg.emulator,
  );
  measurement.toleratedUploadAuthorizations = leg.emulator.toleratedUploadAuthorizations() - toleratedBefore;
  return measurement;
}

async function measure(
  context: BenchContext,
  label: string,
  mode: string,
  run: () => Promise<{ result?: ChildResult; problem?: string }>,
  emulator: OneDriveEmulator = context.emulator,
): Promise<Measurement> {
  const requestsBefore = emulator.requests.length;
  const emulatorBefore = ownCpuMs();
  const azuriteBefore = processCpuMs(context.azurite?.pid);
  const startedAt = performance.now();
  const { result, problem } = await run();
  const processWallMs = performance.now() - startedAt;
  const azuriteAfter = processCpuMs(context.azurite?.pid);
  const emulatorCpuMs = ownCpuMs() - emulatorBefore;
  const newRequests = emulator.requests.slice(requestsBefore);
  const measurement: Measurement = {
    label,
    mode,
    result,
    problem: problem ?? (result?.failed ? `${result.failed} file(s) failed: ${result.firstError ?? "no message"}` : undefined),
    processWallMs,
    emulatorCpuMs,
    azuriteCpuMs: azuriteBefore === undefined || azuriteAfter === undefined ? undefined : azuriteAfter - azuriteBefore,
    graphRequests: newRequests.filter((request) => request.origin === "graph" && request.batchId === undefined).length,
    batchedRequests: newRequests.filter((request) => request.batchId !== undefined).length,
    uploadRequests: newRequests.filter((request) => request.origin === "upload").length,
  };
  // The emulator records every request; a long bench must not keep them all.
  emulator.clearRequests();
  const inCli = result?.commandUptimeMs === undefined ? "" : ` spawn to exit (the CLI's node ${(result.commandUptimeMs / 1000).toFixed(2)} s)`;
  const wall = result ? `${(result.wallMs / 1000).toFixed(2)} s${inCli}` : "no result";
  process.stderr.write(`  ${label}: ${wall}${measurement.problem ? ` (${measurement.problem})` : ""}\n`);
  return measurement;
}

/**
 * What a user waits for: a process's spawn to its exit (node's start-up and module loading included; for a transfer
 * run, npm's too). The targets compare both sides so: the engine as cron runs it, each baseline as `node` runs it.
 */
function spawnToExitMs(measurement: Measurement | undefined): number | undefined {
  return usable(measurement)?.processWallMs;
}

function ratio(numerator: number | undefined, denominator: number | undefined): number | undefined {
  return numerator === undefined || denominator === undefined || denominator === 0 ? undefined : numerator / denominator;
}

/**
 * The median of the per-round ratios, undefined if any round failed. Each round pairs two runs made back to back, so
 * its ratio cancels the machine's drift from minute to minute; the median drops the round a passing hiccup spoiled.
 */
function median(values: (number | undefined)[]): number | undefined {
  if (values.length === 0 || values.some((value) => value === undefined)) return undefined;
  const sorted = (values as number[]).slice().sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function formatRatios(values: (number | undefined)[]): string {
  return values.map((value) => (value === undefined ? "n/a" : value.toFixed(2))).join(", ");
}

function usable(measurement: Measurement | undefined): Measurement | undefined {
  return measurement?.result && !measurement.problem ? measurement : undefined;
}

/** The usable run with the shortest wall time among those whose key starts with `prefix`. */
function fastest(runs: Record<string, Measurement>, prefix: string): Measurement | undefined {
  return Object.entries(runs)
    .filter(([key]) => key.startsWith(prefix))
    .map(([, measurement]) => usable(measurement))
    .filter((measurement): measurement is Measurement => measurement !== undefined)
    .sort((a, b) => a.result!.wallMs - b.result!.wallMs)[0];
}

/** Which process of a transfer run was the largest; no sampler runs inside the timed command to say more. */
function memoryNote(measurement: Measurement | undefined): string {
  const result = measurement?.result;
  if (result?.launcherPeakRssKiB === undefined) return "";
  const largest = result.maxRssKiB > result.launcherPeakRssKiB ? "the CLI's node" : "npm's node";
  return `largest process ${largest}; npm's node ${(result.launcherPeakRssKiB / 1024).toFixed(0)} MB`;
}

/** How much of a transfer run's wall time npm and sh took around the CLI's node, and npm's CPU. */
function launcherNote(measurement: Measurement | undefined): string {
  const result = measurement?.result;
  if (result?.commandUptimeMs === undefined) return "";
  const outside = (result.wallMs - result.commandUptimeMs) / 1000;
  return `spawn to exit; the CLI's node ${(result.commandUptimeMs / 1000).toFixed(2)} s, npm and sh ${outside.toFixed(2)} s (npm CPU ${((result.launcherCpuMs ?? 0) / 1000).toFixed(2)} s)`;
}

/** Each round's value in order, the median round's in brackets. */
function formatRoundsWithMedian(values: (number | undefined)[]): string {
  const middle = median(values);
  let marked = false;
  return values
    .map((value) => {
      if (value === undefined) return "n/a";
      if (!marked && value === middle) {
        marked = true;
        return `[${value.toFixed(2)}]`;
      }
      return value.toFixed(2);
    })
    .join(", ");
}

/** The highest peak RSS among the usable runs whose key starts with `prefix`, in MB. */
function highestPeakRssMb(runs: Record<string, Measurement>, prefix: string): number | undefined {
  const peaks = Object.entries(runs)
    .filter(([key]) => key.startsWith(prefix))
    .map(([, measurement]) => usable(measurement)?.result?.maxRssKiB)
    .filter((peak): peak is number => peak !== undefined);
  return peaks.length === 0 ? undefined : Math.max(...peaks) / 1024;
}

/**
 * The engine against rclone on one workload, round by round: each round's ratio pairs the engine's run and rclone's
 * in that round, both from spawn to exit (rclone's time over the engine's is the engine's throughput over rclone's).
 */
function againstRclone(
  runs: Record<string, Measurement>,
  workload: string,
  enginePrefix: string,
  rclonePrefix: string,
  rounds: number,
  target: number,
  rate: (measurement: Measurement | undefined) => number | undefined,
  unit: string,
  rssTarget?: number,
): Figure[] {
  const best = fastest(runs, rclonePrefix);
  const tolerated = Object.entries(runs)
    .filter(([key]) => key.startsWith(rclonePrefix))
    .reduce((sum, [, measurement]) => sum + (measurement.toleratedUploadAuthorizations ?? 0), 0);
  const roundRatios = Array.from({ length: rounds }, (_, index) =>
    ratio(spawnToExitMs(runs[`${rclonePrefix}${index + 1}`]), spawnToExitMs(runs[`${enginePrefix}${index + 1}`])),
  );
  const throughputRatio = median(roundRatios);
  const engineRss = highestPeakRssMb(runs, enginePrefix);
  const rcloneRss = highestPeakRssMb(runs, rclonePrefix);
  const rssRatio = ratio(engineRss, rcloneRss);
  return [
    {
      name: `${workload}: rclone copy (best run)`,
      value: rate(best),
      unit,
      note: `spawn to exit; upload-URL requests let through with an Authorization header: ${tolerated} over the rounds`,
    },
    {
      name: `${workload}: engine / rclone throughput, spawn to exit (median round)`,
      value: throughputRatio,
      unit: "x",
      target: `>= ${target}`,
      pass: throughputRatio === undefined ? undefined : throughputRatio >= target,
      note: `rounds: ${formatRoundsWithMedian(roundRatios)}`,
    },
    {
      name: `${workload}: engine / rclone peak RSS (highest runs)`,
      value: rssRatio,
      unit: "x",
      ...(rssTarget === undefined ? {} : { target: `<= ${rssTarget}`, pass: rssRatio === undefined ? undefined : rssRatio <= rssTarget }),
      note: `engine's largest process ${engineRss?.toFixed(0) ?? "n/a"} MB, rclone ${rcloneRss?.toFixed(0) ?? "n/a"} MB`,
    },
  ];
}

/**
 * CPU seconds per GiB copied for each leg of the 1 GiB and 2,000-file rounds: the median over the usable rounds of
 * each process's CPU while the run lasted, over the GiB the run copied.
 */
function cpuPerGib(runs: Record<string, Measurement>): CpuPerGibRow[] {
  const legs: [workload: string, leg: string, prefix: string][] = [
    ["1 GiB", "engine (npm run transfer)", "engine1g#"],
    ["1 GiB", "rclone", "rclone1g#"],
    ["1 GiB", "minimal pipe", "pipe1g#"],
    ["2,000 x 8 KiB", "engine (npm run transfer)", "engineSmall#"],
    ["2,000 x 8 KiB", "rclone", "rcloneSmall#"],
    ["2,000 x 8 KiB", "minimal loop", "loopSmall#"],
  ];
  const rows: CpuPerGibRow[] = [];
  for (const [workload, leg, prefix] of legs) {
    const measured = Object.entries(runs)
      .filter(([key]) => key.startsWith(prefix))
      .map(([, measurement]) => usable(measurement))
      .filter((measurement): measurement is Measurement => measurement?.result !== undefined && measurement.result.bytes > 0);
    if (measured.length === 0) continue;
    const perGib = (pick: (measurement: Measurement) => number | undefined) =>
      median(measured.map((measurement) => {
        const ms = pick(measurement);
        return ms === undefined ? undefined : ms / 1000 / (measurement.result!.bytes / (1024 * MIB));
      }));
    const own = (measurement: Measurement) => measurement.result!.cpuUserMs + measurement.result!.cpuSystemMs + (measurement.result!.launcherCpuMs ?? 0);
    rows.push({
      workload,
      leg,
      rounds: measured.length,
      own: perGib(own),
      emulator: perGib((measurement) => measurement.emulatorCpuMs),
      azurite: perGib((measurement) => measurement.azuriteCpuMs),
      total: perGib((measurement) => (measurement.azuriteCpuMs === undefined ? undefined : own(measurement) + measurement.emulatorCpuMs + measurement.azuriteCpuMs)),
    });
  }
  return rows;
}

function buildFigures(runs: Record<string, Measurement>): Figure[] {
  const figures: Figure[] = [];
  const rcloneRan = Object.keys(runs).some((key) => key.startsWith("rclone"));
  const engine = fastest(runs, "engine1g#");
  const pipe = fastest(runs, "pipe1g#");
  if (groups.has("big")) {
    const engineRate = mibPerSecond(engine);
    // With the rclone leg, the ratio to rclone measured in the same rounds (below) is the target; without it, the
    // throughput rclone reached on this kind of machine is the reference.
    const rcloneReference = rcloneRan ? {} : { target: `>= ${RCLONE_MIB_PER_S} (rclone)`, pass: engineRate === undefined ? undefined : engineRate >= RCLONE_MIB_PER_S };
    figures.push({ name: "1 GiB end to end (npm run transfer, best run)", value: engineRate, unit: "MiB/s", ...rcloneReference, note: launcherNote(engine) });
    figures.push({ name: "1 GiB read alone (10 MiB ranges)", value: mibPerSecond(usable(runs.read1g)), unit: "MiB/s" });
    figures.push({ name: "1 GiB PUT alone (10 MiB fragments)", value: mibPerSecond(usable(runs.put1g)), unit: "MiB/s" });
    figures.push({ name: "1 GiB minimal pipe (best run)", value: mibPerSecond(pipe), unit: "MiB/s", note: rcloneRan ? "" : `rclone reference ${RCLONE_MIB_PER_S} MiB/s` });
    const bestRatio = ratio(spawnToExitMs(engine), spawnToExitMs(pipe));
    const roundRatios = Array.from({ length: PIPE_ROUNDS }, (_, index) => ratio(spawnToExitMs(runs[`engine1g#${index + 1}`]), spawnToExitMs(runs[`pipe1g#${index + 1}`])));
    const workRatios = Array.from({ length: PIPE_ROUNDS }, (_, index) =>
      ratio(usable(runs[`engine1g#${index + 1}`])?.result?.wallMs, usable(runs[`pipe1g#${index + 1}`])?.result?.wallMs),
    );
    const wallRatio = median(roundRatios);
    figures.push({
      name: "end to end / minimal pipe, spawn to exit (median round)",
      value: wallRatio,
      unit: "x",
      target: "<= 1.0",
      pass: wallRatio === undefined ? undefined : wallRatio <= 1.0,
      note: `rounds: ${formatRatios(roundRatios)}; best runs ${bestRatio?.toFixed(2) ?? "n/a"}; against the pipe's work alone ${median(workRatios)?.toFixed(2) ?? "n/a"}`,
    });
    figures.push({ name: "peak RSS of the largest process, 1 file", value: engine?.result ? engine.result.maxRssKiB / 1024 : undefined, unit: "MB", note: memoryNote(engine) });
    if (rcloneRan) figures.push(...againstRclone(runs, "1 GiB", "engine1g#", "rclone1g#", PIPE_ROUNDS, LARGE_AGAINST_RCLONE_TARGET, mibPerSecond, "MiB/s", RSS_OVER_RCLONE_TARGET));
  }
  if (groups.has("rss")) {
    // Peak RSS varies from run to run: the figure is the highest of the runs, and every run is listed.
    const rssRuns = Array.from({ length: RSS_RUNS }, (_, index) => usable(runs[`engine4x256#${index + 1}`]));
    const complete = rssRuns.every((run) => run !== undefined);
    const peaks = rssRuns.map((run) => (run?.result ? Math.round(run.result.maxRssKiB / 1024) : undefined));
    const worst = rssRuns.reduce<Measurement | undefined>((high, run) => (run?.result && (!high || run.result.maxRssKiB > high.result!.maxRssKiB) ? run : high), undefined);
    const peak = complete && worst?.result ? worst.result.maxRssKiB / 1024 : undefined;
    const runsNote = RSS_RUNS > 1 ? `runs: ${peaks.map((value) => value ?? "n/a").join(", ")} MB; highest run ` : "";
    figures.push({ name: "peak RSS of the largest process, 4 x 256 MiB", value: peak, unit: "MB", target: "<= 200", pass: peak === undefined ? undefined : peak <= 200, note: `${runsNote}${memoryNote(worst)}` });
    figures.push({ name: "4 x 256 MiB end to end (engine)", value: mibPerSecond(fastest(runs, "engine4x256#")), unit: "MiB/s" });
  }
  if (groups.has("small")) {
    const engineFiles = filesPerSecond(fastest(runs, "engineSmall#"));
    const loopFiles = filesPerSecond(fastest(runs, "loopSmall#"));
    figures.push({ name: "2,000 x 8 KiB: npm run transfer", value: engineFiles, unit: "files/s", note: launcherNote(fastest(runs, "engineSmall#")) });
    figures.push({ name: "2,000 x 8 KiB: minimal read-then-PUT loop", value: loopFiles, unit: "files/s" });
    // Files per second, both runs of the same files: the loop's time over the engine's.
    const bestRatio = ratio(spawnToExitMs(fastest(runs, "loopSmall#")), spawnToExitMs(fastest(runs, "engineSmall#")));
    const roundRatios = Array.from({ length: SMALL_ROUNDS }, (_, index) => ratio(spawnToExitMs(runs[`loopSmall#${index + 1}`]), spawnToExitMs(runs[`engineSmall#${index + 1}`])));
    const workRatios = Array.from({ length: SMALL_ROUNDS }, (_, index) =>
      ratio(filesPerSecond(usable(runs[`engineSmall#${index + 1}`])), filesPerSecond(usable(runs[`loopSmall#${index + 1}`]))),
    );
    const filesRatio = median(roundRatios);
    figures.push({
      name: "2,000 x 8 KiB: engine / loop, spawn to exit (median round)",
      value: filesRatio,
      unit: "x",
      target: ">= 0.8",
      pass: filesRatio === undefined ? undefined : filesRatio >= 0.8,
      note: `rounds: ${formatRatios(roundRatios)}; best runs ${bestRatio?.toFixed(2) ?? "n/a"}; against the loop's work alone ${median(workRatios)?.toFixed(2) ?? "n/a"}`,
    });
    const done = usable(runs.engineDone);
    const doneRequests = done ? done.graphRequests + done.batchedRequests + done.uploadRequests : undefined;
    const skippedAll = done?.result?.skipped === SMALL_COUNT;
    if (rcloneRan) figures.push(...againstRclone(runs, "2,000 x 8 KiB", "engineSmall#", "rcloneSmall#", SMALL_ROUNDS, SMALL_AGAINST_RCLONE_TARGET, filesPerSecond, "files/s"));
    figures.push({ name: "sweep over 2,000 done: Graph requests", value: doneRequests, unit: "", target: "0", pass: doneRequests === undefined ? undefined : doneRequests === 0 && skippedAll, note: done?.result ? `skipped ${done.result.skipped}` : "" });
    const doneSeconds = done?.result ? done.result.wallMs / 1000 : undefined;
    figures.push({ name: "sweep over 2,000 done: time", value: doneSeconds, unit: "s", target: "<= 2", pass: doneSeconds === undefined ? undefined : doneSeconds <= 2, note: launcherNote(done) });
  }
  if (groups.has("hash")) {
    const hash = usable(runs.hash);
    const gbPerSecond = hash?.result ? hash.result.bytes / 1e9 / (hash.result.wallMs / 1000) : undefined;
    figures.push({ name: "QuickXorHash, 512 MiB in 10 MiB updates", value: gbPerSecond, unit: "GB/s" });
  }
  return figures;
}

type NamedRun = [key: string, run: () => Promise<Measurement>];

/** Odd rounds run the legs in the order given, even rounds in reverse, so no leg always goes first or last. */
async function inAlternatingOrder(round: number, legs: NamedRun[], runs: Record<string, Measurement>): Promise<void> {
  for (const [key, run] of round % 2 === 1 ? legs : [...legs].reverse()) runs[key] = await run();
}

/**
 * Node arguments for the Azurite of the streaming groups (1 GiB, 4 x 256 MiB). About a minute into such a group,
 * after Azurite's first full collection, V8 began starting a new incremental marking every 30-80 ms (--trace-gc:
 * "Start (task)" at 27 MB used of a 50 MB limit): Azurite spent 40-60 % of its time in the collector, in every later
 * round of engine and baseline alike, in memory or on disk, and its CPU for a GiB read went from 0.8-2 s to
 * 3.5-7 s. Without incremental marking its full collections run when the heap limit is reached (4 while 3 GiB were
 * read, traced). The small-file group keeps V8's defaults: its Azurite heap holds the ledger tables, and there the
 * flag made the engine's side slower (engine / loop 0.74 and 0.75 with it, 0.81 without, one run each).
 */
const STREAMING_AZURITE_NODE_ARGS = [WITHOUT_INCREMENTAL_MARKING];

/**
 * Each group of runs gets an Azurite of its own, so no group is measured in a store that still holds what an earlier
 * group wrote (2.25 GiB of blobs, their extents freed only when Azurite's own collector gets to them, and the
 * ledger tables). Within a group, engine and baseline runs alternate in the same Azurite.
 */
async function freshAzurite(context: BenchContext, nodeArgs: readonly string[]): Promise<{ connectionString: string; blobService: BlobServiceClient }> {
  await context.azurite?.stop();
  context.azurite = undefined;
  // Azurite gets the engine's allocator settings too: with glibc's defaults its CPU for the same 1 GiB read varied
  // from 1.4 to 5.6 s between runs of one bench, and with it every ratio's rounds.
  context.azurite = await startAzurite({ env: MEMORY_ALLOCATOR_SETTINGS, nodeArgs });
  const { connectionString } = context.azurite;
  return { connectionString, blobService: BlobServiceClient.fromConnectionString(connectionString) };
}

async function runMeasurements(context: BenchContext): Promise<Record<string, Measurement>> {
  const runs: Record<string, Measurement> = {};
  const { graphEndpoint, accessToken } = context.emulator;

  if (groups.has("big")) {
    const { connectionString, blobService } = await freshAzurite(context, STREAMING_AZURITE_NODE_ARGS);
    const container = blobService.getContainerClient("benchlarge");
    await container.create();
    process.stderr.write("seeding a 1 GiB blob...\n");
    const largeHash = await seedLargeBlob(container, "large.bin", LARGE_BYTES);
    const largeFiles: ExpectedFiles = new Map([["large.bin", { size: LARGE_BYTES, quickXorHash: largeHash }]]);
    const blobArgs = { connectionString, container: container.containerName, blob: "large.bin", fragmentBytes: FRAGMENT_BYTES };
    runs.read1g = await measureChild(context, "read 1 GiB", "read", blobArgs satisfies ReadArgs);
    runs.put1g = await measureChild(context, "PUT 1 GiB", "put", { graphEndpoint, accessToken, name: "put-alone.bin", fragmentBytes: FRAGMENT_BYTES, totalBytes: LARGE_BYTES } satisfies PutArgs);
    // Azurite's first large read after the PUT-alone run (which leaves it idle) is faster than later ones, when
    // its heap holds the previous transfer's garbage: whichever run came first won. A discarded warm-up transfer
    // puts every measured run in the same state.
    await measureChild(context, "warm-up pipe 1 GiB (not counted)", "pipe", { ...blobArgs, graphEndpoint, accessToken, name: "warm-up.bin" } satisfies PipeArgs);
    // The figure that matters is engine / minimal pipe, and other work on the machine can slow either run: run the
    // pair PIPE_ROUNDS times in alternating order; the figure is the median of the rounds' ratios.
    for (let round = 1; round <= PIPE_ROUNDS; round++) {
      const pipe = () => measureChild(context, `minimal pipe 1 GiB #${round}`, "pipe", { ...blobArgs, graphEndpoint, accessToken, name: "minimal-pipe.bin" } satisfies PipeArgs);
      const settings = transferSettings(context, container.containerName, freshTableName("benchlarge"), `engine-large-${round}`);
      const engine = () => measureTransfer(context, `engine 1 GiB #${round}`, settings, { uploaded: 1, skipped: 0 }, { folder: `engine-large-${round}`, files: largeFiles });
      const rclone = () => measureRclone(context, `rclone 1 GiB #${round}`, `${container.containerName}/large.bin`, `rclone-large-${round}`, largeFiles);
      const legs: NamedRun[] = [[`pipe1g#${round}`, pipe], [`engine1g#${round}`, engine]];
      if (context.rclone) legs.push([`rclone1g#${round}`, rclone]);
      await inAlternatingOrder(round, legs, runs);
    }
    await container.delete();
  }
  if (groups.has("rss")) {
    const { blobService } = await freshAzurite(context, STREAMING_AZURITE_NODE_ARGS);
    const container = blobService.getContainerClient("benchfour");
    await container.create();
    process.stderr.write(`seeding ${RSS_BLOB_COUNT} blobs of 256 MiB...\n`);
    for (let index = 0; index < RSS_BLOB_COUNT; index++) await seedLargeBlob(container, `quarter-${index}.bin`, RSS_BLOB_BYTES);
    for (let run = 1; run <= RSS_RUNS; run++) {
      // A fresh ledger table and folder each run, so every run transfers all four files again.
      const settings = transferSettings(context, container.containerName, freshTableName("benchfour"), `engine-four-${run}`);
      runs[`engine4x256#${run}`] = await measureTransfer(context, `engine 4 x 256 MiB #${run}`, settings, { uploaded: RSS_BLOB_COUNT, skipped: 0 });
    }
    await container.delete();
  }
  if (groups.has("small")) {
    const { connectionString, blobService } = await freshAzurite(context, []);
    const container = blobService.getContainerClient("benchsmall");
    await container.create();
    process.stderr.write(`seeding ${SMALL_COUNT} blobs of 8 KiB...\n`);
    const smallHashes = await seedSmallBlobs(container, SMALL_COUNT, SMALL_BYTES);
    const smallFiles: ExpectedFiles = new Map([...smallHashes].map(([name, quickXorHash]) => [name, { size: SMALL_BYTES, quickXorHash }]));
    // As with the pipe: alternating rounds, the median of their ratios, so a slow moment does not decide the figure.
    let doneSettings: Record<string, string> | undefined;
    for (let round = 1; round <= SMALL_ROUNDS; round++) {
      const loop = () => measureChild(context, `minimal loop 2,000 x 8 KiB #${round}`, "smallLoop", { connectionString, container: container.containerName, graphEndpoint, accessToken, folder: `minimal-loop-${round}`, concurrency: CONCURRENCY } satisfies SmallLoopArgs);
      // A fresh ledger table and folder each round, so every round transfers all 2,000 files.
      const settings = transferSettings(context, container.containerName, freshTableName("benchsmall"), `engine-small-${round}`);
      doneSettings ??= settings;
      const engine = () => measureTransfer(context, `engine 2,000 x 8 KiB #${round}`, settings, { uploaded: SMALL_COUNT, skipped: 0 }, { folder: `engine-small-${round}`, files: smallFiles });
      const rclone = () => measureRclone(context, `rclone 2,000 x 8 KiB #${round}`, container.containerName, `rclone-small-${round}`, smallFiles);
      const legs: NamedRun[] = [[`loopSmall#${round}`, loop], [`engineSmall#${round}`, engine]];
      if (context.rclone) legs.push([`rcloneSmall#${round}`, rclone]);
      await inAlternatingOrder(round, legs, runs);
    }
    runs.engineDone = await measureTransfer(context, "engine sweep, 2,000 done", doneSettings!, { uploaded: 0, skipped: SMALL_COUNT });
  }
  if (groups.has("hash")) {
    runs.hash = await measureChild(context, "QuickXorHash 512 MiB", "hash", { totalBytes: HASH_BYTES, updateBytes: FRAGMENT_BYTES } satisfies HashArgs);
  }
  return runs;
}

function killChildren(): void {
  for (const kill of runningChildren) kill();
}

/** The emulator's drive as Graph describes it (GET /me/drive), for rclone's drive_id and drive_type. */
function emulatorDrive(emulator: OneDriveEmulator, certPath: string): Promise<{ id: string; driveType: string }> {
  return new Promise((resolve, reject) => {
    const call = request(`${emulator.graphEndpoint}/v1.0/me/drive`, { ca: readFileSync(certPath), headers: { authorization: `Bearer ${emulator.accessToken}` } }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => {
        if (response.statusCode !== 200) return reject(new Error(`GET /me/drive on the rclone leg's emulator: ${response.statusCode}`));
        resolve(JSON.parse(body) as { id: string; driveType: string });
      });
    });
    call.on("error", reject);
    call.end();
  });
}

/** The rclone leg, or the one line that says why it does not run. */
async function startRcloneLeg(certPath: string): Promise<{ leg?: RcloneLeg; skipped?: string }> {
  if (!groups.has("big") && !groups.has("small")) return {};
  if (!groups.has("rclone")) return { skipped: "rclone leg not asked for (BENCH_ONLY has no rclone)" };
  const tools = findRclone();
  if ("missing" in tools) return { skipped: `rclone leg skipped: ${tools.missing}` };
  const emulator = await startOneDriveEmulator({ storeContent: false, tolerateAuthorizationOnUploadUrls: true });
  let proxy: ConnectProxy | undefined;
  try {
    const graph = new URL(emulator.graphEndpoint);
    proxy = await startConnectProxy(new Map([[GRAPH_AUTHORITY, { host: graph.hostname, port: Number(graph.port) }]]));
    const drive = await emulatorDrive(emulator, certPath);
    const directory = mkdtempSync(join(tmpdir(), "bench-rclone-"));
    return { leg: { tools, emulator, proxy, driveId: drive.id, driveType: drive.driveType, directory } };
  } catch (error) {
    await proxy?.close();
    await emulator.close();
    throw error;
  }
}

async function main(): Promise<void> {
  const benchStartedAt = performance.now();
  // Other work on the machine skews every figure; the load averages printed with them say how much to trust them.
  const loadBefore = loadavg().map((load) => load.toFixed(2)).join(" ");
  const certificate = await ensureTestCertificate();
  const tlsDirectory = join(certificate.certPath, "..");
  process.env.TEST_TLS_DIR ??= tlsDirectory;
  if (profileDirectory) mkdirSync(profileDirectory, { recursive: true });
  const recordDirectory = mkdtempSync(join(tmpdir(), "bench-process-records-"));

  process.stderr.write("starting the OneDrive emulator (and an Azurite for each group of runs)...\n");
  let context: BenchContext | undefined;
  let emulator: OneDriveEmulator | undefined;
  let rcloneLeg: RcloneLeg | undefined;
  const stopAll = async () => {
    killChildren();
    await emulator?.close().catch(() => undefined);
    await rcloneLeg?.proxy.close().catch(() => undefined);
    await rcloneLeg?.emulator.close().catch(() => undefined);
    if (rcloneLeg) rmSync(rcloneLeg.directory, { recursive: true, force: true });
    await context?.azurite?.stop().catch(() => undefined);
    rmSync(recordDirectory, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void stopAll().finally(() => process.exit(130));
    });
  }
  try {
    emulator = await startOneDriveEmulator({ storeContent: false });
    const rclone = await startRcloneLeg(certificate.certPath);
    rcloneLeg = rclone.leg;
    if (rclone.skipped) process.stderr.write(`${rclone.skipped}\n`);
    context = { emulator, certPath: certificate.certPath, tlsDirectory, recordDirectory, rclone: rcloneLeg };
    const runs = await runMeasurements(context);
    const figures = buildFigures(runs);
    const cpuRows = cpuPerGib(runs);
    const measurements = Object.values(runs);
    const refusedByProxy = rcloneLeg?.proxy.refused() ?? [];
    const totalSeconds = (performance.now() - benchStartedAt) / 1000;

    process.stdout.write(`\nonedrive-connector transfer bench (${cpus().length} cores, node ${process.version}, fragments ${FRAGMENT_MIB} MiB, concurrency ${CONCURRENCY})\n`);
    process.stdout.write(`engine runs: \`${TRANSFER_COMMAND.join(" ")}\`, spawn to exit; baselines: their work alone\n`);
    if (rcloneLeg) {
      const flags = rcloneArguments({ configPath: "<generated>", source: "<source>", destination: "<folder>", chunkBytes: FRAGMENT_BYTES, transfers: CONCURRENCY }).slice(3).join(" ");
      process.stdout.write(`rclone runs: ${rcloneLeg.tools.version}, \`rclone copy azurite:<source> onedrive:<folder> ${flags}\`, spawn to exit\n`);
    } else if (rclone.skipped) {
      process.stdout.write(`${rclone.skipped}\n`);
    }
    if (refusedByProxy.length > 0) process.stdout.write(`the proxy refused ${refusedByProxy.length} request(s) for other hosts, first: ${refusedByProxy[0]}\n`);
    process.stdout.write(`\n${formatFigures(figures)}\n\n`);
    if (cpuRows.length > 0) {
      process.stdout.write("CPU seconds per GiB copied, median of the rounds (own: the engine's CLI node and npm's, rclone, or a baseline's measured work; emulator: the bench process)\n\n");
      process.stdout.write(`${formatCpuPerGib(cpuRows)}\n\n`);
    }
    process.stdout.write("Runs. wall s: a baseline's measured work, a transfer run from spawn to exit; spawn to exit s: every run's whole process tree.\n");
    process.stdout.write("CPU seconds by process (child: a baseline's measured work, or the CLI's node over its life; npm: npm's own node; emulator = this process, Azurite = its child, both over the child's lifetime)\n\n");
    process.stdout.write(`${formatMeasurements(measurements)}\n\n`);
    const loadAfter = loadavg().map((load) => load.toFixed(2)).join(" ");
    process.stdout.write(`bench took ${totalSeconds.toFixed(0)} s; load average before ${loadBefore}, after ${loadAfter}\n`);

    const artifacts = join(repoRoot, "test-artifacts");
    mkdirSync(artifacts, { recursive: true });
    const report = { finishedAt: new Date().toISOString(), node: process.version, cores: cpus().length, loadBefore, loadAfter, fragmentMiB: FRAGMENT_MIB, concurrency: CONCURRENCY, totalSeconds, rclone: rcloneLeg?.tools.version ?? rclone.skipped, figures, cpuPerGib: cpuRows, measurements };
    writeFileSync(join(artifacts, "bench.json"), `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`results written to test-artifacts/bench.json\n`);
    if (measurements.some((measurement) => measurement.problem)) process.exitCode = 1;
  } finally {
    await stopAll();
  }
}

/**
 * The OneDrive emulator runs in this process, so the bench starts itself again: with the allocator settings (glibc
 * reads them only when a process starts) and without V8's incremental marking, since the emulator, streaming GiBs,
 * fell into the same back-to-back collections as Azurite (449 full collections in one 75-s group).
 */
const BENCH_NODE_ARGS = [WITHOUT_INCREMENTAL_MARKING];

function startedForMeasuring(): boolean {
  const allocatorSettingsSet = Object.entries(MEMORY_ALLOCATOR_SETTINGS).every(([name, value]) => process.env[name] === value);
  return allocatorSettingsSet && BENCH_NODE_ARGS.every((arg) => process.execArgv.includes(arg));
}

if (!startedForMeasuring()) {
  const rerun = spawnSync(process.execPath, [...BENCH_NODE_ARGS, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, ...MEMORY_ALLOCATOR_SETTINGS },
  });
  process.exitCode = rerun.status ?? 1;
} else {
  main().catch((error: unknown) => {
    killChildren();
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
