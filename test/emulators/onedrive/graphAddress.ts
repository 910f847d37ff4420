import { ServiceError } from "./exchange";

/**
 * A parsed Graph drive URL: `{drive}` + `/root` or `/items/{id}`, then optionally `:/{path}:` (or `:/{path}` at
 * the end), then optionally `/{action}`. Path segments are percent-decoded one by one, so an encoded `/` or `:`
 * stays inside its segment (and is then refused by the naming rules).
 */
export type GraphAddress =
  | { kind: "drive" }
  /** {drive}/list/columns: the document library's column definitions. */
  | { kind: "listColumns" }
  | { kind: "item"; base: { root: true } | { root: false; itemId: string }; segments: string[]; action?: GraphAction };

export type GraphAction = "children" | "content" | "createUploadSession" | "checkin";

/** Which drive a URL names, before the tenant decides whether the caller may reach it. */
export type DriveSelector =
  | { kind: "me" }
  | { kind: "id"; driveId: string }
  | { kind: "user"; user: string }
  | { kind: "siteDefault"; siteId: string };
const ACTIONS: ReadonlySet<string> = new Set(["children", "content", "createUploadSession", "checkin"]);

const DRIVE_PREFIXES: { pattern: RegExp; selector: (captured: string) => DriveSelector }[] = [
  { pattern: /^\/me\/drive(?=\/|$)/, selector: () => ({ kind: "me" }) },
  { pattern: /^\/drive(?=\/|$)/, selector: () => ({ kind: "me" }) },
  { pattern: /^\/drives\/([^/:]+)/, selector: (id) => ({ kind: "id", driveId: id }) },
  { pattern: /^\/users\/([^/:]+)\/drive(?=\/|$)/, selector: (user) => ({ kind: "user", user }) },
  { pattern: /^\/sites\/([^/:]+)\/drive(?=\/|$)/, selector: (siteId) => ({ kind: "siteDefault", siteId }) },
];

/** The drive a Graph path names and the address within it. */
export function parseGraphAddress(rawPathname: string): { drive: DriveSelector; address: GraphAddress } {
  const address = parseWithinDrive(rawPathname);
  return { drive: driveSelectorOf(rawPathname), address };
}

function driveSelectorOf(rawPathname: string): DriveSelector {
  const afterVersion = rawPathname.slice("/v1.0".length);
  for (const prefix of DRIVE_PREFIXES) {
    const match = prefix.pattern.exec(afterVersion);
    if (match !== null) return prefix.selector(safeDecode(match[1] ?? ""));
  }
  throw new ServiceError(400, "invalidRequest", `Unsupported URL '${rawPathname}': expected /me/drive, /drive, /drives/{id}, /users/{id}/drive or /sites/{id}/drive.`);
}

function parseWithinDrive(rawPathname: string): GraphAddress {
  if (!rawPathname.startsWith("/v1.0/")) {
    throw new ServiceError(400, "invalidRequest", `Unsupported URL '${rawPathname}': Graph paths start with /v1.0/.`);
  }
  const afterVersion = rawPathname.slice("/v1.0".length);
  let rest: string | undefined;
  for (const prefix of DRIVE_PREFIXES) {
    const match = prefix.pattern.exec(afterVersion);
    if (match === null) continue;
    rest = afterVersion.slice(match[0].length);
    break;
  }
  if (rest === undefined) {
    throw new ServiceError(400, "invalidRequest", `Unsupported URL '${rawPathname}': expected /me/drive, /drive or /drives/{id}.`);
  }
  if (rest === "" || rest === "/") return { kind: "drive" };
  if (rest === "/list/columns") return { kind: "listColumns" };

  let base: { root: true } | { root: false; itemId: string };
  if (rest.startsWith("/root") && (rest.length === 5 || rest[5] === ":" || rest[5] === "/")) {
    base = { root: true };
    rest = rest.slice(5);
  } else if (rest.startsWith("/items/")) {
    const idEnd = findFirst(rest, ["/", ":"], 7);
    const itemId = safeDecode(rest.slice(7, idEnd));
    if (itemId === "") throw new ServiceError(400, "invalidRequest", "The item id in the URL is empty.");
    base = { root: false, itemId };
    rest = rest.slice(idEnd);
  } else {
    throw new ServiceError(400, "invalidRequest", `Resource not found for the segment '${rest.split("/")[1] ?? ""}'.`);
  }

  let segments: string[] = [];
  if (rest.startsWith(":")) {
    const closing = rest.indexOf(":", 1);
    const rawPath = closing === -1 ? rest.slice(1) : rest.slice(1, closing);
    rest = closing === -1 ? "" : rest.slice(closing + 1);
    if (!rawPath.startsWith("/") || rawPath.length < 2) {
      throw new ServiceError(400, "invalidRequest", "A path address must look like ':/folder/name:'.");
    }
    segments = rawPath.slice(1).split("/").map(safeDecode);
    if (segments.some((segment) => segment === "")) {
      throw new ServiceError(400, "invalidRequest", `The path '${rawPath}' has an empty segment.`);
    }
  }
  if (rest === "") return { kind: "item", base, segments };
  const action = rest.slice(1);
  if (!rest.startsWith("/") || !ACTIONS.has(action)) {
    throw new ServiceError(400, "invalidRequest", `Resource not found for the segment '${rest.slice(1)}'.`);
  }
  return { kind: "item", base, segments, action: action as GraphAction };
}

function findFirst(text: string, characters: string[], from: number): number {
  let found = text.length;
  for (const character of characters) {
    const index = text.indexOf(character, from);
    if (index !== -1 && index < found) found = index;
  }
  return found;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ServiceError(400, "invalidRequest", `The URL segment '${segment}' is not valid percent-encoding.`);
  }
}
