import { destinationDriveText, type DestinationDriveSetting } from "../config/destinationDriveSetting";
import type { DriveAddress, GraphClient } from "./graphClient";
import { GraphError } from "./graphError";
import { siteGrantCommand } from "../auth/adminCommands";

/** A drive as Graph describes it (GET /drives/{id}, /me/drive, /sites/{id}/drives). */
export interface GraphDrive {
  id: string;
  name?: string;
  webUrl?: string;
  driveType?: string;
  owner?: { user?: { displayName?: string; email?: string } };
}

interface GraphSite {
  id: string;
  displayName?: string;
  name?: string;
  webUrl?: string;
}

/** DEST_DRIVE turned into a drive: where item calls go and how a person names it. */
export interface ResolvedDestination {
  kind: DestinationDriveSetting["kind"];
  driveId: string;
  driveType?: string;
  address: DriveAddress;
  /** "OneDrive (me)", "Finance › Documents", "OneDrive of jane@contoso.com". */
  driveDisplay: string;
}

/** What a library URL resolved to, kept so later runs skip the /sites lookups. */
export interface ResolvedLibrary {
  driveId: string;
  siteDisplayName: string;
}

/** Where resolved library URLs are remembered between processes (a small row in the ledger table). */
export interface ResolvedLibraryCache {
  get(libraryUrlKey: string): Promise<ResolvedLibrary | undefined>;
  set(libraryUrlKey: string, library: ResolvedLibrary): Promise<void>;
  drop(libraryUrlKey: string): Promise<void>;
}

/**
 * The destination cannot be used as configured: nothing was read from the source or claimed in the ledger, and
 * nothing will be until a person fixes DEST_DRIVE or the permission. The message names the setting, what Graph
 * answered and what to check.
 */
export class DestinationError extends Error {
  override readonly name = "DestinationError";
  constructor(message: string, readonly graphError?: GraphError) {
    super(message);
  }
}

export function isDestinationError(error: unknown): error is DestinationError {
  return (error as { name?: string } | undefined)?.name === "DestinationError";
}

const DRIVE_FIELDS = "id,name,webUrl,driveType,owner";

/**
 * Resolves DEST_DRIVE with one GET of the drive (two more for a library URL seen for the first time), so a wrong
 * or unreachable destination is a configuration error before any blob is read.
 * A cached library whose drive answers 404 (deleted, or re-created under a new id) is dropped and looked up again.
 */
export async function resolveDestinationDrive(
  setting: DestinationDriveSetting,
  graph: GraphClient,
  cache: { key: string; store: ResolvedLibraryCache | undefined },
): Promise<ResolvedDestination> {
  switch (setting.kind) {
    case "me": {
      const drive = await getDrive(graph, "/me/drive", setting, "the signed-in account's drive (GET /me/drive)");
      return { kind: "me", driveId: drive.id, driveType: drive.driveType, address: { drivePath: "/me/drive", locationPath: locationPathOf(drive) }, driveDisplay: "OneDrive (me)" };
    }
    case "drive": {
      const drive = await getDrive(graph, `/drives/${encodeURIComponent(setting.driveId)}`, setting, `drive ${setting.driveId}`);
      return fromDrive("drive", drive, drive.driveType === "documentLibrary" ? `${drive.name ?? "library"} (drive ${drive.id})` : ownerDisplay(drive));
    }
    case "user": {
      const drive = await getDrive(graph, `/users/${encodeURIComponent(setting.user)}/drive`, setting, `the OneDrive of ${setting.user}`);
      return fromDrive("user", drive, `OneDrive of ${setting.user}`);
    }
    case "library":
      return resolveLibrary(setting, graph, cache);
  }
}

/** The destination as a person reads it: "Finance › Documents › From Azure". */
export function destinationDisplay(destination: Pick<ResolvedDestination, "driveDisplay">, destFolder: string): string {
  const folders = destFolder.split("/").filter((segment) => segment !== "");
  return [destination.driveDisplay, ...(folders.length === 0 ? ["(root)"] : folders)].join(" › ");
}

async function resolveLibrary(
  setting: Extract<DestinationDriveSetting, { kind: "library" }>,
  graph: GraphClient,
  cache: { key: string; store: ResolvedLibraryCache | undefined },
): Promise<ResolvedDestination> {
  const cached = await cache.store?.get(cache.key);
  if (cached !== undefined) {
    try {
      const drive = await graph.getResource<GraphDrive>(`/drives/${encodeURIComponent(cached.driveId)}?$select=${DRIVE_FIELDS}`);
      return libraryDestination(drive, cached.siteDisplayName);
    } catch (error) {
      if (!(error instanceof GraphError && error.status === 404)) throw destinationError(setting, `the library's drive ${cached.driveId}`, error);
      await cache.store?.drop(cache.key);
    }
  }
  const sitePath = setting.sitePath === "" ? `/sites/${setting.hostname}` : `/sites/${setting.hostname}:${encodePathSegments(setting.sitePath)}`;
  const site = await lookup(() => graph.getResource<GraphSite>(`${sitePath}?$select=id,displayName,name,webUrl`), setting, `the site ${setting.hostname}${setting.sitePath || "/"}`);
  const drives = await lookup(
    () => graph.getResource<{ value?: GraphDrive[] }>(`/sites/${encodeURIComponent(site.id)}/drives?$select=id,name,webUrl,driveType`),
    setting,
    `the libraries of site ${site.displayName ?? site.id}`,
  );
  const wanted = comparableLibraryUrl(`https://${setting.hostname}${setting.libraryPath}`);
  const drive = (drives.value ?? []).find((candidate) => candidate.webUrl !== undefined && comparableLibraryUrl(candidate.webUrl) === wanted);
  if (drive === undefined) {
    const known = (drives.value ?? []).map((candidate) => `${candidate.name ?? "?"} (${candidate.webUrl ?? "no URL"})`).join(", ");
    throw new DestinationError(
      `DEST_DRIVE "${setting.url}" names no document library of the site "${site.displayName ?? setting.sitePath}": ` +
        `its libraries are ${known === "" ? "none this account can see" : known}. ` +
        "Check the library part of the URL (the library's address segment, such as \"Shared Documents\" for the library shown as \"Documents\").",
    );
  }
  const siteDisplayName = site.displayName ?? site.name ?? setting.sitePath;
  await cache.store?.set(cache.key, { driveId: drive.id, siteDisplayName });
  return libraryDestination(drive, siteDisplayName);
}

