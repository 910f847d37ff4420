import { AuthError } from "@azure/msal-node";
import { errorText } from "../shared/errorText";
import { federatedCredentialCommand, siteGrantCommand } from "./adminCommands";
import type { AppAuthSettings } from "./appAuthSettings";

/**
 * App-only failures only an administrator can fix (a credential or a permission). The engine stops the whole run on
 * them before touching any blob, as it does when a delegated link is gone: `code` carries the engine's
 * "stop, a person must act" tag, and `name` makes the CLI exit with its configuration status.
 */
export class AppAuthConfigurationError extends Error {
  override readonly name = "AuthConfigurationError";
  readonly code = "RelinkRequired";
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

function aadstsCode(error: AuthError): number | undefined {
  const match = /AADSTS(\d+)/.exec(`${error.errorMessage} ${error.subError}`);
  return match ? Number(match[1]) : undefined;
}

const MI_PRINCIPAL = "<object id of the managed identity: az identity show -g <resource group> -n <identity> --query principalId -o tsv>";

/** A sentence for an administrator: what Entra refused, and the command or setting that fixes it. */
function adviceFor(code: number | undefined, settings: AppAuthSettings): string | undefined {
  const { clientId, tenantId } = settings;
  switch (code) {
    case 700211:
    case 700212:
    case 700213:
      return `the app registration ${clientId} has no federated credential matching this function app's managed identity. Add it once: ${federatedCredentialCommand(clientId, tenantId, MI_PRINCIPAL)}`;
    case 700027:
      return `the certificate is not registered on the app registration ${clientId} (or was replaced). Upload its public part: az ad app credential reset --id ${clientId} --cert @<certificate.pem> --append`;
    case 700024:
      return "the client assertion was out of date when Entra checked it; check this machine's clock";
    case 7000215:
    case 7000222:
      return `CLIENT_SECRET is wrong or expired: create a new secret on the app registration ${clientId}, or better switch to APP_CREDENTIAL=managed-identity (no secret)`;
    case 700016:
      return `the app registration ${clientId} does not exist in tenant ${tenantId}: check CLIENT_ID and TENANT`;
    case 500011:
      return `the tenant ${tenantId} has no service principal for Microsoft Graph at ${settings.graphEndpoint}: check GRAPH_ENDPOINT`;
    case 7000218:
      return "no credential was sent: set APP_CREDENTIAL and the setting it needs";
    default:
      return undefined;
  }
}

/**
 * Turns a failed token request into an error that names its fix. Configuration problems stop the run
 * (AppAuthConfigurationError); anything else (throttling, network) stays an ordinary error that the next run retries.
 */
export function appTokenFailure(error: unknown, settings: AppAuthSettings): Error {
  if (error instanceof AppAuthConfigurationError) return error;
  if (error instanceof Error && error.name === "AuthConfigurationError") return new AppAuthConfigurationError(error.message);
  if (error instanceof AuthError) {
    const code = aadstsCode(error);
    const advice = adviceFor(code, settings);
    const firstLine = error.errorMessage.split(/\r?\n/)[0].replace(/ Trace ID:.*$/, "");
    if (advice) return new AppAuthConfigurationError(`Could not get an app-only token for ${settings.clientId} in tenant ${settings.tenantId}: ${advice}. Entra said: ${error.errorCode}: ${firstLine}`);
    if (error.errorCode === "invalid_client" || error.errorCode === "unauthorized_client") {
      return new AppAuthConfigurationError(`Could not get an app-only token for ${settings.clientId} in tenant ${settings.tenantId}: Entra refused the app's credential (${error.errorCode}: ${firstLine}). Check APP_CREDENTIAL and the app registration's credentials.`);
    }
    return new Error(`Could not get an app-only token for ${settings.clientId}: ${error.errorCode}: ${firstLine}. This is usually transient (throttling or a network failure); the next run retries.`);
  }
  return new Error(`Could not get an app-only token for ${settings.clientId}: ${errorText(error)}. This is usually transient (throttling or a network failure); the next run retries.`);
}

