import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { TableServiceClient } from "@azure/data-tables";
import { QueueServiceClient } from "@azure/storage-queue";
import type { TransferStatusReport } from "../../functions/app/transferStatus";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, uniqueName } from "../support/transferHarness";

/** As `npm run status` starts it: the launcher and the bundled command. */
const CLI = join(__dirname, "..", "..", "functions", "cli", "launch.js");

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runStatus(args: string[], env: Record<string, string>): Promise<CliRun> {
  // A scratch working directory: the CLI must not pick up a developer's local.settings.json.
  const child = spawn(process.execPath, [CLI, "status", ...args], { cwd: mkdtempSync(join(tmpdir(), "status-")), env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

describe("npm run status", () => {
  const suite = azuriteForSuite();

  test("--json prints the report; the terminal summary says the same, with every control character escaped", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance));
    const engine = fixture.engine();
    await fixture.putBlob("report.csv", "a,b\n");
    await fixture.putBlob("bad:name.txt", "refused");
    await fixture.putBlob("evil\u001b[2Jname.txt", "control characters");
    assert.equal((await engine.transferBlob("report.csv")).status, "uploaded");
    assert.equal((await engine.transferBlob("bad:name.txt")).status, "failed");
    assert.equal((await engine.transferBlob("evil\u001b[2Jname.txt")).status, "failed");
    await engine.services.ledger.recordSweepRun({ runId: "r1", trigger: "timer", startedAt: "2026-12-06T03:00:00.000Z", finishedAt: "2026-12-06T03:00:04.000Z", listed: 3, queued: 2 });
    const queueName = uniqueName("q");
    const queue = QueueServiceClient.fromConnectionString(suite.instance.connectionString).getQueueClient(queueName);
    await queue.create();
    await queue.sendMessage("{}");
    const env = { ...fixture.settingsEnv, TRANSFER_QUEUE: queueName };

    const json = await runStatus(["--json"], env);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stdout.trim().split("\n").length, 1);
    const report = JSON.parse(json.stdout) as TransferStatusReport;
    assert.equal(report.container, fixture.settings.sourceContainer);
    assert.deepEqual(report.counts, { pending: 0, uploading: 0, done: 1, failed: 2, total: 3 });
    assert.deepEqual([report.last24Hours.files, report.last24Hours.bytes], [1, 4]);
    assert.deepEqual(report.lastFailures.map((failure) => failure.cause), ["refusedName", "refusedName"]);
    assert.deepEqual([report.queue.name, report.queue.approximateMessages, report.queue.poisonQueue, report.queue.poisonMessages], [queueName, 1, `${queueName}-poison`, 0]);
    assert.deepEqual(report.recentSweeps.map((run) => run.runId), ["r1"]);
    assert.equal(report.link.linked, true, "GRAPH_ACCESS_TOKEN stands in for the sign-in");

    const human = await runStatus([], env);
    assert.equal(human.code, 0, human.stderr);
    assert.ok(!human.stdout.includes("\u001b"), "no escape sequence reaches the terminal");
    assert.match(human.stdout, /^Transfers from \S+ to OneDrive, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/m);
    assert.match(human.stdout, /^Files: 0 pending, 0 uploading, 1 done, 2 failed \(3 rows in the ledger\)$/m);
    assert.match(human.stdout, /^Last 24 hours: 1 file done, 4 B$/m);
    assert.match(human.stdout, /^ {2}evil\\u001b\[2Jname\.txt: OneDrive does not allow this file name or path \(1 attempt, /m);
    assert.match(human.stdout, /^ {4}what to do: Rename the blob/m);
    assert.match(human.stdout, new RegExp(`^Queue ${queueName}: 1 message waiting; poison queue ${queueName}-poison: 0 messages$`, "m"));
    assert.match(human.stdout, /^ {2}2026-12-06 03:00:00 UTC {2}timer {2}listed 3, queued 2, took 4 s$/m);
  });

  test("a relink-needed link is reported, with what to run; a fresh account reads as empty and nothing is created", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance));
    const { GRAPH_ACCESS_TOKEN: _fixedToken, ...settingsEnv } = fixture.settingsEnv;
    const tokenCacheFile = join(mkdtempSync(join(tmpdir(), "status-link-")), "token-cache.json");
    const run = await runStatus([], { ...settingsEnv, CLIENT_ID: "00000000-0000-0000-0000-000000000001", CLIENT_SECRET: "status-secret", TOKEN_CACHE_FILE: tokenCacheFile });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^OneDrive link: RELINK NEEDED: No OneDrive account is linked yet/m);
    assert.match(run.stdout, /^ {2}run `npm run login`/m);
    assert.match(run.stdout, /^Files: 0 pending, 0 uploading, 0 done, 0 failed \(0 rows in the ledger\)$/m);
    assert.match(run.stdout, /^Sweeps: none recorded yet$/m);
    assert.ok(!run.stdout.includes("status-secret"));
    const names: string[] = [];
    for await (const table of TableServiceClient.fromConnectionString(suite.instance.connectionString, { allowInsecureConnection: true }).listTables()) names.push(table.name ?? "");
    assert.ok(!names.includes(fixture.settings.ledgerTable), "reading the status created no ledger table");
  });

  test("bad settings and bad arguments exit 2 and print nothing on stdout", async () => {
    const settings = await runStatus(["--json"], { SOURCE_STORAGE: "UseDevelopmentStorage=true", FRAGMENT_SIZE_MB: "61", GRAPH_ACCESS_TOKEN: "unused" });
    assert.equal(settings.code, 2);
    assert.equal(settings.stdout, "");
    assert.match(settings.stderr, /FRAGMENT_SIZE_MB/);
    const argument = await runStatus(["--verbose"], {});
    assert.equal(argument.code, 2);
    assert.equal(argument.stdout, "");
    assert.match(argument.stderr, /Unknown option '--verbose'[\s\S]*Usage: npm run status/);
  });
});
