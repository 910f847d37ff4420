import type { DriveStore, StoredItem } from "./driveStore";
import { type Exchange, ServiceError } from "./exchange";
import type { DriveType, LibraryOptions } from "./types";

/**
 * What a SharePoint-backed drive (business OneDrive or document library) does on its own library settings, each off
 * unless its option is set. See the README's "Business drives and document libraries" section for the sources.
 */

/** Graph's answer to a locked file (microsoft-graph-explorer-v4#3435): 423, code notAllowed, inner resourceLocked. */
export const LOCKED_MESSAGE = "The resource you are attempting to access is locked";

/** A OneDrive for Business drive refusing fileSystemInfo at session creation (onedrive-api-docs#1379, #870). */
export const MALFORMED_REQUEST_MESSAGE = "The request is malformed or incorrect.";

const RATE_LIMIT_HEADERS_FROM_SHARE = 0.8;
const RATE_WINDOW_MS = 60_000;

/** A column every document library has: shown so a client sees required columns among ordinary ones. */
const BUILT_IN_COLUMNS = [
  { name: "Title", displayName: "Title", required: false, readOnly: false, hidden: false },
  { name: "FileLeafRef", displayName: "Name", required: true, readOnly: false, hidden: false, defaultValue: null, columnGroup: "Base Columns" },
  { name: "Modified", displayName: "Modified", required: false, readOnly: true, hidden: false },
];

export class LibraryPolicies {
  /** Files left checked out to the uploader (ids), and the check-in comments each received. */
  private readonly checkedOut = new Set<string>();
  private readonly comments = new Map<string, string[]>();
  private rateWindowStart: number | undefined;
  private resourceUnitsUsed = 0;
  private overBudgetAnswers = 0;

  constructor(
    readonly options: LibraryOptions,
    private readonly store: DriveStore,
    private readonly now: () => number,
  ) {}

