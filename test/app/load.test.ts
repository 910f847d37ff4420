import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pLimit from "p-limit";
import { createTransferWorker } from "../../functions/app/transferWorker";
import { createSweepTimer } from "../../functions/app/sweepTimer";
import { startAzurite, type AzuriteInstance } from "../support/azurite";
import { randomContent } from "../support/transferHarness";
import { createAppWorld, hostEntry, invocation, type AppWorld } from "./support/appHarness";

const FILES = Number(process.env.LOAD_TEST_FILES ?? 2_000);
const WORKERS = 3;
/** The most one receive may take (the Queue service's limit). */
const BATCH = 32;
/** A guard against a hang or a quadratic slowdown, not a speed assertion. */
const GUARD_MS = 4 * 60 * 1000;

type ReceivedItem = Awaited<ReturnType<AppWorld["queueClient"]["receiveMessages"]>>["receivedMessageItems"][number];

describe(`load: ${FILES.toLocaleString("en")} small blobs through the queue with ${WORKERS} workers`, () => {
  let azurite: AzuriteInstance;
  let world: AppWorld;

  before(async () => {
    azurite = await startAzurite();
    world = await createAppWorld(azurite, { SOURCE_PREFIX: "load/", DEST_FOLDER: "Loaded" });
  });
  after(async () => {
    await world?.fixture.close();
    await azurite?.stop();
  });

  test("every file lands exactly once, nothing is left pending in the ledger or the queue", { timeout: GUARD_MS + 60_000 }, async () => {
    const contents = new Map<string, Buffer>();
    const uploadLimit = pLimit(32);
    await Promise.all(
      Array.from({ length: FILES }, (_unused, index) => {
        const name = `load/group-${index % 25}/file-${index}.bin`;
        const content = randomContent(64 + (index % 97) * 13);
        contents.set(name, content);
        return uploadLimit(() => world.fixture.putBlob(name, content));
      }),
    );

    const started = performance.now();
    const sweep = await createSweepTimer({ engineFor: (log) => world.fixture.engine({ log }), queue: world.queue })(
      { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: "" } },
      invocation(world.lines, {}, "sweep"),
    );
    const sweepMs = performance.now() - started;
    assert.equal(sweep.queued.length, FILES);

    // Each loop plays one host instance: receive a batch, run its messages at once, delete each that succeeded.
    const failures: string[] = [];
    const processing = new Set<Promise<void>>();
    const handled = { count: 0 };
    async function runBatch(handler: ReturnType<typeof createTransferWorker>, items: ReceivedItem[]): Promise<void> {
      await Promise.all(
        items.map(async (item) => {
          try {
            await handler(hostEntry(item.messageText), invocation(world.lines, { id: item.messageId, dequeueCount: item.dequeueCount }));
            await world.queueClient.deleteMessage(item.messageId, item.popReceipt);
            handled.count += 1;
          } catch (error) {
            failures.push(`${item.messageText}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }),
      );
    }
    async function workerLoop(): Promise<void> {
      const handler = createTransferWorker(world.workerDependencies());
      for (;;) {
        const batch = await world.queueClient.receiveMessages({ numberOfMessages: BATCH, visibilityTimeout: 600 });
        if (batch.receivedMessageItems.length > 0) {
          const work = runBatch(handler, batch.receivedMessageItems);
          processing.add(work);
          await work.finally(() => processing.delete(work));
          continue;
        }
        // Empty queue: finished unless another loop is mid-batch (its work could queue a continuation); then
        // wait for that batch, not a timer, and look again.
        if (processing.size === 0) return;
        await Promise.race(processing);
      }
    }
    const transferStarted = performance.now();
    await Promise.all(Array.from({ length: WORKERS }, () => workerLoop()));
    const transferMs = performance.now() - transferStarted;
    const totalMs = performance.now() - started;

    assert.deepEqual(failures, []);
    const emulator = world.fixture.emulator;
    // Small files travel in JSON batches: each file's bytes are one content PUT inside a batch, never two.
    const uploads = emulator.requests.filter((request) => request.url.includes("createUploadSession") || (request.method === "PUT" && request.origin === "graph"));
    const uploadsPerPath = new Map<string, number>();
    for (const request of uploads) uploadsPerPath.set(request.url, (uploadsPerPath.get(request.url) ?? 0) + 1);
    assert.equal(uploads.length, FILES, "one upload per file");
    assert.equal(uploadsPerPath.size, FILES);
    assert.ok(uploads.every((request) => request.batchId !== undefined), "every small file went in a batch");
    for (const [name, content] of contents) {
      const item = emulator.getItem(`Loaded/${name.slice("load/".length)}`);
      assert.ok(item?.content?.equals(content), `${name} in OneDrive with its exact bytes`);
    }
    const rows = await world.fixture.engine().services.ledger.readAll();
    assert.equal(rows.size, FILES);
    assert.deepEqual([...rows.values()].filter((row) => row.status !== "done").map((row) => row.blobName), [], "nothing pending");
    assert.equal((await world.queueClient.peekMessages({ numberOfMessages: 1 })).peekedMessageItems.length, 0, "the queue is empty");
    assert.equal(handled.count, FILES, "one message per file, none repeated");
    assert.ok(totalMs < GUARD_MS, `took ${Math.round(totalMs / 1000)} s, past the ${GUARD_MS / 60_000}-minute guard`);

    console.log(
      `load: ${FILES} files, ${WORKERS} workers × batches of ${BATCH}: sweep queued them in ${(sweepMs / 1000).toFixed(1)} s, ` +
        `transfers took ${(transferMs / 1000).toFixed(1)} s (${(FILES / (transferMs / 1000)).toFixed(1)} files/s), ` +
        `${(totalMs / 1000).toFixed(1)} s end to end on loopback (Node ${process.version})`,
    );
  });
});
