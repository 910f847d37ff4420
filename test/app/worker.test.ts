import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createDefaultHttpClient, type HttpClient } from "@azure/core-rest-pipeline";
import { BlobServiceClient } from "@azure/storage-blob";
import { createServer } from "node:net";
import { createStorageClients } from "../../functions/storage/storageClients";
import { azuriteForSuite } from "../support/azurite";
import { FRAGMENT, randomContent } from "../support/transferHarness";
import { blobCreatedEvent, createAppWorld, type AppWorld } from "./support/appHarness";

describe("transfer worker (queue trigger) against Azurite and the OneDrive emulator", () => {
  const suite = azuriteForSuite();

  async function worldWith(env: Record<string, string> = {}, emulatorOptions = {}): Promise<AppWorld> {
    const world = await createAppWorld(suite.instance, env, emulatorOptions);
    suite.closeAfter(world.fixture);
    return world;
  }

  const accountUrl = (world: AppWorld) => world.fixture.blobService.url.replace(/\/$/, "");
  const uploadPuts = (world: AppWorld) => world.fixture.emulator.requests.filter((request) => request.origin === "upload" && request.method === "PUT");
  const sessionCreates = (world: AppWorld) => world.fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession"));
  const logText = (world: AppWorld) => world.lines.map((line) => `${line.level}: ${line.text}`).join("\n");

  test("BlobCreated events, plain JSON and base64, end with the files in OneDrive (names with space, #, %, unicode)", async () => {
    const world = await worldWith({ SOURCE_PREFIX: "in/", DEST_FOLDER: "Landing" });
    const container = world.fixture.settings.sourceContainer;
    const plainName = "in/#1 report 100% ü.txt";
    const base64Name = "in/sub dir/日本語 ✓.bin";
    const plainContent = Buffer.from("plain event body");
    const base64Content = randomContent(FRAGMENT + 17);
    await world.fixture.putBlob(plainName, plainContent);
    await world.fixture.putBlob(base64Name, base64Content);
    await world.queueClient.sendMessage(JSON.stringify(blobCreatedEvent(accountUrl(world), container, plainName)));
    await world.queueClient.sendMessage(Buffer.from(JSON.stringify(blobCreatedEvent(accountUrl(world), container, base64Name))).toString("base64"));

    const messages = await world.drain();
    assert.equal(messages.length, 2);
    const worker = world.worker();
    for (const message of messages) await world.deliver(worker, message);

    assert.ok(world.fixture.emulator.getItem("Landing/#1 report 100% ü.txt")?.content?.equals(plainContent), logText(world));
    assert.ok(world.fixture.emulator.getItem("Landing/sub dir/日本語 ✓.bin")?.content?.equals(base64Content), logText(world));
    assert.equal((await world.fixture.engine().services.ledger.get(plainName))?.status, "done");
    assert.deepEqual(await world.drain(), [], "nothing re-queued");
  });

  test("events for another container, outside the prefix, or of another type are ignored with a log line", async () => {
    const world = await worldWith({ SOURCE_PREFIX: "in/" });
    const container = world.fixture.settings.sourceContainer;
    await world.fixture.putBlob("elsewhere/x.txt", "outside the prefix");
    const worker = world.worker();
    const events = [
      blobCreatedEvent(accountUrl(world), "othercontainer", "in/y.txt"),
      blobCreatedEvent(accountUrl(world), container, "elsewhere/x.txt"),
      { ...blobCreatedEvent(accountUrl(world), container, "in/z.txt"), eventType: "Microsoft.Storage.BlobDeleted" },
    ];
    for (const event of events) await world.queueClient.sendMessage(JSON.stringify(event));
    for (const message of await world.drain()) await world.deliver(worker, message);
    assert.equal(world.fixture.emulator.requests.length, 0, "no Graph request");
    const text = logText(world);
    assert.match(text, /Ignored BlobCreated for "in\/y\.txt" in container "othercontainer"/);
    assert.match(text, /Ignored "elsewhere\/x\.txt": it is outside SOURCE_PREFIX "in\/"/);
    assert.match(text, /Ignored a Microsoft\.Storage\.BlobDeleted event/);
    assert.equal(await world.fixture.engine().services.ledger.get("elsewhere/x.txt"), undefined, "no ledger row for an ignored event");
  });

  test("two workers handed the same blob at once transfer it once", async () => {
    // The first fragment answers slowly, so the second worker arrives while the first holds the claim.
    const world = await worldWith({ FRAGMENT_SIZE_MB: "1" }, { faults: [{ kind: "slowResponse", target: "uploadPut", delayMs: 1500 }] });
    const content = randomContent(3 * FRAGMENT + 99);
    const etag = await world.fixture.putBlob("shared.bin", content);
    for (let copy = 0; copy < 2; copy += 1) await world.queue.send({ kind: "transfer", blob: "shared.bin", etag, runId: `copy${copy}` });
    const messages = await world.drain();
    assert.equal(messages.length, 2);
    await Promise.all(messages.map((message) => world.deliver(world.worker(), message)));

    assert.ok(world.fixture.emulator.getItem("shared.bin")?.content?.equals(content));
    assert.equal(sessionCreates(world).length, 1, "one upload session");
    assert.equal(uploadPuts(world).reduce((sum, request) => sum + request.bodyLength, 0), content.length, "every byte sent once");
    const text = logText(world);
    assert.equal(text.match(/shared\.bin → shared\.bin: uploaded/g)?.length, 1, text);
    assert.match(text, /another worker holds its claim|shared\.bin → shared\.bin: skipped/);
  });

  test("out of time: the worker checkpoints and queues a continuation, which finishes without re-sending a byte", async () => {
    const world = await worldWith({ FRAGMENT_SIZE_MB: "1" });
    const fragmentSize = world.fixture.settings.fragmentSizeBytes; // FRAGMENT_SIZE_MB=1 rounds down to three 320 KiB units
    const content = randomContent(5 * fragmentSize + 1234);
    await world.fixture.putBlob("long.bin", content);
    // The clock moves ten seconds per fragment OneDrive answers, so a 25-second budget ends after the third.
    let time = Date.now();
    const now = () => time;
    const transport = createDefaultHttpClient();
    const advancing: HttpClient = {
      async sendRequest(request) {
        const response = await transport.sendRequest(request);
        if (request.method === "PUT" && request.url.startsWith(world.fixture.emulator.uploadOrigin)) time += 10_000;
        return response;
      },
    };
    const worker = world.worker({ engine: { now, httpClient: advancing }, now, budgetMs: 25_000 });
    await world.queue.send({ kind: "transfer", blob: "long.bin", runId: "run-long" });

    const [first] = await world.drain();
    await world.deliver(worker, first);
    const ledger = world.fixture.engine().services.ledger;
    const paused = await ledger.get("long.bin");
    assert.equal(paused?.status, "uploading");
    assert.equal(paused?.confirmedBytes, 3 * fragmentSize);
    assert.equal(paused?.claimOwner, undefined, "the claim was released");
    assert.equal(paused?.queuedEtag, paused?.blobEtag, "the continuation is marked as queued");
    assert.equal(world.fixture.emulator.getItem("long.bin"), undefined, "not committed yet");

    const continuation = await world.drain();
    assert.equal(continuation.length, 1);
    assert.deepEqual(JSON.parse(continuation[0].text), { kind: "transfer", blob: "long.bin", etag: paused?.blobEtag, runId: "run-long", continuation: true });
    await world.deliver(worker, continuation[0]);

    assert.ok(world.fixture.emulator.getItem("long.bin")?.content?.equals(content));
    const ranges = uploadPuts(world).map((request) => request.headers["content-range"]);
    const expected = [0, 1, 2, 3, 4, 5].map((index) => {
      const start = index * fragmentSize;
      const end = Math.min(start + fragmentSize, content.length) - 1;
      return `bytes ${start}-${end}/${content.length}`;
    });
    assert.deepEqual(ranges, expected, "each byte range sent exactly once, the continuation starting where OneDrive stood");
    assert.equal(sessionCreates(world).length, 1, "the continuation resumed the same session");
    assert.equal((await ledger.get("long.bin"))?.status, "done");
    assert.deepEqual(await world.drain(), []);
    assert.ok(!logText(world).includes(world.fixture.emulator.uploadOrigin), "no upload URL in any log line");
  });

  test("a temporary failure mid-upload is thrown back for the host to retry, and the redelivery resumes the session", async () => {
    const world = await worldWith({ FRAGMENT_SIZE_MB: "1" });
    const fragmentSize = world.fixture.settings.fragmentSizeBytes;
    const content = randomContent(3 * fragmentSize);
    await world.fixture.putBlob("flaky.bin", content);
    // The second fragment's PUT answers 503 until the engine's retries are spent; then the service recovers.
    let serviceDown = true;
    const secondFragment = (request: { headers: Record<string, string> }) => serviceDown && (request.headers["content-range"] ?? "").startsWith(`bytes ${fragmentSize}-`);
    world.fixture.emulator.addFaults(Array.from({ length: 50 }, () => ({ kind: "throttle" as const, target: "uploadPut" as const, status: 503 as const, match: secondFragment })));
    const worker = world.worker({ engine: { sleep: async () => undefined } });
    await world.queue.send({ kind: "transfer", blob: "flaky.bin" });
    const ledger = world.fixture.engine().services.ledger;

    const [first] = await world.drain();
    const failure = await world.deliver(worker, first).then(() => undefined, (error: unknown) => error);
    assert.ok(failure instanceof Error, "thrown, so the host redelivers the message");
    const kept = await ledger.get("flaky.bin");
    assert.deepEqual([kept?.status, kept?.confirmedBytes], ["uploading", fragmentSize], "the session and its checkpoint are kept");
    assert.match(logText(world), /attempt 1 of 5 failed .*; the host retries it/);

    serviceDown = false;
    await world.deliver(worker, { ...first, dequeueCount: 2 });
    assert.ok(world.fixture.emulator.getItem("flaky.bin")?.content?.equals(content));
    assert.equal(sessionCreates(world).length, 1, "the redelivery resumed the same session");
    const firstFragmentPuts = uploadPuts(world).filter((request) => (request.headers["content-range"] ?? "").startsWith("bytes 0-"));
    assert.equal(firstFragmentPuts.length, 1, "the confirmed fragment was not sent again");
    assert.equal((await ledger.get("flaky.bin"))?.status, "done");
  });

  test("storage down: every attempt throws for the host to retry, and the last one records the poison move in the ledger", async () => {
    const world = await worldWith();
    // A blob endpoint nobody listens on, one try per request: reading the blob fails at once, the ledger still works.
    const deadPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const port = (server.address() as { port: number }).port;
        server.close(() => resolve(port));
      });
    });
    const real = createStorageClients(world.fixture.settings.storage);
    const deadBlobs = new BlobServiceClient(`http://127.0.0.1:${deadPort}/devstoreaccount1`, undefined, { retryOptions: { maxTries: 1 } });
    const worker = world.worker({ engine: { storage: { ...real, blobService: deadBlobs } } });
    await world.queue.send({ kind: "transfer", blob: "unreachable.txt" });
    const ledger = world.fixture.engine().services.ledger;

    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const batch = await world.queueClient.receiveMessages({ numberOfMessages: 1 });
      const [item] = batch.receivedMessageItems;
      assert.equal(item.dequeueCount, attempt);
      const failure = await world
        .deliver(worker, { text: item.messageText, messageId: item.messageId, popReceipt: item.popReceipt, dequeueCount: item.dequeueCount })
        .then(() => undefined, (error: unknown) => error);
      assert.ok(failure instanceof Error, `attempt ${attempt} throws so the host retries`);
      if (attempt < 5) {
        assert.equal((await ledger.get("unreachable.txt"))?.lastError, undefined, "nothing recorded before the last attempt");
        // What the host does after a failure (visibilityTimeout, here zero): the message becomes visible again.
        await world.queueClient.updateMessage(item.messageId, item.popReceipt, item.messageText, 0);
      }
    }
    const row = await ledger.get("unreachable.txt");
    assert.equal(row?.status, "failed");
    assert.match(row?.lastError ?? "", /^moved to the poison queue after 5 attempts: .*ECONNREFUSED/);
    assert.deepEqual([row?.lastErrorCause, row?.lastErrorCode], ["poisoned", "ECONNREFUSED"], "the cause is the poison move, the code the last error's");
    assert.match(logText(world), /attempt 4 of 5 failed .*; the host retries it/);
  });

  test("a malformed message is dropped with a log line naming the problem, not thrown back for retries", async () => {
    const world = await worldWith();
    const worker = world.worker();
    await world.queueClient.sendMessage("this is not a message");
    await world.queueClient.sendMessage(JSON.stringify({ kind: "transfer", blob: 17 }));
    await world.queueClient.sendMessage(JSON.stringify({ kind: "upload", blob: "x" }));
    for (const message of await world.drain()) await world.deliver(worker, message);
    const errors = world.lines.filter((line) => line.level === "error").map((line) => line.text);
    assert.equal(errors.length, 3);
    assert.match(errors[0], /^Dropped queue message .+: the message is neither JSON nor base64-encoded JSON/);
    assert.match(errors[1], /"blob" must be a non-empty string\. It is not retried\./);
    assert.match(errors[2], /unknown message kind "upload"/);
    assert.equal(world.fixture.emulator.requests.length, 0);
  });
});
