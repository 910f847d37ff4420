import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { BlobSource } from "../../functions/storage/blobSource";
import { Ledger } from "../../functions/storage/ledger";
import { initialRow } from "../../functions/storage/ledgerRow";
import { destinationFor } from "../../functions/transfer/destinationPath";
import { createStorageClients } from "../../functions/storage/storageClients";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, FRAGMENT, randomContent, type TransferFixture } from "../support/transferHarness";

/** As `npm run transfer` starts it: the launcher and the bundled command. */
const CLI = join(__dirname, "..", "..", "functions", "cli", "launch.js");

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>, onStderrLine?: (line: string, kill: () => void) => void): Promise<CliRun> {
  // A scratch working directory: the CLI must not pick up a developer's local.settings.json.
  const child = spawn(process.execPath, [CLI, "transfer", ...args], { cwd: mkdtempSync(join(tmpdir(), "cli-")), env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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
    const { durationMs, ...twoWithoutTime } = two;
    assert.equal(typeof durationMs, "number");
    assert.deepEqual(twoWithoutTime, {
      blob: "dir/two.txt", path: "dir/two.txt", status: "uploaded", bytes: 2, fragments: 1, error: null,
      retries: 0, throttleWaits: 0, throttleWaitSeconds: 0, errorCode: null, graphRequestId: null,
    });
    const three = report.files.find((file: { blob: string }) => file.blob === "three?.txt");
    assert.match(three.error, /three\?\.txt/);
    assert.equal(three.errorCode, "refusedName");

    const rerun = await runCli([], fixture.settingsEnv);
    assert.equal(rerun.code, 1, "the refused name still fails");
    assert.match(rerun.stdout, /0 files uploaded, 2 skipped, 1 failed/);

    // Each run is in the sweep history the status page shows, as the CLI's: it looked at 3 blobs and queued none.
    const history = await fixture.engine().services.ledger.recentSweepRuns();
    assert.deepEqual(history.map(({ trigger, listed, queued }) => ({ trigger, listed, queued })), [{ trigger: "cli", listed: 3, queued: 0 }, { trigger: "cli", listed: 3, queued: 0 }]);
    assert.ok(Date.parse(history[0]!.startedAt) >= Date.parse(history[1]!.finishedAt), "newest first");
  });

  test("a rerun over finished blobs makes no Graph request, and still names the destination", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance));
    await fixture.putBlob("done.txt", "done once");
    const first = await runCli(["--json"], fixture.settingsEnv);
    assert.equal(first.code, 0, first.stderr);
    const graphRequestsBefore = fixture.emulator.requests.length;
    const rerun = await runCli(["--json"], fixture.settingsEnv);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(fixture.emulator.requests.length, graphRequestsBefore, "no Graph request, not even the drive lookup");
    const [firstReport, rerunReport] = [JSON.parse(first.stdout), JSON.parse(rerun.stdout)];
    assert.equal(rerunReport.skipped, 1);
    assert.match(firstReport.destination.display, /^OneDrive \(me\) › /);
    assert.deepEqual([rerunReport.destination.display, rerunReport.destination.kind], [firstReport.destination.display, "me"]);
  });

  test("bad settings exit 2 naming every invalid setting", async () => {
    const run = await runCli(["--json"], { FRAGMENT_SIZE_MB: "61", CONFLICT_BEHAVIOR: "overwrite", TRANSFER_CONCURRENCY: "0", SOURCE_STORAGE: "UseDevelopmentStorage=true", GRAPH_ACCESS_TOKEN: "unused" });
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /FRAGMENT_SIZE_MB.*1 to 60/);
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
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, { FRAGMENT_SIZE_MB: "1" }, {
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

    // The killed process's claim has not lapsed, but its holder was a process of this machine that no longer exists.
    const rerun = await runCli(["--json"], fixture.settingsEnv);
    assert.equal(rerun.code, 0, rerun.stderr);
    const report = JSON.parse(rerun.stdout);
    assert.deepEqual([report.uploaded, report.unfinished, report.files[0].status], [1, 0, "uploaded"]);
    assert.doesNotMatch(rerun.stderr, /waiting/, "no wait for a holder that is provably gone");
    const creates = fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession"));
    assert.equal(creates.length, 1, "the rerun created no new session");
    const rerunPuts = fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "PUT").slice(putsBeforeRerun);
    const firstRange = /^bytes (\d+)-/.exec(rerunPuts[0]?.headers["content-range"] ?? "");
    assert.ok(firstRange && Number(firstRange[1]) >= 2 * fragment, `resumed at ${rerunPuts[0]?.headers["content-range"]}`);
    assert.ok(fixture.emulator.getItem("huge.bin")?.content?.equals(content), "byte-identical after the resume");
  });

  test("a file another live run holds is waited for, then left to it: exit 3, status busy", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance));
    await fixture.putBlob("shared.bin", "sent by the other run");
    const ledger = new Ledger(createStorageClients(fixture.settings.storage).tableClient(fixture.settings.ledgerTable), fixture.settings.sourceContainer);
    const initial = initialRow(await new BlobSource(fixture.container).getProperties("shared.bin"), destinationFor("shared.bin", "", fixture.settings.destFolder).fullPath);
    const otherRun = { owner: "other-host|boot|77|run" };
    // Long enough for the CLI to start and see the claim live even on a loaded machine.
    assert.ok(await ledger.claim("shared.bin", initial, { ...otherRun, leaseMs: 5_000 }));

    let renewed: Promise<unknown> = Promise.resolve();
    const run = await runCli(["--json"], fixture.settingsEnv, (line) => {
      // The other run checkpoints while this one waits: its claim moves on.
      if (line.startsWith("waiting")) renewed = ledger.claim("shared.bin", initial, { ...otherRun, leaseMs: 60_000 });
    });
    assert.ok(await renewed, "the other run renewed its claim");
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /^waiting {3}shared\.bin: claimed by a run on other-host until .* for the claim to lapse$/m);
    const report = JSON.parse(run.stdout);
    assert.deepEqual([report.uploaded, report.failed, report.unfinished], [0, 0, 1]);
    assert.equal(report.files[0].status, "busy");
    assert.match(report.files[0].error, /still transferring it/);
    assert.equal(fixture.emulator.getItem("shared.bin"), undefined);
  });
});
