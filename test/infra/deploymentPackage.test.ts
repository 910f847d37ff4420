import assert from "node:assert/strict";
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import ignore, { type Ignore } from "ignore";
import { REPO_ROOT } from "./bicepModel";

/**
 * Lists the zip `azd deploy` uploads for the function service, built the way azd builds it
 * (Azure/azure-dev cli/azd/pkg/project/project_utils.go createDeployableZip, pkg/rzip):
 * - the root is the service's `project` folder (azure.yaml `project: .`, so the repository root);
 * - every entry is offered to a filter before it is added; a refused directory is not descended into;
 * - symbolic links are followed;
 * - built in, whatever .funcignore says: a directory named `.azure`, a file named `.funcignore` and (function apps) a
 *   file named `local.settings.json` are left out at any depth;
 * - then the service's `.funcignore`, with gitignore rules relative to the root (azd parses it with
 *   denormal/go-gitignore). This listing uses npm `ignore`, which follows git; the two agree on the plain forms
 *   .funcignore keeps to, which a test below enforces. Under a followed link azd matches the target's real path, which
 *   lies outside the root, so no .funcignore line applies there; this listing does the same.
 */
interface ListingOptions {
  /** Apply azd's built-in exclusions (false = the .funcignore lines alone, as any other packer would read them). */
  azdBuiltIns: boolean;
  funcignoreLines?: readonly string[];
}

const FUNCIGNORE = join(REPO_ROOT, ".funcignore");

function funcignoreRules(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== "" && !line.startsWith("#"));
}

function listDeploymentPackage(root: string, options: ListingOptions): string[] {
  const lines = options.funcignoreLines ?? funcignoreRules(readFileSync(join(root, ".funcignore"), "utf8"));
  const matcher: Ignore = ignore().add(lines as string[]);
  const files: string[] = [];
  const walk = (directory: string, relativeDirectory: string, underLink: boolean): void => {
    for (const name of readdirSync(directory).sort()) {
      const absolute = join(directory, name);
      const relative = relativeDirectory ? `${relativeDirectory}/${name}` : name;
      const isLink = lstatSync(absolute).isSymbolicLink();
      const isDirectory = statSync(absolute).isDirectory();
      if (options.azdBuiltIns) {
        if (isDirectory && name === ".azure") continue;
        if (!isDirectory && (name === ".funcignore" || name === "local.settings.json")) continue;
      }
      if (!underLink && matcher.ignores(isDirectory ? `${relative}/` : relative)) continue;
      if (isDirectory) walk(absolute, relative, underLink || isLink);
      else files.push(relative);
    }
  };
  walk(root, "", false);
  return files;
}

/**
 * What the remote build needs: the files npm install and tsc read and functions/ (the sources, and the .wat text the
 * embedded WebAssembly module is assembled from, which is small and kept beside its source). Nothing else may ship.
 */
const REQUIRED_FILES = ["host.json", "package.json", "package-lock.json", "tsconfig.json"];
const isAllowed = (path: string) => REQUIRED_FILES.includes(path) || (path.startsWith("functions/") && !path.includes("node_modules/"));

/**
 * Files a developer's working tree holds besides the tracked ones: installed and built output, secrets and local state,
 * emulator and tool leftovers. Each .funcignore line has at least one of these or of the tracked files to exclude.
 */
const PLANTED_FILES: Readonly<Record<string, string>> = {
  "node_modules/left-pad/package.json": '{"name":"left-pad"}',
  "functions/node_modules/stray/index.js": "",
  "dist/functions/transferWorker.js": "",
  "dist/functions/renamedLongAgo.js": "",
  "dist/test/infra/deploymentPackage.test.js": "",
  "local.settings.json": '{"Values":{"CLIENT_SECRET":"planted"}}',
  ".onedrive/token-cache.json": '{"RefreshToken":{}}',
  ".azure/dev/.env": 'ONEDRIVE_CLIENT_SECRET="planted"',
  ".azure/config.json": "{}",
  ".env": "CLIENT_SECRET=planted",
  "npm-debug.log": "",
  "test-artifacts/bench.json": "{}",
  "__azurite_db_blob__.json": "{}",
  "__blobstorage__/0": "",
  "__queuestorage__/0": "",
  ".vscode/settings.json": "{}",
  "docs/deploy.png": "",
  ".git": "gitdir: /elsewhere",
};

