import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { odata, TableClient } from "@azure/data-tables";
import { QueueServiceClient } from "@azure/storage-queue";
import { HttpRequest } from "@azure/functions";
import { createServer } from "node:http";
import { createStatusPageHandler } from "../../functions/app/statusPageHandler";
import { createTransferStatusHandler } from "../../functions/app/transfersHttp";
import { createStorageClients } from "../../functions/storage/storageClients";
import { buildStatusReport, type TransferStatusReport } from "../../functions/app/transferStatus";
import { SWEEP_HISTORY_LENGTH } from "../../functions/storage/ledger";
import { failureRecordChanges, type LedgerRecord } from "../../functions/storage/ledgerRow";
import { azuriteForSuite } from "../support/azurite";
import { createAppWorld, invocation, type AppWorld } from "./support/appHarness";

async function statusOf(world: AppWorld): Promise<TransferStatusReport> {
  const handler = createTransferStatusHandler(world.httpDependencies());
  const response = await handler(new HttpRequest({ method: "GET", url: "https://app.example/api/transfers" }), invocation(world.lines));
  assert.equal(response.status, 200);
  return response.jsonBody as TransferStatusReport;
}

describe("the status report: failure causes, sweep history, poison queue, totals and rates", () => {
  const suite = azuriteForSuite();

  async function worldWith(env: Record<string, string> = {}, quotaBytes?: number): Promise<AppWorld> {
    const world = await createAppWorld(suite.instance, env, quotaBytes === undefined ? {} : { quotaBytes });
    suite.closeAfter(world.fixture);
    return world;
  }

  test("a failure records its cause, Graph's code and request id; the report says what to do; success clears them", async () => {
    const world = await worldWith({}, 1_000);
    const engine = world.fixture.engine();
    await world.fixture.putBlob("too-big.bin", Buffer.alloc(5_000, 1));
    await world.fixture.putBlob("what?.txt", "refused name");
    assert.equal((await engine.transferBlob("too-big.bin")).status, "failed");
    assert.equal((await engine.transferBlob("what?.txt")).status, "failed");

    const full = await engine.services.ledger.get("too-big.bin");
    assert.equal(full?.lastErrorCause, "quota");
    assert.equal(full?.lastErrorCode, "quotaLimitReached");
    assert.match(full?.lastRequestId ?? "", /^[0-9a-f-]{36}$/);
    assert.ok(world.fixture.emulator.requests.length > 0);

    const report = await statusOf(world);
    const byBlob = new Map(report.lastFailures.map((failure) => [failure.blob, failure]));
    const quota = byBlob.get("too-big.bin");
    assert.deepEqual([quota?.cause, quota?.code, quota?.requestId], ["quota", "quotaLimitReached", full?.lastRequestId]);
    assert.equal(quota?.summary, "The OneDrive is full");
    assert.match(quota?.action ?? "", /Free space in the OneDrive/);
    const name = byBlob.get("what?.txt");
    assert.equal(name?.cause, "refusedName");
    assert.match(name?.action ?? "", /^Rename the blob/);
    assert.equal(name?.requestId, undefined, "refused before any request");

    // An earlier failure of a blob that now transfers leaves nothing behind.
    await world.fixture.putBlob("recovers.txt", "fine");
    await engine.services.ledger.merge("recovers.txt", { status: "failed", ...failureRecordChanges("earlier", { lastErrorCause: "network", lastErrorCode: "ECONNRESET", lastRequestId: "r-1" }, Date.now()) });
    assert.equal((await engine.transferBlob("recovers.txt")).status, "uploaded");
    const recovered = await engine.services.ledger.get("recovers.txt");
    assert.deepEqual([recovered?.lastError, recovered?.lastErrorCause, recovered?.lastErrorCode, recovered?.lastRequestId], [undefined, undefined, undefined, undefined]);
  });

  test(`the last ${SWEEP_HISTORY_LENGTH} sweeps are kept, newest first, and older ones deleted`, async () => {
    const world = await worldWith();
    const ledger = world.fixture.engine().services.ledger;
    const start = Date.parse("2026-12-01T00:00:00.000Z");
    const runs = Array.from({ length: SWEEP_HISTORY_LENGTH + 3 }, (_unused, index) => ({
      runId: `run-${index}`,
      trigger: index % 2 === 0 ? "timer" : "http",
      startedAt: new Date(start + index * 900_000).toISOString(),
      finishedAt: new Date(start + index * 900_000 + 2_000).toISOString(),
      listed: index,
      queued: index % 3,
    }));
    for (const run of runs) await ledger.recordSweepRun(run);
    const recent = await ledger.recentSweepRuns();
    assert.deepEqual(recent, runs.slice(-SWEEP_HISTORY_LENGTH).reverse());
    assert.deepEqual(await ledger.lastSweepRun(), runs.at(-1));

    const table = TableClient.fromConnectionString(suite.instance.connectionString, world.fixture.settings.ledgerTable, { allowInsecureConnection: true });
    let stored = 0;
    for await (const _entity of table.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${`_sweeps_${world.fixture.settings.sourceContainer}`}` } })) stored += 1;
    assert.equal(stored, SWEEP_HISTORY_LENGTH);
    const report = await statusOf(world);
    assert.deepEqual(report.recentSweeps.map((run) => run.runId), recent.map((run) => run.runId));
  });

  test("the poison queue's depth: 0 before the host made it, then its approximate count", async () => {
    const world = await worldWith();
    const before = await statusOf(world);
    assert.equal(before.queue.poisonQueue, `${world.queue.name}-poison`);
    assert.equal(before.queue.poisonMessages, 0);
    const poison = QueueServiceClient.fromConnectionString(suite.instance.connectionString).getQueueClient(`${world.queue.name}-poison`);
    await poison.create();
    await poison.sendMessage("one");
    await poison.sendMessage("two");
    assert.equal((await statusOf(world)).queue.poisonMessages, 2);
  });

  test("the status page answers 503 with a plain page when the ledger cannot be read, and logs why", async () => {
    const world = await worldWith();
    const deadPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const port = (server.address() as { port: number }).port;
        server.close(() => resolve(port));
      });
    });
    const real = createStorageClients(world.fixture.settings.storage);
    const deadTables = (tableName: string) =>
      new TableClient(`http://127.0.0.1:${deadPort}/devstoreaccount1`, tableName, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
    const page = createStatusPageHandler({
      ...world.httpDependencies(),
      engineFor: (log) => world.fixture.engine({ log, storage: { ...real, tableClient: deadTables } }),
    });
    const response = await page(new HttpRequest({ method: "GET", url: "https://app.example/api/status" }), invocation(world.lines, {}, "statusPage"));
    assert.equal(response.status, 503);
    assert.match(String(response.body), /<h1>Status unavailable<\/h1>/);
    assert.doesNotMatch(String(response.body), new RegExp(String(deadPort)), "the page does not repeat the error");
    assert.ok(world.lines.some((line) => line.level === "error" && /The status page could not read the ledger: .*ECONNREFUSED/.test(line.text)), JSON.stringify(world.lines));
  });

  test("refreshing the status costs one Graph request per process, not one per refresh", async () => {
    const world = await worldWith({ DEST_FOLDER: "Landing" });
    await world.fixture.engine().services.ledger.merge("a.txt", { status: "done", size: 1 });
    const dependencies = world.httpDependencies();
    const page = createStatusPageHandler(dependencies);
    const api = createTransferStatusHandler(dependencies);
    const graphRequests = () => world.fixture.emulator.requests.filter((request) => request.origin === "graph").map((request) => `${request.method} ${request.url.split("?")[0]}`);

    const shown = await page(new HttpRequest({ method: "GET", url: "https://app.example/api/status" }), invocation(world.lines, {}, "statusPage"));
    assert.equal(shown.status, 200);
    assert.match(String(shown.body), /OneDrive \(me\) › Landing/);
    assert.deepEqual(graphRequests(), ["GET /v1.0/me/drive"], "the first refresh resolves DEST_DRIVE");
    const reports: TransferStatusReport[] = [];
    for (let refresh = 0; refresh < 2; refresh++) {
      const response = await api(new HttpRequest({ method: "GET", url: "https://app.example/api/transfers" }), invocation(world.lines, {}, "transferStatus"));
      reports.push(response.jsonBody as TransferStatusReport);
    }
    assert.deepEqual(graphRequests(), ["GET /v1.0/me/drive"], "later refreshes show the destination already resolved");
    assert.equal(reports[1]?.destination?.display, "OneDrive (me) › Landing");
    assert.ok(reports[1]?.destination?.driveId, "the resolved drive, not the setting's words");
    assert.equal(reports[1]?.counts.done, 1);
  });

  test("totals over the last 24 hours count files recorded done in the window, and their bytes", async () => {
    const world = await worldWith();
    const ledger = world.fixture.engine().services.ledger;
    const hour = 3_600_000;
    await ledger.merge("recent-a", { status: "done", size: 1_000, finishedAt: new Date(Date.now() - hour).toISOString() });
    await ledger.merge("recent-b", { status: "done", size: 234, finishedAt: new Date(Date.now() - 23 * hour).toISOString() });
    await ledger.merge("old", { status: "done", size: 99_999, finishedAt: new Date(Date.now() - 25 * hour).toISOString() });
    await ledger.merge("failed", { status: "failed", size: 5, lastError: "x" });
    const report = await statusOf(world);
    assert.deepEqual([report.last24Hours.files, report.last24Hours.bytes], [2, 1_234]);
  });
});

describe("the in-flight rate and time left (pure)", () => {
  const now = Date.parse("2026-12-06T04:00:00.000Z");
  const base: LedgerRecord = { blobName: "big.bin", blobEtag: "e", status: "uploading", size: 20 * 1_048_576, destinationPath: "big.bin", confirmedBytes: 5 * 1_048_576, fragments: 16, attempts: 1 };
  const report = (record: LedgerRecord) =>
    buildStatusReport({ container: "c", records: [record], link: { linked: true, relinkNeeded: false }, lastSweep: undefined, queue: { name: "q" }, now }).inFlight[0];

  test("a row a live worker holds: confirmed bytes over the time from its start to its last write", () => {
    const held = report({ ...base, claimOwner: "w", claimExpiresAt: new Date(now + 30_000).toISOString(), startedAt: new Date(now - 12_000).toISOString(), updatedAt: new Date(now - 2_000).toISOString() });
    assert.equal(held.state, "uploading");
    assert.equal(held.bytesPerSecond, 524_288, "5 MiB in 10 s");
    assert.equal(held.secondsLeft, 30, "15 MiB left at 0.5 MiB/s");
    assert.equal(held.percent, 25);
  });

  test("no rate for a row nobody holds, nor one whose start and last write are under a second apart", () => {
    const waiting = report({ ...base, startedAt: new Date(now - 12_000).toISOString(), updatedAt: new Date(now - 2_000).toISOString() });
    assert.deepEqual([waiting.state, waiting.bytesPerSecond, waiting.secondsLeft], ["waiting", undefined, undefined]);
    const throttled = report({ ...base, throttledUntil: new Date(now + 60_000).toISOString() });
    assert.deepEqual([throttled.state, throttled.throttledUntil], ["throttled", new Date(now + 60_000).toISOString()]);
    const fresh = report({ ...base, claimOwner: "w", claimExpiresAt: new Date(now + 30_000).toISOString(), startedAt: new Date(now - 500).toISOString(), updatedAt: new Date(now).toISOString() });
    assert.deepEqual([fresh.state, fresh.bytesPerSecond], ["uploading", undefined]);
  });
});
