import assert from "node:assert/strict";
import { QueueServiceClient } from "@azure/storage-queue";
import { describe, test } from "node:test";
import { createSweepTimer } from "../../functions/app/sweepTimer";
import { TransferQueue } from "../../functions/app/transferQueue";
import { createTransferWorker } from "../../functions/app/transferWorker";
import { METRIC_DIMENSIONS, METRICS, OUTCOME_PROPERTIES as P } from "../../functions/telemetry/telemetryNames";
import { azuriteForSuite } from "../support/azurite";
import { FRAGMENT, randomContent } from "../support/transferHarness";
import { createAppWorld, invocation, type AppWorld } from "../app/support/appHarness";
import { capturedTelemetry, metricPoints, outcomeRecords, sumOf } from "./support";

const timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };

describe("telemetry from the function app, against Azurite and the OneDrive emulator", () => {
  const suite = azuriteForSuite();

  async function worldWith(env: Record<string, string> = {}, emulatorOptions = {}): Promise<AppWorld> {
    const world = await createAppWorld(suite.instance, env, emulatorOptions);
    suite.closeAfter(world.fixture);
    return world;
  }

  test("a file that was throttled and retried reports both, with its size, destination, fragments and rate", async () => {
    const world = await worldWith({ FRAGMENT_SIZE_MB: "1", DEST_FOLDER: "Landing" }, {
      faults: [
        { kind: "throttle", target: "uploadPut", status: 429, retryAfter: "2" },
        { kind: "throttle", target: "uploadPut", status: 500, skip: 1 },
      ],
    });
    const size = 2 * 3 * FRAGMENT + 99;
    await world.fixture.putBlob("in/big.bin", randomContent(size));
    await world.queue.send({ kind: "transfer", blob: "in/big.bin" });
    const captured = capturedTelemetry();
    // A clock that the engine's waits move, as real waits would: a throttle window is over once it was waited out.
    let clock = Date.now();
    const sleeps: number[] = [];
    const engine = { now: () => clock, sleep: async (ms: number) => void (sleeps.push(ms), (clock += ms)) };
    const worker = createTransferWorker({ ...world.workerDependencies({ engine, now: () => clock }), telemetry: captured.telemetry });
    for (const message of await world.drain()) await world.deliver(worker, message);

    // The worker flushed before returning: the records are exported without another flush here.
    const records = outcomeRecords(captured);
    assert.equal(records.length, 1, JSON.stringify(world.lines));
    const record = records[0]!.attributes;
    assert.equal(record[P.outcome], "uploaded");
    assert.equal(record[P.source], "worker");
    assert.equal(typeof record[P.invocationId], "string", "joins the host's traces of the same invocation");
    assert.equal(record[P.blob], "in/big.bin");
    assert.equal(record[P.destination], "Landing/in/big.bin");
    assert.equal(record[P.sizeBytes], size);
    assert.equal(record[P.bytesTransferred], size);
    assert.ok((record[P.fragments] as number) >= 3, `fragments ${record[P.fragments]}`);
    assert.equal(record[P.retries], 2, "one retry after the 429, one after the 500");
    assert.equal(record[P.throttleWaits], 1, "the 429's Retry-After was waited out once");
    assert.equal(record[P.throttleWaitSeconds], 2);
    assert.ok(typeof record[P.durationMs] === "number" && typeof record[P.mibPerSecond] === "number");
    assert.deepEqual(sleeps.filter((ms) => ms >= 1_000), [2_000], "the recorded wait is the one the engine made");

    const points = metricPoints(captured);
    assert.equal(sumOf(points, METRICS.files, { [METRIC_DIMENSIONS.outcome]: "uploaded" }), 1);
    assert.equal(sumOf(points, METRICS.bytesTransferred), size);
    assert.equal(sumOf(points, METRICS.throttleWaitSeconds), 2);
  });

  test("a file OneDrive refuses reports failed with Graph's error code and request id", async () => {
    const world = await worldWith({ DEST_FOLDER: "Landing" }, { quotaBytes: 1_000 });
    await world.fixture.putBlob("too-big.bin", randomContent(FRAGMENT));
    await world.queue.send({ kind: "transfer", blob: "too-big.bin" });
    const captured = capturedTelemetry();
    const worker = createTransferWorker({ ...world.workerDependencies(), telemetry: captured.telemetry });
    for (const message of await world.drain()) await world.deliver(worker, message);

    const [record] = outcomeRecords(captured).map((entry) => entry.attributes);
    assert.equal(record?.[P.outcome], "failed", JSON.stringify(world.lines));
    assert.equal(record?.[P.errorCode], "quotaLimitReached");
    assert.match(String(record?.[P.graphRequestId]), /^[0-9a-f-]{36}$/);
    assert.equal(sumOf(metricPoints(captured), METRICS.files, { [METRIC_DIMENSIONS.outcome]: "failed" }), 1);
  });

  test("the sweep timer reports pending blobs, queue depth, the oldest message's age, the poison count and the link", async () => {
    const world = await worldWith();
    await world.fixture.putBlob("a.txt", "a");
    await world.fixture.putBlob("b.txt", "b");
    const poisonClient = QueueServiceClient.fromConnectionString(suite.instance.connectionString).getQueueClient(`${world.queueClient.name}-poison`);
    await poisonClient.create();
    await poisonClient.sendMessage(JSON.stringify({ kind: "transfer", blob: "gone.txt" }));
    const queue = new TransferQueue(world.queueClient, poisonClient);
    const captured = capturedTelemetry();
    // The sweep runs an hour after the messages it queues were put there, as a late reading would see them.
    const anHourOn = () => Date.now() + 3_600_000;
    await createSweepTimer({
      engineFor: (log) => world.fixture.engine({ log }),
      queue,
      now: anHourOn,
      telemetry: captured.telemetry,
      linkState: async () => ({ linked: false, relinkNeeded: true, reason: "the refresh token expired" }),
    })(timer, invocation(world.lines, {}, "sweep"));

    const points = metricPoints(captured);
    const last = (name: string) => points.filter((point) => point.name === name).at(-1)?.value;
    assert.equal(last(METRICS.pendingBlobs), 2);
    assert.equal(last(METRICS.queueDepth), 2);
    assert.equal(last(METRICS.poisonQueueDepth), 1);
    assert.equal(last(METRICS.relinkNeeded), 1);
    const age = last(METRICS.oldestQueuedMessageAgeSeconds) ?? -1;
    assert.ok(age >= 3_590 && age <= 3_700, `age ${age}`);
  });
});