describe("deployment package (what azd deploy uploads)", () => {
  let scratch: string;
  let treeCopy: string;
  let funcignoreLines: string[];

  before(() => {
    funcignoreLines = funcignoreRules(readFileSync(FUNCIGNORE, "utf8"));
    scratch = mkdtempSync(join(tmpdir(), "deployment-package-"));
    treeCopy = join(scratch, "tree");
    // The real working tree, less what is large and replaced by planted stand-ins below.
    cpSync(REPO_ROOT, treeCopy, {
      recursive: true,
      filter: (source) => !["node_modules", "dist", ".git"].includes(source.slice(REPO_ROOT.length + 1)),
    });
    for (const [path, content] of Object.entries(PLANTED_FILES)) {
      mkdirSync(dirname(join(treeCopy, path)), { recursive: true });
      writeFileSync(join(treeCopy, path), content);
    }
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  test("holds host.json, package.json, the lockfile, tsconfig.json and the function sources", () => {
    const files = listDeploymentPackage(treeCopy, { azdBuiltIns: true });
    for (const required of REQUIRED_FILES) assert.ok(files.includes(required), `${required} is missing`);
    const sources = files.filter((path) => path.startsWith("functions/"));
    assert.ok(sources.includes("functions/transferWorker.ts"), "the queue worker's registration");
    const tracked = readdirSync(join(REPO_ROOT, "functions"), { recursive: true, encoding: "utf8" })
      .filter((path) => path.endsWith(".ts"))
      .map((path) => `functions/${path.split("\\").join("/")}`);
    assert.deepEqual(sources.filter((path) => path.endsWith(".ts")).sort(), tracked.sort(), "every source file ships");
  });

  test("holds nothing else: no node_modules, dist, tests, secrets, token cache, azd state or tooling", () => {
    const files = listDeploymentPackage(treeCopy, { azdBuiltIns: true });
    assert.deepEqual(files.filter((path) => !isAllowed(path)), []);
    for (const prefix of ["node_modules/", "dist/", "test/", ".onedrive/", ".azure/", "infra/", ".ci/"]) {
      assert.deepEqual(files.filter((path) => path.startsWith(prefix)), [], prefix);
    }
    assert.ok(!files.some((path) => path.endsWith("local.settings.json")));
  });

  test(".funcignore alone keeps secrets and local state out (packers without azd's built-in rules)", () => {
    const files = listDeploymentPackage(treeCopy, { azdBuiltIns: false });
    // azd leaves .funcignore out by itself; shipping it elsewhere harms nothing.
    assert.deepEqual(files.filter((path) => !isAllowed(path) && path !== ".funcignore"), []);
  });

  test("every .funcignore line keeps something out that no other line does", () => {
    const full = new Set(listDeploymentPackage(treeCopy, { azdBuiltIns: false }));
    assert.ok(funcignoreLines.length >= 10, `${funcignoreLines.length} lines`);
    for (const line of funcignoreLines) {
      const without = listDeploymentPackage(treeCopy, {
        azdBuiltIns: false,
        funcignoreLines: funcignoreLines.filter((candidate) => candidate !== line),
      });
      const leaked = without.filter((path) => !full.has(path));
      assert.ok(leaked.length > 0, `removing "${line}" changes nothing: plant a file it excludes or drop the line`);
      assert.ok(leaked.some((path) => !isAllowed(path)), `"${line}" excludes only files the build needs: ${leaked.join(", ")}`);
    }
  });

  test("the listing bites: a .funcignore without node_modules/ ships the installed packages", () => {
    const files = listDeploymentPackage(treeCopy, {
      azdBuiltIns: true,
      funcignoreLines: funcignoreLines.filter((line) => line !== "node_modules/"),
    });
    assert.ok(files.includes("node_modules/left-pad/package.json"));
    assert.ok(files.includes("functions/node_modules/stray/index.js"));
  });

  test("azd's remoteBuild check passes: node_modules (as a directory, at the root) is excluded", () => {
    // service_target_functionapp.go: ignore.Relative("node_modules", true) must match, or azd stops with
    // "'remoteBuild: true' requires '.funcignore' to exclude node_modules".
    assert.ok(ignore().add(funcignoreLines).ignores("node_modules/"));
    assert.match(readFileSync(join(REPO_ROOT, "azure.yaml"), "utf8"), /^ {4}remoteBuild: true$/m);
  });

  test("every .funcignore line is a plain form on which azd's matcher and git agree", () => {
    // denormal/go-gitignore matches anchored names with fnmatch flags 0 (`/*` also matches `a/b`), path patterns
    // (a slash inside) with FNM_PATHNAME, and has no git rule for re-including under an excluded directory.
    for (const line of funcignoreLines) {
      assert.match(line, /^\/?[^/!\\\s]+\/?$/, `"${line}": use name, /name, name/ or a *.ext glob`);
      assert.doesNotMatch(line, /\*\*/, `"${line}": no ** patterns`);
    }
  });

  test("the remote build's steps exist: build compiles, build:azure drops the dev dependencies", () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      main: string;
      scripts: Record<string, string>;
    };
    assert.match(manifest.scripts.build, /\btsc\b/);
    assert.equal(manifest.scripts["build:azure"], "npm prune --omit=dev");
    assert.equal(manifest.main, "dist/functions/*.js");
  });
});