function libraryDestination(drive: GraphDrive, siteDisplayName: string): ResolvedDestination {
  return fromDrive("library", drive, `${siteDisplayName} › ${drive.name ?? "library"}`);
}

function fromDrive(kind: ResolvedDestination["kind"], drive: GraphDrive, driveDisplay: string): ResolvedDestination {
  return {
    kind,
    driveId: drive.id,
    driveType: drive.driveType,
    address: { drivePath: `/drives/${encodeURIComponent(drive.id)}`, locationPath: locationPathOf(drive) },
    driveDisplay,
  };
}

function ownerDisplay(drive: GraphDrive): string {
  const owner = drive.owner?.user?.email ?? drive.owner?.user?.displayName;
  return owner === undefined ? `drive ${drive.id}` : `OneDrive of ${owner}`;
}

async function getDrive(graph: GraphClient, drivePath: string, setting: DestinationDriveSetting, what: string): Promise<GraphDrive> {
  return lookup(() => graph.getResource<GraphDrive>(`${drivePath}?$select=${DRIVE_FIELDS}`), setting, what);
}

async function lookup<T>(call: () => Promise<T>, setting: DestinationDriveSetting, what: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw destinationError(setting, what, error);
  }
}

/**
 * Business drives and libraries live at a SharePoint path that counts towards the 400-character rule; a personal
 * drive's webUrl (onedrive.live.com) says nothing about item paths.
 */
function locationPathOf(drive: GraphDrive): string {
  if (drive.driveType === "personal" || drive.webUrl === undefined) return "";
  try {
    return decodeURIComponent(new URL(drive.webUrl).pathname).replace(/\/+$/, "");
  } catch {
    return "";
  }
}

/** Decoded, host lowercased, no trailing slash: how a library URL from the settings and Graph's webUrl compare. */
function comparableLibraryUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname.toLowerCase()}${decodeURIComponent(parsed.pathname).replace(/\/+$/, "").toLowerCase()}`;
  } catch {
    return url;
  }
}

function encodePathSegments(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/**
 * The destination as configured, for a run that never had to look the drive up (nothing needed work): the
 * setting's own words, so showing it costs no Graph request.
 */
export function configuredDestinationDisplay(setting: DestinationDriveSetting, destFolder: string): string {
  return destinationDisplay({ driveDisplay: setting.kind === "me" ? "OneDrive (me)" : `DEST_DRIVE ${destinationDriveText(setting)}` }, destFolder);
}

/** Only Graph's refusals are configuration errors; a network failure or a 5xx stays what it is (a retry may help). */
function destinationError(setting: DestinationDriveSetting, what: string, error: unknown): unknown {
  if (!(error instanceof GraphError) || error.status >= 500 || error.status === 429 || error.status === 401) return error;
  const answer = `${error.status}${error.code ? ` ${error.code}` : ""}${error.requestId ? ` (request-id ${error.requestId})` : ""}`;
  return new DestinationError(`DEST_DRIVE "${destinationDriveText(setting)}" cannot be used: Graph answered ${answer} for ${what}. Check ${whatToCheck(setting, error)}.`, error);
}

function whatToCheck(setting: DestinationDriveSetting, error: GraphError): string {
  if (setting.kind === "me" && error.status === 400) {
    return "the sign-in: \"me\" needs a signed-in account, and app-only tokens have none; name the drive with user:<UPN>, drive:<id> or a library URL";
  }
  if (error.status === 403) {
    const siteLookup = setting.kind === "library" ? "; looking a site up by URL also needs Sites.Read.All or more (Files.ReadWrite.All alone is not enough)" : "";
    return (
      "the permission: with Sites.Selected an administrator must grant this app write on the site once: " +
      `${siteGrantCommand("<CLIENT_ID>", "<site-id>")} (see docs/app-only.md); otherwise the app needs Files.ReadWrite.All or Sites.ReadWrite.All, ` +
      `and a signed-in account must itself be able to open the library${siteLookup}`
    );
  }
  switch (setting.kind) {
    case "library":
      return "the URL's spelling (site and library exactly as the browser shows them) and that the site still exists; with Sites.Selected a site without a grant can also look missing";
    case "drive":
      return "the drive id (GET /me/drive or /sites/{site-id}/drives reports it)";
    case "user":
      return "the UPN or object id, and that the user has a OneDrive (it is created when the user first opens it)";
    case "me":
      return "that the signed-in account has a OneDrive";
  }
}
