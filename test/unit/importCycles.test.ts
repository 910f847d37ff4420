import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// madge ships no type declarations; this is the part of its API the test uses.
interface MadgeResult {
  circular(): string[][];
  obj(): Record<string, string[]>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const madge = require("madge") as (path: string, config: { fileExtensions: string[]; tsConfig: string }) => Promise<MadgeResult>;

const repoRoot = join(__dirname, "..", "..", "..");

/** The import graph of a folder of TypeScript sources, type-only imports included. */
function importGraph(folder: string): Promise<MadgeResult> {
  return madge(folder, { fileExtensions: ["ts"], tsConfig: join(repoRoot, "tsconfig.json") });
}

describe("the module graph", () => {
  test("no module under functions/ imports itself through others", async () => {
    const graph = await importGraph(join(repoRoot, "functions"));
    // A graph that missed the sources would find no cycle in nothing.
    assert.ok(Object.keys(graph.obj()).length > 50, "madge read the sources of functions/");
    assert.ok(graph.obj()["transfer/blobTransfer.ts"]?.length > 0, "madge resolved blobTransfer.ts's imports");
    assert.deepEqual(graph.circular(), []);
  });

  test("the check finds a cycle, type-only imports included", async () => {
    const folder = mkdtempSync(join(tmpdir(), "import-cycle-"));
    writeFileSync(join(folder, "row.ts"), 'import type { Claim } from "./claim";\nexport interface Row { claim?: Claim }\n');
    writeFileSync(join(folder, "claim.ts"), 'import type { Row } from "./row";\nexport interface Claim { row: Row }\n');
    writeFileSync(join(folder, "leaf.ts"), 'import type { Row } from "./row";\nexport type Rows = Row[];\n');
    const graph = await importGraph(folder);
    assert.deepEqual(graph.circular(), [["claim.ts", "row.ts"]]);
  });
});
