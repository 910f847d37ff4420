import type { Attributes, Counter, Gauge, Meter } from "@opentelemetry/api";
import { SeverityNumber, type Logger } from "@opentelemetry/api-logs";
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from "@opentelemetry/sdk-logs";
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { FileOutcome } from "../transfer/transferTypes";
import { isCounter, outcomeAttributes, outcomeCounters, type OutcomeContext, type Telemetry } from "./telemetry";
import { METRICS, TRANSFER_OUTCOME_EVENT, type MetricName } from "./telemetryNames";

/** The log-record attribute that makes the Azure Monitor exporter write a customEvents row of that name. */
export const CUSTOM_EVENT_NAME_ATTRIBUTE = "microsoft.custom_event.name";

const INSTRUMENTATION_SCOPE = "onedrive-connector";
/** Periodic export is a backstop; each invocation flushes what it recorded. */
const METRIC_EXPORT_INTERVAL_MS = 60_000;
/** A flush that hangs must not hold the invocation (the host bills and waits for it). */
const FLUSH_TIMEOUT_MS = 10_000;

export interface OpenTelemetryExporters {
  logs: LogRecordExporter;
  metrics: PushMetricExporter;
  /** cloud.role_name in Application Insights. */
  serviceName?: string;
}

/**
 * Telemetry through the OpenTelemetry SDK's log and metric pipelines, no tracer: nothing here is sampled (sampling
 * in OpenTelemetry applies to spans, and to logs only through their span).
 */
export class OpenTelemetryTelemetry implements Telemetry {
  private readonly loggerProvider: LoggerProvider;
  private readonly meterProvider: MeterProvider;
  private readonly logger: Logger;
  private readonly meter: Meter;
  private readonly counters = new Map<MetricName, Counter>();
  private readonly gauges = new Map<MetricName, Gauge>();

  constructor(exporters: OpenTelemetryExporters) {
    const resource = resourceFromAttributes({ "service.name": exporters.serviceName ?? "onedrive-connector" });
    this.loggerProvider = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter: exporters.logs })] });
    this.meterProvider = new MeterProvider({
      resource,
      readers: [new PeriodicExportingMetricReader({ exporter: exporters.metrics, exportIntervalMillis: METRIC_EXPORT_INTERVAL_MS })],
    });
    this.logger = this.loggerProvider.getLogger(INSTRUMENTATION_SCOPE);
    this.meter = this.meterProvider.getMeter(INSTRUMENTATION_SCOPE);
  }

  recordTransferOutcome(outcome: FileOutcome, context: OutcomeContext): void {
    const failed = outcome.status === "failed";
    this.logger.emit({
      severityNumber: failed ? SeverityNumber.ERROR : SeverityNumber.INFO,
      severityText: failed ? "Error" : "Information",
      body: TRANSFER_OUTCOME_EVENT,
      attributes: { [CUSTOM_EVENT_NAME_ATTRIBUTE]: TRANSFER_OUTCOME_EVENT, ...outcomeAttributes(outcome, context) },
    });
    for (const counter of outcomeCounters(outcome)) this.recordMetric(counter.name, counter.value, counter.dimensions);
  }

  recordMetric(name: MetricName, value: number, dimensions: Readonly<Record<string, string>> = {}): void {
    if (!Number.isFinite(value)) return;
    const attributes: Attributes = { ...dimensions };
    if (isCounter(name)) {
      if (value < 0) return;
      this.counterFor(name).add(value, attributes);
    } else {
      this.gaugeFor(name).record(value, attributes);
    }
  }

  async flush(): Promise<void> {
    await withTimeout(Promise.all([this.loggerProvider.forceFlush(), this.meterProvider.forceFlush()]), FLUSH_TIMEOUT_MS).catch(() => undefined);
  }

  private counterFor(name: MetricName): Counter {
    let counter = this.counters.get(name);
    if (!counter) {
      counter = this.meter.createCounter(name, { unit: unitOf(name) });
      this.counters.set(name, counter);
    }
    return counter;
  }

  private gaugeFor(name: MetricName): Gauge {
    let gauge = this.gauges.get(name);
    if (!gauge) {
      gauge = this.meter.createGauge(name, { unit: unitOf(name) });
      this.gauges.set(name, gauge);
    }
    return gauge;
  }
}

function unitOf(name: MetricName): string {
  switch (name) {
    case METRICS.bytesTransferred:
      return "By";
    case METRICS.throttleWaitSeconds:
    case METRICS.oldestQueuedMessageAgeSeconds:
      return "s";
    default:
      return "1";
  }
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`telemetry flush took longer than ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
