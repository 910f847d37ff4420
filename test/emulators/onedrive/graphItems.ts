import type { EmulatorContext } from "./context";
import type { StoredItem } from "./driveStore";
import { type Exchange, ServiceError } from "./exchange";
import type { GraphAddress } from "./graphAddress";
import type { ConflictBehavior } from "./uploadSessions";

/** Shared by the Graph handlers: resolving addresses to items, conflict and precondition rules, request fields. */
export type ItemAddress = Extract<GraphAddress, { kind: "item" }>;

export const CONFLICT_ANNOTATION = "@microsoft.graph.conflictBehavior";

export function itemJson(context: EmulatorContext, item: StoredItem): Record<string, unknown> {
  return context.store.driveItemJson(item, context.graphEndpoint);
}

/** driveItem properties (https://learn.microsoft.com/graph/api/resources/driveitem) a `$select` may name. */
const DRIVE_ITEM_PROPERTIES = new Set([
  "audio", "bundle", "cTag", "content", "createdBy", "createdDateTime", "deleted", "description", "eTag", "file",
  "fileSystemInfo", "folder", "id", "image", "lastModifiedBy", "lastModifiedDateTime", "location", "malware", "name",
  "package", "parentReference", "pendingOperations", "photo", "publication", "remoteItem", "root", "searchResult",
  "shared", "sharepointIds", "size", "specialFolder", "video", "webDavUrl", "webUrl",
]);

/**
 * An item GET with `$select`: only the named properties, in OData's comma-separated list; an unknown name is 400.
 * `publication` is not returned by default and comes only this way, on SharePoint-backed drives.
 */
export function selectedItemJson(context: EmulatorContext, item: StoredItem, select: string): Record<string, unknown> {
  const names = select.split(",").map((name) => name.trim()).filter((name) => name !== "");
  const unknown = names.find((name) => !DRIVE_ITEM_PROPERTIES.has(name));
  if (unknown !== undefined) {
    throw new ServiceError(400, "BadRequest", `Could not find a property named '${unknown}' on type 'microsoft.graph.driveItem'.`);
  }
  const full = itemJson(context, item);
  if (context.business) {
    const publication = context.library.publicationOf(item);
    if (publication !== undefined) full.publication = publication;
  }
  const selected: Record<string, unknown> = {};
  for (const name of names) if (full[name] !== undefined) selected[name] = full[name];
  return selected;
}

export function itemNotFound(): ServiceError {
  return new ServiceError(404, "itemNotFound", "The resource could not be found.");
}

export function resolveBase(context: EmulatorContext, address: ItemAddress): StoredItem {
  if (address.base.root) return context.store.root;
  const item = context.store.get(address.base.itemId);
  if (item === undefined) throw itemNotFound();
  return item;
}

export function resolveExisting(context: EmulatorContext, address: ItemAddress): StoredItem {
  const item = context.store.walk(resolveBase(context, address), address.segments);
  if (item === undefined) throw itemNotFound();
  return item;
}

/** Where a file write lands: the folder, the name, and the file already there, if any. */
export interface WriteTarget {
  parent: StoredItem;
  name: string;
  existing?: StoredItem;
  /** The address named the file itself (items/{id}), not a parent plus a name. */
  byId: boolean;
}

export function resolveWriteTarget(context: EmulatorContext, address: ItemAddress, noNameMessage: string): WriteTarget {
  const base = resolveBase(context, address);
  if (address.segments.length === 0) {
    if (base.isFolder) throw new ServiceError(400, "invalidRequest", noNameMessage);
    const parent = context.store.get(base.parentId ?? "");
    if (parent === undefined) throw itemNotFound();
    return { parent, name: base.name, existing: base, byId: true };
  }
  const parent = context.store.walk(base, address.segments.slice(0, -1));
  if (parent === undefined || !parent.isFolder) {
    // The service does not create missing parents (doc section 2.5).
    throw new ServiceError(404, "itemNotFound", "The parent folder does not exist; create each folder first (POST …/children).");
  }
  const name = address.segments[address.segments.length - 1];
  return { parent, name, existing: context.store.child(parent, name), byId: false };
}

export function fullPathOf(context: EmulatorContext, parent: StoredItem, name: string): string {
  const parentPath = context.store.pathOf(parent);
  return parentPath === "" ? name : `${parentPath}/${name}`;
}

export function parseConflictBehavior(value: unknown, fallback: ConflictBehavior): ConflictBehavior {
  if (value === undefined || value === null) return fallback;
  if (value === "fail" || value === "replace" || value === "rename") return value;
  throw new ServiceError(400, "invalidRequest", `${CONFLICT_ANNOTATION} must be "fail", "replace" or "rename", not ${JSON.stringify(value)}.`);
}

/** If-Match / If-None-Match against the item's eTag (or cTag); a mismatch is 412. */
export function checkPreconditions(exchange: Exchange, context: EmulatorContext, existing: StoredItem | undefined): void {
  const tagsOf = (item: StoredItem): string[] => {
    const eTag = context.store.eTag(item);
    return [eTag, `"c:${eTag.slice(1)}`, "*"];
  };
  const matchesAny = (header: string, item: StoredItem): boolean =>
    // Tags are quoted strings that themselves contain commas ("{id},1"), so pick them out rather than split.
    (header.match(/(?:W\/)?"[^"]*"|\*/g) ?? []).some((tag) => tagsOf(item).includes(tag.replace(/^W\//, "")));
  const ifMatch = exchange.header("if-match");
  if (ifMatch !== undefined && (existing === undefined || !matchesAny(ifMatch, existing))) {
    throw new ServiceError(412, "preconditionFailed", "If-Match does not match the item's current eTag; fetch the item again.");
  }
  const ifNoneMatch = exchange.header("if-none-match");
  if (ifNoneMatch !== undefined && existing !== undefined && matchesAny(ifNoneMatch, existing)) {
    throw new ServiceError(412, "preconditionFailed", "If-None-Match matches the item's current eTag.");
  }
}

export function parseTimes(value: unknown): { createdDateTime?: string; lastModifiedDateTime?: string } {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ServiceError(400, "invalidRequest", "fileSystemInfo must be an object.");
  }
  const times: { createdDateTime?: string; lastModifiedDateTime?: string } = {};
  for (const key of ["createdDateTime", "lastModifiedDateTime"] as const) {
    const given = (value as Record<string, unknown>)[key];
    if (given === undefined) continue;
    if (typeof given !== "string" || Number.isNaN(Date.parse(given))) {
      throw new ServiceError(400, "invalidRequest", `fileSystemInfo.${key} must be an ISO 8601 date-time, not ${JSON.stringify(given)}.`);
    }
    times[key] = given;
  }
  return times;
}
