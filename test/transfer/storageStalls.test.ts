import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient } from "@azure/storage-blob";
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

  test("a ledger read whose answer stalls is given up on after its attempt timeout and tried again", async () => {
    const clients = createStorageClients({ kind: "connectionString", connectionString }, { attemptTimeoutsMs: TEST_TIMEOUTS });
    const ledger = new Ledger(clients.tableClient(uniqueName("stalls")), "outbox");
    await ledger.ensureTable();
    tableProxy.stallNext({ match: (line) => line.startsWith("GET ") });
    assert.equal(await ledger.get("never-written.bin"), undefined);
    assert.equal(tableProxy.stalled.length, 1, "the first attempt was held");
    assert.equal(tableProxy.requestLines.filter((line) => line.startsWith("GET ")).length, 2, "and a second attempt answered");
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
    assert.equal(blobProxy.stalled.length, 1);
    assert.ok((await source.readRange(pinned, 0, content.length, Buffer.alloc(content.length))).equals(content));
  });
});
