import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HttpRequest, type HttpResponseInit } from "@azure/functions";
import { createStartTransfersHandler, createTransferRowHandler, createTransferStatusHandler } from "../../functions/app/transfersHttp";
import type { TransferStatusReport } from "../../functions/app/transferStatus";
import { createSweepTimer } from "../../functions/app/sweepTimer";
import { createHttpHeaders } from "@azure/core-rest-pipeline";
import { Ledger } from "../../functions/storage/ledger";
import { createStorageClients } from "../../functions/storage/storageClients";
import { azuriteForSuite } from "../support/azurite";
import { createAppWorld, invocation, type AppWorld } from "./support/appHarness";

describe("sweep and the HTTP API against Azurite and the OneDrive emulator", () => {
  const suite = azuriteForSuite();

  async function worldWith(env: Record<string, string> = {}): Promise<AppWorld> {
    const world = await createAppWorld(suite.instance, env);
    suite.closeAfter(world.fixture);
    return world;
  }

  const timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };
  const queuedNames = async (world: AppWorld) => (await world.drain()).map((message) => (JSON.parse(message.text) as { blob?: string; kind: string }).blob ?? `<${JSON.parse(message.text).kind}>`).sort();

  function post(body?: string): HttpRequest {
    return new HttpRequest({ method: "POST", url: "https://app.example/api/transfers", ...(body === undefined ? {} : { body: { string: body } }) });
  }

  test("a sweep queues exactly the blobs not yet done, and a second sweep queues nothing", async () => {
    const world = await worldWith({ SOURCE_PREFIX: "in/" });
    for (const name of ["in/a.txt", "in/b.txt", "in/c.txt", "in/d.txt", "in/e.txt", "other/x.txt"]) await world.fixture.putBlob(name, `content of ${name}`);
    const engine = world.fixture.engine();
    assert.equal((await engine.transferBlob("in/a.txt")).status, "uploaded");
    // in/b.txt: done, then overwritten: its new version must go again.
    assert.equal((await engine.transferBlob("in/b.txt")).status, "uploaded");
    await world.fixture.putBlob("in/b.txt", "second version");
    // in/c.txt: a live claim by another worker.
    const claim = await engine.services.ledger.claim("in/c.txt", { blobEtag: "", status: "pending", size: 0, destinationPath: "", confirmedBytes: 0, fragments: 0, attempts: 0 }, { owner: "elsewhere", leaseMs: 60_000 });
    assert.ok(claim);
    // in/d.txt: failed before: a sweep is its retry.
    await engine.services.ledger.merge("in/d.txt", { status: "failed", lastError: "earlier failure" });

    const sweep = createSweepTimer({ engineFor: (log) => world.fixture.engine({ log }), queue: world.queue });
    const first = await sweep(timer, invocation(world.lines, {}, "sweep"));
    assert.deepEqual(first.queued.sort(), ["in/b.txt", "in/d.txt", "in/e.txt"]);
    assert.deepEqual(first.skipped, { done: 1, queued: 0, inFlight: 1, throttled: 0 });
    assert.deepEqual(await queuedNames(world), ["in/b.txt", "in/d.txt", "in/e.txt"]);

    const second = await sweep(timer, invocation(world.lines, {}, "sweep"));
    assert.deepEqual(second.queued, [], "already queued for these ETags");
    assert.deepEqual(second.skipped, { done: 1, queued: 3, inFlight: 1, throttled: 0 });
    assert.deepEqual(await queuedNames(world), []);

    const lastSweep = await engine.services.ledger.lastSweepRun();
    assert.equal(lastSweep?.runId, second.runId);
    assert.equal(lastSweep?.trigger, "timer");
    assert.deepEqual([lastSweep?.listed, lastSweep?.queued], [5, 0]);
  });

  test("a sweep whose history row cannot be written still succeeds: its messages are queued and one line says why", async () => {
    const world = await worldWith();
    for (const name of ["a.txt", "b.txt"]) await world.fixture.putBlob(name, `content of ${name}`);
    const { settings } = world.fixture;
    // The table service refuses every write to the sweep partitions (as it would a role that lost write there).
    const table = createStorageClients(settings.storage).tableClient(settings.ledgerTable);
    let refused = 0;
    table.pipeline.addPolicy({
      name: "refuseSweepRecords",
      sendRequest: async (request, next) => {
        if (request.method === "GET" || !decodeURIComponent(request.url).includes("PartitionKey='_sweep")) return next(request);
        refused += 1;
        const body = { "odata.error": { code: "AuthorizationFailure", message: { lang: "en-US", value: "This request is not authorized to perform this operation." } } };
        return { request, status: 403, headers: createHttpHeaders({ "content-type": "application/json;odata=minimalmetadata", "x-ms-error-code": "AuthorizationFailure" }), bodyAsText: JSON.stringify(body) };
      },
    // Where the service's answer would come from: the client reads the refusal as it would a real one.
    }, { afterPhase: "Sign" });
    const engine = world.fixture.engine();
    const ledger = new Ledger(table, settings.sourceContainer);
    const sweep = createSweepTimer({ engineFor: (log) => ({ ...engine, services: { ...engine.services, ledger, log } }) as typeof engine, queue: world.queue });

    const run = await sweep(timer, invocation(world.lines, {}, "sweep"));
    assert.ok(refused > 0, "the history write reached the table and was refused");
    assert.deepEqual(run.queued.sort(), ["a.txt", "b.txt"]);
    assert.deepEqual(await queuedNames(world), ["a.txt", "b.txt"]);
    assert.equal((await engine.services.ledger.get("a.txt"))?.queuedEtag !== undefined, true, "the queue marks were written");
    const historyLines = world.lines.filter((line) => line.text.includes("sweep history"));
    assert.equal(historyLines.length, 1, JSON.stringify(world.lines));
    assert.match(historyLines[0]!.text, /HTTP 403/);
    assert.doesNotMatch(historyLines[0]!.text, /AccountKey|sig=|http:\/\//);
    assert.equal(await engine.services.ledger.lastSweepRun(), undefined);
  });

  test("POST with no body or {} queues a sweep, which the worker fans out", async () => {
    const world = await worldWith();
    await world.fixture.putBlob("one.txt", "1");
    await world.fixture.putBlob("two.txt", "2");
    const handler = createStartTransfersHandler(world.httpDependencies());
    for (const body of [undefined, "{}", "  "]) {
      const response = await handler(post(body), invocation(world.lines, {}, "startTransfers"));
      assert.equal(response.status, 202);
      const answer = response.jsonBody as { runId: string; queued: unknown[] };
      assert.match(answer.runId, /^[0-9a-f-]{36}$/);
      assert.deepEqual(answer.queued, [{ kind: "sweep" }]);
    }
    const messages = await world.drain();
    assert.equal(messages.length, 3);
    assert.deepEqual(Object.keys(JSON.parse(messages[0].text)).sort(), ["kind", "runId"]);
    const worker = world.worker();
    await world.deliver(worker, messages[0]);
    assert.deepEqual(await queuedNames(world), ["one.txt", "two.txt"], "the worker listed and queued, it did not transfer");
    assert.equal(world.fixture.emulator.requests.length, 0);
    assert.equal((await world.fixture.engine().services.ledger.lastSweepRun())?.trigger, "http");
  });

  test('POST {"blobs":[...]} queues exactly those, answering 202 with the run id and what was queued', async () => {
    const world = await worldWith({ SOURCE_PREFIX: "in/" });
    const etag = (await world.fixture.putBlob("in/a b#.txt", "a")).replace(/"/g, "");
    await world.fixture.putBlob("in/c.txt", "c");
    const handler = createStartTransfersHandler(world.httpDependencies());
    const response = await handler(post(JSON.stringify({ blobs: ["in/a b#.txt", "in/c.txt", "in/a b#.txt"] })), invocation(world.lines));
    assert.equal(response.status, 202);
    const answer = response.jsonBody as { runId: string; queued: Array<{ kind: string; blob: string; etag: string }> };
    assert.deepEqual(answer.queued.map((entry) => entry.blob), ["in/a b#.txt", "in/c.txt"], "duplicates collapse");
    assert.equal(answer.queued[0].etag, etag);
    const messages = (await world.drain()).map((message) => JSON.parse(message.text));
    assert.deepEqual(messages.map((message) => message.runId), [answer.runId, answer.runId]);
    assert.equal((await world.fixture.engine().services.ledger.get("in/c.txt"))?.queuedEtag !== undefined, true, "marked, so a sweep does not queue it again");
  });

  test("bad bodies answer 400 with a clear JSON error and queue nothing", async () => {
    const world = await worldWith({ SOURCE_PREFIX: "in/" });
    await world.fixture.putBlob("in/here.txt", "x");
    const handler = createStartTransfersHandler(world.httpDependencies());
    const cases: Array<[string, RegExp, Record<string, unknown>?]> = [
      ["{not json", /not valid JSON/],
      ["[]", /must be a JSON object/],
      ['"in/here.txt"', /must be a JSON object/],
      ['{"blob":"in/here.txt"}', /Unknown field "blob": the only field is "blobs"/],
      ['{"blobs":"in/here.txt"}', /"blobs" must be a non-empty array/],
      ['{"blobs":[]}', /"blobs" must be a non-empty array/],
      ['{"blobs":["in/here.txt", 7, ""]}', /entries at 1, 2 are not/, { invalidIndexes: [1, 2] }],
      ['{"blobs":["in/here.txt","out/there.txt"]}', /outside SOURCE_PREFIX "in\/"; nothing was queued/, { outsidePrefix: ["out/there.txt"] }],
      ['{"blobs":["in/here.txt","in/missing.txt"]}', /do not exist in container .*; nothing was queued/, { absent: ["in/missing.txt"] }],
      [JSON.stringify({ blobs: Array.from({ length: 501 }, (_v, index) => `in/${index}`) }), /at most 500 per request/],
    ];
    for (const [body, pattern, details] of cases) {
      const response: HttpResponseInit = await handler(post(body), invocation(world.lines));
      assert.equal(response.status, 400, body);
      const answer = response.jsonBody as { error: string } & Record<string, unknown>;
      assert.match(answer.error, pattern, body);
      for (const [key, value] of Object.entries(details ?? {})) assert.deepEqual(answer[key], value, body);
    }
    assert.deepEqual(await world.drain(), []);
  });

  test("GET /api/transfers: counts, files in flight with progress, last failures, link health, last sweep; no upload URL", async () => {
    const world = await worldWith();
    const engine = world.fixture.engine();
    const ledger = engine.services.ledger;
    await world.fixture.putBlob("done.txt", "finished");
    await engine.transferBlob("done.txt");
    const uploadUrl = `${world.fixture.emulator.uploadOrigin}/up/secret-session-token`;
    const claim = await ledger.claim("busy.bin", { blobEtag: "e1", status: "uploading", size: 1000, destinationPath: "busy.bin", confirmedBytes: 250, fragments: 1, attempts: 1, uploadUrl }, { owner: "w1", leaseMs: 60_000 });
    assert.ok(claim);
    await ledger.merge("paused.bin", { status: "uploading", size: 400, confirmedBytes: 100, destinationPath: "paused.bin", uploadUrl });
    await ledger.merge("old-failure.txt", { status: "failed", lastError: "older", lastErrorAt: "2026-01-01T00:00:00.000Z" });
    await ledger.merge("new-failure.txt", { status: "failed", lastError: "newer", lastErrorAt: "2026-06-01T00:00:00.000Z" });
    await createSweepTimer({ engineFor: (log) => world.fixture.engine({ log }), queue: world.queue })(timer, invocation(world.lines));

    const link = { linked: false, account: "owner@outlook.example", relinkNeeded: true, reason: "revoked. Open /api/auth/login" };
    const status = createTransferStatusHandler(world.httpDependencies(async () => link));
    const response = await status(new HttpRequest({ method: "GET", url: "https://app.example/api/transfers" }), invocation(world.lines));
    assert.equal(response.status, 200);
    const report = response.jsonBody as TransferStatusReport;
    assert.deepEqual(report.counts, { pending: 0, uploading: 2, done: 1, failed: 2, total: 5 });
    assert.deepEqual(report.inFlight.map((entry) => [entry.blob, entry.confirmedBytes, entry.size, entry.percent, entry.inFlight]), [
      ["busy.bin", 250, 1000, 25, true],
      ["paused.bin", 100, 400, 25, false],
    ]);
    assert.deepEqual(report.lastFailures.map((failure) => [failure.blob, failure.error]), [["new-failure.txt", "newer"], ["old-failure.txt", "older"]]);
    assert.deepEqual(report.link, link);
    assert.equal(report.lastSweep?.trigger, "timer");
    assert.equal(report.queue.name, world.queue.name);
    assert.equal(typeof report.queue.approximateMessages, "number");
    assert.ok(!JSON.stringify(report).includes("secret-session-token"), "the upload URL is a credential");

    const brokenLink = createTransferStatusHandler(world.httpDependencies(async () => { throw new Error("vault unreachable"); }));
    const degraded = (await brokenLink(new HttpRequest({ method: "GET", url: "https://app.example/api/transfers" }), invocation(world.lines))).jsonBody as TransferStatusReport;
    assert.deepEqual(degraded.link, { linked: false, relinkNeeded: false, error: "could not read the sign-in state: vault unreachable" });
  });

  test("GET /api/transfers/{blob}: one row without its upload URL, 404 for an unknown blob", async () => {
    const world = await worldWith();
    const ledger = world.fixture.engine().services.ledger;
    await ledger.merge("dir/the file #2.bin", { status: "uploading", size: 10, confirmedBytes: 5, destinationPath: "dir/the file #2.bin", uploadUrl: "https://upload.example/secret-session-token", hashState: "AAAA" });
    const handler = createTransferRowHandler(world.httpDependencies());
    const get = (blob: string) =>
      handler(new HttpRequest({ method: "GET", url: `https://app.example/api/transfers/${encodeURI(blob)}`, params: { blob } }), invocation(world.lines));
    const found = await get("dir/the file #2.bin");
    assert.equal(found.status, 200);
    const row = found.jsonBody as Record<string, unknown>;
    assert.equal(row.blob, "dir/the file #2.bin");
    assert.equal(row.percent, 50);
    assert.equal(row.uploadUrl, undefined);
    assert.equal(row.hashState, undefined);
    assert.ok(!JSON.stringify(row).includes("secret-session-token"));
    const missing = await get("nope.txt");
    assert.equal(missing.status, 404);
    assert.match((missing.jsonBody as { error: string }).error, /No ledger row for blob "nope\.txt"/);
    const empty = await get("");
    assert.equal(empty.status, 200, "an empty catch-all is the status");
    assert.ok((empty.jsonBody as TransferStatusReport).counts);
  });

  test("every answer of the transfers API, success or error, carries Cache-Control: no-store", async () => {
    const world = await worldWith({ SOURCE_PREFIX: "in/" });
    await world.fixture.putBlob("in/a.txt", "a");
    const start = createStartTransfersHandler(world.httpDependencies());
    const status = createTransferStatusHandler(world.httpDependencies());
    const row = createTransferRowHandler(world.httpDependencies());
    const getRow = (blob: string) =>
      row(new HttpRequest({ method: "GET", url: `https://app.example/api/transfers/${encodeURI(blob)}`, params: { blob } }), invocation(world.lines));
    const answers: Array<[string, HttpResponseInit]> = [
      ["sweep", await start(post("{}"), invocation(world.lines, {}, "startTransfers"))],
      ["named blobs", await start(post('{"blobs":["in/a.txt"]}'), invocation(world.lines, {}, "startTransfers"))],
      ["bad JSON", await start(post("{"), invocation(world.lines, {}, "startTransfers"))],
      ["outside the prefix", await start(post('{"blobs":["other/x.txt"]}'), invocation(world.lines, {}, "startTransfers"))],
      ["status", await status(new HttpRequest({ method: "GET", url: "https://app.example/api/transfers" }), invocation(world.lines))],
      ["one row", await getRow("in/a.txt")],
      ["unknown row", await getRow("in/none.txt")],
      ["empty row name", await getRow("")],
    ];
    assert.deepEqual(
      answers.map(([what, response]) => [what, response.status]),
      [["sweep", 202], ["named blobs", 202], ["bad JSON", 400], ["outside the prefix", 400], ["status", 200], ["one row", 200], ["unknown row", 404], ["empty row name", 200]],
    );
    for (const [what, response] of answers) {
      assert.equal(new Headers(response.headers).get("cache-control"), "no-store", what);
      assert.ok(response.jsonBody !== undefined, `${what} answers JSON`);
    }
  });
});
