import type { FileOutcome } from "../transfer/transferTypes";
import { COUNTER_METRICS, METRIC_DIMENSIONS, METRICS, OUTCOME_PROPERTIES, type MetricName } from "./telemetryNames";

/** Where an outcome record came from: the queue worker is the only writer today (the CLI prints its counts instead). */
export type OutcomeSource = "worker";

export interface OutcomeContext {
  source: OutcomeSource;
  /** The message was a continuation queued by an earlier invocation of the same file. */
  continuation?: boolean;
  invocationId?: string;
}

/**
 * What the app tells Application Insights. Outcome records are log records (customEvents), never sampled, and
 * flushed at the end of each invocation, since a Flex instance can be frozen or removed right after it.
 */
export interface Telemetry {
  /** One record per file per invocation, plus the files/bytes/throttle counters it implies. */
  recordTransferOutcome(outcome: FileOutcome, context: OutcomeContext): void;
  /** A counter adds `value`; a gauge (every other metric) takes it as the current reading. */
  recordMetric(name: MetricName, value: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Sends what is buffered; never throws (telemetry must not fail a transfer). */
  flush(): Promise<void>;
}

export const noTelemetry: Telemetry = {
  recordTransferOutcome: () => undefined,
  recordMetric: () => undefined,
  flush: async () => undefined,
};

export type OutcomeAttributes = Record<string, string | number>;

const MIB = 1024 * 1024;

/**
 * The outcome record's properties. MiB/s is left out where it would mislead: a file nothing was sent for, and a
 * continuation (its duration covers only the last part of the upload, its bytes the whole file).
 */
export function outcomeAttributes(outcome: FileOutcome, context: OutcomeContext): OutcomeAttributes {
  const names = OUTCOME_PROPERTIES;
  const sent = outcome.status === "uploaded" ? outcome.bytes : 0;
  const attributes: OutcomeAttributes = {
    [names.blob]: outcome.blob,
    [names.destination]: outcome.path,
    [names.outcome]: outcome.status,
    [names.source]: context.source,
    [names.bytesTransferred]: sent,
    [names.fragments]: outcome.fragments,
    [names.retries]: outcome.retries ?? 0,
    [names.throttleWaits]: outcome.throttleWaits ?? 0,
    [names.throttleWaitSeconds]: roundTo((outcome.throttleWaitMs ?? 0) / 1000, 3),
  };
  if (outcome.sizeBytes !== undefined) attributes[names.sizeBytes] = outcome.sizeBytes;
  if (outcome.durationMs !== undefined) {
    attributes[names.durationMs] = outcome.durationMs;
    if (sent > 0 && outcome.durationMs > 0 && !context.continuation) attributes[names.mibPerSecond] = roundTo(sent / MIB / (outcome.durationMs / 1000), 3);
  }
  if (outcome.errorCode !== undefined) attributes[names.errorCode] = outcome.errorCode;
  if (outcome.graphRequestId !== undefined) attributes[names.graphRequestId] = outcome.graphRequestId;
  if (context.invocationId) attributes[names.invocationId] = context.invocationId;
  return attributes;
}

/** The counters one outcome adds to. */
export function outcomeCounters(outcome: FileOutcome): { name: MetricName; value: number; dimensions?: Record<string, string> }[] {
  const counters: { name: MetricName; value: number; dimensions?: Record<string, string> }[] = [
    { name: METRICS.files, value: 1, dimensions: { [METRIC_DIMENSIONS.outcome]: outcome.status } },
  ];
  if (outcome.status === "uploaded" && outcome.bytes > 0) counters.push({ name: METRICS.bytesTransferred, value: outcome.bytes });
  if ((outcome.throttleWaitMs ?? 0) > 0) counters.push({ name: METRICS.throttleWaitSeconds, value: (outcome.throttleWaitMs ?? 0) / 1000 });
  return counters;
}

export function isCounter(name: MetricName): boolean {
  return COUNTER_METRICS.has(name);
}

function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
