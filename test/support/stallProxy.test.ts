import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Agent, createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { BlobServiceClient } from "@azure/storage-blob";
import { TableClient } from "@azure/data-tables";
import { azuriteForSuite } from "./azurite";
import { connectionStringThrough, startStallProxy, type StallProxy } from "./stallProxy";
import { uniqueName } from "./transferHarness";

/** What the test server saw of one request. */
interface SeenRequest {
  line: string;
  bodyBytes: number;
  clientPort: number;
}

/** A plain HTTP/1.1 server that records each request and answers "answer for <url>" (chunked for /chunky*). */
async function startRecordingServer(): Promise<{ server: Server; port: number; seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  const server = createServer(async (req, res) => {
    let bodyBytes = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) bodyBytes += chunk.length;
    seen.push({ line: `${req.method} ${req.url}`, bodyBytes, clientPort: req.socket.remotePort ?? 0 });
    const answer = Buffer.from(`answer for ${req.url}`);
    if (req.url?.startsWith("/chunky")) {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write(answer.subarray(0, 3));
      res.end(answer.subarray(3));
    } else {
      res.writeHead(200, { "content-type": "text/plain", "content-length": String(answer.length) });
      res.end(req.method === "HEAD" ? undefined : answer);
    }
  });
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
  return { server, port, seen };
}

interface ClientAnswer {
  status: number;
  body: string;
  /** The client's own port: equal ports mean the same keep-alive connection to the proxy. */
  clientPort: number;
}

function send(
  proxy: StallProxy,
  agent: Agent,
  method: string,
  path: string,
  options: { body?: Buffer[]; chunked?: boolean; signal?: AbortSignal } = {},
): Promise<ClientAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    const bodyLength = (options.body ?? []).reduce((total, chunk) => total + chunk.length, 0);
    if (options.body !== undefined && !options.chunked) headers["content-length"] = String(bodyLength);
    const req = request(`${proxy.url}${path}`, { method, agent, headers, signal: options.signal }, (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      // Read now: once the answer ends, a keep-alive socket goes back to the agent's pool and res lets go of it.
      const clientPort = res.socket.localPort ?? 0;
      res.on("data", (part: Buffer) => parts.push(part));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), clientPort }));
      res.on("error", reject);
    });
    req.on("error", reject);
    for (const chunk of options.body ?? []) req.write(chunk);
    req.end();
  });
}

describe("stall proxy: HTTP/1.1 boundaries on one keep-alive connection", () => {
  let upstream: Awaited<ReturnType<typeof startRecordingServer>>;
  let proxy: StallProxy;
  before(async () => {
    upstream = await startRecordingServer();
    proxy = await startStallProxy({ port: upstream.port });
  });
  after(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
  });

  test("length-delimited, chunked and HEAD exchanges pass whole; a held answer reaches the client only on resume()", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sized = await send(proxy, agent, "POST", "/sized", { body: [Buffer.alloc(1000, 1)] });
      const chunked = await send(proxy, agent, "POST", "/chunky-upload", { body: [Buffer.alloc(70_000, 2), Buffer.alloc(5, 3)], chunked: true });
      const head = await send(proxy, agent, "HEAD", "/head");
      assert.deepEqual([sized.body, chunked.body, head.body], ["answer for /sized", "answer for /chunky-upload", ""]);

      proxy.stallNext({ match: (line) => line.startsWith("GET /held ") });
      let heldAnswer: ClientAnswer | undefined;
      const held = send(proxy, agent, "GET", "/held").then((answer) => (heldAnswer = answer));
      const [record] = await proxy.waitForStalled(1);
      assert.deepEqual(record, { requestLine: "GET /held HTTP/1.1", forwarded: true, upstreamStatus: 200 });
      assert.deepEqual(upstream.seen.map((seen) => seen.line), ["POST /sized", "POST /chunky-upload", "HEAD /head", "GET /held"]);
      assert.deepEqual(upstream.seen.map((seen) => seen.bodyBytes), [1000, 70_005, 0, 0]);
      // A whole exchange on another connection has had every chance to overtake a leaked answer.
      await send(proxy, new Agent(), "GET", "/other");
      assert.equal(heldAnswer, undefined, "no byte of the held answer reached the client");

      assert.equal(proxy.resume(), 1);
      const released = await held;
      assert.equal(released.body, "answer for /held");
      const after = await send(proxy, agent, "GET", "/chunky-after");
      assert.equal(after.body, "answer for /chunky-after");
      const ports = new Set([sized, chunked, head, released, after].map((answer) => answer.clientPort));
      assert.equal(ports.size, 1, "all five exchanges shared one keep-alive connection to the proxy");
      assert.deepEqual(proxy.requestLines.slice(-3), ["GET /held HTTP/1.1", "GET /other HTTP/1.1", "GET /chunky-after HTTP/1.1"]);
    } finally {
      agent.destroy();
    }
  });

  test("forward: false holds the request itself: the server sees it only after resume()", async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      const before = proxy.stalled.length;
      proxy.stallNext({ match: (line) => line.includes("/not-yet"), forward: false });
      const pending = send(proxy, agent, "PUT", "/not-yet", { body: [Buffer.alloc(4096, 7)] });
      const stalled = await proxy.waitForStalled(before + 1);
      assert.deepEqual(stalled[before], { requestLine: "PUT /not-yet HTTP/1.1", forwarded: false });
      await send(proxy, new Agent(), "GET", "/meanwhile");
      assert.equal(upstream.seen.some((seen) => seen.line === "PUT /not-yet"), false);
      assert.equal(proxy.resume(), 1);
      assert.equal((await pending).body, "answer for /not-yet");
      assert.equal(upstream.seen.find((seen) => seen.line === "PUT /not-yet")?.bodyBytes, 4096);
    } finally {
      agent.destroy();
    }
  });

  test("count holds that many matching requests; non-matching ones pass; dropStalled() resets the held connections", async () => {
    proxy.stallNext({ match: (line) => line.includes("/twice"), count: 2 });
    const before = proxy.stalled.length;
    const outcomes = [1, 2].map(() => send(proxy, new Agent(), "GET", "/twice").then(() => "answered", () => "reset"));
    assert.equal((await send(proxy, new Agent(), "GET", "/free")).body, "answer for /free");
    await proxy.waitForStalled(before + 2);
    assert.equal(proxy.dropStalled(), 2);
    assert.deepEqual(await Promise.all(outcomes), ["reset", "reset"]);
    assert.equal((await send(proxy, new Agent(), "GET", "/twice")).body, "answer for /twice", "the rule is used up");
    assert.throws(() => proxy.stallNext({ count: 0 }), /count/);
  });

  test("close() resolves while an answer is held, and the held client sees its connection end", async () => {
    const own = await startStallProxy({ port: upstream.port });
    own.stallNext();
    const outcome = send(own, new Agent(), "GET", "/closing").then(() => "answered", () => "reset");
    await own.waitForStalled(1);
    await own.close();
    assert.equal(await outcome, "reset");
  });
});

