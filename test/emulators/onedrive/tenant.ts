import { createHash, randomUUID } from "node:crypto";
import type { DriveStore } from "./driveStore";
import { ServiceError } from "./exchange";
import type { DriveSelector } from "./graphAddress";
import type { SessionRegistry } from "./uploadSessions";
import type { LibraryPolicies } from "./libraryPolicies";
import type { DriveType, EmulatedSite, EmulatedSiteSpec, EmulatedUserSpec, GraphPrincipal } from "./types";

/** One drive of the tenant with everything its routes need. */
export interface EmulatedDrive {
  id: string;
  name: string;
  driveType: DriveType;
  webUrl: string;
  ownerUserId?: string;
  siteId?: string;
  store: DriveStore;
  sessions: SessionRegistry;
  /** The library's own settings (check-out, required columns, locks, RateLimit metering). */
  library: LibraryPolicies;
  /** SharePoint's rules (one open session per path, stricter names). */
  business: boolean;
  rewrites: (name: string) => boolean;
}

/** A site permission made through POST /sites/{id}/permissions (the Sites.Selected grant). */
interface SiteGrant {
  id: string;
  siteId: string;
  appId: string;
  displayName: string;
  roles: string[];
}

export type Access = "read" | "write";

/** Roles and scopes as the permissions reference names them. */
const TENANT_WIDE_WRITE = ["Files.ReadWrite.All", "Sites.ReadWrite.All", "Sites.Manage.All", "Sites.FullControl.All"];
const TENANT_WIDE_READ = [...TENANT_WIDE_WRITE, "Files.Read.All", "Sites.Read.All"];
const SITE_READ = ["Sites.Read.All", "Sites.ReadWrite.All", "Sites.Manage.All", "Sites.FullControl.All"];
const OWN_DRIVE_WRITE = ["Files.ReadWrite", ...TENANT_WIDE_WRITE];
const OWN_DRIVE_READ = ["Files.Read", ...OWN_DRIVE_WRITE, ...TENANT_WIDE_READ];
/** Site permission roles that allow writing, and those that allow reading. */
const GRANT_WRITE_ROLES = ["write", "owner", "fullcontrol"];
const GRANT_READ_ROLES = ["read", ...GRANT_WRITE_ROLES];
const GRANT_ROLES = new Set(["read", "write", "owner", "fullcontrol"]);

