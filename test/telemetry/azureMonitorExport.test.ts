import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseAuthenticationString } from "../../functions/telemetry/azureMonitorTelemetry";
import type { OpenTelemetryTelemetry } from "../../functions/telemetry/openTelemetryTelemetry";
import { noTelemetry } from "../../functions/telemetry/telemetry";
import { telemetryFromSettings } from "../../functions/telemetry/telemetryFromSettings";
import { METRIC_DIMENSIONS, METRICS, OUTCOME_PROPERTIES as P, TRANSFER_OUTCOME_EVENT } from "../../functions/telemetry/telemetryNames";
import { startIngestionEmulator, type IngestionEmulator } from "../emulators/appinsights/ingestionEmulator";

// The exporter's own health telemetry goes to a fixed Microsoft endpoint this machine cannot reach.
process.env.APPLICATIONINSIGHTS_STATSBEAT_DISABLED = "true";

describe("what reaches Application Insights through the Azure Monitor exporter", () => {
  let ingestion: IngestionEmulator;
  before(async () => {
    ingestion = await startIngestionEmulator();
  });
  after(() => ingestion.close());

  test("an outcome record is a customEvents row whose properties are the record's fields; metrics are customMetrics rows", async () => {
    const telemetry = telemetryFromSettings({ APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString }) as OpenTelemetryTelemetry;
    telemetry.recordTransferOutcome(
      { blob: "in/q1.pdf", path: "From Azure/q1.pdf", status: "failed", bytes: 0, fragments: 0, sizeBytes: 42, durationMs: 120, retries: 4, throttleWaits: 1, throttleWaitMs: 30_000, errorCode: "quotaLimitReached", graphRequestId: "req-9" },
      { source: "worker" },
    );
    telemetry.recordMetric(METRICS.relinkNeeded, 1);
    await telemetry.flush();

    const events = ingestion.envelopes.filter((envelope) => envelope.data.baseType === "EventData");
    assert.equal(events.length, 1, JSON.stringify(ingestion.envelopes));
    const event = events[0]!.data.baseData;
    assert.equal(event.name, TRANSFER_OUTCOME_EVENT);
    assert.deepEqual(
      { ...event.properties },
      {
        [P.blob]: "in/q1.pdf", [P.destination]: "From Azure/q1.pdf", [P.outcome]: "failed", [P.source]: "worker", [P.bytesTransferred]: "0",
        [P.fragments]: "0", [P.retries]: "4", [P.throttleWaits]: "1", [P.throttleWaitSeconds]: "30", [P.sizeBytes]: "42", [P.durationMs]: "120",
        [P.errorCode]: "quotaLimitReached", [P.graphRequestId]: "req-9",
      },
      "every field a customDimensions entry, the event name not among them",
    );

    const metrics = ingestion.envelopes
      .filter((envelope) => envelope.data.baseType === "MetricData")
      .flatMap((envelope) => (envelope.data.baseData.metrics as { name: string; value: number }[]).map((metric) => ({ ...metric, properties: envelope.data.baseData.properties ?? {} })));
    assert.deepEqual(metrics.filter((metric) => metric.name === METRICS.relinkNeeded).map((metric) => metric.value), [1]);
    const files = metrics.filter((metric) => metric.name === METRICS.files);
    assert.deepEqual(files.map((metric) => [metric.value, metric.properties[METRIC_DIMENSIONS.outcome]]), [[1, "failed"]]);
    assert.deepEqual(metrics.filter((metric) => metric.name === METRICS.throttleWaitSeconds).map((metric) => metric.value), [30]);
  });

  test("records sent with another component's key are refused by the ingestion endpoint and flushing still returns", async () => {
    const before = ingestion.envelopes.length;
    const otherKey = ingestion.connectionString.replace(/InstrumentationKey=[^;]+/, "InstrumentationKey=00000000-0000-4000-8000-0000000000ff");
    const telemetry = telemetryFromSettings({ APPLICATIONINSIGHTS_CONNECTION_STRING: otherKey }) as OpenTelemetryTelemetry;
    telemetry.recordMetric(METRICS.relinkNeeded, 0);
    await telemetry.flush();
    assert.equal(ingestion.envelopes.length, before);
    assert.ok(ingestion.refusedItems > 0, "the endpoint saw and refused them");
  });

  test("a connection string the exporter refuses turns telemetry off instead of failing every invocation", () => {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
    try {
      assert.equal(telemetryFromSettings({ APPLICATIONINSIGHTS_CONNECTION_STRING: "not a connection string" }), noTelemetry);
    } finally {
      console.warn = warn;
    }
    assert.match(warnings.join("\n"), /Application Insights telemetry is off: .*instrumentation key or connection string/);
  });

  test("APPLICATIONINSIGHTS_AUTHENTICATION_STRING: the managed identity the host would use, or key auth", () => {
    assert.deepEqual(parseAuthenticationString("ClientId=1111-2222;Authorization=AAD"), { clientId: "1111-2222" });
    assert.deepEqual(parseAuthenticationString("Authorization=AAD"), {});
    assert.equal(parseAuthenticationString(undefined), undefined);
    assert.equal(parseAuthenticationString("ClientId=1111"), undefined);
  });
});