describe("stall proxy: Azurite blob and table requests held", () => {
  const suite = azuriteForSuite();

  test("a blob PUT held after reaching Azurite: the blob exists, the SDK call has no answer until resume()", async () => {
    const proxy = suite.closeAfter(await startStallProxy({ port: suite.instance.blobPort }));
    const connectionString = connectionStringThrough(suite.instance, { blob: proxy });
    assert.match(connectionString, new RegExp(`BlobEndpoint=http://127\\.0\\.0\\.1:${proxy.port}/devstoreaccount1;`));
    const containerName = uniqueName("stall");
    const viaProxy = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(containerName);
    const direct = BlobServiceClient.fromConnectionString(suite.instance.connectionString).getContainerClient(containerName);
    await viaProxy.create();

    proxy.stallNext({ match: (line) => line.startsWith("PUT ") && line.includes("/held.bin") });
    let finished = false;
    const upload = viaProxy.getBlockBlobClient("held.bin").uploadData(Buffer.from("held bytes")).then((response) => {
      finished = true;
      return response;
    });
    const [record] = await proxy.waitForStalled(1);
    assert.equal(record.upstreamStatus, 201);
    assert.equal((await direct.getBlockBlobClient("held.bin").downloadToBuffer()).toString(), "held bytes");
    assert.equal(finished, false);
    proxy.resume();
    assert.ok((await upload).etag);
    assert.equal(await viaProxy.getBlockBlobClient("held.bin").exists(), true, "the client goes on being served through the proxy");
  });

  test("a blob PUT held before Azurite: nothing is written; the aborted SDK call fails", async () => {
    const proxy = suite.closeAfter(await startStallProxy({ port: suite.instance.blobPort }));
    const containerName = uniqueName("stall");
    const viaProxy = BlobServiceClient.fromConnectionString(connectionStringThrough(suite.instance, { blob: proxy })).getContainerClient(containerName);
    const direct = BlobServiceClient.fromConnectionString(suite.instance.connectionString).getContainerClient(containerName);
    await viaProxy.create();
    proxy.stallNext({ match: (line) => line.includes("/never.bin"), forward: false });
    const controller = new AbortController();
    const upload = viaProxy.getBlockBlobClient("never.bin").uploadData(Buffer.from("never"), { abortSignal: controller.signal });
    await proxy.waitForStalled(1);
    assert.equal(await direct.getBlockBlobClient("never.bin").exists(), false);
    controller.abort();
    await assert.rejects(upload, (error: Error) => error.name === "AbortError");
  });

  test("a table insert held after reaching Azurite: the entity exists before the client hears back", async () => {
    const proxy = suite.closeAfter(await startStallProxy({ port: suite.instance.tablePort }));
    const tableName = uniqueName("stall");
    const viaProxy = TableClient.fromConnectionString(connectionStringThrough(suite.instance, { table: proxy }), tableName, { allowInsecureConnection: true });
    const direct = TableClient.fromConnectionString(suite.instance.connectionString, tableName, { allowInsecureConnection: true });
    await viaProxy.createTable();
    proxy.stallNext({ match: (line) => line.startsWith(`POST /devstoreaccount1/${tableName}`) });
    let finished = false;
    const insert = viaProxy.createEntity({ partitionKey: "p", rowKey: "r", note: "held" }).then(() => (finished = true));
    const [record] = await proxy.waitForStalled(1);
    assert.equal(record.upstreamStatus, 204);
    assert.equal((await direct.getEntity<{ note: string }>("p", "r")).note, "held");
    assert.equal(finished, false);
    proxy.resume();
    await insert;
    assert.equal(finished, true);
  });
});
