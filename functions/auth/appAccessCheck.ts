import { signalWithin } from "../http/callContext";
import { GraphError } from "../onedrive/graphError";
import { AppAuthConfigurationError, appAccessDeniedAdvice } from "./appAuthErrors";

const CHECK_TIMEOUT_MS = 30_000;

/** The drive an app-only run writes to, as Graph addresses it, and what to tell an administrator if it is refused. */
export interface AppAccessTarget {
  /** Graph path of the drive, e.g. "/drives/b!…", "/users/ana@contoso.com/drive", "/sites/{site id}/drive". */
  drivePath: string;
  /** A SharePoint site (Sites.Selected needs a grant per site) or a user's OneDrive. */
  grant: { kind: "site"; siteId: string; display: string } | { kind: "drive"; display: string };
}

/**
 * The first-use check of an app-only run (AppAccessTokenProviderOptions.firstUseCheck): reads the drive's root with
 * the new token before any blob is claimed, so a missing application permission or site grant stops the run with
 * the permission and the command that grants it, instead of failing every file with a bare 403.
 * A read proves the grant exists, not that it is `write`: a read-only site grant still fails at the first upload.
 */
export function appAccessCheck(graphBaseUrl: string, clientId: string, target: AppAccessTarget): (accessToken: string) => Promise<void> {
  return async (accessToken) => {
    const url = `${graphBaseUrl}${target.drivePath}/root?$select=id`;
    const response = await fetch(url, { headers: { Authorization: `Bearer ${accessToken}` }, signal: signalWithin(CHECK_TIMEOUT_MS) });
    if (response.ok) {
      await response.arrayBuffer();
      return;
    }
    const error = new GraphError({ method: "GET", url, status: response.status, headers: { get: (name) => response.headers.get(name) ?? undefined }, bodyText: await response.text() });
    if (response.status === 401 || response.status === 403) {
      throw new AppAuthConfigurationError(`Microsoft Graph refused the app's access to ${target.grant.display} (${response.status}${error.code ? ` ${error.code}` : ""}${error.requestId ? `, request-id ${error.requestId}` : ""}): ${appAccessDeniedAdvice(clientId, target.grant)}.`);
    }
    throw error;
  };
}
