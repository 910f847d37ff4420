import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { parseListBlobsPage } from "../../functions/storage/blobListing";
import { BlobChangedError, BlobSource, normaliseEtag } from "../../functions/storage/blobSource";
import { ContainerRequests } from "../../functions/storage/containerRequests";
import { createStorageClients } from "../../functions/storage/storageClients";
import { azuriteForSuite } from "../support/azurite";
import { uniqueName } from "../support/transferHarness";

const NAMES = [
  "plain.txt",
  "in/a/folder/report 2026.pdf",
  "ampersand & <angle> \"quoted\" 'single'.txt",
  "percent%20plus+hash#question?.bin",
  "unicode/Grüße-日本語-😀.txt",
  "in/a/other.txt",
  `${"long-".repeat(150)}.bin`,
  "odd/./dots/../and 'quotes' !*()~ back\\slash.txt",
];

describe("the container listing a sweep reads", () => {
  const suite = azuriteForSuite();

  async function seeded(): Promise<{ source: BlobSource; sdkListing: (prefix?: string) => Promise<object[]>; container: ContainerClient }> {
    const container = BlobServiceClient.fromConnectionString(suite.instance.connectionString).getContainerClient(uniqueName("listing"));
    await container.create();
    for (const [index, name] of NAMES.entries()) await container.getBlockBlobClient(name).uploadData(Buffer.alloc(index * 7 + 1, index));
    const sdkListing = async (prefix?: string) => {
      const blobs: object[] = [];
      for await (const item of container.listBlobsFlat({ prefix })) {
        blobs.push({ name: item.name, etag: normaliseEtag(item.properties.etag), size: item.properties.contentLength, lastModified: item.properties.lastModified });
      }
      return blobs;
    };
    return { source: new BlobSource(container), sdkListing, container };
  }

  async function listed(source: BlobSource, prefix: string, maxResultsPerPage?: number): Promise<object[]> {
    const blobs: object[] = [];
    for await (const blob of source.list(prefix, { maxResultsPerPage })) blobs.push(blob);
    return blobs;
  }

  test("lists every blob with the SDK's name, ETag, size and time, escaped names and prefixes included", async () => {
    const { source, sdkListing } = await seeded();
    const all = await listed(source, "");
    assert.equal(all.length, NAMES.length);
    assert.deepEqual(all, await sdkListing());
    assert.deepEqual(await listed(source, "in/a/"), await sdkListing("in/a/"));
    assert.equal((await listed(source, "in/a/")).length, 2);
  });

  test("addresses each blob as the SDK does, and reads the same bytes of the pinned version", async () => {
    const { source, container } = await seeded();
    const requests = ContainerRequests.of(container);
    for (const [index, name] of NAMES.entries()) {
      assert.equal(requests.blobUrl(name), container.getBlobClient(name).url, name);
      const expected = Buffer.alloc(index * 7 + 1, index);
      const { etag } = await container.getBlobClient(name).getProperties();
      const pinned = { name, etag: normaliseEtag(etag) };
      assert.ok((await source.readRange(pinned, 0, expected.length, Buffer.alloc(expected.length))).equals(expected), name);
      if (expected.length > 3) assert.ok((await source.readRange(pinned, 2, 2, Buffer.alloc(2))).equals(expected.subarray(2, 4)), name);
    }
    const [first] = NAMES;
    const stale = { name: first, etag: normaliseEtag((await container.getBlobClient(first).getProperties()).etag) };
    await container.getBlockBlobClient(first).uploadData(Buffer.from("a newer version"));
    await assert.rejects(source.readRange(stale, 0, 1, Buffer.alloc(1)), (error: unknown) => error instanceof BlobChangedError && (error.cause as { statusCode?: number }).statusCode === 412);
    await container.getBlobClient(first).delete();
    // Gone: 404 from the service (Azurite answers the failed If-Match first, 412); either way the version is not there.
    await assert.rejects(source.readRange(stale, 0, 1, Buffer.alloc(1)), (error: unknown) => error instanceof BlobChangedError && [404, 412].includes((error.cause as { statusCode?: number }).statusCode ?? 0));
  });

  test("its pipeline and the ledger's carry no form-data policy, whose first check loads Node's fetch (undici)", async () => {
    const { container } = await seeded();
    const policyNames = (pipeline: { getOrderedPolicies(): { name: string }[] }) => pipeline.getOrderedPolicies().map((policy) => policy.name);
    const requests = ContainerRequests.of(container) as unknown as { storageClientContext: { pipeline: { getOrderedPolicies(): { name: string }[] } } };
    assert.ok(policyNames(requests.storageClientContext.pipeline).includes("storageSharedKeyCredentialPolicy"), "the container's credential still signs");
    assert.ok(!policyNames(requests.storageClientContext.pipeline).includes("formDataPolicy"));
    const table = createStorageClients({ kind: "connectionString", connectionString: suite.instance.connectionString }).tableClient("anytable");
    assert.ok(!policyNames(table.pipeline).includes("formDataPolicy"));
  });

  test("follows the service's markers across pages", async () => {
    const { source, sdkListing } = await seeded();
    assert.deepEqual(await listed(source, "", 2), await sdkListing());
  });

  test("a listing of a container that does not exist fails with the service's status and code", async () => {
    const container = BlobServiceClient.fromConnectionString(suite.instance.connectionString).getContainerClient(uniqueName("missing"));
    await assert.rejects(listed(new BlobSource(container), ""), (error: unknown) => {
      assert.equal((error as { statusCode?: number }).statusCode, 404);
      assert.equal((error as { code?: string }).code, "ContainerNotFound");
      assert.match(String(error), /listing container ".*" failed: HTTP 404 ContainerNotFound/);
      return true;
    });
  });
});

