import { InMemoryLogRecordExporter, type ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { AggregationTemporality, InMemoryMetricExporter, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { OpenTelemetryTelemetry } from "../../functions/telemetry/openTelemetryTelemetry";

/** The real SDK pipelines with in-memory exporters, as the app builds them with Azure Monitor's. */
export interface CapturedTelemetry {
  telemetry: OpenTelemetryTelemetry;
  logs: InMemoryLogRecordExporter;
  metrics: InMemoryMetricExporter;
}

export function capturedTelemetry(): CapturedTelemetry {
  const logs = new InMemoryLogRecordExporter();
  // Delta, as the Azure Monitor exporter asks for counters: each flush carries what was added since the last.
  const metrics = new InMemoryMetricExporter(AggregationTemporality.DELTA);
  return { telemetry: new OpenTelemetryTelemetry({ logs, metrics }), logs, metrics };
}

export function outcomeRecords(captured: CapturedTelemetry): ReadableLogRecord[] {
  return captured.logs.getFinishedLogRecords();
}

export interface MetricPoint {
  name: string;
  value: number;
  attributes: Record<string, unknown>;
}

/** Every exported data point, flattened; a counter's value is its sum, a gauge's its last reading. */
export function metricPoints(captured: CapturedTelemetry): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const resourceMetrics of captured.metrics.getMetrics() as ResourceMetrics[]) {
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        for (const point of metric.dataPoints) {
          if (typeof point.value === "number") points.push({ name: metric.descriptor.name, value: point.value, attributes: { ...point.attributes } });
        }
      }
    }
  }
  return points;
}

export function sumOf(points: MetricPoint[], name: string, attributes: Record<string, unknown> = {}): number {
  return points
    .filter((point) => point.name === name && Object.entries(attributes).every(([key, value]) => point.attributes[key] === value))
    .reduce((sum, point) => sum + point.value, 0);
}
