import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TableClient } from "@azure/data-tables";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { loadEngineSettings } from "../../functions/config/settings";
import { StaticAccessTokenProvider } from "../../functions/onedrive/accessToken";
import { createStorageClients } from "../../functions/storage/storageClients";
import { TransferEngine } from "../../functions/transfer/transferEngine";
import { ClaimLostError, Ledger, ledgerShardOf } from "../../functions/storage/ledger";
import type { LedgerRecord } from "../../functions/storage/ledgerRow";
import { claimRowsTogether, LedgerWriteBatcher } from "../../functions/storage/ledgerBatch";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, uniqueName, type TransferFixture } from "../support/transferHarness";

/**
 * Every request a table client sends: method and path (a transaction is one POST to /$batch), and for each
 * transaction how many rows it writes (the sub-requests in its multipart body).
 */
function countingTableClient(connectionString: string, tableName: string): { table: TableClient; requests: string[]; transactionRows: number[]; bodies: string[] } {
  const requests: string[] = [];
  const transactionRows: number[] = [];
  const bodies: string[] = [];
  const counter: PipelinePolicy = {
    name: "countRequests",
    sendRequest: (request, next) => {
      requests.push(`${request.method} ${new URL(request.url).pathname}`);
      if (request.url.endsWith("/$batch") && typeof request.body === "string") {
        transactionRows.push(request.body.match(/^(POST|PUT|PATCH|MERGE|DELETE) \S+ HTTP\/1\.1/gm)?.length ?? 0);
      }
      if (typeof request.body === "string") bodies.push(request.body);
      return next(request);
    },
  };
  const table = TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection: true, additionalPolicies: [{ policy: counter, position: "perCall" }] });
  return { table, requests, transactionRows, bodies };
}

const writesOf = (requests: string[]) => requests.filter((request) => !request.startsWith("GET"));
const initial = (blobName: string): Omit<LedgerRecord, "blobName"> => ({ blobEtag: `etag-${blobName}`, status: "pending", size: 1, destinationPath: blobName, confirmedBytes: 0, fragments: 0, attempts: 0 });

/** `count` names `<stem>-N.txt` whose rows share one ledger partition (a transaction writes one partition only). */
function namesInOneShard(stem: string, count: number, shard = "0"): string[] {
  const names: string[] = [];
  for (let index = 0; names.length < count; index++) if (ledgerShardOf(`${stem}-${index}.txt`) === shard) names.push(`${stem}-${index}.txt`);
  return names;
}