describe("reading a List Blobs answer", () => {
  const page = (blobs: string, next = "<NextMarker />") =>
    `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://a.blob.core.windows.net/" ContainerName="c"><Blobs>${blobs}</Blobs>${next}</EnumerationResults>`;
  const blob = (name: string, properties = "<Etag>0x8D1</Etag><Content-Length>12</Content-Length><Last-Modified>Sun, 06 Dec 2026 10:00:00 GMT</Last-Modified>") =>
    `<Blob>${name}<Properties><Creation-Time>Sun, 06 Dec 2026 09:00:00 GMT</Creation-Time>${properties}<BlobType>BlockBlob</BlobType></Properties><Metadata /></Blob>`;

  test("resolves entity and character references, and decodes a name the service marked Encoded", () => {
    const { blobs, nextMarker } = parseListBlobsPage(
      page(`${blob("<Name>a &amp; b &lt;c&gt; &#233;&#x1F600;.txt</Name>")}${blob('<Name Encoded="true">bell%07name.txt</Name>')}`, "<NextMarker>2!80!marker&amp;</NextMarker>"),
    );
    assert.deepEqual(blobs.map((listed) => listed.name), ["a & b <c> é😀.txt", "bell\u0007name.txt"]);
    assert.deepEqual(blobs[0], { name: "a & b <c> é😀.txt", etag: "0x8D1", size: 12, lastModified: new Date("2026-12-06T10:00:00Z") });
    assert.equal(nextMarker, "2!80!marker&");
  });

  test("the last page has no marker, and an empty container no blobs", () => {
    assert.deepEqual(parseListBlobsPage(page("")), { blobs: [] });
  });

  test("a blob missing a property is an error that shows it, never a blob left out", () => {
    assert.throws(() => parseListBlobsPage(page(blob("<Name>x.txt</Name>", "<Etag>0x8D1</Etag><Content-Length>12</Content-Length>"))), /without a readable .*x\.txt/);
    assert.throws(() => parseListBlobsPage(page(blob("<Name>y.txt</Name>", "<Etag>0x8D1</Etag><Content-Length>-1</Content-Length><Last-Modified>Sun, 06 Dec 2026 10:00:00 GMT</Last-Modified>"))), /y\.txt/);
    assert.throws(() => parseListBlobsPage(page("<Blob><Name>cut.txt</Name>")), /ends inside a <Blob> element/);
    assert.throws(() => parseListBlobsPage("<Error><Code>AuthenticationFailed</Code></Error>"), /not an EnumerationResults document/);
  });
});

describe("a ranged read whose body does not match the range", () => {
  /** A blob endpoint that answers every ranged read 206 with `body`, whatever range was asked for. */
  async function answering(body: Buffer): Promise<{ source: BlobSource; close: () => Promise<void> }> {
    const server = createServer((request, response) => {
      request.resume();
      response.writeHead(206, { "Content-Length": body.length, ETag: '"0x1"', "x-ms-request-id": "range-test" });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const container = new ContainerClient(`http://127.0.0.1:${port}/devstoreaccount1/odd`);
    return { source: new BlobSource(container), close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  test("more bytes than asked for is an error naming the blob, never an overrun of the buffer", async () => {
    const { source, close } = await answering(Buffer.alloc(64, 7));
    try {
      const target = Buffer.alloc(48, 0);
      await assert.rejects(source.readRange({ name: "long.bin", etag: "0x1" }, 0, 32, target), /Blob "long\.bin" returned more bytes than the requested range/);
      assert.ok(target.subarray(32).equals(Buffer.alloc(16, 0)), "nothing past the range was written");
    } finally {
      await close();
    }
  });

  test("fewer bytes than asked for is an error naming the blob, the count and the offset", async () => {
    const { source, close } = await answering(Buffer.alloc(5, 7));
    try {
      await assert.rejects(source.readRange({ name: "short.bin", etag: "0x1" }, 100, 32, Buffer.alloc(32)), /Blob "short\.bin" returned 5 bytes for a 32-byte range at offset 100/);
    } finally {
      await close();
    }
  });
});