  /** Refuses options a personal drive never has, and malformed ones, before any server starts. */
  static validate(driveType: DriveType, options: LibraryOptions | undefined): void {
    if (options === undefined || Object.keys(options).length === 0) return;
    if (driveType === "personal") {
      throw new Error("library: check-out, required columns, locks, fileSystemInfo refusal and RateLimit headers are SharePoint's; use driveType \"business\" or \"documentLibrary\"");
    }
    for (const column of options.requiredColumns ?? []) {
      if (typeof column !== "string" || column.trim() === "") throw new Error(`library.requiredColumns holds names, not ${JSON.stringify(column)}`);
    }
    const limit = options.rateLimit?.resourceUnitsPerMinute;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw new Error(`library.rateLimit.resourceUnitsPerMinute must be a whole number >= 1, not ${limit}`);
    }
  }

  /** A new upload leaves the file checked out when the library requires check-out or has a required column it cannot fill. */
  private get leavesUploadsCheckedOut(): boolean {
    return this.options.requireCheckout === true || (this.options.requiredColumns?.length ?? 0) > 0;
  }

  /** createUploadSession's `item`: some business drives answer 400 to any fileSystemInfo in it. */
  checkSessionItem(itemFields: Record<string, unknown>): void {
    if (this.options.refuseFileSystemInfoAtCreation && itemFields.fileSystemInfo !== undefined) {
      throw new ServiceError(400, "invalidRequest", MALFORMED_REQUEST_MESSAGE);
    }
  }

  /** A write to a file someone holds open (co-authoring) is refused with 423 until the lock goes. */
  assertUnlocked(item: StoredItem | undefined): void {
    if (item === undefined || item.isFolder || this.options.locked === undefined) return;
    if (this.options.locked(this.store.pathOf(item))) throw new ServiceError(423, "notAllowed", LOCKED_MESSAGE, "resourceLocked");
  }

  /** Called once an upload (session commit or simple PUT) wrote the file. */
  uploadWritten(item: StoredItem): void {
    if (this.leavesUploadsCheckedOut) this.checkedOut.add(item.id);
  }

  isCheckedOut(item: StoredItem): boolean {
    return this.checkedOut.has(item.id);
  }

  checkinComments(item: StoredItem): string[] {
    return [...(this.comments.get(item.id) ?? [])];
  }

  /**
   * The publicationFacet of a file (https://learn.microsoft.com/graph/api/resources/publicationfacet): "checkout"
   * while an upload left it checked out, else "published". Graph returns it only when `$select` names it.
   */
  publicationOf(item: StoredItem): Record<string, unknown> | undefined {
    if (item.isFolder) return undefined;
    const checkedOut = this.checkedOut.has(item.id);
    return { level: checkedOut ? "checkout" : "published", versionId: checkedOut ? `${item.version}.1` : `${item.version}.0` };
  }

  /**
   * POST …/checkin (driveitem-checkin): body { comment?, checkInAs? "published" | "unspecified" }, 204 on success.
   * A file that is not checked out cannot be checked in; one with a required column left empty stays checked out.
   */
  checkin(item: StoredItem, body: Record<string, unknown>): void {
    const unknown = Object.keys(body).filter((key) => key !== "comment" && key !== "checkInAs");
    if (unknown.length > 0) throw new ServiceError(400, "invalidRequest", `checkin takes comment and checkInAs only, not ${unknown.join(", ")}.`);
    if (body.comment !== undefined && typeof body.comment !== "string") throw new ServiceError(400, "invalidRequest", "comment must be a string.");
    if (body.checkInAs !== undefined && body.checkInAs !== "published" && body.checkInAs !== "unspecified") {
      throw new ServiceError(400, "invalidRequest", "checkInAs must be \"published\" or \"unspecified\".");
    }
    if (item.isFolder) throw new ServiceError(400, "invalidRequest", "Only files can be checked in.");
    this.assertUnlocked(item);
    if (!this.checkedOut.has(item.id)) throw new ServiceError(400, "invalidRequest", "The file is not checked out.");
    if ((this.options.requiredColumns?.length ?? 0) > 0) {
      throw new ServiceError(400, "invalidRequest", "The file cannot be checked in: one or more required properties have no value.");
    }
    this.checkedOut.delete(item.id);
    this.comments.set(item.id, [...(this.comments.get(item.id) ?? []), typeof body.comment === "string" ? body.comment : ""]);
    this.store.touch(item);
  }

  /** GET {drive}/list/columns: the library's columnDefinitions, required ones without a default among them. */
  columnsJson(): Record<string, unknown> {
    const required = (this.options.requiredColumns ?? []).map((displayName) => ({
      name: displayName.replace(/[^A-Za-z0-9]/g, ""),
      displayName,
      required: true,
      readOnly: false,
      hidden: false,
      defaultValue: null,
      text: {},
    }));
    return { value: [...BUILT_IN_COLUMNS, ...required] };
  }

  /**
   * Counts the request's resource units (1 for a GET, 2 for anything else) in a one-minute window on the clock.
   * Past the budget the request is answered 429 with Retry-After until the window ends; from 80 % of it on, every
   * answer carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds). True when answered here.
   */
  async meter(exchange: Exchange): Promise<boolean> {
    const limit = this.options.rateLimit?.resourceUnitsPerMinute;
    if (limit === undefined) return false;
    const now = this.now();
    if (this.rateWindowStart === undefined || now >= this.rateWindowStart + RATE_WINDOW_MS) {
      this.rateWindowStart = now;
      this.resourceUnitsUsed = 0;
    }
    const resetSeconds = String(Math.max(1, Math.ceil((this.rateWindowStart + RATE_WINDOW_MS - now) / 1000)));
    const cost = (exchange.req.method ?? "GET") === "GET" ? 1 : 2;
    if (this.resourceUnitsUsed + cost > limit) {
      this.resourceUnitsUsed += cost;
      this.overBudgetAnswers += 1;
      const headers = { "retry-after": resetSeconds, "ratelimit-limit": String(limit), "ratelimit-remaining": "0", "ratelimit-reset": resetSeconds };
      await exchange.sendJson(429, exchange.errorBody("activityLimitReached", "The request has been throttled", "throttledRequest"), headers);
      return true;
    }
    this.resourceUnitsUsed += cost;
    if (this.resourceUnitsUsed >= limit * RATE_LIMIT_HEADERS_FROM_SHARE) {
      exchange.extraHeaders["ratelimit-limit"] = String(limit);
      exchange.extraHeaders["ratelimit-remaining"] = String(limit - this.resourceUnitsUsed);
      exchange.extraHeaders["ratelimit-reset"] = resetSeconds;
    }
    return false;
  }

  /** Requests answered 429 for being over the resource-unit budget so far. */
  get rateLimitedCount(): number {
    return this.overBudgetAnswers;
  }
}