/** A GUID derived from text, so a site's id is stable for its hostname and path. */
function stableGuid(text: string): string {
  const hex = createHash("sha256").update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function siteFromSpec(spec: EmulatedSiteSpec): EmulatedSite {
  const path = spec.path === "/" ? "" : spec.path.replace(/\/+$/, "");
  const hostname = spec.hostname.toLowerCase();
  return {
    ...spec,
    hostname,
    path,
    id: `${hostname},${stableGuid(`${hostname}|collection|${path.toLowerCase()}`)},${stableGuid(`${hostname}|web|${path.toLowerCase()}`)}`,
    webUrl: `https://${hostname}${path.split("/").map(encodeURIComponent).join("/")}`,
  };
}

function accessDenied(): ServiceError {
  return new ServiceError(403, "accessDenied", "Access denied");
}

/** Users, sites and drives, and who may reach which: the rules of docs/destinations.md. */
export class Tenant {
  private readonly grants: SiteGrant[] = [];

  constructor(
    readonly users: EmulatedUserSpec[],
    readonly sites: EmulatedSite[],
    readonly drives: EmulatedDrive[],
  ) {}

  findUser(idOrUpn: string): EmulatedUserSpec | undefined {
    const wanted = idOrUpn.toLowerCase();
    return this.users.find((user) => user.id.toLowerCase() === wanted || user.userPrincipalName.toLowerCase() === wanted);
  }

  /** The drive a URL names, if the principal may reach it for this access; Graph's refusal otherwise. */
  driveFor(selector: DriveSelector, principal: GraphPrincipal, access: Access): EmulatedDrive {
    switch (selector.kind) {
      case "me": {
        if (principal.kind === "app") throw new ServiceError(400, "BadRequest", "/me request is only valid with delegated authentication flow.");
        const drive = this.drives.find((candidate) => candidate.ownerUserId === principal.userId);
        if (drive === undefined) throw new ServiceError(404, "itemNotFound", "The user's OneDrive does not exist (it is created when the user first opens it).");
        return this.allowedDrive(drive, principal, access);
      }
      case "id": {
        const drive = this.drives.find((candidate) => candidate.id === selector.driveId);
        if (drive === undefined) throw new ServiceError(404, "itemNotFound", `Drive '${selector.driveId}' does not exist.`);
        return this.allowedDrive(drive, principal, access);
      }
      case "user": {
        const user = this.findUser(selector.user);
        const drive = user === undefined ? undefined : this.drives.find((candidate) => candidate.ownerUserId === user.id);
        if (drive === undefined) throw new ServiceError(404, "itemNotFound", `No OneDrive for user '${selector.user}'.`);
        return this.allowedDrive(drive, principal, access);
      }
      case "siteDefault": {
        const site = this.siteFor({ id: selector.siteId }, principal, "read");
        const drive = this.drives.find((candidate) => candidate.siteId === site.id && candidate.name === "Documents") ?? this.drives.find((candidate) => candidate.siteId === site.id);
        if (drive === undefined) throw new ServiceError(404, "itemNotFound", "The site has no document library.");
        return this.allowedDrive(drive, principal, access);
      }
    }
  }

  /**
   * A site by id (hostname,collection,web), by hostname alone (the root site), or by hostname and path. A site that
   * does not exist is 404; one the principal may not read is 403, as Graph answers a Sites.Selected app without a
   * grant.
   */
  siteFor(selector: { id: string } | { hostname: string; path: string }, principal: GraphPrincipal, access: Access): EmulatedSite {
    const site =
      "id" in selector
        ? this.sites.find((candidate) => candidate.id.toLowerCase() === selector.id.toLowerCase() || (candidate.path === "" && candidate.hostname === selector.id.toLowerCase()))
        : this.sites.find((candidate) => candidate.hostname === selector.hostname.toLowerCase() && candidate.path.toLowerCase() === selector.path.replace(/\/+$/, "").toLowerCase());
    if (site === undefined) throw new ServiceError(404, "itemNotFound", "Requested site could not be found");
    if (!this.mayReachSite(site, principal, access, SITE_READ)) throw accessDenied();
    return site;
  }

  /** The libraries of a site the principal may list (GET /sites/{id}/drives needs the drive permissions). */
  siteDrives(site: EmulatedSite, principal: GraphPrincipal): EmulatedDrive[] {
    if (!this.mayReachSite(site, principal, "read", TENANT_WIDE_READ)) throw accessDenied();
    return this.drives.filter((drive) => drive.siteId === site.id);
  }

  /** POST /sites/{id}/permissions: only a Sites.FullControl.All caller may grant (the documented requirement). */
  grant(site: EmulatedSite, body: Record<string, unknown>, principal: GraphPrincipal): Record<string, unknown> {
    const held = principal.kind === "app" ? principal.roles : principal.scopes;
    if (!held.includes("Sites.FullControl.All")) throw accessDenied();
    const roles = body.roles;
    if (!Array.isArray(roles) || roles.length === 0 || !roles.every((role) => typeof role === "string" && GRANT_ROLES.has(role))) {
      throw new ServiceError(400, "invalidRequest", "roles must be a non-empty array of read, write, owner or fullcontrol.");
    }
    const identities = body.grantedToIdentities;
    const application = Array.isArray(identities) && identities.length === 1 ? (identities[0] as { application?: { id?: unknown; displayName?: unknown } }).application : undefined;
    if (application === undefined || typeof application.id !== "string" || application.id === "") {
      throw new ServiceError(400, "invalidRequest", "grantedToIdentities must hold one { application: { id, displayName } }.");
    }
    const grant: SiteGrant = {
      id: randomUUID(),
      siteId: site.id,
      appId: application.id,
      displayName: typeof application.displayName === "string" ? application.displayName : "",
      roles: roles as string[],
    };
    this.grants.push(grant);
    const identity = { application: { id: grant.appId, displayName: grant.displayName } };
    return { id: grant.id, roles: grant.roles, grantedToIdentitiesV2: [identity], grantedToIdentities: [identity] };
  }

  private allowedDrive(drive: EmulatedDrive, principal: GraphPrincipal, access: Access): EmulatedDrive {
    if (!this.mayReachDrive(drive, principal, access)) throw accessDenied();
    return drive;
  }

  private mayReachDrive(drive: EmulatedDrive, principal: GraphPrincipal, access: Access): boolean {
    if (principal.kind === "delegated") {
      const scopes = principal.scopes;
      if (drive.ownerUserId === principal.userId) return scopes.some((scope) => (access === "write" ? OWN_DRIVE_WRITE : OWN_DRIVE_READ).includes(scope));
      // Another person's OneDrive stays closed to a delegated caller whatever the scopes: the signed-in user has
      // no access to it unless it was shared (which the emulator does not model).
      if (drive.ownerUserId !== undefined) return false;
      return scopes.some((scope) => (access === "write" ? TENANT_WIDE_WRITE : TENANT_WIDE_READ).includes(scope));
    }
    if (principal.roles.some((role) => (access === "write" ? TENANT_WIDE_WRITE : TENANT_WIDE_READ).includes(role))) return true;
    const site = drive.siteId === undefined ? undefined : this.sites.find((candidate) => candidate.id === drive.siteId);
    return site !== undefined && this.selectedGrantAllows(site, principal, access);
  }

  private mayReachSite(site: EmulatedSite, principal: GraphPrincipal, access: Access, tenantWide: string[]): boolean {
    const held = principal.kind === "app" ? principal.roles : principal.scopes;
    const needed = access === "write" ? TENANT_WIDE_WRITE : tenantWide;
    if (held.some((permission) => needed.includes(permission))) return true;
    return principal.kind === "app" && this.selectedGrantAllows(site, principal, access);
  }

  private selectedGrantAllows(site: EmulatedSite, principal: Extract<GraphPrincipal, { kind: "app" }>, access: Access): boolean {
    if (!principal.roles.includes("Sites.Selected")) return false;
    const allowed = access === "write" ? GRANT_WRITE_ROLES : GRANT_READ_ROLES;
    return this.grants.some((grant) => grant.siteId === site.id && grant.appId === principal.appId && grant.roles.some((role) => allowed.includes(role)));
  }
}

/** The drive resource as Graph returns it. */
export function driveJson(drive: EmulatedDrive, tenant: Tenant): Record<string, unknown> {
  const json: Record<string, unknown> = { ...drive.store.driveJson(), name: drive.name, webUrl: drive.webUrl };
  const owner = drive.ownerUserId === undefined ? undefined : tenant.users.find((user) => user.id === drive.ownerUserId);
  if (owner !== undefined) json.owner = { user: { id: owner.id, displayName: owner.displayName ?? owner.userPrincipalName, email: owner.userPrincipalName } };
  const site = drive.siteId === undefined ? undefined : tenant.sites.find((candidate) => candidate.id === drive.siteId);
  if (site !== undefined) json.owner = { group: { displayName: site.displayName } };
  return json;
}

/** `$select=a,b`: only those properties, as Graph trims its answer. */
export function selectFields(json: Record<string, unknown>, select: string | null): Record<string, unknown> {
  if (select === null || select.trim() === "") return json;
  const wanted = select.split(",").map((field) => field.trim());
  return Object.fromEntries(Object.entries(json).filter(([key]) => wanted.includes(key)));
}

export function siteJson(site: EmulatedSite): Record<string, unknown> {
  const segments = site.path.split("/").filter((segment) => segment !== "");
  return {
    id: site.id,
    displayName: site.displayName,
    name: segments[segments.length - 1] ?? site.displayName,
    webUrl: site.webUrl,
    siteCollection: { hostname: site.hostname },
  };
}
