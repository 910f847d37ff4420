import { TOKEN_EXCHANGE_AUDIENCE } from "./appAuthSettings";

/**
 * The one-time commands an administrator runs for app-only operation, as the errors, the template's outputs and the
 * docs print them. Kept apart from the token code so that a Graph error message can name them without loading MSAL.
 */

/** The public-cloud issuer of a federated credential for a managed identity of tenant `tenantId`. */
export function federatedCredentialIssuer(tenantId: string): string {
  return `https://login.microsoftonline.com/${tenantId}/v2.0`;
}

/** The one-time admin command that makes the managed identity a credential of the app registration. */
export function federatedCredentialCommand(clientId: string, tenantId: string, principalId: string): string {
  const parameters = { name: "onedrive-connector-function", issuer: federatedCredentialIssuer(tenantId), subject: principalId, audiences: [TOKEN_EXCHANGE_AUDIENCE] };
  return `az ad app federated-credential create --id ${clientId} --parameters '${JSON.stringify(parameters)}'`;
}

/** The one-time SharePoint admin command granting the app write access to one site (Sites.Selected). */
export function siteGrantCommand(clientId: string, siteId: string): string {
  const body = { roles: ["write"], grantedToIdentities: [{ application: { id: clientId, displayName: "onedrive-connector" } }] };
  return `az rest --method post --url https://graph.microsoft.com/v1.0/sites/${siteId}/permissions --body '${JSON.stringify(body)}'`;
}