describe("ledger rows claimed and recorded in transactions", () => {
  const suite = azuriteForSuite();

  function ledgerWithCounter(): { ledger: Ledger; requests: string[] } {
    const { table, requests } = countingTableClient(suite.instance.connectionString, uniqueName("batch"));
    return { ledger: new Ledger(table, "outbox"), requests };
  }

  test("claims new and existing rows in one transaction, leaving out a row another worker holds", async () => {
    const { ledger, requests } = ledgerWithCounter();
    const [newOne, newTwo, old, held] = namesInOneShard("row", 4);
    await ledger.claim(held, initial(held), { owner: "other-worker", leaseMs: 60_000 });
    await ledger.merge(old, { status: "failed", blobEtag: `etag-${old}`, lastError: "earlier failure" });
    const rows = await ledger.readAll();
    requests.length = 0;

    const names = [newOne, newTwo, old, held];
    const claimed = await claimRowsTogether(ledger, names.map((blobName) => ({ blobName, initial: initial(blobName), known: rows.get(blobName) ?? null })), { owner: "me", leaseMs: 60_000 }, ledger);

    assert.deepEqual(claimed.map((row) => row?.record.blobName), [newOne, newTwo, old, undefined]);
    assert.deepEqual(writesOf(requests), [`POST /devstoreaccount1/$batch`], "one transaction for the three claims");
    const after = await ledger.readAll();
    for (const name of [newOne, newTwo, old]) assert.equal(after.get(name)?.claimOwner, "me", name);
    assert.equal(after.get(held)?.claimOwner, "other-worker");
    assert.equal(after.get(old)?.lastError, "earlier failure", "a claim merges: the row keeps what it held");
    assert.equal(claimed[2]?.interruptedBefore, false, "a released row was not interrupted");
  });

  test("a few blobs' rows are read one by one, many blobs' by partition, with the same rows either way", async () => {
    const { ledger, requests } = ledgerWithCounter();
    const names = ["one.bin", "two.bin", "three.bin"];
    await ledger.claim("one.bin", initial("one.bin"), { owner: "me", leaseMs: 60_000 });
    requests.length = 0;
    const few = await ledger.readRowsOf(names);
    assert.deepEqual([...few.keys()], ["one.bin"]);
    assert.equal(requests.length, names.length, "one point read a blob");
    requests.length = 0;
    const many = await ledger.readRowsOf(Array.from({ length: 16 }, (_, index) => `blob-${index}.bin`));
    assert.equal(requests.length, 16, "one query a partition, whatever the number of blobs");
    assert.equal(many.get("one.bin")?.claimOwner, "me", "the partition read returns every row of the container");
  });

  test("when another worker claims one row first, the transaction fails whole and every other row is still claimed", async () => {
    const { ledger } = ledgerWithCounter();
    const rows = await ledger.readAll();
    // Both rows are unknown to the bulk read; a rival creates one of them before the transaction runs.
    await ledger.claim("raced.txt", initial("raced.txt"), { owner: "rival", leaseMs: 60_000 });
    const claimed = await claimRowsTogether(ledger, ["free.txt", "raced.txt"].map((blobName) => ({ blobName, initial: initial(blobName), known: rows.get(blobName) ?? null })), { owner: "me", leaseMs: 60_000 }, ledger);
    assert.equal(claimed[0]?.record.blobName, "free.txt");
    assert.equal(claimed[1], undefined, "the rival's row stays the rival's");
    assert.equal((await ledger.get("raced.txt"))?.claimOwner, "rival");
  });

  test("a row whose holder stopped without releasing it is claimed as interrupted", async () => {
    const { ledger } = ledgerWithCounter();
    const lapsed = { owner: "crashed", leaseMs: 60_000, now: () => Date.now() - 120_000 };
    await ledger.claim("left.txt", initial("left.txt"), lapsed);
    const rows = await ledger.readAll();
    const [claimed] = await claimRowsTogether(ledger, [{ blobName: "left.txt", initial: initial("left.txt"), known: rows.get("left.txt")! }], { owner: "me", leaseMs: 60_000 }, ledger);
    assert.equal(claimed?.interruptedBefore, true);
  });

  test("rows claimed with a write batcher have their writes sent as one transaction, and a stale one fails alone", async () => {
    const { ledger, requests } = ledgerWithCounter();
    const batcher = new LedgerWriteBatcher(ledger, { lingerMs: 3_600_000, maxRows: 3 });
    const names = namesInOneShard("batched", 3);
    const claimed = await claimRowsTogether(ledger, names.map((blobName) => ({ blobName, initial: initial(blobName), known: null })), { owner: "me", leaseMs: 60_000 }, batcher);
    requests.length = 0;
    await Promise.all(claimed.map((row) => row!.update({ status: "uploading" })));
    assert.deepEqual(writesOf(requests), ["POST /devstoreaccount1/$batch"], "three writes, one request");

    // The second row moves on behind its holder's back: that write is refused, the other two are written.
    await ledger.merge(names[1], { warning: "someone else wrote here" });
    const outcomes = await Promise.allSettled(claimed.map((row) => row!.release({ status: "done" })));
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ["fulfilled", "rejected", "fulfilled"]);
    assert.ok((outcomes[1] as PromiseRejectedResult).reason instanceof ClaimLostError);
    const rows = await ledger.readAll();
    assert.deepEqual(names.map((name) => rows.get(name)?.status), ["done", "uploading", "done"]);
    assert.deepEqual(names.map((name) => rows.get(name)?.claimOwner), [undefined, "me", undefined]);
  });

  test("a transaction takes rows of one partition only: rows of two are refused before any request", async () => {
    const { ledger, requests } = ledgerWithCounter();
    const [first] = namesInOneShard("left", 1, "0");
    const [second] = namesInOneShard("right", 1, "f");
    await ledger.ensureTable();
    requests.length = 0;
    const writes = [first, second].map((blobName) => ({ kind: "create" as const, record: { blobName, ...initial(blobName) } }));
    await assert.rejects(ledger.writeRows(writes), /one partition only/);
    assert.deepEqual(requests, []);
  });

  test("a draining write batcher sends at once instead of waiting out its linger", async () => {
    const { ledger, requests } = ledgerWithCounter();
    const batcher = new LedgerWriteBatcher(ledger, { lingerMs: 3_600_000 });
    const [row] = await claimRowsTogether(ledger, [{ blobName: "solo.txt", initial: initial("solo.txt"), known: null }], { owner: "me", leaseMs: 60_000 }, batcher);
    requests.length = 0;
    const released = row!.release({ status: "done" });
    batcher.drain();
    await released;
    assert.equal(writesOf(requests).length, 1);
    assert.equal((await ledger.get("solo.txt"))?.status, "done");
  });
});

