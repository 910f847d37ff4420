import { enableCompileCache } from "./compileCache";
enableCompileCache();

import { existsSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT, staleBuildMessage } from "./buildFreshness";
import { loadBundleWithCodeCache, type LoadedBundle } from "./bundleCodeCache";
import { collectWithoutIncrementalMarking } from "../transfer/collectorSettings";

/**
 * `npm run transfer`, `npm run login` and `npm run status` start here: `node dist/functions/cli/launch.js <command> [options]`.
 * Each command runs from a single bundled file that `npm run build` makes from the compiled output, because a cron
 * run pays for loading the Azure SDKs' hundreds of module files on every tick, and one file loads in about half the
 * time. The compile cache (Node 22.1 and later) must be on before the bundle is compiled, which is why this small
 * file loads it rather than the bundle running by itself.
 */
const COMMAND_BUNDLES: Readonly<Record<string, string>> = {
  transfer: "transferCommand.bundle.js",
  login: "loginCommand.bundle.js",
  status: "statusCommand.bundle.js",
};

interface BundledCommand {
  runCommand(argv: string[]): Promise<number>;
}

function launch(argv: string[]): Promise<number> | number {
  const [commandName, ...commandArgv] = argv;
  const bundleFile = COMMAND_BUNDLES[commandName ?? ""];
  if (bundleFile === undefined) {
    process.stderr.write(`Unknown command "${commandName ?? ""}": use one of ${Object.keys(COMMAND_BUNDLES).join(", ")}.\n`);
    return 2;
  }
  const bundlePath = join(__dirname, bundleFile);
  const stale = existsSync(bundlePath)
    ? staleBuildMessage(PROJECT_ROOT, bundlePath)
    : `The command's bundle ${bundleFile} is missing from dist/: run \`npm run build\`, then run this command again.`;
  if (stale) {
    process.stderr.write(`${stale}\n`);
    return 2;
  }
  // The engine turns incremental marking off as it starts; V8 refuses cached code made under other flags, so the
  // flags are set before the bundle is compiled, and the code cached at the end of a run matches the next start.
  collectWithoutIncrementalMarking();
  const bundle: LoadedBundle = nodeKeepsCompiledCode() ? { exports: require(bundlePath), usedCachedCode: false, saveCompiledCode: () => undefined } : loadBundleWithCodeCache(bundlePath);
  return (bundle.exports as BundledCommand).runCommand(commandArgv).then((code) => {
    if (code === 0 && !commandArgv.some((arg) => HELP_OPTIONS.has(arg))) bundle.saveCompiledCode();
    return code;
  });
}

/** Runs that stop before the command's work, whose compiled code would leave the cache without it. */
const HELP_OPTIONS: ReadonlySet<string> = new Set(["--help", "-h", "--version"]);

function nodeKeepsCompiledCode(): boolean {
  return typeof (require("node:module") as { enableCompileCache?: unknown }).enableCompileCache === "function";
}

void Promise.resolve(launch(process.argv.slice(2))).then((code) => {
  // exitCode, not exit(): a piped summary of thousands of files must be flushed before the process ends.
  process.exitCode = code;
});
