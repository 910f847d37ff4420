import { noTelemetry, type Telemetry } from "./telemetry";

/**
 * Telemetry for the function app: nothing without APPLICATIONINSIGHTS_CONNECTION_STRING (the CLI, tests, a local
 * host), else OpenTelemetry log and metric pipelines to Azure Monitor. The SDK is required only then, on the first
 * invocation, so no registration file and no CLI run loads it.
 */
export function telemetryFromSettings(source: Readonly<Record<string, string | undefined>>): Telemetry {
  const connectionString = source.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  if (!connectionString) return noTelemetry;
  try {
    const { azureMonitorTelemetry } = require("./azureMonitorTelemetry") as typeof import("./azureMonitorTelemetry");
    return azureMonitorTelemetry(connectionString, source.APPLICATIONINSIGHTS_AUTHENTICATION_STRING);
  } catch (error) {
    // Transfers matter more than their telemetry: a connection string the exporter refuses must not stop the app.
    console.warn(`Application Insights telemetry is off: ${error instanceof Error ? error.message : String(error)}`);
    return noTelemetry;
  }
}
