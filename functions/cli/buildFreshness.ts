import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * The CLI commands run the compiled JavaScript directly (a cron line must not pay the compiler on every tick), so a
 * checkout whose sources changed after the last build would silently run old code. In a source checkout (the
 * `functions/` sources beside `dist/`) this names the first source file newer than its compiled output; a deployed
 * package without sources has nothing to compare and is taken as built.
 */
export function staleSourceFile(projectRoot: string, bundlePath?: string): string | undefined {
  const sourceRoot = join(projectRoot, "functions");
  if (!existsSync(sourceRoot)) return undefined;
  // The bundle a command runs from is built from the compiled output, so it must be newer than every source too.
  const bundleTime = bundlePath === undefined ? undefined : (statSync(bundlePath, { throwIfNoEntry: false })?.mtimeMs ?? -1);
  const outputRoot = join(projectRoot, "dist", "functions");
  const pending = [sourceRoot];
  while (pending.length > 0) {
    const directory = pending.pop()!;
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const sourcePath = join(directory, entry.name);
      if (entry.isDirectory()) {
        pending.push(sourcePath);
        continue;
      }
      if (!entry.name.endsWith(".ts") || entry.name.endsWith(".d.ts")) continue;
      const outputPath = join(outputRoot, relative(sourceRoot, sourcePath)).replace(/\.ts$/, ".js");
      const output = statSync(outputPath, { throwIfNoEntry: false });
      const sourceTime = statSync(sourcePath).mtimeMs;
      if (!output || sourceTime > output.mtimeMs || (bundleTime !== undefined && sourceTime > bundleTime)) return relative(projectRoot, sourcePath);
    }
  }
  return undefined;
}

/** The refusal a command prints instead of running out-of-date code, or undefined when the build is current. */
export function staleBuildMessage(projectRoot: string, bundlePath?: string): string | undefined {
  const stale = staleSourceFile(projectRoot, bundlePath);
  if (stale === undefined) return undefined;
  return `The compiled code in dist/ is older than ${stale}: run \`npm run build\` (needed once after every change or git pull), then run this command again.`;
}

/** This file's project: it runs from dist/functions/cli/. */
export const PROJECT_ROOT = join(__dirname, "..", "..", "..");
