/**
 * The names the function app writes to Application Insights. The workbook's and the alerts' queries
 * (infra/workbook/*.json, infra/modules/alerts.bicep) read these and only these: a test in test/infra compares every
 * name a query reads with this file.
 */

/** One customEvents row per file per invocation: its outcome. */
export const TRANSFER_OUTCOME_EVENT = "FileTransferOutcome";

/** The outcome record's customDimensions. Numbers arrive as strings there (KQL: todouble/tolong). */
export const OUTCOME_PROPERTIES = {
  blob: "Blob",
  sizeBytes: "SizeBytes",
  destination: "Destination",
  bytesTransferred: "BytesTransferred",
  durationMs: "DurationMs",
  mibPerSecond: "MiBPerSecond",
  fragments: "Fragments",
  retries: "Retries",
  throttleWaits: "ThrottleWaits",
  throttleWaitSeconds: "ThrottleWaitSeconds",
  outcome: "Outcome",
  errorCode: "ErrorCode",
  graphRequestId: "GraphRequestId",
  /** Who produced the record: "worker" (the queue worker). */
  source: "Source",
  /** The Functions invocation, as the host's own traces carry it (customDimensions.InvocationId). */
  invocationId: "InvocationId",
} as const;

/** customMetrics names (the `name` column). */
export const METRICS = {
  /** Counter: bytes OneDrive confirmed for files that finished uploaded. */
  bytesTransferred: "TransferredBytes",
  /** Counter, one per file outcome, dimension Outcome. */
  files: "TransferredFiles",
  /** Counter: seconds spent waiting for throttling. */
  throttleWaitSeconds: "ThrottleWaitSeconds",
  /** Gauge, written by each sweep: age of the oldest message on the transfer queue (0 when empty). */
  oldestQueuedMessageAgeSeconds: "OldestQueuedMessageAgeSeconds",
  /** Gauge, written by each sweep: approximate messages on the transfer queue. */
  queueDepth: "TransferQueueDepth",
  /** Gauge, written by each sweep: approximate messages on the transfer queue's poison queue. */
  poisonQueueDepth: "PoisonQueueDepth",
  /** Gauge, written by each sweep: blobs under the prefix not yet in OneDrive for their current version. */
  pendingBlobs: "PendingBlobs",
  /** Gauge: 1 when a person must sign in again, else 0 (each sweep, and a worker that met the failure). */
  relinkNeeded: "RelinkNeeded",
} as const;

/** customMetrics customDimensions. */
export const METRIC_DIMENSIONS = {
  outcome: "Outcome",
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];

export const COUNTER_METRICS: ReadonlySet<MetricName> = new Set([METRICS.bytesTransferred, METRICS.files, METRICS.throttleWaitSeconds]);
