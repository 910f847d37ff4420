import { errorText } from "../shared/errorText";
import type { GraphClient } from "../onedrive/graphClient";
import { GraphError } from "../onedrive/graphError";
import type { ColumnDefinition, DriveItem } from "../onedrive/graphTypes";
import type { SourceBlob } from "../storage/blobSource";
import type { Destination } from "./destinationPath";
import { PermanentUploadError } from "./sessionUpload";
import type { TransferServices } from "./transferTypes";

/*
 * What business drives and SharePoint document libraries ask of a file once OneDrive holds it, and how their
 * refusals are worded for the person who has to act: the time a drive would not take at creation, check-out, required
 * columns, locks and quota. docs/business-and-sharepoint.md explains each.
 */

/** A file someone holds open stays locked while they work: the transfer steps back this long before trying again. */
export const LOCK_RETRY_MS = 5 * 60_000;

/** A stored time this close to the blob's is the blob's (Graph keeps whole seconds on some drives). */
const SAME_TIME_MS = 1_000;

/** The library's own column that holds the file name: required, and always filled by the upload itself. */
const FILE_NAME_COLUMN = "FileLeafRef";

/** Drive types backed by SharePoint, where a library may leave uploads checked out (drive.driveType). */
const SHAREPOINT_DRIVE_TYPES: ReadonlySet<string> = new Set(["business", "documentLibrary"]);

/**
 * A library's check-out rules hold for every file uploaded to it, so once a file came out published the next ones
 * are not asked about (the question costs a request per file) until this long has passed, in case the rules change.
 */
const PUBLISHED_DRIVE_RECHECK_MS = 10 * 60_000;

/** Per client and drive id, in this process: whether the last upload asked about came out checked out, and when. */
const lastPublicationSeen = new WeakMap<GraphClient, Map<string, { checkedOut: boolean; at: number }>>();

/**
 * After verification: sets the blob's time where the drive would not take it at creation, and checks in a file the
 * library left checked out (invisible to others until then). Returns the item as it now stands. Every upload path
 * and the recovery of an earlier attempt's file come through here, so the time is set in one place.
 */
export async function settleOnLibrary(services: TransferServices, blob: SourceBlob, destination: Destination, item: DriveItem): Promise<DriveItem> {
  const current = await withBlobTime(services, blob, item);
  if (!(await isLeftCheckedOut(services, current))) return current;
  return checkIn(services, blob, destination, current);
}

/**
 * The item with the blob's time: PATCHed only when the stored time differs (a drive that would not take it at
 * creation, a batched file whose second request was lost), since each PATCH makes a version on business drives.
 */
async function withBlobTime(services: TransferServices, blob: SourceBlob, item: DriveItem): Promise<DriveItem> {
  const storedTime = Date.parse(item.fileSystemInfo?.lastModifiedDateTime ?? "");
  if (Math.abs(storedTime - blob.lastModified.getTime()) < SAME_TIME_MS) return item;
  // A PATCH answer leaves out what the item was asked with `$select`: its check-out state stays as read.
  return { ...(await services.graph.setLastModified(item.id, blob.lastModified.toISOString())), publication: item.publication };
}

/** The drive DEST_DRIVE resolved to, as the engine reports it (destinationDrive.ts); empty where none was resolved. */
async function resolvedDrive(services: TransferServices): Promise<{ driveId: string; driveType?: string }> {
  const resolved = await services.ensureDestination?.();
  return resolved ? { driveId: resolved.driveId, driveType: resolved.driveType } : { driveId: "" };
}

/**
 * Whether the destination drive is backed by SharePoint, where a library may leave an upload checked out: a property
 * of the drive, so every item on it gets the same answer whatever its own parentReference says.
 */
export async function isSharePointDestination(services: TransferServices): Promise<boolean> {
  const { driveType } = await resolvedDrive(services);
  return driveType !== undefined && SHAREPOINT_DRIVE_TYPES.has(driveType);
}

/**
 * Graph reports a file's publication only when asked for it (`$select`): the read-back of a session upload asks
 * (completion.ts); an item Graph answered with directly (small and empty files, recovery) is asked about here.
 */
async function isLeftCheckedOut(services: TransferServices, item: DriveItem): Promise<boolean> {
  if (!(await isSharePointDestination(services))) return false;
  const { driveId } = await resolvedDrive(services);
  let seenOnDrives = lastPublicationSeen.get(services.graph);
  if (seenOnDrives === undefined) lastPublicationSeen.set(services.graph, (seenOnDrives = new Map()));
  if (item.publication !== undefined) {
    seenOnDrives.set(driveId, { checkedOut: item.publication.level === "checkout", at: services.now() });
    return item.publication.level === "checkout";
  }
  const seen = seenOnDrives.get(driveId);
  if (seen !== undefined && !seen.checkedOut && services.now() - seen.at < PUBLISHED_DRIVE_RECHECK_MS) return false;
  const checkedOut = (await services.graph.getPublication(item.id))?.level === "checkout";
  seenOnDrives.set(driveId, { checkedOut, at: services.now() });
  return checkedOut;
}

