import { AzureMonitorLogExporter, AzureMonitorMetricExporter, type AzureMonitorExporterOptions } from "@azure/monitor-opentelemetry-exporter";
import { ManagedIdentityCredential } from "@azure/identity";
import { OpenTelemetryTelemetry } from "./openTelemetryTelemetry";

/**
 * The Azure Monitor exporters under OpenTelemetryTelemetry. The component has local (key) auth disabled, so the
 * exporters sign in with the app's managed identity, named by APPLICATIONINSIGHTS_AUTHENTICATION_STRING the way
 * the Functions host reads it ("ClientId=<id>;Authorization=AAD").
 */
export function azureMonitorTelemetry(connectionString: string, authenticationString: string | undefined): OpenTelemetryTelemetry {
  const options: AzureMonitorExporterOptions = {
    connectionString,
    // A Flex instance's disk is not kept; retrying from it would only delay the next invocation.
    disableOfflineStorage: true,
  };
  const identity = parseAuthenticationString(authenticationString);
  if (identity) options.credential = new ManagedIdentityCredential(identity.clientId ? { clientId: identity.clientId } : {});
  return new OpenTelemetryTelemetry({
    logs: new AzureMonitorLogExporter(options),
    metrics: new AzureMonitorMetricExporter(options),
    serviceName: process.env.WEBSITE_SITE_NAME,
  });
}

/** `Authorization=AAD` (optionally `ClientId=<user-assigned identity's client id>`); anything else means key auth. */
export function parseAuthenticationString(text: string | undefined): { clientId?: string } | undefined {
  if (!text) return undefined;
  const parts = new Map(
    text
      .split(";")
      .map((part) => part.split("="))
      .filter((pair) => pair.length === 2)
      .map(([key, value]) => [key!.trim().toLowerCase(), value!.trim()] as const),
  );
  if (parts.get("authorization")?.toLowerCase() !== "aad") return undefined;
  const clientId = parts.get("clientid");
  return clientId ? { clientId } : {};
}
