import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { CLAIM_LEASE_MS } from "../../functions/transfer/blobTransfer";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, FRAGMENT, randomContent, type TransferFixture } from "../support/transferHarness";

const CLI = join(__dirname, "..", "..", "functions", "cli", "transferCommand.js");

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>, onStderrLine?: (line: string, kill: () => void) => void): Promise<CliRun> {
  // A scratch working directory: the CLI must not pick up a developer's local.settings.json.
  const child = spawn(process.execPath, [CLI, ...args], { cwd: mkdtempSync(join(tmpdir(), "cli-")), env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  createInterface({ input: child.stderr }).on("line", (line) => {
    stderr += `${line}\n`;
    onStderrLine?.(line, () => child.kill("SIGKILL"));
  });
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
}

describe("the transfer CLI", () => {
  const suite = azuriteForSuite();

  test("--json prints exactly one JSON object; exit 1 when a file failed", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance));
    await fixture.putBlob("one.txt", "1");
    await fixture.putBlob("dir/two.txt", "22");
    await fixture.putBlob("three?.txt", "refused name");
    const run = await runCli(["--json"], fixture.settingsEnv);
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(run.stdout.trim().split("\n").length, 1);
    assert.deepEqual([report.uploaded, report.skipped, report.failed, report.bytes], [2, 0, 1, 3]);
    const two = report.files.find((file: { blob: string }) => file.blob === "dir/two.txt");
    assert.deepEqual(two, { blob: "dir/two.txt", path: "dir/two.txt", status: "uploaded", bytes: 2, chunks: 1, error: null });
    assert.match(report.files.find((file: { blob: string }) => file.blob === "three?.txt").error, /three\?\.txt/);

    const rerun = await runCli([], fixture.settingsEnv);
    assert.equal(rerun.code, 1, "the refused name still fails");
    assert.match(rerun.stdout, /0 files uploaded, 2 skipped, 1 failed/);
  });

  test("bad settings exit 2 naming every invalid setting", async () => {
    const run = await runCli(["--json"], { CHUNK_SIZE_MB: "61", CONFLICT_BEHAVIOR: "overwrite", TRANSFER_CONCURRENCY: "0", SOURCE_STORAGE: "UseDevelopmentStorage=true", GRAPH_ACCESS_TOKEN: "unused" });
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /CHUNK_SIZE_MB.*1 to 60/);
    assert.match(run.stderr, /CONFLICT_BEHAVIOR.*replace, rename, fail/);
    assert.match(run.stderr, /TRANSFER_CONCURRENCY/);
  });

  test("a cron run configured by environment alone needs no redirect URI: it goes straight to the linked account", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance));
    await fixture.putBlob("report.csv", "a,b\n");
    const { GRAPH_ACCESS_TOKEN: _fixedToken, ...settingsEnv } = fixture.settingsEnv;
    const tokenCacheFile = join(mkdtempSync(join(tmpdir(), "cron-")), "token-cache.json");
    const run = await runCli([], { ...settingsEnv, CLIENT_ID: "00000000-0000-0000-0000-000000000001", CLIENT_SECRET: "cron-secret", TOKEN_CACHE_FILE: tokenCacheFile });
    assert.equal(run.code, 2, run.stderr);
    assert.doesNotMatch(run.stderr, /REDIRECT_URI/);
    assert.match(run.stderr, /no OneDrive account is linked/);
  });

  test("a process killed mid-file resumes the same upload session on the next run", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { CHUNK_SIZE_MB: "1" }, {
      // The fifth fragment is answered slowly, so the kill lands while the upload is certainly in flight.
      faults: [{ kind: "slowResponse", target: "uploadPut", skip: 4, delayMs: 60_000 }],
    }));
    const fragment = 3 * FRAGMENT;
    const content = randomContent(12 * fragment + 4321);
    await fixture.putBlob("huge.bin", content);

    let progressLines = 0;
    const killed = await runCli([], fixture.settingsEnv, (line, kill) => {
      if (line.startsWith("progress") && ++progressLines === 2) kill();
    });
    assert.equal(killed.signal, "SIGKILL");
    const sessionsBefore = fixture.emulator.openSessions();
    assert.equal(sessionsBefore.length, 1);
    const putsBeforeRerun = fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "PUT").length;

    // The dead process's claim lapses CLAIM_LEASE_MS after its last write; the next run comes after that.
    const immediate = await runCli(["--json"], fixture.settingsEnv);
    assert.equal(JSON.parse(immediate.stdout).files[0].status, "busy", "a claim that has not lapsed is respected");
    const later = () => Date.now() + CLAIM_LEASE_MS + 1_000;
    const rerun = await fixture.engine({ now: later }).sweep();
    assert.equal(rerun.uploaded, 1, JSON.stringify(rerun.files));
    const creates = fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession"));
    assert.equal(creates.length, 1, "the rerun created no new session");
    const rerunPuts = fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "PUT").slice(putsBeforeRerun);
    const firstRange = /^bytes (\d+)-/.exec(rerunPuts[0]?.headers["content-range"] ?? "");
    assert.ok(firstRange && Number(firstRange[1]) >= 2 * fragment, `resumed at ${rerunPuts[0]?.headers["content-range"]}`);
    assert.ok(fixture.emulator.getItem("huge.bin")?.content?.equals(content), "byte-identical after the resume");
  });
});