/**
 * After a refused check-in, the file's publication level: "published" when it reads published, otherwise
 * "unknown". A read that fails (after its retries) leaves the refusal standing, so the person sees what to fix,
 * not the failed read.
 */
async function publicationAfterRefusal(services: TransferServices, itemId: string): Promise<"published" | "unknown"> {
  try {
    const level = (await services.graph.getPublication(itemId))?.level;
    return level !== undefined && level !== "checkout" ? "published" : "unknown";
  } catch {
    return "unknown";
  }
}

/** The check-in comment says where the file came from, so a library's version history names the blob. */
export function checkinComment(blob: Pick<SourceBlob, "name">): string {
  return `Copied by onedrive-connector from blob "${blob.name}"`;
}

async function checkIn(services: TransferServices, blob: SourceBlob, destination: Destination, item: DriveItem): Promise<DriveItem> {
  try {
    await services.graph.checkin(item.id, checkinComment(blob));
  } catch (error) {
    if (!(error instanceof GraphError) || error.status === 423 || error.status >= 500 || error.status === 429) throw error;
    // An earlier check-in whose answer was lost leaves the file published, and this one refused.
    if ((await publicationAfterRefusal(services, item.id)) === "published") return item;
    throw new PermanentUploadError(await checkinRefusalMessage(services, destination, error), error);
  }
  if ((await services.graph.getPublication(item.id))?.level === "checkout") {
    throw new PermanentUploadError(
      `OneDrive accepted the check-in of "${destination.fullPath}" but still shows it checked out, so no one else can see it. Check it in from the library, or ask its owner; the blob was left untouched.`,
    );
  }
  services.log.info(`${blob.name}: the library requires check-out; "${destination.fullPath}" was checked in so others can see it`);
  return item;
}

/**
 * The check-in was refused: a required column without a default value is the documented cause (SharePoint keeps
 * such a file checked out to the uploader until someone fills the column), so the library's columns are read to
 * name it. Reading them may be denied (Files.* permissions do not cover the list); the message then says what to look for.
 */
/** What follows a refused check-in, which the row records with the item (blobTransfer.ts, interruptedRecovery.ts). */
const RUN_AGAIN = "The next run checks in the file OneDrive already holds, without uploading it again; the blob was left untouched until then.";

async function checkinRefusalMessage(services: TransferServices, destination: Destination, refusal: GraphError): Promise<string> {
  let required: string[] | undefined;
  try {
    required = (await services.graph.listColumns()).filter(isUnfillableRequiredColumn).map((column) => column.displayName || column.name || "?");
  } catch {
    required = undefined;
  }
  const stays = `OneDrive left "${destination.fullPath}" checked out to this account, where no one else can see it`;
  if (required !== undefined && required.length > 0) {
    const named = required.map((name) => `"${name}"`).join(", ");
    return `the library requires ${required.length === 1 ? "column" : "columns"} ${named}, which an upload cannot fill, so ${stays}. ` +
      `Give ${required.length === 1 ? "the column" : "each column"} a default value or make ${required.length === 1 ? "it" : "them"} optional in the library's settings (check-in answered: ${errorText(refusal)}). ${RUN_AGAIN}`;
  }
  return `${stays}, and refused to check it in (${errorText(refusal)}). A required library column without a default value is the usual cause: give it a default value or make it optional. ${RUN_AGAIN}`;
}

function isUnfillableRequiredColumn(column: ColumnDefinition): boolean {
  const hasDefault = column.defaultValue !== undefined && column.defaultValue !== null && (column.defaultValue.value ?? "") !== "";
  return column.required === true && !column.readOnly && !column.hidden && !hasDefault && column.name !== FILE_NAME_COLUMN;
}

/** 423 Locked: someone has the file open (co-authoring, or checked out to another person). */
export function isLockedAnswer(error: unknown): error is GraphError {
  return error instanceof GraphError && error.status === 423;
}

/**
 * 507 (quotaLimitReached / insufficientStorage): the drive has no room for the file. The answer names no figures,
 * so the drive's free space is read and put beside the file's size, as a permanent failure of this file.
 */
export async function explainQuotaRefusal(services: TransferServices, blob: SourceBlob, error: unknown): Promise<unknown> {
  if (!(error instanceof GraphError) || !(error.status === 507 || error.hasCode("quotaLimitReached") || error.hasCode("insufficientStorage"))) return error;
  let free: number | undefined;
  try {
    free = (await services.graph.getDriveQuota()).remaining;
  } catch {
    free = undefined;
  }
  const has = free === undefined ? "OneDrive has too little free space" : `OneDrive has ${sizeText(free)} free`;
  return new PermanentUploadError(
    `${has}, and the file needs ${sizeText(blob.size)}: free space on the drive or raise its quota, then run again; the blob was left untouched (${error.message})`,
    error,
  );
}

function sizeText(bytes: number): string {
  if (bytes < 1024 * 1024) return `${bytes} bytes`;
  const units = ["MiB", "GiB", "TiB"];
  let value = bytes / (1024 * 1024);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}
