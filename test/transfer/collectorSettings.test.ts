import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const functionsDirectory = join(__dirname, "..", "..", "functions");

/**
 * Runs `setup` in a fresh node process, then promotes short-lived objects through a small (64 MB) old generation
 * and reports the collector's own events: how many incremental markings and full collections V8 ran.
 */
function collectionsAfter(setup: string): { incremental: number; major: number } {
  const probe = `
    const { PerformanceObserver, constants } = require("node:perf_hooks");
    ${setup}
    const counts = { incremental: 0, major: 0 };
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) counts.incremental += 1;
        if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) counts.major += 1;
      }
    }).observe({ entryTypes: ["gc"] });
    let survivors;
    for (let round = 0; round < 20; round++) {
      const kept = [];
      for (let index = 0; index < 100000; index++) kept.push({ index, list: [index] });
      survivors = kept;
    }
    // Observer entries arrive asynchronously; a timer lets every queued one in before the counts are printed.
    setTimeout(() => process.stdout.write(JSON.stringify({ ...counts, kept: survivors.length })), 200);
  `;
  const output = execFileSync(process.execPath, ["--max-old-space-size=64", "-e", probe], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  return JSON.parse(output) as { incremental: number; major: number };
}

describe("collector settings", () => {
  test("with V8's defaults the probe sees incremental markings (so the checks below can fail)", () => {
    const counts = collectionsAfter("");
    assert.ok(counts.major > 0, `full collections: ${counts.major}`);
    assert.ok(counts.incremental > 0, `incremental markings: ${counts.incremental}`);
  });

  test("collectWithoutIncrementalMarking, called after start, leaves only full collections", () => {
    const counts = collectionsAfter(`require(${JSON.stringify(join(functionsDirectory, "transfer", "collectorSettings.js"))}).collectWithoutIncrementalMarking();`);
    assert.ok(counts.major > 0, `full collections: ${counts.major}`);
    assert.equal(counts.incremental, 0);
  });

  test("the CLI's engine and the function app's dependencies switch it off for their process", () => {
    const settings = JSON.stringify({ GRAPH_ACCESS_TOKEN: "emulator-token" });
    const viaEngine = collectionsAfter(`require(${JSON.stringify(join(functionsDirectory, "transfer", "engineFactory.js"))}).createEngine(${settings});`);
    assert.equal(viaEngine.incremental, 0, "createEngine");
    const viaApp = collectionsAfter(`require(${JSON.stringify(join(functionsDirectory, "app", "productionDependencies.js"))}).buildDependencies(${settings});`);
    assert.equal(viaApp.incremental, 0, "buildDependencies");
  });
});
