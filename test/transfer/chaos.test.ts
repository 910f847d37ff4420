import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { SweepSummary } from "../../functions/transfer/sweep";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, randomContent, type TransferFixture } from "../support/transferHarness";

const RUN_SCRIPT = join(__dirname, "support", "chaosRun.js");
const MIB = 1024 * 1024;
/** A run that takes longer than this has hung somewhere: the test kills it and fails. */
const RUN_BUDGET_MS = 240_000;

/** 50 files from 0 B to 40 MiB: empty, tiny, batched small, one-fragment, a few fragments, many fragments. */
function chaosFiles(): Map<string, Buffer> {
  const sizes = [0, 1, 100, 4_000, 8 * 1024, 64 * 1024, 128 * 1024, 128 * 1024 + 1, 300_000, 983_040, 983_041, 2 * MIB, 3 * MIB + 7, 5 * MIB, 20 * MIB + 3, 40 * MIB];
  const files = new Map<string, Buffer>();
  for (let index = 0; index < 50; index += 1) {
    const size = sizes[index % sizes.length] === 40 * MIB && index > 15 ? 6 * MIB : sizes[index % sizes.length];
    files.set(`chaos/${String(index).padStart(2, "0")}/file ${index}.bin`, randomContent(size));
  }
  return files;
}

interface Run {
  killed: boolean;
  code: number | null;
  summary?: SweepSummary;
  stderr: string;
}

function runEngine(fixture: TransferFixture, killWhen?: (line: string) => boolean): Promise<Run> {
  const child = spawn(process.execPath, [RUN_SCRIPT], { env: { ...process.env, ...fixture.settingsEnv }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let lastLine = "";
  let killed = false;
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    lastLine = line;
    if (!killed && killWhen?.(line)) {
      killed = true;
      child.kill("SIGKILL");
    }
  });
  const budget = setTimeout(() => child.kill("SIGKILL"), RUN_BUDGET_MS);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(budget);
      const summary = !killed && lastLine.startsWith("{") ? (JSON.parse(lastLine) as SweepSummary) : undefined;
      resolve({ killed, code, summary, stderr });
    }),
  );
}

async function blobsLeft(fixture: TransferFixture): Promise<Set<string>> {
  const names = new Set<string>();
  for await (const blob of fixture.container.listBlobsFlat()) names.add(blob.name);
  return names;
}

/** No blob is gone from the container unless OneDrive holds its exact bytes. */
function assertNothingLost(fixture: TransferFixture, files: Map<string, Buffer>, left: Set<string>): void {
  for (const [name, content] of files) {
    if (left.has(name)) continue;
    const stored = fixture.emulator.getItem(`From Azure/${name}`);
    assert.ok(stored?.content?.equals(content), `${name} was deleted from the container without a byte-identical copy in OneDrive`);
  }
}

describe("chaos: 50 files of every size at a 20 % fault rate, stalls, a killed run, AFTER_TRANSFER=delete", () => {
  const suite = azuriteForSuite();

  test("every file ends in OneDrive byte-identical exactly once, and no blob is deleted without a verified copy", async () => {
    const fixture = suite.closeAfter(
      await createTransferFixture(
        suite.instance,
        { DEST_FOLDER: "From Azure", FRAGMENT_SIZE_MB: "1", CONFLICT_BEHAVIOR: "rename", AFTER_TRANSFER: "delete", TRANSFER_CONCURRENCY: "4" },
        {
          seededFaults: { seed: 20261206, probability: 0.2, kinds: ["throttle", "serverErrorAfterStore", "dropAfterStore", "storePartialThenDrop", "transient404", "slowResponse"] },
          faults: [
            { kind: "stall", target: "graph", skip: 3 },
            { kind: "stall", target: "uploadPut", skip: 5 },
          ],
        },
      ),
    );
    const files = chaosFiles();
    for (const [name, content] of files) await fixture.putBlob(name, content);

    // The first run is killed in the middle of the 40 MiB file.
    const killed = await runEngine(fixture, (line) => /^progress chaos\/15\/file 15\.bin (\d+)$/.exec(line) !== null && Number(line.split(" ").pop()) > 8 * MIB);
    assert.ok(killed.killed, `the first run ended before it could be killed: ${killed.stderr.slice(-2000)}`);
    assertNothingLost(fixture, files, await blobsLeft(fixture));

    const runs: Run[] = [];
    for (let rerun = 0; rerun < 3 && (await blobsLeft(fixture)).size > 0; rerun += 1) {
      const run = await runEngine(fixture);
      assert.ok(!run.killed && run.summary, `run ${rerun + 2} did not finish within its budget: ${run.stderr.slice(-2000)}`);
      runs.push(run);
      assertNothingLost(fixture, files, await blobsLeft(fixture));
    }
    const left = await blobsLeft(fixture);
    const unfinished = runs.map((run) => run.summary?.files.filter((file) => file.status !== "uploaded" && file.status !== "skipped").map((file) => `${file.blob}: ${file.status} ${file.error ?? ""}`));
    assert.deepEqual([...left], [], `still in the container after ${runs.length + 1} runs:\n${JSON.stringify(unfinished, null, 1)}`);

    const stored = fixture.emulator.listTree().filter((path) => !path.endsWith("/"));
    assert.deepEqual(stored.sort(), [...files.keys()].map((name) => `From Azure/${name}`).sort(), "exactly one item per blob: no duplicates under rename");
    for (const [name, content] of files) assert.ok(fixture.emulator.getItem(`From Azure/${name}`)?.content?.equals(content), `${name} byte-identical`);

    // The chaos really happened: both stalls were met, and the seeded faults hit a fifth of the fragment PUTs.
    assert.equal(fixture.emulator.stalled.length, 2);
    const puts = fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "PUT");
    const faulted = puts.filter((request) => request.status === 0 || request.status === 404 || request.status === 429 || request.status >= 500);
    assert.ok(faulted.length >= puts.length * 0.1, `${faulted.length} of ${puts.length} fragment PUTs faulted`);
  });
});
