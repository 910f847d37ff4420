import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { staleSourceFile } from "../../functions/cli/buildFreshness";

const repoRoot = join(__dirname, "..", "..", "..");

function projectWith(files: Record<string, number>): string {
  const root = mkdtempSync(join(tmpdir(), "freshness-"));
  for (const [path, mtimeSeconds] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), "");
    utimesSync(join(root, path), mtimeSeconds, mtimeSeconds);
  }
  return root;
}

describe("a stale build is never run silently", () => {
  test("a build newer than every source is current; a newer or uncompiled source is named", () => {
    const built = { "functions/a.ts": 100, "functions/cli/b.ts": 100, "functions/types.d.ts": 500, "dist/functions/a.js": 200, "dist/functions/cli/b.js": 200 };
    assert.equal(staleSourceFile(projectWith(built)), undefined);
    assert.equal(staleSourceFile(projectWith({ ...built, "functions/cli/b.ts": 300 })), join("functions", "cli", "b.ts"));
    assert.equal(staleSourceFile(projectWith({ ...built, "functions/new.ts": 50 })), join("functions", "new.ts"));
    assert.equal(staleSourceFile(projectWith({ "dist/functions/a.js": 200 })), undefined, "a package without sources has nothing to compare");
  });

  test("a command's bundle older than a source is stale even when the compiled files are current", () => {
    const root = projectWith({ "functions/a.ts": 100, "dist/functions/a.js": 300, "dist/functions/cli/x.bundle.js": 200 });
    const bundle = join(root, "dist", "functions", "cli", "x.bundle.js");
    assert.equal(staleSourceFile(root, bundle), undefined);
    utimesSync(join(root, "functions", "a.ts"), 250, 250);
    assert.equal(staleSourceFile(root, bundle), join("functions", "a.ts"));
    assert.equal(staleSourceFile(root), undefined, "without the bundle only the compiled files count");
  });

  test("the launcher refuses a bundle older than the sources, naming npm run build", () => {
    const copy = mkdtempSync(join(tmpdir(), "stale-bundle-"));
    cpSync(join(repoRoot, "functions"), join(copy, "functions"), { recursive: true });
    cpSync(join(repoRoot, "dist", "functions"), join(copy, "dist", "functions"), { recursive: true });
    symlinkSync(join(repoRoot, "node_modules"), join(copy, "node_modules"));
    // The compiled files are newer than the sources (copied after them); only the bundle predates the sources, as
    // after a plain `tsc` that skipped the bundle step.
    const earlier = Date.now() / 1000 - 3600;
    utimesSync(join(copy, "dist", "functions", "cli", "transferCommand.bundle.js"), earlier, earlier);
    const launcher = join(copy, "dist", "functions", "cli", "launch.js");
    const run = spawnSync(process.execPath, [launcher, "transfer", "--json"], { cwd: copy, encoding: "utf8", env: { ...process.env, GRAPH_ACCESS_TOKEN: "unused" } });
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /older than functions\/.*\.ts: run `npm run build`/);
  });

  test("the transfer command refuses to run out-of-date code and names the command that builds it", () => {
    const copy = mkdtempSync(join(tmpdir(), "stale-checkout-"));
    cpSync(join(repoRoot, "functions"), join(copy, "functions"), { recursive: true });
    cpSync(join(repoRoot, "dist", "functions"), join(copy, "dist", "functions"), { recursive: true });
    symlinkSync(join(repoRoot, "node_modules"), join(copy, "node_modules"));
    const cli = join(copy, "dist", "functions", "cli", "transferCommand.js");
    const edited = join(copy, "functions", "transfer", "sweep.ts");
    const later = Date.now() / 1000 + 60;
    utimesSync(edited, later, later);

    const run = spawnSync(process.execPath, [cli, "--json"], { cwd: copy, encoding: "utf8", env: { ...process.env, GRAPH_ACCESS_TOKEN: "unused" } });
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /older than functions\/transfer\/sweep\.ts: run `npm run build`/);
  });

  test("npm run transfer starts the built code: no compiler process runs", () => {
    const startedProcesses = join(mkdtempSync(join(tmpdir(), "processes-")), "argv.log");
    const probe = join(repoRoot, "dist", "test", "support", "processProbe.js");
    const run = spawnSync("npm", ["run", "--silent", "transfer", "--", "--help"], {
      cwd: repoRoot,
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: `--require ${probe}`, PROCESS_PROBE_FILE: startedProcesses },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Usage: npm run transfer/);
    const commandLines = readFileSync(startedProcesses, "utf8").trim().split("\n");
    assert.ok(commandLines.some((line) => line.includes("launch.js transfer")), commandLines.join("\n"));
    assert.deepEqual(commandLines.filter((line) => /typescript|\btsc\b/.test(line)), [], "no compiler started");
  });
});
