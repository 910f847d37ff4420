import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient } from "@azure/storage-blob";
import { createDefaultHttpClient, createHttpHeaders, type HttpClient } from "@azure/core-rest-pipeline";
import { withCallContext } from "../../functions/http/callContext";
import { BlobReadTimeoutError, BlobSource } from "../../functions/storage/blobSource";
import { Ledger } from "../../functions/storage/ledger";
import { createStorageClients } from "../../functions/storage/storageClients";
import { azuriteForSuite } from "../support/azurite";
import { connectionStringThrough, startStallProxy, type StallProxy } from "../support/stallProxy";
import { uniqueName } from "../support/transferHarness";

/** Short ceilings, so a held answer is given up on in a fraction of a second. */
const TEST_TIMEOUTS = { blob: 500, table: 500, queue: 500 };

describe("a storage answer that never comes does not hold the worker", () => {
  const suite = azuriteForSuite();
  let blobProxy: StallProxy;
  let tableProxy: StallProxy;
  let connectionString: string;

  before(async () => {
    blobProxy = await startStallProxy({ port: suite.instance.blobPort });
    tableProxy = await startStallProxy({ port: suite.instance.tablePort });
    connectionString = connectionStringThrough(suite.instance, { blob: blobProxy, table: tableProxy });
  });
  after(async () => {
    await blobProxy.close();
    await tableProxy.close();
  });

  test("a ledger read whose answer stalls is given up on after its attempt timeout, tried again, and the retry logged", async () => {
    const clients = createStorageClients({ kind: "connectionString", connectionString }, { attemptTimeoutsMs: TEST_TIMEOUTS });
    const ledger = new Ledger(clients.tableClient(uniqueName("stalls")), "outbox");
    await ledger.ensureTable();
    tableProxy.stallNext({ match: (line) => line.startsWith("GET ") });
    const logLines: string[] = [];
    assert.equal(await withCallContext({ log: (line) => logLines.push(line) }, () => ledger.get("never-written.bin")), undefined);
    assert.equal(tableProxy.stalled.length, 1, "the first attempt was held");
    assert.equal(tableProxy.requestLines.filter((line) => line.startsWith("GET ")).length, 2, "and a second attempt answered");
    assert.equal(logLines.length, 1, logLines.join("\n"));
    assert.match(logLines[0], /^Table storage GET \/devstoreaccount1\/stalls[^:]*: no answer \(ETIMEDOUT\); retrying in \d+\.\d s \(attempt 2 of 4\)$/);
  });

  test("a busy table service's answer is retried with one line naming its status, code and request id", async () => {
    let busyAnswers = 0;
    const direct = createDefaultHttpClient();
    const busyOnce: HttpClient = {
      async sendRequest(request) {
        if (request.method !== "GET" || busyAnswers > 0) return direct.sendRequest(request);
        busyAnswers += 1;
        const headers = createHttpHeaders({ "x-ms-error-code": "ServerBusy", "x-ms-request-id": "busy-request-1", "content-type": "application/json" });
        return { request, status: 503, headers, bodyAsText: '{"odata.error":{"code":"ServerBusy"}}' };
      },
    };
    const clients = createStorageClients({ kind: "connectionString", connectionString: suite.instance.connectionString }, { transport: busyOnce });
    const ledger = new Ledger(clients.tableClient(uniqueName("busy")), "outbox", { transport: clients.tableTransport });
    await ledger.ensureTable();
    const logLines: string[] = [];
    assert.equal(await withCallContext({ log: (line) => logLines.push(line) }, () => ledger.get("never-written.bin")), undefined);
    assert.equal(busyAnswers, 1);
    assert.equal(logLines.length, 1, logLines.join("\n"));
    assert.match(logLines[0], /^Table storage GET \/devstoreaccount1\/busy[^:]*: 503 ServerBusy \(request id busy-request-1\); retrying in \d+\.\d s \(attempt 2 of 4\)$/);
  });

  test("a blob call whose answer stalls (properties, then a delete) is given up on per attempt, tried again, and logged", async () => {
    const container = BlobServiceClient.fromConnectionString(suite.instance.connectionString).getContainerClient(uniqueName("stalls"));
    await container.createIfNotExists();
    await container.getBlockBlobClient("held.bin").uploadData(Buffer.from("held"));
    const clients = createStorageClients({ kind: "connectionString", connectionString }, { attemptTimeoutsMs: TEST_TIMEOUTS });
    const throughProxy = clients.blobService.getContainerClient(container.containerName);
    const logLines: string[] = [];
    await withCallContext({ log: (line) => logLines.push(line) }, async () => {
      blobProxy.stallNext({ match: (line) => line.startsWith("HEAD ") && line.includes("/held.bin") });
      const properties = await new BlobSource(throughProxy).getProperties("held.bin");
      assert.equal(properties.size, 4);
      // Held before it reaches Azurite: a delete that took effect would make its retry a 404.
      blobProxy.stallNext({ match: (line) => line.startsWith("DELETE ") && line.includes("/held.bin"), forward: false });
      await throughProxy.getBlobClient("held.bin").delete();
    });
    assert.equal(blobProxy.stalled.filter((held) => held.requestLine.includes("/held.bin")).length, 2, "both first attempts were held");
    assert.equal(await container.getBlobClient("held.bin").exists(), false, "the retried delete took effect");
    assert.deepEqual(
      logLines.map((line) => line.replace(/retrying in \d+\.\d s/, "retrying in N s")),
      [
        `Blob storage HEAD /devstoreaccount1/${container.containerName}/held.bin: no answer (ETIMEDOUT); retrying in N s (attempt 2 of 4)`,
        `Blob storage DELETE /devstoreaccount1/${container.containerName}/held.bin: no answer (ETIMEDOUT); retrying in N s (attempt 2 of 4)`,
      ],
    );
  });

  test("a ranged blob read whose answer stalls fails within its ceiling as a temporary error, and the next read works", async () => {
    const container = BlobServiceClient.fromConnectionString(suite.instance.connectionString).getContainerClient(uniqueName("stalls"));
    await container.createIfNotExists();
    const content = Buffer.from("bytes that arrive on the second try");
    const etag = (await container.getBlockBlobClient("slow.bin").uploadData(content)).etag ?? "";
    const clients = createStorageClients({ kind: "connectionString", connectionString }, { attemptTimeoutsMs: TEST_TIMEOUTS });
    const source = new BlobSource(clients.blobService.getContainerClient(container.containerName), () => 800);
    const pinned = { name: "slow.bin", etag: etag.replace(/"/g, "") };
    blobProxy.stallNext({ match: (line) => line.startsWith("GET ") && line.includes("/slow.bin") });
    await assert.rejects(source.readRange(pinned, 0, content.length, Buffer.alloc(content.length)), (error: unknown) => {
      assert.ok(error instanceof BlobReadTimeoutError, String(error));
      assert.equal(error.code, "ETIMEDOUT");
      assert.match(error.message, /slow\.bin.*35 bytes at offset 0 did not arrive within 1 s/);
      return true;
    });
    assert.equal(blobProxy.stalled.filter((held) => held.requestLine.includes("/slow.bin")).length, 1);
    assert.ok((await source.readRange(pinned, 0, content.length, Buffer.alloc(content.length))).equals(content));
  });
});
