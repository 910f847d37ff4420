import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { loadBundleWithCodeCache } from "../../functions/cli/bundleCodeCache";

const userId = process.getuid!();

/** Runs `work` with the system's temporary directory pointed at a fresh folder (os.tmpdir() reads TMPDIR each call). */
function withTemporaryDirectory<T>(work: (temporary: string) => T): T {
  const previous = process.env.TMPDIR;
  const temporary = mkdtempSync(join(tmpdir(), "code-cache-"));
  process.env.TMPDIR = temporary;
  try {
    return work(temporary);
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
}

function writeBundle(folder: string, body: string): string {
  const bundlePath = join(folder, "command.bundle.js");
  writeFileSync(bundlePath, `const { join } = require("node:path");\nmodule.exports = { answer: () => ${body}, where: join(__dirname, "x") };\n`);
  return bundlePath;
}

describe("a CLI bundle's compiled code is kept between runs on Node versions without a compile cache", () => {
  test("the first run saves the code, the next runs from it, and a rebuilt bundle replaces it", () => {
    withTemporaryDirectory((temporary) => {
      const bundlePath = writeBundle(temporary, "41 + 1");
      const first = loadBundleWithCodeCache(bundlePath);
      assert.equal((first.exports as { answer(): number }).answer(), 42);
      assert.equal((first.exports as { where: string }).where, join(temporary, "x"), "__dirname is the bundle's folder");
      assert.equal(first.usedCachedCode, false);
      first.saveCompiledCode();
      const cacheFolder = join(temporary, `onedrive-connector-code-cache-${userId}`);
      assert.equal(readdirSync(cacheFolder).length, 1);

      const second = loadBundleWithCodeCache(bundlePath);
      assert.equal(second.usedCachedCode, true);
      assert.equal((second.exports as { answer(): number }).answer(), 42);

      writeBundle(temporary, "6 * 7 + 1");
      utimesSync(bundlePath, new Date(), new Date(Date.now() + 5_000));
      const rebuilt = loadBundleWithCodeCache(bundlePath);
      assert.equal(rebuilt.usedCachedCode, false, "a new build never runs an earlier build's code");
      assert.equal((rebuilt.exports as { answer(): number }).answer(), 43);
      rebuilt.saveCompiledCode();
      assert.equal(readdirSync(cacheFolder).length, 1, "the earlier build's cache is removed");
    });
  });

  test("the next process runs from the cache when V8's flags are set before the bundle loads, as the launcher does", () => {
    withTemporaryDirectory((temporary) => {
      const bundlePath = writeBundle(temporary, "2");
      // One CLI run: the launcher sets the collector flag the engine sets, loads the bundle, the run sets it again,
      // and the code is saved at the end. A flag first set after the load would make V8 refuse the next start's cache.
      const run = (flagBeforeLoad: boolean) =>
        [
          `const { setFlagsFromString } = require("node:v8");`,
          `const { loadBundleWithCodeCache } = require(${JSON.stringify(require.resolve("../../functions/cli/bundleCodeCache"))});`,
          flagBeforeLoad ? `setFlagsFromString("--no-incremental-marking");` : "",
          `const loaded = loadBundleWithCodeCache(${JSON.stringify(bundlePath)});`,
          `setFlagsFromString("--no-incremental-marking");`,
          `loaded.saveCompiledCode();`,
          `process.stdout.write(String(loaded.usedCachedCode));`,
        ].join("\n");
      const usedCache = (flagBeforeLoad: boolean) => execFileSync(process.execPath, ["-e", run(flagBeforeLoad)], { env: { ...process.env, TMPDIR: temporary }, encoding: "utf8" });
      assert.deepEqual([usedCache(false), usedCache(false)], ["false", "false"], "a flag set after the load: every start compiles again");
      // The cache those runs saved was made with the flag set: a start that sets it before the load matches it.
      assert.deepEqual([usedCache(true), usedCache(true)], ["true", "true"], "set before the load: every start runs from the cache");
    });
  });

  test("a cache folder others can write to is never used", () => {
    withTemporaryDirectory((temporary) => {
      const cacheFolder = join(temporary, `onedrive-connector-code-cache-${userId}`);
      mkdirSync(cacheFolder);
      chmodSync(cacheFolder, 0o777);
      const bundlePath = writeBundle(temporary, "1");
      const loaded = loadBundleWithCodeCache(bundlePath);
      assert.equal((loaded.exports as { answer(): number }).answer(), 1);
      loaded.saveCompiledCode();
      assert.deepEqual(readdirSync(cacheFolder), []);
    });
  });
});
