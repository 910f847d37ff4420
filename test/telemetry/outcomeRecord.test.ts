import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CUSTOM_EVENT_NAME_ATTRIBUTE } from "../../functions/telemetry/openTelemetryTelemetry";
import { noTelemetry } from "../../functions/telemetry/telemetry";
import { telemetryFromSettings } from "../../functions/telemetry/telemetryFromSettings";
import { METRIC_DIMENSIONS, METRICS, OUTCOME_PROPERTIES, TRANSFER_OUTCOME_EVENT } from "../../functions/telemetry/telemetryNames";
import type { FileOutcome } from "../../functions/transfer/transferTypes";
import { capturedTelemetry, metricPoints, outcomeRecords, sumOf } from "./support";

const MIB = 1024 * 1024;

const uploaded: FileOutcome = {
  blob: "in/report.pdf", path: "From Azure/report.pdf", status: "uploaded", bytes: 8 * MIB, fragments: 2,
  sizeBytes: 8 * MIB, durationMs: 2_000, retries: 3, throttleWaits: 2, throttleWaitMs: 4_500,
};
const failed: FileOutcome = {
  blob: "in/big.iso", path: "From Azure/big.iso", status: "failed", bytes: 0, fragments: 0, sizeBytes: 5 * MIB, durationMs: 300,
  retries: 0, throttleWaits: 0, throttleWaitMs: 0, error: "Graph PUT … 507 quotaLimitReached", errorCode: "quotaLimitReached", graphRequestId: "req-1",
};

describe("the per-file outcome record", () => {
  test("is one customEvents record per file, every field a property, failures at error severity", async () => {
    const captured = capturedTelemetry();
    captured.telemetry.recordTransferOutcome(uploaded, { source: "worker" });
    captured.telemetry.recordTransferOutcome(failed, { source: "worker" });
    await captured.telemetry.flush();

    const [first, second] = outcomeRecords(captured);
    assert.equal(outcomeRecords(captured).length, 2);
    assert.equal(first!.attributes[CUSTOM_EVENT_NAME_ATTRIBUTE], TRANSFER_OUTCOME_EVENT);
    const p = OUTCOME_PROPERTIES;
    assert.deepEqual(
      { ...first!.attributes },
      {
        [CUSTOM_EVENT_NAME_ATTRIBUTE]: TRANSFER_OUTCOME_EVENT,
        [p.blob]: "in/report.pdf", [p.destination]: "From Azure/report.pdf", [p.outcome]: "uploaded", [p.source]: "worker",
        [p.sizeBytes]: 8 * MIB, [p.bytesTransferred]: 8 * MIB, [p.durationMs]: 2_000, [p.mibPerSecond]: 4, [p.fragments]: 2,
        [p.retries]: 3, [p.throttleWaits]: 2, [p.throttleWaitSeconds]: 4.5,
      },
    );
    assert.equal(first!.severityText, "Information");
    assert.equal(second!.severityText, "Error");
    assert.equal(second!.attributes[p.errorCode], "quotaLimitReached");
    assert.equal(second!.attributes[p.graphRequestId], "req-1");
    assert.equal(second!.attributes[p.bytesTransferred], 0);
    assert.equal(second!.attributes[p.mibPerSecond], undefined, "no rate for a file nothing was sent for");
    assert.ok(!JSON.stringify(second!.attributes).includes("507 quotaLimitReached"), "the error text (which may name paths) stays in the logs");

    const points = metricPoints(captured);
    assert.equal(sumOf(points, METRICS.files, { [METRIC_DIMENSIONS.outcome]: "uploaded" }), 1);
    assert.equal(sumOf(points, METRICS.files, { [METRIC_DIMENSIONS.outcome]: "failed" }), 1);
    assert.equal(sumOf(points, METRICS.bytesTransferred), 8 * MIB);
    assert.equal(sumOf(points, METRICS.throttleWaitSeconds), 4.5);
  });

  test("a continuation's record has no MiB/s: its duration covers only the last part of the file", async () => {
    const captured = capturedTelemetry();
    captured.telemetry.recordTransferOutcome(uploaded, { source: "worker", continuation: true });
    await captured.telemetry.flush();
    const [record] = outcomeRecords(captured);
    assert.equal(record!.attributes[OUTCOME_PROPERTIES.mibPerSecond], undefined);
    assert.equal(record!.attributes[OUTCOME_PROPERTIES.bytesTransferred], 8 * MIB);
  });

  test("gauges keep the last reading; counters reject what cannot be a count", async () => {
    const captured = capturedTelemetry();
    captured.telemetry.recordMetric(METRICS.relinkNeeded, 1);
    captured.telemetry.recordMetric(METRICS.relinkNeeded, 0);
    captured.telemetry.recordMetric(METRICS.bytesTransferred, -5);
    captured.telemetry.recordMetric(METRICS.queueDepth, Number.NaN);
    await captured.telemetry.flush();
    const points = metricPoints(captured);
    assert.deepEqual(points.filter((point) => point.name === METRICS.relinkNeeded).map((point) => point.value), [0]);
    assert.equal(points.some((point) => point.name === METRICS.bytesTransferred || point.name === METRICS.queueDepth), false);
  });

  test("without a connection string nothing is built and the SDK is not loaded", () => {
    const loadedBefore = Object.keys(require.cache).filter((path) => path.includes("monitor-opentelemetry-exporter")).length;
    assert.equal(telemetryFromSettings({}), noTelemetry);
    assert.equal(telemetryFromSettings({ APPLICATIONINSIGHTS_CONNECTION_STRING: "  " }), noTelemetry);
    assert.equal(Object.keys(require.cache).filter((path) => path.includes("monitor-opentelemetry-exporter")).length, loadedBefore);
    assert.equal(loadedBefore, 0);
  });
});
