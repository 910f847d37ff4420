import type { EmulatorContext } from "./context";
import { type Exchange, readJsonBody, ServiceError } from "./exchange";
import { driveJson, selectFields, siteJson } from "./tenant";

/** `/sites/...` other than a site's default drive (`/sites/{id}/drive/...`, which the drive routes serve). */
export function isSitePath(rawPathname: string): boolean {
  return rawPathname.startsWith("/v1.0/sites/") && !/^\/v1\.0\/sites\/[^/:]+\/drive(\/|$)/.test(rawPathname);
}

type SiteSelector = { id: string } | { hostname: string; path: string };

/**
 * GET /sites/{site-id}, /sites/{hostname} (the root site), /sites/{hostname}:/{path} (also ending in ':'),
 * GET …/drives, POST …/permissions. Path segments are percent-decoded one by one.
 */
export async function handleSiteRequest(exchange: Exchange, context: EmulatorContext, rawPathname: string): Promise<void> {
  const principal = context.principal;
  if (principal === undefined) throw new ServiceError(401, "InvalidAuthenticationToken", "Access token is empty.");
  const { selector, rest } = parseSitePath(rawPathname.slice("/v1.0/sites/".length));
  const method = exchange.req.method ?? "GET";
  const select = exchange.url.searchParams.get("$select");
  switch (`${method} ${rest}`) {
    case "GET ": {
      const site = context.tenant.siteFor(selector, principal, "read");
      await exchange.sendJson(200, selectFields(siteJson(site), select));
      return;
    }
    case "GET /drives": {
      const site = context.tenant.siteFor(selector, principal, "read");
      const drives = context.tenant.siteDrives(site, principal);
      await exchange.sendJson(200, { value: drives.map((drive) => selectFields(driveJson(drive, context.tenant), select)) });
      return;
    }
    case "POST /permissions": {
      // The caller needs Sites.FullControl.All, not a grant on this site: look the site up without a read check.
      const site = context.tenant.siteFor(selector, { kind: "app", appId: "", tenantId: "", roles: ["Sites.FullControl.All"] }, "read");
      const body = await readJsonBody(exchange);
      await exchange.sendJson(201, context.tenant.grant(site, body, principal));
      return;
    }
    default:
      throw new ServiceError(400, "invalidRequest", `${method} ${rest === "" ? "on a site" : `on '${rest}' of a site`} is not supported by the emulator.`);
  }
}

function parseSitePath(text: string): { selector: SiteSelector; rest: string } {
  const slash = text.indexOf("/");
  const colon = text.indexOf(":");
  if (colon !== -1 && (slash === -1 || colon < slash)) {
    const hostname = decode(text.slice(0, colon));
    const afterColon = text.slice(colon + 1);
    const closing = afterColon.indexOf(":");
    const rawPath = closing === -1 ? afterColon : afterColon.slice(0, closing);
    const rest = closing === -1 ? "" : afterColon.slice(closing + 1);
    if (!rawPath.startsWith("/")) throw new ServiceError(400, "invalidRequest", "A site path address looks like /sites/{hostname}:/{server-relative path}.");
    const path = rawPath.split("/").map(decode).join("/").replace(/\/+$/, "");
    return { selector: { hostname, path }, rest };
  }
  const id = decode(slash === -1 ? text : text.slice(0, slash));
  if (id === "") throw new ServiceError(400, "invalidRequest", "The site id in the URL is empty.");
  return { selector: { id }, rest: slash === -1 ? "" : text.slice(slash) };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ServiceError(400, "invalidRequest", `The URL segment '${segment}' is not valid percent-encoding.`);
  }
}