describe("sweeps of small files", () => {
  const suite = azuriteForSuite();

  async function fixtureWith(env: Record<string, string> = {}): Promise<TransferFixture & { tableRequests: string[]; transactionRows: number[]; tableBodies: string[] }> {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance, env));
    const counted = countingTableClient(suite.instance.connectionString, fixture.settings.ledgerTable);
    const storage = createStorageClients(fixture.settings.storage);
    const engine = fixture.engine;
    fixture.engine = (overrides = {}) => engine({ storage: { ...storage, tableClient: () => counted.table }, ...overrides });
    return Object.assign(fixture, { tableRequests: counted.requests, transactionRows: counted.transactionRows, tableBodies: counted.bodies });
  }

  test("claims one-fragment rows 50 to a transaction and records every file done and released", async () => {
    const fixture = await fixtureWith();
    const names = namesInOneShard("small/file", 120, "7");
    for (const name of names) await fixture.putBlob(name, `content of ${name}`);
    const summary = await fixture.engine().sweep();
    assert.deepEqual([summary.uploaded, summary.failed], [120, 0]);
    // Claims go 50 rows to a transaction. Records join whatever transaction is open within 100 ms, so how many
    // share one depends on the machine's speed; a record left alone is written on its own.
    const singleWrites = writesOf(fixture.tableRequests).filter((request) => !request.endsWith("/$batch") && !request.endsWith("/Tables"));
    const rowsWritten = fixture.transactionRows.reduce((sum, rows) => sum + rows, 0) + singleWrites.length;
    assert.equal(rowsWritten, 2 * 120, "each row written twice (claimed, then recorded done and released), nothing more");
    const rowReads = fixture.tableRequests.filter((request) => request.startsWith("GET") && request.includes("(PartitionKey"));
    assert.deepEqual(rowReads, [], "rows are read only by the sweep's bulk query; transactions return each new ETag");
    for (const claimBatch of [50, 50, 20]) assert.ok(fixture.transactionRows.includes(claimBatch), `a ${claimBatch}-row claim transaction: ${fixture.transactionRows.join(", ")}`);
    assert.ok(fixture.transactionRows.length + singleWrites.length <= 3 + 120, "3 requests claimed 120 rows; each record took at most one");
    assert.ok(!fixture.tableBodies.some((body) => body.includes(`"uploadUrl":""`)), "a field the row never had is not written empty");
    const rows = await new Ledger(TableClient.fromConnectionString(suite.instance.connectionString, fixture.settings.ledgerTable, { allowInsecureConnection: true }), fixture.settings.sourceContainer).readAll();
    for (const name of names) {
      const row = rows.get(name);
      assert.equal(row?.status, "done", name);
      assert.equal(row?.claimOwner, undefined, `${name} released`);
      assert.equal(fixture.emulator.getItem(name)?.content?.toString(), `content of ${name}`);
    }
  });

  test("files of many ledger partitions are claimed and recorded in transactions of one partition each", async () => {
    const fixture = await fixtureWith();
    const names = Array.from({ length: 64 }, (_, index) => `mixed/${String(index).padStart(2, "0")}.txt`);
    for (const name of names) await fixture.putBlob(name, `content of ${name}`);
    const summary = await fixture.engine().sweep();
    assert.deepEqual([summary.uploaded, summary.failed], [64, 0]);
    assert.deepEqual(summary.files.map((file) => file.blob), names, "the summary keeps listing order");
    const shards = new Set(names.map(ledgerShardOf));
    assert.ok(shards.size > 8, `64 names spread over ${shards.size} partitions`);
    const transactions = fixture.tableBodies.filter((body) => body.includes("changeset"));
    for (const body of transactions) {
      const partitions = new Set([...body.matchAll(/PartitionKey(?:='|":")([^'"]+)/g)].map((match) => match[1]));
      assert.equal(partitions.size, 1, `one partition a transaction: ${[...partitions].join(", ")}`);
    }
    // Each partition's rows are claimed together: 64 claims in one transaction per partition, not one per file.
    const claimTransactions = transactions.filter((body) => /^POST \S+ HTTP\/1\.1/m.test(body));
    assert.equal(claimTransactions.length, shards.size);
    const rows = await fixture.engine().services.ledger.readAll();
    assert.deepEqual([...rows.keys()].sort(), names, "one bulk read finds the rows of every partition");
    for (const name of names) assert.equal(rows.get(name)?.status, "done", name);
  });

  test("a sweep stopped by a sign-in failure lets go of every row it claimed, taken or not", async () => {
    const fixture = await fixtureWith();
    for (const [index, name] of namesInOneShard("stopped/file", 12).entries()) await fixture.putBlob(name, `file ${index}`);
    const relink = Object.assign(new Error("OneDrive needs to be linked again"), { name: "RelinkRequiredError" });
    // The destination drive is looked up with a good token; the sign-in fails on the next call, after the claims.
    let tokenCalls = 0;
    const engine = fixture.engine({ tokenProvider: { getAccessToken: () => (tokenCalls++ === 0 ? Promise.resolve(fixture.emulator.accessToken) : Promise.reject(relink)) } });
    await assert.rejects(engine.sweep(), /linked again/);
    const rows = await engine.services.ledger.readAll();
    assert.equal(rows.size, 12, "all twelve were claimed in one batch");
    for (const [name, row] of rows) assert.equal(row.claimOwner, undefined, `${name} released`);
    assert.equal(fixture.emulator.requests.filter((request) => request.origin === "upload").length, 0);
  });

  test("a file that failed before is recorded done with its old error cleared", async () => {
    const fixture = await fixtureWith({ CONFLICT_BEHAVIOR: "fail" });
    fixture.emulator.putFile("clash.txt", "already there");
    await fixture.putBlob("clash.txt", "the blob");
    const first = await fixture.engine().sweep();
    assert.equal(first.failed, 1);
    const ledger = fixture.engine().services.ledger;
    assert.match((await ledger.get("clash.txt"))?.lastError ?? "", /409|nameAlreadyExists/);
    // The user lets it replace the file after all.
    const replacing = new TransferEngine(loadEngineSettings({ ...fixture.settingsEnv, CONFLICT_BEHAVIOR: "replace" }), { tokenProvider: new StaticAccessTokenProvider(fixture.emulator.accessToken) });
    const second = await replacing.sweep();
    assert.equal(second.uploaded, 1, second.files[0].error);
    const row = await ledger.get("clash.txt");
    assert.equal(row?.status, "done");
    assert.equal(row?.lastError, undefined, "the earlier failure is cleared");
    assert.equal(row?.attempts, 2);
  });

  test("a file OneDrive committed before its worker died is recorded from OneDrive, not uploaded twice", async () => {
    const fixture = await fixtureWith({ CONFLICT_BEHAVIOR: "rename" });
    await fixture.putBlob("report.txt", "quarterly figures");
    await fixture.putBlob("changed.txt", "what the blob holds");
    assert.equal((await fixture.engine().sweep()).uploaded, 2);
    // The state a crash between OneDrive's commit and the ledger's record leaves: the row still claimed, not done.
    const ledger = fixture.engine().services.ledger;
    const lapsed = new Date(Date.now() - 1_000).toISOString();
    for (const name of ["report.txt", "changed.txt"]) await ledger.merge(name, { status: "pending", claimOwner: "crashed-worker", claimExpiresAt: lapsed });
    // Someone changed one file in OneDrive meanwhile: that one is not the blob's content and is sent again.
    fixture.emulator.putFile("changed.txt", "edited in OneDrive");
    fixture.emulator.clearRequests();

    const rerun = await fixture.engine().sweep();
    assert.deepEqual(rerun.files.map((file) => [file.blob, file.status]).sort(), [["changed.txt", "uploaded"], ["report.txt", "uploaded"]]);
    const uploads = fixture.emulator.requests.filter((request) => (request.method === "PUT" && request.origin === "graph") || request.url.includes("createUploadSession"));
    assert.equal(uploads.length, 1, "only the file whose OneDrive copy differs is uploaded");
    assert.ok(uploads[0].url.includes("changed.txt"));
    assert.deepEqual(fixture.emulator.listTree().filter((path) => path.startsWith("report")), ["report.txt"], "no renamed duplicate");
    assert.ok(fixture.log.lines.some((line) => line.includes("report.txt: an earlier attempt had already stored this file")));
    const rows = await ledger.readAll();
    assert.equal(rows.get("report.txt")?.status, "done");
    assert.equal(rows.get("report.txt")?.claimOwner, undefined);
  });
});
