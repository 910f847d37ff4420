/**
 * The one delegated scope every MSAL call uses. MSAL adds openid, profile and offline_access itself.
 * A single constant matters: a cached access token matches only a request for the same scope spelling, so mixing
 * "Files.ReadWrite" and "https://graph.microsoft.com/Files.ReadWrite" would refresh on every call.
 * Short names resolve to the public Microsoft Graph; other Graph hosts (national clouds) need the qualified form.
 */
const PUBLIC_GRAPH = "https://graph.microsoft.com";

export function graphFilesScope(graphEndpoint: string): string {
  const origin = new URL(graphEndpoint).origin;
  return origin === PUBLIC_GRAPH ? "Files.ReadWrite" : `${origin}/Files.ReadWrite`;
}
